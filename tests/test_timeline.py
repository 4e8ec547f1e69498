"""One customer's whole after-sales timeline (A2–A10), walked in chat with the clock moved on.

Delivery → archive reminder → late-archive report → first call on day 3 with a complaint →
escalation two days later → solution → same-day callback → second call 7 days after the first →
campaign call 14 days before the event → the invitation letter within 2 days. At each step the
test checks who received what, and when (shop time, Asia/Shanghai).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import col, select

import jobs.after_sales
from models.call_log import CallLog
from models.complaint import Complaint, ComplaintStatus
from models.customer import Customer
from models.followup import FollowUp, FollowUpKind, FollowUpStatus
from models.letter import Letter
from models.staff import Role
from models.work_order import OrderStatus, WorkOrder
from tests.flows import order_ready_for_delivery
from tests.shop import Person, Shop

pytestmark = pytest.mark.both_channels


def at(shop: Shop, text: str) -> None:
    """Move the shop clock to a local time, e.g. "2026-12-03 09:00"."""
    local = datetime.fromisoformat(text).replace(tzinfo=shop.settings.tz)
    shop.clock.set(local.astimezone(UTC))


async def tick(shop: Shop) -> None:
    """What the every-minute job does at this moment."""
    await jobs.after_sales.run(shop.services, shop.now())


def new_messages(person: Person, since: int) -> list[str]:
    return person.inbox[since:]


async def test_one_customer_from_delivery_to_campaign_letter(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    clerk = await shop.hire("Li Clerk", Role.tracking_clerk)
    boss = await shop.hire("Ma Supervisor", Role.supervisor)

    # Monday 30 Nov: the work is done, passes QC and the car goes back to the customer at 11:00.
    leader = await shop.hire("Wang Leader", Role.team_leader)
    inspector = await shop.hire("Zhao Inspector", Role.inspector)
    order_id = await order_ready_for_delivery(shop, advisor, tech, leader, inspector,
                                              items=("Replace brake pads",))
    at(shop, "2026-11-30 11:00")
    await advisor.send("/orders")
    await advisor.tap("Delivered to the customer")
    await advisor.tap("Yes, delivered")
    async with shop.db.session() as session:
        order = await session.get(WorkOrder, order_id)
        assert order is not None and order.status == OrderStatus.delivered
        customer = (await session.exec(select(Customer))).one()
    assert customer.clerk_id == clerk.staff_id  # the only clerk takes the new customer
    told = clerk.inbox[-1]
    assert "New visit" in told and "京A12345" in told and "missing: address" in told

    # The archive reminder repeats inside working hours until the archive is complete...
    seen = len(clerk.inbox)
    at(shop, "2026-11-30 15:00")
    await tick(shop)
    assert any("archive of 王先生 is incomplete" in m for m in new_messages(clerk, seen))
    seen = len(clerk.inbox)
    at(shop, "2026-11-30 20:00")  # evening: nothing
    await tick(shop)
    assert new_messages(clerk, seen) == []
    # ...and two days after the visit the supervisor hears it is still incomplete, once.
    at(shop, "2026-12-02 11:00")
    await tick(shop)
    await tick(shop)
    late = [m for m in boss.inbox if "still incomplete" in m]
    assert len(late) == 1 and "王先生" in late[0]

    # Thursday 3 Dec, 09:00: day 3, the first call is due and reaches the clerk.
    at(shop, "2026-12-03 08:59")
    seen = len(clerk.inbox)
    await tick(shop)
    assert not any("First call" in m for m in new_messages(clerk, seen))
    at(shop, "2026-12-03 09:00")
    await tick(shop)
    reminder = clerk.last
    assert "First call" in reminder.text and "13812345678" in reminder.text
    assert "Replace brake pads" in reminder.text
    await tick(shop)  # never twice
    assert sum(m.startswith(reminder.text.split("\n")[0]) for m in clerk.inbox) == 1

    # The clerk logs the call: reached, two topics, satisfaction 3, notes, a complaint.
    at(shop, "2026-12-03 10:30")
    await clerk.tap("Log call")
    await clerk.tap("Reached")
    await clerk.tap(data="cl:topic:usage_opinion")
    await clerk.tap(data="cl:topic:care_tips")
    await clerk.tap(data="cl:topics:done")
    await clerk.tap(data="cl:sat:3")
    await clerk.send("Brakes are fine now but the car pulls to the left.")
    await clerk.tap(data="cl:notes:done")
    await clerk.tap(data="cl:req:yes")
    await clerk.send("Pulls to the left since the repair")
    await clerk.tap(data="cl:ans:no")
    async with shop.db.session() as session:
        complaint = (await session.exec(select(Complaint))).one()
        second = (await session.exec(select(FollowUp).where(
            FollowUp.kind == FollowUpKind.second_call))).one()
    assert complaint.status == ComplaintStatus.researching
    assert shop.settings.calendar.local_date(second.due_from).isoformat() == "2026-12-10"

    # Day 1 after the call: not yet escalated. Day 2 (Sat 5 Dec, 10:30): the supervisor.
    at(shop, "2026-12-04 10:30")
    seen_boss = len(boss.inbox)
    await tick(shop)
    assert not any("Pulls to the left" in m for m in new_messages(boss, seen_boss))
    at(shop, "2026-12-05 10:30")
    await tick(shop)
    escalation = boss.last
    assert "Pulls to the left" in escalation.text and "car pulls to the left" in escalation.text

    # The supervisor records the solution; the clerk must call back the same day.
    at(shop, "2026-12-05 11:00")
    seen = len(clerk.inbox)
    await boss.tap("Record solution")
    await boss.send("Free wheel alignment on Monday")
    assert any("TODAY" in m and "Free wheel alignment" in m for m in new_messages(clerk, seen))
    await tick(shop)  # the callback reminder card
    callback_card = clerk.find_button("Log call")[0]
    assert "Complaint callback" in callback_card.text or "complaint" in callback_card.text.lower()
    await clerk.tap("Log call", message=callback_card)
    await clerk.tap("Reached")
    await clerk.tap(data="cl:topic:consultation")
    await clerk.tap(data="cl:topics:done")
    await clerk.tap(data="cl:sat:4")
    await clerk.send("Told the customer about the free alignment; booked Monday.")
    await clerk.tap(data="cl:notes:done")
    await clerk.tap(data="cl:req:no")
    at(shop, "2026-12-05 17:00")  # logged in time: no 17:00 reminder, no supervisor notice
    seen = len(clerk.inbox)
    await tick(shop)
    assert not any("has not been told" in m for m in new_messages(clerk, seen))
    async with shop.db.session() as session:
        complaint = (await session.exec(select(Complaint))).one()
    assert complaint.status == ComplaintStatus.told

    # Thursday 10 Dec, 09:00: the second call, showing what the first call covered.
    at(shop, "2026-12-10 09:00")
    await tick(shop)
    second_card = clerk.last
    assert "Second call" in second_card.text
    assert "Told the customer about the free alignment" in second_card.text  # the last call
    await clerk.tap("Log call", message=second_card)
    await clerk.tap("Reached")
    await clerk.tap(data="cl:topic:new_services")
    await clerk.tap(data="cl:topics:done")
    await clerk.tap(data="cl:sat:5")
    await clerk.send("Happy; interested in the winter check.")
    await clerk.tap(data="cl:notes:done")
    await clerk.tap(data="cl:req:no")

    # The supervisor announces a free inspection week on 20 Jan 2027 for all customers.
    await boss.send("/campaign")
    await boss.tap(data="camp:k:free_inspection")
    await boss.send("Winter free inspection week")
    await boss.send("A free 20-point check before the Spring Festival")
    await boss.send("2027-01-20")
    await boss.send("Shop hall, 1 Jianguo Road")
    await boss.tap(data="camp:a:all")
    await boss.tap(data="camp:ok")
    assert "call task" in boss.last.text

    # 14 days before the event (Wed 6 Jan 2027, 09:00) the clerk gets the campaign call.
    at(shop, "2027-01-05 09:00")
    seen = len(clerk.inbox)
    await tick(shop)
    assert not any("Winter free inspection week" in m for m in new_messages(clerk, seen))
    at(shop, "2027-01-06 09:00")
    await tick(shop)
    campaign_card = clerk.find_button("Log call")[0]
    assert "Winter free inspection week" in campaign_card.text
    await clerk.tap("Log call", message=campaign_card)
    await clerk.tap("Reached")
    await clerk.tap(data="cl:topic:events")
    await clerk.tap(data="cl:topics:done")
    await clerk.tap(data="cl:sat:5")
    await clerk.send("Will come on the 20th.")
    await clerk.tap(data="cl:notes:done")
    await clerk.tap(data="cl:req:no")

    # The invitation letter is due within 2 days; the clerk registers it as sent by post.
    at(shop, "2027-01-06 10:00")
    await tick(shop)
    await clerk.tap("Record as sent")
    channel_data = next(d for _, d in clerk.last.buttons if d.endswith(":ch:post"))
    await clerk.tap(data=channel_data)
    await clerk.tap("Today")
    async with shop.db.session() as session:
        letter = (await session.exec(select(Letter))).one()
        calls = (await session.exec(select(CallLog).order_by(col(CallLog.at)))).all()
        followups = (await session.exec(select(FollowUp).order_by(col(FollowUp.id)))).all()
    assert letter.channel == "post" and letter.sent_at == shop.now()
    # Due by the end of 8 Jan: within 2 days of the call on the 6th.
    assert letter.due_at == shop.settings.calendar.end_of_day(date(2027, 1, 8))
    assert [c.satisfaction for c in calls] == [3, 4, 5, 5]
    assert all(f.status == FollowUpStatus.done for f in followups)
    assert [f.kind for f in followups] == [
        FollowUpKind.first_call, FollowUpKind.second_call,
        FollowUpKind.complaint_callback, FollowUpKind.campaign,
    ]
    # The technician never saw the customer's phone number.
    assert not any("13812345678" in m for m in tech.inbox)
