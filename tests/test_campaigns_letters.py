"""A8 and A10 in chat: /campaign with each audience, call tasks 14 days ahead, the invitation
letter reminded after the campaign call, recorded as sent once, overdue notices, and /letter
for letters registered by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import col, select

import jobs.letter_jobs
from models.absence import record_absence
from models.audit import Actor, AuditEvent
from models.call_log import Topic, log_call
from models.campaign import Campaign
from models.customer import update_archive
from models.followup import FollowUp, FollowUpKind
from models.letter import Letter
from models.staff import Role, Staff
from tests.flows import customer_visit
from tests.shop import Person, Shop

pytestmark = pytest.mark.both_channels

EVENT = "2027-01-20"
CALL_DAY_9 = datetime(2027, 1, 6, 1, 0, tzinfo=UTC)  # Wed 6 Jan 2027, 09:00 in Shanghai


async def set_model(shop: Shop, customer_id: int, model: str) -> None:
    async with shop.db.session() as session:
        await update_archive(session, customer_id=customer_id, field="vehicle_model",
                             value=model, now=shop.now(), actor=Actor(None, None))
        await session.commit()


async def customers(shop: Shop, clerk: Person) -> tuple[int, int]:
    """王先生 (Camry) visits on Monday 30 Nov; 李女士 (Accord) on Thursday 10 Dec."""
    first, _ = await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    await set_model(shop, first, "Toyota Camry")
    shop.advance(days=10)
    second, _ = await customer_visit(shop, clerk.staff_id, name="李女士",  # type: ignore[arg-type]
                                     phone="13900001111", plate="沪B54321")
    await set_model(shop, second, "Honda Accord")
    return first, second


async def campaign_up_to_audience(boss: Person, *, title: str = "Winter check",
                                  event: str = EVENT) -> list[str]:
    await boss.send("/campaign")
    await boss.tap("free inspection week")
    await boss.send(title)
    await boss.send("Free 20-point check and a car wash")
    await boss.send(event)
    return await boss.send("Shop, 1 Jianguo Road")


async def campaign_calls(shop: Shop) -> list[FollowUp]:
    async with shop.db.session() as session:
        return list((await session.exec(select(FollowUp).where(
            FollowUp.kind == FollowUpKind.campaign).order_by(col(FollowUp.id)))).all())


async def campaigns(shop: Shop) -> list[Campaign]:
    async with shop.db.session() as session:
        return list((await session.exec(select(Campaign))).all())


async def letters(shop: Shop) -> list[Letter]:
    async with shop.db.session() as session:
        return list((await session.exec(select(Letter).order_by(col(Letter.id)))).all())


async def run_job(shop: Shop) -> int:
    return await jobs.letter_jobs.run(shop.services, shop.now())


def local(shop: Shop, at: datetime) -> str:
    return shop.settings.calendar.local(at).strftime("%Y-%m-%d %H:%M")


# --- /campaign -------------------------------------------------------------------------------


async def test_campaign_for_all_customers(shop: Shop) -> None:
    boss = await shop.hire("Ma Boss", Role.supervisor)
    clerk = await shop.hire("Li Clerk", Role.tracking_clerk)
    await customers(shop, clerk)

    assert await boss.send("/campaign") == ["📣 New campaign. What kind is it? /cancel stops."]
    assert [label for label, _ in boss.last.buttons] == [
        "🎉 customer event", "🏷️ offer", "🔍 free inspection week", "🎓 car-care talk",
        "📣 other"]
    assert "not what this step needs" in (await boss.send("a big party"))[0]
    assert await boss.tap("free inspection week") == [
        "Free inspection week. Its title (e.g. “Winter free inspection week”)?"]
    assert (await boss.send("x" * 101))[0].startswith("That is 101 characters")
    assert (await boss.send("Winter check"))[0].startswith("What is on offer?")
    assert (await boss.send("Free 20-point check and a car wash"))[0].startswith(
        "On which date")
    assert await boss.send("next Friday") == ["Please send a date like 2026-12-01."]
    assert await boss.send("2026-12-10") == ["That date has passed; please choose a later one."]
    assert await boss.send(EVENT) == [
        "Where does it take place? The address goes into the invitation. Or tap “No address”."]
    assert await boss.send("Shop, 1 Jianguo Road") == ["Which customers are invited?"]
    replies = await boss.tap("All customers")
    assert replies == ["📣 Free inspection week: Winter check\n"
                       "Free 20-point check and a car wash\n"
                       "Date: 20 Jan 2027 · Address: Shop, 1 Jianguo Road\n"
                       "Invited: all customers — 2 customers.\n"
                       "Each gets a call from 6 Jan 2027 and an invitation letter within 2 days "
                       "of the call.\n\nCreate it?"]
    assert await campaigns(shop) == []
    replies = await boss.tap("Create campaign")
    assert replies == ["✅ Campaign “Winter check” created: 2 call tasks due from 6 Jan 2027."]
    assert boss.last.buttons == []

    (campaign,) = await campaigns(shop)
    assert (campaign.kind, campaign.title, campaign.event_on, campaign.address,
            campaign.audience, campaign.created_by) == (
        "free_inspection", "Winter check", date(2027, 1, 20), "Shop, 1 Jianguo Road", "all",
        boss.staff_id)
    calls = await campaign_calls(shop)
    assert len(calls) == 2
    for call in calls:
        assert call.campaign_id == campaign.id
        assert local(shop, call.remind_at) == "2027-01-06 09:00"  # 14 days before the event
        assert local(shop, call.due_until) == "2027-01-09 00:00"
    async with shop.db.session() as session:
        audited = (await session.exec(select(AuditEvent).where(
            AuditEvent.action == "campaign.create"))).all()
    assert [(a.staff_id, a.detail) for a in audited] == [(boss.staff_id, {"customers": 2})]
    assert await boss.tap_data("camp:ok", boss.last) == ["This button is no longer active."]


async def test_campaign_by_model_and_by_visits(shop: Shop) -> None:
    boss = await shop.hire("Ma Boss", Role.supervisor)
    clerk = await shop.hire("Li Clerk", Role.tracking_clerk)
    camry, accord = await customers(shop, clerk)
    await campaign_up_to_audience(boss)

    assert await boss.tap("By vehicle model") == [
        "Which vehicle model? Part of the name is enough (e.g. “Camry”)."]
    assert await boss.send("Tesla") == [
        "No customer matches (customers with a Tesla); nothing was created. Type another, or "
        "choose other customers."]
    replies = await boss.send("camry")
    assert "Invited: customers with a camry — 1 customer." in replies[0]
    assert await campaigns(shop) == []

    await boss.tap("Other customers")
    assert await boss.tap("Visited since a date") == [
        "Customers who visited on or after which date? For example 2026-06-01."]
    assert await boss.send("2026-12-11") == [
        "That is in the future; please give the day it happened."]
    assert await boss.send("December") == ["Please send a date like 2026-12-01."]
    assert "Invited: customers who visited since 5 Dec 2026 — 1 customer." in \
        (await boss.send("2026-12-05"))[0]
    await boss.tap("Create campaign")
    assert [c.customer_id for c in await campaign_calls(shop)] == [accord]

    await campaign_up_to_audience(boss, title="Come back")
    await boss.tap("Not visited since a date")
    assert "Invited: customers who have not visited since 5 Dec 2026 — 1 customer." in \
        (await boss.send("2026-12-05"))[0]
    # Typing a model instead is refused as a date; choosing another audience still works.
    await boss.tap("Other customers")
    await boss.tap("Not visited since a date")
    assert await boss.send("2027-12-05") == [
        "That is in the future; please give the day it happened."]
    replies = await boss.send("2026-12-01")
    assert "customers who have not visited since 1 Dec 2026 — 1 customer." in replies[0]
    assert await boss.tap("Create campaign") == [
        "✅ Campaign “Come back” created: 1 call task due from 6 Jan 2027."]
    assert sorted(c.customer_id for c in await campaign_calls(shop)) == sorted([accord, camry])


async def test_no_customers_creates_nothing_and_a_close_event_is_called_at_once(
    shop: Shop,
) -> None:
    boss = await shop.hire("Ma Boss", Role.supervisor)
    clerk = await shop.hire("Li Clerk", Role.tracking_clerk)
    await campaign_up_to_audience(boss, event="2026-12-05")
    assert await boss.tap("All customers") == [
        "There are no customers yet; nothing was created. Choose other customers, or /cancel."]
    assert await campaigns(shop) == []
    await boss.send("/cancel")

    customer_id, _ = await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    await boss.send("/campaign")
    await boss.tap("customer event")
    await boss.send("Year-end party")
    await boss.send("Dinner with the customers")
    await boss.send("2026-12-05")
    await boss.tap("No address")
    replies = await boss.tap("All customers")
    assert "Date: 5 Dec 2026 · Address: —" in replies[0]
    assert "Each gets a call from 30 Nov 2026" in replies[0]
    assert await boss.tap("Create campaign") == [
        "✅ Campaign “Year-end party” created: 1 call task due from 30 Nov 2026."]
    (call,) = await campaign_calls(shop)
    assert (call.customer_id, call.remind_at) == (customer_id, shop.now())
    assert local(shop, call.due_until) == "2026-12-05 00:00"


async def test_only_supervisors_create_campaigns(shop: Shop) -> None:
    clerk = await shop.hire("Li Clerk", Role.tracking_clerk)
    tech = await shop.hire("Zhang Tech", Role.technician)
    for person in (clerk, tech):
        assert await person.send("/campaign") == [
            "Only supervisors can do this; nothing was changed."]
    assert await clerk.tap_data("camp:k:offer", clerk.last) == [
        "This button is no longer active."]
    assert await campaigns(shop) == []


async def test_campaign_cancel_at_every_step_and_restart(shop: Shop) -> None:
    boss = await shop.hire("Ma Boss", Role.supervisor)
    clerk = await shop.hire("Li Clerk", Role.tracking_clerk)
    await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    steps = [
        lambda: boss.send("/campaign"),
        lambda: boss.tap("offer"),
        lambda: boss.send("Tyre offer"),
        lambda: boss.send("20% off winter tyres"),
        lambda: boss.send(EVENT),
        lambda: boss.tap("No address"),
        lambda: boss.tap("By vehicle model"),
        lambda: boss.send("Tesla"),
    ]
    for stop in range(1, len(steps) + 1):
        for step in steps[:stop]:
            await step()
        assert "Finish this step first" in (await boss.send("/complaints"))[0]
        assert await boss.send("/cancel") == ["Cancelled. Nothing was saved."]
    assert await campaigns(shop) == []

    for step in steps[:5]:
        await step()
    await shop.restart()
    await boss.tap("No address")
    await boss.tap("All customers")
    assert await boss.tap("Create campaign") == [
        "✅ Campaign “Tyre offer” created: 1 call task due from 6 Jan 2027."]
    (campaign,) = await campaigns(shop)
    assert (campaign.kind, campaign.content, campaign.address) == (
        "offer", "20% off winter tyres", "")


# --- the invitation letter after a campaign call ---------------------------------------------


async def campaign_call_logged(shop: Shop, boss: Person, clerk: Person) -> Letter:
    """王先生 is invited to the winter check; his call is logged on 6 Jan at 10:00."""
    customer_id, _ = await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    await campaign_up_to_audience(boss)
    await boss.tap("All customers")
    await boss.tap("Create campaign")
    (call,) = await campaign_calls(shop)
    shop.clock.set(CALL_DAY_9 + timedelta(hours=1))
    settings = shop.settings
    async with shop.db.session() as session:
        staff = await session.get(Staff, clerk.staff_id)
        assert staff is not None
        logged = await log_call(
            session, clerk=staff, customer_id=customer_id, followup_id=call.id, reached=True,
            topics=[Topic.events], satisfaction=5, notes="Will come with his wife",
            request=None, answered_on_call=False, now=shop.now(),
            actor=Actor(staff.id, "telegram"), calendar=settings.calendar,
            second_call_window=settings.second_call_window,
            letter_within_days=settings.letter_within_days,
        )
        await session.commit()
    assert logged.letter_id is not None
    (letter,) = await letters(shop)
    return letter


async def test_letter_reminder_then_recorded_as_sent_once(shop: Shop) -> None:
    boss = await shop.hire("Ma Boss", Role.supervisor)
    clerk = await shop.hire("Li Clerk", Role.tracking_clerk)
    tech = await shop.hire("Zhang Tech", Role.technician)
    letter = await campaign_call_logged(shop, boss, clerk)
    assert local(shop, letter.due_at) == "2027-01-09 00:00"  # type: ignore[arg-type]

    assert await run_job(shop) == 1
    card = clerk.last
    assert card.text.splitlines() == [
        "📮 Send the invitation to 王先生 by 8 Jan 2027.",
        "Campaign: Winter check — 20 Jan 2027, Shop, 1 Jianguo Road",
        "Content: Free 20-point check and a car wash",
        "Customer: 王先生 · 13812345678",
        "Address: —",
        "Clerk: Li Clerk",
    ]
    assert card.buttons == [("📮 Record as sent", f"lt:{letter.id}:sent")]
    shop.advance(minutes=1)
    assert await run_job(shop) == 0
    assert not boss.inbox[-1].startswith("📮")

    await tech.send("/help")  # on WeCom a forged click needs a message of the tech's own
    assert await tech.tap_data(f"lt:{letter.id}:sent", card) == [
        "Only tracking clerks and supervisors can do this; nothing was changed."]
    assert await clerk.tap("Record as sent") == ["How was the invitation to 王先生 sent?"]
    assert [label for label, _ in clerk.last.buttons] == [
        "✉️ post", "📧 email", "💬 WeChat", "📱 SMS", "🤝 hand delivery"]
    assert "not what this step needs" in (await clerk.send("by post"))[0]
    assert await clerk.tap("post") == [
        "On which day did it go out? Tap, or type a date like 2026-12-01."]
    assert await clerk.send("2027-01-07") == [
        "That is in the future; please give the day it happened."]
    assert await clerk.send("2027-01-05") == [
        "The letter was only planned on 6 Jan 2027; it cannot have gone out before that."]
    assert await clerk.send("Tuesday") == ["Please send a date like 2026-12-01."]
    replies = await clerk.tap("Today")
    assert replies[-1] == "✅ Registered: invitation to 王先生, sent by post on 6 Jan 2027."
    assert card.text == ("✅ Invitation to 王先生 sent by post on 6 Jan 2027; registered by Li "
                         "Clerk.\nCampaign: Winter check — 20 Jan 2027, Shop, 1 Jianguo Road")
    assert card.buttons == []
    (letter,) = await letters(shop)
    assert (letter.sent_at, letter.channel, letter.clerk_id) == (
        shop.now(), "post", clerk.staff_id)

    assert await clerk.tap_data(f"lt:{letter.id}:sent", card) == [
        "Already registered as sent by Li Clerk on 6 Jan 2027 (post); nothing was changed."]
    async with shop.db.session() as session:
        audited = (await session.exec(select(AuditEvent).where(
            AuditEvent.action == "letter.sent"))).all()
    assert [(a.staff_id, a.entity_id) for a in audited] == [(clerk.staff_id, letter.id)]
    shop.clock.set(CALL_DAY_9 + timedelta(days=3))
    assert await run_job(shop) == 0  # sent: no overdue notice


async def test_two_people_registering_the_same_letter(shop: Shop) -> None:
    boss = await shop.hire("Ma Boss", Role.supervisor)
    clerk = await shop.hire("Li Clerk", Role.tracking_clerk)
    letter = await campaign_call_logged(shop, boss, clerk)
    await run_job(shop)
    await clerk.tap("Record as sent")
    await clerk.tap("email")
    question, today = clerk.find_button("Today")  # the clerk is asked the day
    await boss.tap_data(f"lt:{letter.id}:sent", boss.last)  # the boss starts on it too
    await boss.tap("SMS")
    assert await boss.tap("Yesterday") == [
        "The letter was only planned on 6 Jan 2027; it cannot have gone out before that."]
    assert (await boss.tap("Today"))[0].startswith("✅ Registered: invitation to 王先生, sent "
                                                   "by SMS")
    registered = "Already registered as sent by Ma Boss on 6 Jan 2027 (SMS); nothing was changed."
    # The clerk's question says so at once and loses its buttons (handlers/chat/deciding.py);
    # a tap on the old button is answered the same.
    assert registered in question.text and question.buttons == []
    assert (await clerk.tap_data(today, question))[0] == registered
    (letter,) = await letters(shop)
    assert (letter.channel, letter.clerk_id) == ("sms", boss.staff_id)


async def test_overdue_letter_goes_to_the_stand_in_and_the_supervisors_once(shop: Shop) -> None:
    boss = await shop.hire("Ma Boss", Role.supervisor)
    clerk = await shop.hire("Li Clerk", Role.tracking_clerk)
    standin = await shop.hire("Wu Clerk", Role.tracking_clerk)
    letter = await campaign_call_logged(shop, boss, clerk)
    assert await run_job(shop) == 1
    async with shop.db.session() as session:
        absent = await session.get(Staff, clerk.staff_id)
        other = await session.get(Staff, standin.staff_id)
        await record_absence(session, clerk=absent, standin=other,  # type: ignore[arg-type]
                             starts_on=date(2027, 1, 7), ends_on=date(2027, 1, 12),
                             today=date(2027, 1, 6), now=shop.now(),
                             actor=Actor(boss.staff_id, "telegram"))
        await session.commit()

    shop.clock.set(CALL_DAY_9 + timedelta(days=2, hours=14, minutes=59))  # Fri 23:59
    assert await run_job(shop) == 0
    shop.clock.set(CALL_DAY_9 + timedelta(days=3, minutes=-1))  # Sat 08:59: not at work yet
    assert await run_job(shop) == 0
    shop.advance(minutes=1)
    assert await run_job(shop) == 2
    notice = standin.last
    assert notice.text.startswith("👥 You stand in for Li Clerk; this is their customer.\n"
                                  "📮 Send the invitation to 王先生 by 8 Jan 2027.")
    assert notice.text.endswith("⏰ Overdue: it was due by 8 Jan 2027 and is not registered "
                                "as sent.")
    assert boss.last.text.endswith("⏰ Overdue: it was due by 8 Jan 2027 and is not registered "
                                   "as sent.")
    assert boss.last.buttons == [("📮 Record as sent", f"lt:{letter.id}:sent")]
    shop.advance(minutes=1)
    assert await run_job(shop) == 0

    first_card = clerk.last
    await standin.tap("Record as sent")
    await standin.tap("WeChat")
    await shop.restart()  # a redeploy between the two steps loses nothing
    replies = await standin.send("2027-01-08")
    assert replies[-1] == "✅ Registered: invitation to 王先生, sent by WeChat on 8 Jan 2027."
    for each in (first_card, notice, boss.last):
        assert each.text.startswith("✅ Invitation to 王先生 sent by WeChat on 8 Jan 2027; "
                                    "registered by Wu Clerk.")
        assert each.buttons == []
    (letter,) = await letters(shop)
    assert local(shop, letter.sent_at) == "2027-01-08 12:00"  # type: ignore[arg-type]


async def test_letter_due_while_the_bot_was_down_is_reported_overdue_at_once(
    shop: Shop,
) -> None:
    boss = await shop.hire("Ma Boss", Role.supervisor)
    clerk = await shop.hire("Li Clerk", Role.tracking_clerk)
    await campaign_call_logged(shop, boss, clerk)
    shop.clock.set(CALL_DAY_9 + timedelta(days=5))  # Monday: nothing was sent before
    await shop.restart()
    assert await run_job(shop) == 2
    assert "⏰ Overdue" in clerk.last.text and "⏰ Overdue" in boss.last.text
    assert sum(text.startswith("📮") for text in clerk.inbox) == 1
    shop.advance(hours=1)
    assert await run_job(shop) == 0


async def test_letter_command_offers_the_invitation_waiting_to_be_sent(shop: Shop) -> None:
    boss = await shop.hire("Ma Boss", Role.supervisor)
    clerk = await shop.hire("Li Clerk", Role.tracking_clerk)
    letter = await campaign_call_logged(shop, boss, clerk)
    await run_job(shop)
    card = clerk.last
    assert await clerk.send("/letter 京A12345") == [
        "王先生: which kind of letter?\nOr register the letter waiting to be sent:"]
    assert clerk.last.buttons[-1] == ("📮 invitation: Winter check (by 8 Jan 2027)",
                                      f"ltr:task:{letter.id}")
    assert await clerk.tap_data("ltr:task:999", clerk.last) == [
        "This button is no longer active."]
    assert await clerk.tap("Winter check") == ["How was it sent?"]
    replies = await clerk.tap("hand delivery")
    assert replies[-1] == ("✅ Registered: invitation to 王先生, sent by hand delivery on "
                           "6 Jan 2027.")
    assert card.buttons == [] and card.text.startswith("✅ Invitation to 王先生 sent by hand")
    (letter,) = await letters(shop)  # the task itself, not a second letter
    assert (letter.channel, letter.sent_at) == ("by_hand", shop.now())
    assert await clerk.send("/letter 京A12345") == ["王先生: which kind of letter?"]


# --- /letter ---------------------------------------------------------------------------------


async def test_register_a_letter_by_hand(shop: Shop) -> None:
    clerk = await shop.hire("Li Clerk", Role.tracking_clerk)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    other, _ = await customer_visit(shop, clerk.staff_id, name="王女士",  # type: ignore[arg-type]
                                    phone="13900001111", plate="沪B54321")

    assert await tech.send("/letter") == [
        "Only tracking clerks and supervisors can do this; nothing was changed."]
    assert await clerk.send("/letter") == [
        "Register a letter. To which customer? Send a plate, a phone number or a name. "
        "/cancel stops."]
    assert await clerk.send("  ") == ["Please send some text."]
    assert await clerk.send("京Z99999") == [
        "No vehicle with plate 京Z99999 is on file.\nSend another search."]
    assert await clerk.send("王") == ["2 customers match “王”. Which one?"]
    assert clerk.last.buttons == [("王先生 · 京A12345 · …5678", "ltr:cu:1"),
                                  ("王女士 · 沪B54321 · …1111", f"ltr:cu:{other}")]
    assert await clerk.tap_data("ltr:cu:999", clerk.last) == ["This button is no longer active."]
    assert await clerk.tap("王女士") == ["王女士: which kind of letter?"]
    assert "not what this step needs" in (await clerk.send("reply"))[0]
    assert await clerk.tap("reply letter") == ["How was it sent?"]
    assert await clerk.tap("email") == [
        "What does it say? A short summary for the letter register."]
    assert (await clerk.send("x" * 501))[0].startswith("That is 501 characters")
    assert await clerk.send("Answered her question about the warranty") == [
        "✅ Registered: reply letter to 王女士, sent by email on 30 Nov 2026."]
    (letter,) = await letters(shop)
    assert (letter.customer_id, letter.kind, letter.channel, letter.summary, letter.sent_at,
            letter.clerk_id, letter.due_at) == (
        other, "reply", "email", "Answered her question about the warranty", shop.now(),
        clerk.staff_id, None)

    # A phone number finds one customer straight away; the letter job has nothing to send.
    assert await clerk.send("/letter 13812345678") == ["王先生: which kind of letter?"]
    await clerk.tap("notice")
    await clerk.tap("hand delivery")
    await clerk.send("Recall notice for the rear seat belts")
    assert [(item.customer_id, item.kind, item.channel) for item in await letters(shop)][1] == (
        1, "notice", "by_hand")
    assert await run_job(shop) == 0


async def test_letter_cancel_at_every_step_and_restart(shop: Shop) -> None:
    boss = await shop.hire("Ma Boss", Role.supervisor)
    await customer_visit(shop, (await shop.hire("Li Clerk", Role.tracking_clerk)).staff_id)  # type: ignore[arg-type]
    steps = [
        lambda: boss.send("/letter"),
        lambda: boss.send("京A12345"),
        lambda: boss.tap("invitation"),
        lambda: boss.tap("SMS"),
    ]
    for stop in range(1, len(steps) + 1):
        for step in steps[:stop]:
            await step()
        assert "Finish this step first" in (await boss.send("/campaign"))[0]
        assert await boss.send("/cancel") == ["Cancelled. Nothing was saved."]
    assert await letters(shop) == []

    for step in steps[:3]:
        await step()
    await shop.restart()
    await boss.tap("SMS")
    assert await boss.send("Invitation to the open day") == [
        "✅ Registered: invitation to 王先生, sent by SMS on 30 Nov 2026."]
    assert [(item.kind, item.channel, item.clerk_id) for item in await letters(shop)] == [
        ("invitation", "sms", boss.staff_id)]
