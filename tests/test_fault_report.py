"""W4: an unlisted fault goes from the floor to the front desk, is acknowledged once, and goes to
every advisor on duty when nobody acknowledges it in time."""

from __future__ import annotations

import json

import pytest
from sqlmodel import col, select

from jobs import fault_escalation
from models.attachment import Attachment
from models.audit import AuditEvent
from models.card import CardMessage
from models.fault_report import MAX_PHOTOS, FaultReport, FaultStatus
from models.staff import Role
from models.work_order import WorkOrder
from tests.fakebotapi import Call
from tests.flows import open_order, order_in_progress, self_check
from tests.shop import Person, Shop

pytestmark = pytest.mark.both_channels

DESCRIPTION = "Rear brake hose cracked, fluid on the inside of the tyre"


async def report(tech: Person, description: str = DESCRIPTION,
                 photos: tuple[str, ...] = ()) -> list[str]:
    """The technician reports a fault on the order card; returns the last replies."""
    await tech.tap("Report unlisted fault")
    await tech.send(description)
    for photo in photos:
        await tech.send_photo(photo)
    return await tech.tap("Done — send")


async def only_report(shop: Shop) -> FaultReport:
    async with shop.db.session() as session:
        return (await session.exec(select(FaultReport))).one()


async def photos_of(shop: Shop, report_id: int) -> list[str]:
    async with shop.db.session() as session:
        rows = await session.exec(
            select(Attachment).where(Attachment.owner == "fault_report",
                                     Attachment.owner_id == report_id)
            .order_by(col(Attachment.id))
        )
        return [row.file_id for row in rows]


async def order_number(shop: Shop, order_id: int) -> str:
    async with shop.db.session() as session:
        order = await session.get(WorkOrder, order_id)
        assert order is not None
        return order.number


def album(call: Call) -> list[str]:
    media = call.params["media"]
    return [item["media"] for item in (json.loads(media) if isinstance(media, str) else media)]


async def test_report_with_photos_reaches_the_advisor_who_acknowledges_once(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    number = await order_number(shop, order_id)

    assert (await tech.tap("Report unlisted fault"))[-1].startswith(
        f"{number}: describe the fault you found that the order does not list")
    assert "Now send photos of the fault (up to 10)" in (await tech.send(DESCRIPTION))[-1]
    assert (await tech.send_photo("fault-1"))[-1] == (
        "1 photo kept. Send more, or tap “Done — send”.")
    assert (await tech.send_photo("fault-2"))[-1] == (
        "2 photos kept. Send more, or tap “Done — send”.")
    replies = await tech.tap("Done — send")
    assert replies[-1].startswith(f"✅ Fault reported on {number}; Liu Advisor has it.")

    saved = await only_report(shop)
    assert saved.order_id == order_id and saved.description == DESCRIPTION
    assert await photos_of(shop, saved.id) == ["fault-1", "fault-2"]  # type: ignore[arg-type]
    assert shop.photos_to(advisor) == ["fault-1", "fault-2"]
    if shop.channel == "telegram":  # as one album (WeCom has none: a picture each)
        [photos] = shop.api.sent_to(advisor.user_id, "sendMediaGroup")
        assert album(photos) == ["fault-1", "fault-2"]
    card = advisor.last
    assert card.text.splitlines() == [
        f"🔧 Unlisted fault on {number} · 京A12345",
        "Vehicle: Toyota Camry",
        "Technician: Zhang Tech",
        "Reported at 30 Nov 09:00",
        "",
        DESCRIPTION,
        "",
        "📷 2 photos",
    ]
    assert card.buttons == [("👌 Acknowledge", f"flt:{saved.id}:ack")]

    shop.advance(minutes=3)
    assert (await advisor.tap("Acknowledge"))[0] == "Acknowledged. The technician has been told."
    assert card.text.endswith("\n✅ Acknowledged by Liu Advisor at 30 Nov 09:03.")
    assert card.buttons == [("➕ Propose as extra item", f"fxi:{saved.id}:go")]  # fault_proposal
    assert tech.last.text == (f"👌 Liu Advisor acknowledged your fault report on {number} at "
                              f"30 Nov 09:03:\n{DESCRIPTION}")
    saved = await only_report(shop)
    assert saved.status == FaultStatus.acknowledged and saved.acknowledged_at == shop.now()
    async with shop.db.session() as session:
        actions = [(e.action, e.channel) for e in (await session.exec(
            select(AuditEvent).where(AuditEvent.entity == "fault_report"))).all()]
    assert actions == [("fault.report", shop.channel), ("fault.acknowledge", shop.channel)]


async def test_double_tap_and_second_advisor_learn_who_acknowledged(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    other = await shop.hire("Chen Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await order_in_progress(shop, advisor, tech)
    await tech.tap("Report unlisted fault")
    await tech.send(DESCRIPTION)
    assert "Fault reported" in (await tech.send("/done"))[-1]  # no photos is fine
    assert shop.photos_to(advisor) == []
    first_card = advisor.last
    assert "📷 0 photos" in first_card.text
    rid = (await only_report(shop)).id

    shop.advance(minutes=11)
    assert await fault_escalation.run(shop.services, shop.now()) == 1
    second_card = other.last
    assert "⏰ Not acknowledged for 11 minutes; sent to every advisor on duty." in (
        second_card.text)
    assert (await other.tap("Acknowledge"))[0] == "Acknowledged. The technician has been told."
    for card in (first_card, second_card):
        assert card.text.endswith("✅ Acknowledged by Chen Advisor at 30 Nov 09:11.")
        assert card.buttons == [("➕ Propose as extra item", f"fxi:{rid}:go")]

    already = ["Already acknowledged by Chen Advisor at 30 Nov 09:11."]
    shop.advance(minutes=1)
    assert await advisor.tap_data(f"flt:{rid}:ack", first_card) == already
    assert await other.tap_data(f"flt:{rid}:ack", second_card) == already
    saved = await only_report(shop)
    assert saved.acknowledged_by == other.staff_id
    told = [text for text in tech.inbox if "acknowledged your fault report" in text]
    assert len(told) == 1 and told[0].startswith("👌 Chen Advisor")


async def test_a_technician_cannot_acknowledge(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await order_in_progress(shop, advisor, tech)
    await report(tech)
    rid = (await only_report(shop)).id
    edits_before = len(shop.api.sent_to(advisor.user_id, "editMessageText"))

    assert await tech.tap_data(f"flt:{rid}:ack", tech.last) == [
        "Only advisors can do this; nothing was changed."]
    saved = await only_report(shop)
    assert saved.status == FaultStatus.reported and saved.acknowledged_by is None
    assert advisor.last.buttons == [("👌 Acknowledge", f"flt:{rid}:ack")]
    assert len(shop.api.sent_to(advisor.user_id, "editMessageText")) == edits_before
    assert await advisor.tap_data("flt:999:ack", advisor.last) == [
        "That order or item no longer exists."]


async def test_cancel_midway_saves_nothing(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await order_in_progress(shop, advisor, tech)
    to_advisor = len(shop.api.sent_to(advisor.user_id))

    await tech.tap("Report unlisted fault")
    assert await tech.send("/cancel") == ["Cancelled. Nothing was saved."]
    await tech.tap("Report unlisted fault")
    await tech.send(DESCRIPTION)
    await tech.send_photo("leak")
    assert await tech.send("/cancel") == ["Cancelled. Nothing was saved."]
    assert await tech.tap("Done — send") == ["This button is no longer active."]
    assert await tech.send("/cancel") == ["There is nothing to cancel."]

    async with shop.db.session() as session:
        assert (await session.exec(select(FaultReport))).all() == []
        assert (await session.exec(select(Attachment).where(
            Attachment.owner == "fault_report"))).all() == []
    assert len(shop.api.sent_to(advisor.user_id)) == to_advisor


async def test_the_wrong_kind_of_input_is_explained_and_the_step_kept(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await order_in_progress(shop, advisor, tech)

    await tech.tap("Report unlisted fault")
    assert await tech.send_photo("too-early") == [
        "Please describe the fault in words first; you can send the photos right after."]
    assert "Now send photos" in (await tech.send("Front left CV boot torn"))[-1]
    assert (await tech.send("the clamp is missing too"))[-1] == (
        "This step takes photos. Send them, or tap “Done — send” (or type /done) to send the "
        "report. /cancel drops it.")
    assert [label for label, _ in tech.last.buttons] == ["✅ Done — send"]
    assert (await tech.send_photo("boot"))[-1].startswith("1 photo kept.")
    await tech.send("/done")

    saved = await only_report(shop)
    assert saved.description == "Front left CV boot torn"
    assert await photos_of(shop, saved.id) == ["boot"]  # type: ignore[arg-type]
    assert [c.params["photo"] for c in shop.api.sent_to(advisor.user_id, "sendPhoto")] == [
        "boot"]


async def test_an_over_long_description_is_refused_and_can_be_sent_again(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await order_in_progress(shop, advisor, tech)

    await tech.tap("Report unlisted fault")
    assert (await tech.send("x" * 1501))[-1] == (
        "That is 1501 characters; at most 1500, please. Nothing was lost — send a shorter "
        "text.")
    assert (await tech.send("   "))[-1] == "Please send some text."
    assert "Now send photos" in (await tech.send("y" * 1500))[-1]
    await tech.tap("Done — send")
    assert (await only_report(shop)).description == "y" * 1500


async def test_photos_are_capped(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await order_in_progress(shop, advisor, tech)

    await tech.tap("Report unlisted fault")
    await tech.send(DESCRIPTION)
    for i in range(MAX_PHOTOS):
        replies = await tech.send_photo(f"p{i}")
    assert replies[-1] == (
        "10 photos kept — that is the most one report takes. Tap “Done — send”.")
    assert (await tech.send_photo("one-too-many"))[-1] == (
        "A report takes at most 10 photos; this one was not kept. Tap “Done — send” to send "
        "the report.")
    await tech.tap("Done — send")

    saved = await only_report(shop)
    assert await photos_of(shop, saved.id) == [f"p{i}" for i in range(10)]  # type: ignore[arg-type]
    assert shop.photos_to(advisor) == [f"p{i}" for i in range(10)]
    if shop.channel == "telegram":  # as one album (WeCom has none: a picture each)
        [photos] = shop.api.sent_to(advisor.user_id, "sendMediaGroup")
        assert album(photos) == [f"p{i}" for i in range(10)]
    assert "📷 10 photos" in advisor.last.text


async def test_unacknowledged_report_goes_to_the_advisors_on_duty_once(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    other = await shop.hire("Chen Advisor", Role.advisor)
    off = await shop.hire("Zhou Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    assert (await off.send("/offduty"))[-1].startswith("You are off duty")
    await order_in_progress(shop, advisor, tech)
    await report(tech, photos=("hose-1", "hose-2"))
    rid = (await only_report(shop)).id
    to_advisor = len(shop.api.sent_to(advisor.user_id))
    to_off = len(shop.api.sent_to(off.user_id))

    shop.advance(minutes=9)
    assert await fault_escalation.run(shop.services, shop.now()) == 0
    assert shop.api.sent_to(other.user_id) == []

    shop.advance(minutes=2)
    assert await fault_escalation.run(shop.services, shop.now()) == 1
    assert shop.photos_to(other) == ["hose-1", "hose-2"]
    if shop.channel == "telegram":  # as one album (WeCom has none: a picture each)
        [photos] = shop.api.sent_to(other.user_id, "sendMediaGroup")
        assert album(photos) == ["hose-1", "hose-2"]
    card = other.last
    assert DESCRIPTION in card.text and "Technician: Zhang Tech" in card.text
    assert "⏰ Not acknowledged for 11 minutes" in card.text
    assert card.buttons == [("👌 Acknowledge", f"flt:{rid}:ack")]
    assert len(shop.api.sent_to(off.user_id)) == to_off  # off duty
    assert "👤 Liu Advisor's customer (the order's advisor)" in card.text
    # The order's advisor has the card already: told once that it went wider, no second copy.
    told = shop.api.sent_to(advisor.user_id)[to_advisor:]
    assert len(told) == 1 and told[0].text.startswith("ℹ️ The fault report on ")
    assert "waited 11 minutes without an acknowledgement; it went to every advisor on duty" \
        in told[0].text
    assert (await only_report(shop)).escalated_at == shop.now()

    calls = len(shop.api.calls)
    assert await fault_escalation.run(shop.services, shop.now()) == 0
    shop.advance(minutes=30)
    assert await fault_escalation.run(shop.services, shop.now()) == 0
    assert len(shop.api.calls) == calls
    async with shop.db.session() as session:
        holders = (await session.exec(select(CardMessage.staff_id).where(
            CardMessage.kind == "fault_report", CardMessage.ref_id == rid))).all()
    assert sorted(holders) == sorted([advisor.staff_id, other.staff_id])


async def test_acknowledged_reports_are_not_escalated(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    other = await shop.hire("Chen Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await order_in_progress(shop, advisor, tech)
    await report(tech)
    await advisor.tap("Acknowledge")

    shop.advance(minutes=11)
    assert await fault_escalation.run(shop.services, shop.now()) == 0
    assert shop.api.sent_to(other.user_id) == []
    assert (await only_report(shop)).escalated_at is None


async def test_an_unreachable_advisor_is_covered_by_escalation(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    other = await shop.hire("Chen Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    shop.api.fail_chats.add(advisor.user_id)  # the advisor blocked the bot

    replies = await report(tech)
    assert replies[-1] == (
        f"Fault on {await order_number(shop, order_id)} saved, but Liu Advisor could not be "
        "reached. If nobody acknowledges it within 10 minutes, it goes to every advisor on "
        "duty.")
    shop.advance(minutes=10)
    assert await fault_escalation.run(shop.services, shop.now()) == 1
    assert "Acknowledge" in other.last.buttons[0][0]


async def test_a_fault_needs_an_order_in_progress_of_ones_own(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    stranger_tech = await shop.hire("Wu Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    number = await order_number(shop, order_id)

    await stranger_tech.send("/orders")
    assert await stranger_tech.tap_data(f"ord:{order_id}:fault", stranger_tech.last) == [
        f"Order {number} is not assigned to you; nothing was changed."]

    waiting = await open_order(shop, advisor, tech, plate="京B54321")
    assert await tech.tap_data(f"ord:{waiting}:fault", tech.last) == [
        "This cannot be done now: the order is waiting for the plate check."]

    await tech.tap("Done: 1. Change oil")
    await tech.tap("Done: 2. Replace filter")
    await self_check(tech, order_id)
    # The card lost the button with the self-check; a tap from a copy that kept it is refused.
    assert not [data for m in tech.api.messages.values() if m.chat_id == tech.user_id
                for _, data in m.buttons if data == f"ord:{order_id}:fault"]
    assert await tech.tap_data(f"ord:{order_id}:fault", tech.last) == [
        "This cannot be done now: the order is self-checked, waiting for QC."]
    assert await tech.send("/cancel") == ["There is nothing to cancel."]  # no conversation
    async with shop.db.session() as session:
        assert (await session.exec(select(FaultReport))).all() == []


async def test_a_restart_mid_report_continues_where_it_was(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await order_in_progress(shop, advisor, tech)

    await tech.tap("Report unlisted fault")
    await shop.restart()
    assert "Now send photos" in (await tech.send("Exhaust hanger broken"))[-1]
    await tech.send_photo("hanger-1")
    await shop.restart()
    assert (await tech.send_photo("hanger-2"))[-1].startswith("2 photos kept.")
    await shop.restart()
    assert "Fault reported" in (await tech.tap("Done — send"))[-1]

    saved = await only_report(shop)
    assert saved.description == "Exhaust hanger broken"
    assert await photos_of(shop, saved.id) == ["hanger-1", "hanger-2"]  # type: ignore[arg-type]
    assert "Exhaust hanger broken" in advisor.last.text
    await shop.restart()
    assert (await advisor.tap("Acknowledge"))[0] == "Acknowledged. The technician has been told."
