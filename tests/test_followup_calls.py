"""Follow-up calls in chat (A3, A4, A6, A7, A9, A11): the reminder job, the card's buttons,
logging a call (from the card, by replying to it, inbound with /logcall) and /today."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

import jobs.followup_reminders
from models.absence import record_absence
from models.audit import Actor, AuditEvent
from models.call_log import CallLog
from models.campaign import Audience, CampaignKind, create_campaign
from models.card import CardMessage
from models.complaint import Complaint, record_solution
from models.customer import Customer, update_archive
from models.followup import FollowUp
from models.letter import Letter
from models.staff import Role, Staff
from tests.fakebotapi import BOT_ID, SentMessage
from tests.flows import customer_visit
from tests.shop import Person, Shop

pytestmark = pytest.mark.both_channels

SHANGHAI = ZoneInfo("Asia/Shanghai")
STAFF_ONLY = "Only tracking clerks and supervisors can do this; nothing was changed."
OFF_STEP = "That is not what this step needs. Please answer the question above, or send /cancel."
BUTTON_OFF_STEP = "That button is not part of this step. Finish the step or send /cancel."


# --- helpers -------------------------------------------------------------------------------
def go(shop: Shop, when: str) -> None:
    """Move the clock forward to a local time in December 2026 ("12-03 09:00")."""
    target = datetime.strptime(f"2026-{when}", "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)
    delta = (target - shop.now()).total_seconds()
    assert delta >= 0, f"{when} is in the past"
    shop.advance(seconds=delta)


async def remind(shop: Shop) -> int:
    return await jobs.followup_reminders.run(shop.services, shop.now())


def card_of(person: Person, followup_id: int) -> SentMessage:
    """The newest copy of a follow-up's card in this person's chat."""
    cards = [m for m in person.api.messages.values()
             if m.chat_id == person.user_id and f"[FU-{followup_id}]" in m.text]
    assert cards, f"{person.name} has no card for follow-up {followup_id}"
    return max(cards, key=lambda m: m.message_id)


def cards_sent(person: Person, followup_id: int) -> int:
    return sum(1 for c in person.api.sent_to(person.user_id, "sendMessage")
               if f"[FU-{followup_id}]" in c.text)


async def reply_to(person: Person, message: SentMessage, text: str) -> list[str]:
    """Reply to one of the bot's messages, as Telegram sends it (with the quoted message).

    Telegram only: WeCom has no replies to a message (a text arrives on its own), so a WeCom
    user logs a call with the card's 📝 Log call button or /logcall instead."""
    assert person.shop.channel == "telegram", "WeCom messages cannot reply to a message"
    quoted = {"message_id": message.message_id, "date": int(time.time()),
              "chat": {"id": message.chat_id, "type": "private"},
              "from": {"id": BOT_ID, "is_bot": True, "first_name": "Workshop"},
              "text": message.text}
    return await person._process({"message": person._message(
        text=text, reply_to_message=quoted)})


async def rows(shop: Shop, model: type, *where: Any) -> list[Any]:
    async with shop.db.session() as session:
        return list((await session.exec(select(model).where(*where))).all())  # type: ignore[call-overload]


async def followup(shop: Shop, followup_id: int) -> FollowUp:
    async with shop.db.session() as session:
        found = await session.get(FollowUp, followup_id)
    assert found is not None
    return found


async def log_it(
    person: Person, *, topics: tuple[str, ...] = ("Usage and opinions",),
    satisfaction: str = "4", notes: tuple[str, ...] = ("Happy with the service",),
    request: str | None = None, answered: bool = False, reached: bool = True,
) -> list[str]:
    """From "Did you reach them?" to the end; returns the last step's replies."""
    if reached:
        await person.tap("Reached")
    for label in topics:
        await person.tap(label)
    await person.tap("Done")
    await person.tap(satisfaction)
    for part in notes:
        await person.send(part)
    await person.tap("Done")
    if request is None:
        return await person.tap("No")
    await person.tap("Yes")
    await person.send(request)
    return await person.tap("Yes, answered" if answered else "needs research")


async def people(shop: Shop) -> tuple[Person, Person]:
    clerk = await shop.hire("Clerk Li", Role.tracking_clerk)
    boss = await shop.hire("Boss Ma", Role.supervisor)
    return clerk, boss


async def first_call_due(shop: Shop) -> tuple[Person, Person, int, int]:
    """A consultation on Monday 11-30; the job sends the first call on Thursday at 09:00."""
    clerk, boss = await people(shop)
    customer_id, followup_id = await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    go(shop, "12-03 09:00")
    assert await remind(shop) == 1
    return clerk, boss, customer_id, followup_id


# --- the reminder job ----------------------------------------------------------------------
async def test_first_call_is_sent_on_day_three_at_nine_once(shop: Shop) -> None:
    clerk, boss = await people(shop)
    _customer_id, followup_id = await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    assert await remind(shop) == 0
    go(shop, "12-02 17:59")
    assert await remind(shop) == 0
    go(shop, "12-03 08:59")
    assert await remind(shop) == 0
    assert not clerk.inbox
    go(shop, "12-03 09:00")
    assert await remind(shop) == 1
    assert await remind(shop) == 0  # the same minute again
    shop.advance(minutes=1)
    assert await remind(shop) == 0
    assert cards_sent(clerk, followup_id) == 1
    assert not boss.inbox
    text = clerk.last.text
    for part in (f"📞 First call · 王先生 · 京A12345  [FU-{followup_id}]",
                 "Phone: 13812345678", "Vehicle: 京A12345 · —",
                 "Consultation on 30 Nov 2026: Asked about the 40,000 km service",
                 "Window: 3 Dec 2026 to 7 Dec 2026 · attempts without an answer: 0",
                 "Talking points:"):
        assert part in text, part
    assert clerk.last.buttons == [("📝 Log call", f"fu:{followup_id}:log"),
                                  ("📵 No answer", f"fu:{followup_id}:na"),
                                  ("⏰ Snooze", f"fu:{followup_id}:sz"),
                                  ("☎️ Wrong number", f"fu:{followup_id}:wn")]
    found = await followup(shop, followup_id)
    assert found.reminded_at == shop.now() - timedelta(minutes=1)
    assert found.reminded_staff_id == clerk.staff_id
    cards = await rows(shop, CardMessage, CardMessage.kind == "followup")
    assert [(c.ref_id, c.staff_id) for c in cards] == [(followup_id, clerk.staff_id)]


async def test_a_reminder_due_while_down_goes_out_in_working_hours(shop: Shop) -> None:
    clerk, _boss = await people(shop)
    _customer, first = await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    _other, second = await customer_visit(shop, clerk.staff_id, name="李女士",  # type: ignore[arg-type]
                                          phone="13900001111", plate="京B67890")
    # Down from Monday until Thursday evening: back after hours, nothing is sent at night.
    go(shop, "12-03 20:00")
    await shop.restart()
    assert await remind(shop) == 0
    go(shop, "12-04 06:00")
    assert await remind(shop) == 0
    assert not clerk.inbox
    go(shop, "12-04 09:00")
    assert await remind(shop) == 2
    assert cards_sent(clerk, first) == 1 and cards_sent(clerk, second) == 1
    # A crash after sending but before the mark: the next run sends once more, then never.
    async with shop.db.session() as session:
        found = await session.get(FollowUp, first)
        assert found is not None
        found.reminded_at = None
        await session.commit()
    await shop.restart()
    shop.advance(minutes=1)
    assert await remind(shop) == 1
    assert await remind(shop) == 0
    assert cards_sent(clerk, first) == 2 and cards_sent(clerk, second) == 1


async def test_reminders_go_to_the_stand_in_and_back(shop: Shop) -> None:
    clerk, boss = await people(shop)
    standin = await shop.hire("Clerk Wu", Role.tracking_clerk)
    customer_id, first = await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    async with shop.db.session() as session:
        li = await session.get(Staff, clerk.staff_id)
        wu = await session.get(Staff, standin.staff_id)
        assert li is not None and wu is not None
        await record_absence(session, clerk=li, standin=wu, starts_on=date(2026, 12, 3),
                             ends_on=date(2026, 12, 4), today=date(2026, 11, 30),
                             now=shop.now(), actor=Actor(boss.staff_id, "telegram"))
        await session.commit()
    go(shop, "12-03 09:00")
    assert await remind(shop) == 1
    assert not clerk.inbox
    card = card_of(standin, first)
    assert "🔁 You stand in for Clerk Li: this is Clerk Li's customer." in card.text
    assert "Phone: 13812345678" in card.text
    today = await standin.send("/today")
    assert ("• 王先生 · 京A12345 — First call, 3 Dec 2026 to 7 Dec 2026 (for Clerk Li's "
            "customer)") in today[0]
    assert standin.last.buttons == [("📝 王先生 · First call", f"fu:{first}:log")]

    # Still away on Friday: the no-answer retry goes to the stand-in again, who logs it.
    await standin.tap("No answer", message=card)
    go(shop, "12-04 09:00")
    assert await remind(shop) == 1
    assert not clerk.inbox
    await standin.tap("Log call", message=card_of(standin, first))
    await log_it(standin)
    call = (await rows(shop, CallLog))[0]
    assert (call.clerk_id, call.on_behalf_of) == (standin.staff_id, clerk.staff_id)

    # Back from Saturday: the second call (due from 12-11) goes to the clerk, no note.
    go(shop, "12-11 09:00")
    assert await remind(shop) == 1
    second = (await rows(shop, FollowUp, FollowUp.kind == "second_call"))[0]
    text = card_of(clerk, second.id).text  # type: ignore[arg-type]
    assert "stand in" not in text
    assert "Last call on 4 Dec 2026 (Clerk Wu) covered: Usage and opinions." in text
    assert cards_sent(standin, second.id) == 0  # type: ignore[arg-type]
    assert customer_id == second.customer_id


async def test_a_customer_without_a_clerk_goes_to_the_supervisors(shop: Shop) -> None:
    clerk, boss = await people(shop)
    other_boss = await shop.hire("Boss Zhou", Role.supervisor)
    customer_id, first = await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    async with shop.db.session() as session:
        customer = await session.get(Customer, customer_id)
        assert customer is not None
        customer.clerk_id = None
        await session.commit()
    go(shop, "12-03 09:00")
    assert await remind(shop) == 2
    assert cards_sent(boss, first) == 1 and cards_sent(other_boss, first) == 1
    assert not clerk.inbox
    await boss.tap("Log call", message=card_of(boss, first))
    await log_it(boss)
    for person in (boss, other_boss):
        assert "✅ Logged by Boss Ma at 3 Dec 09:00." in card_of(person, first).text


async def test_talking_points_on_the_second_call(shop: Shop) -> None:
    clerk, boss, customer_id, first = await first_call_due(shop)
    actor = Actor(clerk.staff_id, "telegram")
    async with shop.db.session() as session:
        for field, value in (("next_maintenance_on", "2027-05-30"), ("vehicle_model", "Camry"),
                             ("services_wanted", "Pick-up and drop-off")):
            await update_archive(session, customer_id=customer_id, field=field, value=value,
                                 now=shop.now(), actor=actor)
        await create_campaign(
            session, kind=CampaignKind.free_inspection, title="Winter check",
            content="Free 20-point check", event_on=date(2027, 1, 20), address="Shop hall",
            audience=Audience.all, audience_value=None, now=shop.now(),
            actor=Actor(boss.staff_id, "telegram"), calendar=shop.settings.calendar)
        await session.commit()
    await clerk.tap("Log call", message=card_of(clerk, first))
    await log_it(clerk, topics=("Usage and opinions", "Car-care tips"),
                 notes=("Happy with the brakes",), request="Wants a cheaper tyre quote")
    go(shop, "12-10 09:00")
    assert await remind(shop) == 1
    second = (await rows(shop, FollowUp, FollowUp.kind == "second_call"))[0]
    text = card_of(clerk, second.id).text  # type: ignore[arg-type]
    for part in ("📞 Second call · 王先生 · 京A12345", "Vehicle: 京A12345 · Camry",
                 "Window: 10 Dec 2026 to 17 Dec 2026",
                 "• Next maintenance: 30 May 2027",
                 "• Services wanted: Pick-up and drop-off",
                 "• Open complaint (being researched): Wants a cheaper tyre quote",
                 "• Upcoming: “Winter check” on 20 Jan 2027, Shop hall",
                 "• Last call on 3 Dec 2026 (Clerk Li) covered: Usage and opinions, Car-care tips. "
                 "Notes: Happy with the brakes",
                 "• Bring something new this time; do not repeat the last call."):
        assert part in text, part


async def test_maintenance_and_campaign_calls_and_the_callback(shop: Shop) -> None:
    clerk, boss = await people(shop)
    customer_id, first = await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    actor = Actor(clerk.staff_id, "telegram")
    async with shop.db.session() as session:
        await update_archive(session, customer_id=customer_id, field="next_maintenance_on",
                             value="2026-12-05", now=shop.now(), actor=actor)
        await session.commit()
    # The job creates the maintenance call (7 days ahead) and sends it at once.
    assert await remind(shop) == 1
    maintenance = (await rows(shop, FollowUp, FollowUp.kind == "maintenance"))[0]
    text = card_of(clerk, maintenance.id).text  # type: ignore[arg-type]
    assert "📞 Maintenance due · 王先生 · 京A12345" in text
    assert "Maintenance is due on 5 Dec 2026 (last service: —)." in text
    assert await remind(shop) == 0
    assert len(await rows(shop, FollowUp, FollowUp.kind == "maintenance")) == 1

    # A campaign call: logging it schedules the invitation letter (within 2 days).
    async with shop.db.session() as session:
        await create_campaign(
            session, kind=CampaignKind.event, title="Owners' evening", content="Dinner and "
            "a talk on winter driving", event_on=date(2026, 12, 10), address="Hotel Beijing",
            audience=Audience.all, audience_value=None, now=shop.now(),
            actor=Actor(boss.staff_id, "telegram"), calendar=shop.settings.calendar)
        await session.commit()
    assert await remind(shop) == 1
    campaign_call = (await rows(shop, FollowUp, FollowUp.kind == "campaign"))[0]
    card = card_of(clerk, campaign_call.id)  # type: ignore[arg-type]
    assert "Invite to “Owners' evening” on 10 Dec 2026, Hotel Beijing." in card.text
    assert "What it is: Dinner and a talk on winter driving" in card.text
    await clerk.tap("Log call", message=card)
    replies = await log_it(clerk, topics=("Events and offers",))
    assert ("• Invitation letter due by 2 Dec 2026; register it with /letter when "
            "sent.") in replies[-1]
    letter = (await rows(shop, Letter))[0]
    assert letter.campaign_id == campaign_call.campaign_id

    # A complaint solved: the callback card goes out at once, and logging it closes it.
    await clerk.tap("Log call", message=card_of(clerk, maintenance.id))  # type: ignore[arg-type]
    await log_it(clerk, request="The noise came back")
    complaint = (await rows(shop, Complaint))[0]
    async with shop.db.session() as session:
        boss_staff = await session.get(Staff, boss.staff_id)
        assert boss_staff is not None
        await record_solution(session, complaint_id=complaint.id, staff=boss_staff,  # type: ignore[arg-type]
                              solution="Free re-check on Friday", now=shop.now(),
                              actor=Actor(boss.staff_id, "telegram"),
                              calendar=shop.settings.calendar)
        await session.commit()
    assert await remind(shop) == 1
    callback = (await rows(shop, FollowUp, FollowUp.kind == "complaint_callback"))[0]
    card = card_of(clerk, callback.id)  # type: ignore[arg-type]
    assert "📞 Complaint callback · 王先生" in card.text
    assert "Their complaint: The noise came back" in card.text
    assert "Tell them the solution today: Free re-check on Friday" in card.text
    await clerk.tap("Log call", message=card)
    replies = await log_it(clerk)
    assert "• The customer has been told the solution; the complaint is closed." in replies[-1]
    assert (await rows(shop, Complaint))[0].status == "told"
    assert first  # the first call is still waiting for its window


# --- the buttons ---------------------------------------------------------------------------
async def test_no_answer_comes_back_the_next_working_day(shop: Shop) -> None:
    clerk, _boss, _customer, first = await first_call_due(shop)
    thursday = card_of(clerk, first)
    replies = await clerk.tap("No answer", message=thursday)
    assert replies[-1:] == ["Counted: attempt 1 without an answer. The call comes back 4 Dec "
                       "09:00."]
    assert card_of(clerk, first).text.endswith(
        "📵 No answer (attempt 1), Clerk Li at 3 Dec 09:00. It comes back 4 Dec 09:00.")
    assert card_of(clerk, first).buttons == []
    assert await remind(shop) == 0
    go(shop, "12-04 09:00")
    assert await remind(shop) == 1
    assert "attempts without an answer: 1" in card_of(clerk, first).text
    # Saturday is a working day; Sunday is not: Saturday's no answer comes back on Monday.
    await clerk.tap("No answer", message=card_of(clerk, first))
    go(shop, "12-05 09:00")
    assert await remind(shop) == 1
    replies = await clerk.tap("No answer", message=card_of(clerk, first))
    assert replies[-1:] == ["Counted: attempt 3 without an answer. The call comes back 7 Dec "
                       "09:00."]
    go(shop, "12-06 10:00")
    assert await remind(shop) == 0
    go(shop, "12-07 09:00")
    assert await remind(shop) == 1
    assert "attempts without an answer: 3" in card_of(clerk, first).text
    assert (await followup(shop, first)).attempts == 3
    assert cards_sent(clerk, first) == 4
    # "Not reached" in the log-call flow counts the same way.
    await clerk.tap("Log call", message=card_of(clerk, first))
    replies = await clerk.tap("No answer")
    assert replies[-1:] == ["Counted: attempt 4 without an answer. The call comes back 8 Dec "
                       "09:00."]
    assert await rows(shop, CallLog) == []
    audited = await rows(shop, AuditEvent, AuditEvent.action == "followup.no_answer")
    assert len(audited) == 4


async def test_snooze(shop: Shop) -> None:
    clerk, _boss, _customer, first = await first_call_due(shop)
    replies = await clerk.tap("Snooze", message=card_of(clerk, first))
    assert replies == ["Remind me about the call to 王先生 again in…"]
    assert [label for label, _ in clerk.last.buttons] == [
        "1 hour", "3 hours", "Tomorrow morning", "Next week"]
    replies = await clerk.tap("3 hours")
    assert replies[-1] == "⏰ Snoozed until 3 Dec 12:00."
    assert card_of(clerk, first).text.endswith("⏰ Snoozed by Clerk Li until 3 Dec 12:00.")
    go(shop, "12-03 11:59")
    assert await remind(shop) == 0
    go(shop, "12-03 12:00")
    assert await remind(shop) == 1
    # An hour before closing: "1 hour" lands on the next opening.
    go(shop, "12-03 17:30")
    await clerk.tap("Snooze", message=card_of(clerk, first))
    assert (await clerk.tap("1 hour"))[-1] == "⏰ Snoozed until 4 Dec 09:00."
    go(shop, "12-04 09:00")
    assert await remind(shop) == 1
    await clerk.tap("Snooze", message=card_of(clerk, first))
    assert (await clerk.tap("Next week"))[-1] == "⏰ Snoozed until 7 Dec 09:00."
    go(shop, "12-07 09:00")
    assert await remind(shop) == 1
    await clerk.tap("Snooze", message=card_of(clerk, first))
    assert (await clerk.tap("Next week"))[-1] == (
        "⏰ Snoozed until 14 Dec 09:00.\nThat is after the window ends (8 Dec 00:00); it will "
        "be reported overdue then.")
    assert len(await rows(shop, AuditEvent, AuditEvent.action == "followup.snooze")) == 4
    # A snooze choice tapped again after the call was logged is refused with who and when.
    await clerk.tap_data(f"fu:{first}:log", card_of(clerk, first))
    await log_it(clerk)
    snoozes = [m for m in clerk.api.messages.values() if m.chat_id == clerk.user_id
               and m.text.startswith("⏰ Snoozed until")]
    assert await clerk.tap_data(f"fu:{first}:sz:tm", snoozes[0]) == [
        "Already logged by Clerk Li at 7 Dec 09:00; nothing was changed."]


async def test_wrong_number_removes_it_from_the_archive(shop: Shop) -> None:
    clerk, _boss, customer_id, first = await first_call_due(shop)
    replies = await clerk.tap("Wrong number", message=card_of(clerk, first))
    assert replies == ["Is 13812345678 the wrong number for 王先生? It is removed from the "
                       "archive and the call comes back the next working day."]
    assert await clerk.tap("No, keep it") == ["Nothing was changed; the number stays."]
    customer = (await rows(shop, Customer, Customer.id == customer_id))[0]
    assert customer.phones == "13812345678"
    await clerk.tap("Wrong number", message=card_of(clerk, first))
    replies = await clerk.tap("Yes, wrong number")
    assert replies[-1] == ("☎️ 13812345678 was removed from 王先生's archive. Please find the "
                           "right number and add it to the archive (/customer 京A12345). "
                           "The call comes back 4 Dec 09:00.")
    assert card_of(clerk, first).text.endswith(
        "☎️ Wrong number, reported by Clerk Li at 3 Dec 09:00. It comes back 4 Dec 09:00.")
    customer = (await rows(shop, Customer, Customer.id == customer_id))[0]
    assert customer.phones == ""
    found = await followup(shop, first)
    assert found.wrong_number_at == shop.now() and found.status == "open"
    go(shop, "12-04 09:00")
    assert await remind(shop) == 1
    assert "Phone: — missing; please add it to the archive" in card_of(clerk, first).text


# --- logging a call -------------------------------------------------------------------------
async def test_log_a_call_with_a_complaint_then_the_second_call(shop: Shop) -> None:
    clerk, boss, customer_id, first = await first_call_due(shop)
    go(shop, "12-03 10:15")
    replies = await clerk.tap("Log call", message=card_of(clerk, first))
    assert replies == ["Logging the call to 王先生 (First call). Did you reach them? /cancel "
                       "stops at any step; nothing is saved until the end."]
    await clerk.tap("Reached")
    assert [label for label, _ in clerk.last.buttons] == [
        "⬜ Usage and opinions", "⬜ New service needs", "⬜ Car-care tips",
        "⬜ Our new services", "⬜ Events and offers", "⬜ Consultation",
        "⬜ Visit to the customer", "➡️ Done"]
    await clerk.tap("Usage and opinions")
    await clerk.tap("Car-care tips")
    await clerk.tap("New service needs")
    await clerk.tap("New service needs")  # ticked twice: off again
    labels = [label for label, _ in clerk.last.buttons]
    assert labels[:3] == ["✅ Usage and opinions", "⬜ New service needs", "✅ Car-care tips"]
    await clerk.tap("Done")
    await clerk.tap("4")
    assert await clerk.send("Happy with the repair.") == [
        "Noted (1 message). Send more, or tap Done."]
    assert await clerk.send("But the brakes squeak again when cold.") == [
        "Noted (2 messages). Send more, or tap Done."]
    await clerk.tap("Done")
    await clerk.tap("Yes")
    assert clerk.last.text == "What did they ask for or complain about? In a few words."
    assert await clerk.send("Brakes squeak when cold") == ["Was it answered on the call?"]
    replies = await clerk.tap("No, it needs research")
    assert replies[-1] == (
        "✅ Call with 王先生 logged.\nTopics: Usage and opinions, Car-care tips\n"
        "Satisfaction: 4/5\nNotes: Happy with the repair. But the brakes squeak again when "
        "cold.\n\nNext:\n• Second call due 10 Dec 2026 to 17 Dec 2026; you will be reminded.\n"
        "• Complaint being researched: Brakes squeak when cold. If it is still open at "
        "5 Dec 10:15, it goes to the supervisor.")
    assert card_of(clerk, first).text == (
        f"📞 First call · 王先生 · 京A12345  [FU-{first}]\n✅ Logged by Clerk Li at 3 Dec 10:15.")
    assert card_of(clerk, first).buttons == []

    call = (await rows(shop, CallLog))[0]
    assert (call.customer_id, call.followup_id, call.clerk_id, call.direction, call.reached,
            call.topics, call.satisfaction, call.on_behalf_of) == (
        customer_id, first, clerk.staff_id, "outbound", True, "usage_opinion,care_tips", 4,
        None)
    assert call.notes == "Happy with the repair.\nBut the brakes squeak again when cold."
    assert call.request == "Brakes squeak when cold"
    complaint = (await rows(shop, Complaint))[0]
    assert (complaint.status, complaint.call_log_id, complaint.clerk_id) == (
        "researching", call.id, clerk.staff_id)
    done = await followup(shop, first)
    assert (done.status, done.done_by) == ("done", clerk.staff_id)
    assert len(await rows(shop, AuditEvent, AuditEvent.action == "call.log")) == 1

    # The second call: nothing before 12-10, then once at 09:00.
    go(shop, "12-09 17:00")
    assert await remind(shop) == 0
    go(shop, "12-10 09:00")
    assert await remind(shop) == 1
    assert await remind(shop) == 0
    second = (await rows(shop, FollowUp, FollowUp.kind == "second_call"))[0]
    assert cards_sent(clerk, second.id) == 1  # type: ignore[arg-type]
    assert not boss.inbox


@pytest.mark.telegram_only  # WeCom has no reply-to-a-message; its users tap 📝 Log call
async def test_log_by_replying_to_the_reminder(shop: Shop) -> None:
    clerk, _boss, _customer, first = await first_call_due(shop)
    card = card_of(clerk, first)
    replies = await reply_to(clerk, card, "Reached him. All fine, wants a car wash next time.")
    assert replies == [
        "Logging the call to 王先生 (First call) as reached, with your text as the notes. A "
        "few questions to finish; /cancel stops and saves nothing.",
        "Which topics did the call cover? Tap to tick, then Done."]
    await clerk.tap("New service needs")
    await clerk.tap("Done")
    replies = await clerk.tap("5")
    assert replies[-1] == ("Notes so far: “Reached him. All fine, wants a car wash next "
                           "time.”. Send more if you like, or tap Done.")
    await clerk.tap("Done")
    replies = await clerk.tap("No")
    assert replies[-1].startswith("✅ Call with 王先生 logged.")
    call = (await rows(shop, CallLog))[0]
    assert (call.followup_id, call.reached, call.topics, call.satisfaction, call.notes) == (
        first, True, "new_needs", 5, "Reached him. All fine, wants a car wash next time.")
    assert (await followup(shop, first)).status == "done"

    # Replying again to the same (now old) reminder: told who logged it; nothing written.
    shop.advance(hours=2)
    replies = await reply_to(clerk, card_of(clerk, first), "Called again")
    assert replies == ["Already logged by Clerk Li at 3 Dec 09:00; nothing was changed."]
    assert len(await rows(shop, CallLog)) == 1
    # A reply to a message that only looks like a card is not taken for one.
    fake = SentMessage(message_id=99999, chat_id=clerk.user_id, text="[FU-1] ?")
    assert await reply_to(clerk, fake, "notes") == [
        "That message is not a follow-up reminder. Reply to a reminder card, or send "
        "/logcall."]


async def test_two_people_log_the_same_call(shop: Shop) -> None:
    clerk, boss, customer_id, first = await first_call_due(shop)
    # The supervisor starts logging from /today while the clerk logs from the card.
    await boss.send("/today")
    await boss.tap(data=f"fu:{first}:log")
    await boss.tap("Reached")
    await boss.tap("Consultation")
    await boss.tap("Done")
    await boss.tap("Not asked")
    await boss.send("Customer called about the bill")
    await boss.tap("Done")
    question = boss.last  # "Did the customer have any request or complaint?" Yes / No
    assert [label for label, _ in question.buttons] == ["Yes", "No"]
    await clerk.tap("Log call", message=card_of(clerk, first))
    await log_it(clerk)
    # The supervisor's step ends at once: the question says who logged it, keeps the notes
    # to copy, and has no button left.
    logged = "Already logged by Clerk Li at 3 Dec 09:00; nothing was changed."
    notes = "Your notes, to copy if you need them:\nCustomer called about the bill"
    assert question.text.endswith(
        f"\n\n⏹ {logged} This step has ended; nothing you entered in it was saved.\n{notes}")
    assert question.buttons == []
    shop.advance(minutes=5)
    # His next message is told the same, and is not taken as part of the step.
    replies = await boss.send("The customer wants a discount")
    assert replies == [f"{logged}\n{notes}"]
    assert await boss.send("/cancel") == ["There is nothing to cancel."]
    assert [c.clerk_id for c in await rows(shop, CallLog)] == [clerk.staff_id]
    # Tapping 📝 on the logged card is refused the same way, and so are the other buttons.
    for data in (f"fu:{first}:log", f"fu:{first}:na", f"fu:{first}:sz", f"fu:{first}:wn",
                 f"fu:{first}:wn:ok"):
        assert await clerk.tap_data(data, card_of(clerk, first)) == [
            "Already logged by Clerk Li at 3 Dec 09:00; nothing was changed."], data
    # A forged id names no follow-up.
    for data in ("fu:999:log", "fu:999:na", "fu:999:sz:3h", "fu:999:wn:ok"):
        assert await clerk.tap_data(data, card_of(clerk, first)) == [
            "That follow-up no longer exists."], data
    assert customer_id


async def test_inbound_calls_with_logcall(shop: Shop) -> None:
    clerk, _boss = await people(shop)
    wang, first = await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    wang_lady, _ = await customer_visit(shop, clerk.staff_id, name="王女士",  # type: ignore[arg-type]
                                        phone="13900001111", plate="京B67890")
    assert await clerk.send("/logcall") == [
        "Inbound call: who is calling? Send the plate, a phone number or the name. /cancel "
        "stops."]
    assert await clerk.send("京Z99999") == [
        "No vehicle with plate 京Z99999 is on file.\nSend another search."]
    replies = await clerk.send("王")
    assert replies == ["2 customers match “王”. Which one?"]
    assert sorted(clerk.last.buttons) == [("王先生 · 京A12345 · …5678", f"cl:cust:{wang}"),
                                          ("王女士 · 京B67890 · …1111", f"cl:cust:{wang_lady}")]
    # A forged customer button is not one of those offered.
    assert await clerk.tap_data("cl:cust:999", clerk.last) == ["This button is no longer active."]
    replies = await clerk.tap("王女士")
    assert replies[-2:] == ["Inbound call from 王女士.",
                            "Which topics did the call cover? Tap to tick, then Done."]
    replies = await log_it(clerk, reached=False, topics=("Consultation",),
                           notes=("Asked about winter tyres",))
    assert replies[-1].startswith("✅ Inbound call from 王女士 logged.")
    call = (await rows(shop, CallLog))[0]
    assert (call.customer_id, call.followup_id, call.direction) == (wang_lady, None, "inbound")

    # Once 王先生's first call is due, an inbound call from him may close it.
    go(shop, "12-03 10:00")
    replies = await clerk.send("/logcall 13812345678")
    assert replies == ["王先生 has an open follow-up: First call, 3 Dec 2026 to 7 Dec 2026. Log "
                       "this call as that follow-up?"]
    await clerk.tap("Yes, as that follow-up")
    replies = await log_it(clerk, reached=False)
    assert "• Second call due 10 Dec 2026 to 17 Dec 2026; you will be reminded." in replies[-1]
    call = (await rows(shop, CallLog, CallLog.customer_id == wang))[0]
    assert (call.followup_id, call.direction) == (first, "inbound")
    assert (await followup(shop, first)).status == "done"
    # The reminder job has nothing left to send for it.
    await remind(shop)
    assert cards_sent(clerk, first) == 0
    # A separate call leaves an open follow-up alone.
    go(shop, "12-10 10:00")
    await clerk.send("/logcall 京A12345")
    await clerk.tap("No, a separate call")
    await log_it(clerk, reached=False)
    second = (await rows(shop, FollowUp, FollowUp.kind == "second_call"))[0]
    assert second.status == "open"


# --- /today and overdue --------------------------------------------------------------------
async def test_today_lists_due_overdue_and_done(shop: Shop) -> None:
    clerk, boss = await people(shop)
    wu = await shop.hire("Clerk Wu", Role.tracking_clerk)
    _a, overdue = await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    go(shop, "12-01 09:00")
    _b, done = await customer_visit(shop, clerk.staff_id, name="李女士",  # type: ignore[arg-type]
                                    phone="13900001111", plate="京B67890")
    go(shop, "12-02 09:00")
    _c, due = await customer_visit(shop, clerk.staff_id, name="赵先生",  # type: ignore[arg-type]
                                   phone="13700002222", plate="京C11111")
    _d, wus = await customer_visit(shop, wu.staff_id, name="钱女士",  # type: ignore[arg-type]
                                   phone="13600003333", plate="京D22222")
    assert "Nothing due today." in (await clerk.send("/today"))[0]
    go(shop, "12-08 09:00")
    await clerk.send("/today")
    await clerk.tap(data=f"fu:{done}:log")
    await log_it(clerk)
    replies = await clerk.send("/today")
    assert replies == [
        "📋 Follow-up calls today, 8 Dec 2026\n\n"
        "Due (1):\n• 赵先生 · 京C11111 — First call, 5 Dec 2026 to 9 Dec 2026\n"
        "⚠️ Overdue (1):\n• 王先生 · 京A12345 — First call, window ended 8 Dec 00:00\n"
        "✅ Done today (1):\n• 李女士 · 京B67890 — First call, logged 8 Dec 09:00 by Clerk Li"]
    assert clerk.last.buttons == [("📝 王先生 · First call", f"fu:{overdue}:log"),
                                  ("📝 赵先生 · First call", f"fu:{due}:log")]
    replies = await boss.send("/today")
    assert replies[0].startswith("📋 Follow-up calls today, 8 Dec 2026 — everyone\n\n👤 Clerk Li\n"
                                 "Due (1):")
    assert "👤 Clerk Wu\nDue (1):\n• 钱女士 · 京D22222 — First call, 5 Dec 2026 to 9 Dec 2026" in \
        replies[0]
    assert {data for _, data in boss.last.buttons} == {
        f"fu:{due}:log", f"fu:{overdue}:log", f"fu:{wus}:log"}


async def test_overdue_is_told_once_and_stays_open(shop: Shop) -> None:
    clerk, boss, _customer, first = await first_call_due(shop)
    go(shop, "12-08 00:30")  # the window ended at midnight; nobody is woken
    assert await remind(shop) == 0
    go(shop, "12-08 09:00")
    assert await remind(shop) == 2
    card = card_of(clerk, first)
    assert ("⚠️ Overdue: the window ended 8 Dec 00:00 without a logged call. It stays on your "
            "list until it is logged.") in card.text
    assert ("📝 Log call", f"fu:{first}:log") in card.buttons
    assert boss.last.text == ("⚠️ Overdue: First call for 王先生 (京A12345). The window ended "
                              "8 Dec 00:00 without a logged call.\nIt stays on Clerk Li's "
                              "list.")
    assert await remind(shop) == 0
    go(shop, "12-09 09:00")
    assert await remind(shop) == 0
    assert cards_sent(clerk, first) == 2
    assert sum("Overdue" in t for t in boss.inbox) == 1
    assert (await followup(shop, first)).status == "open"
    assert "⚠️ Overdue (1):" in (await clerk.send("/today"))[0]
    # Logged late, it is still logged (and counts as late in the reports).
    await clerk.tap("Log call", message=card)
    await log_it(clerk)
    assert (await followup(shop, first)).status == "done"
    assert card_of(clerk, first).text.endswith("✅ Logged by Clerk Li at 9 Dec 09:00.")


async def test_a_call_first_reminded_after_its_window_is_one_card(shop: Shop) -> None:
    clerk, boss = await people(shop)
    _customer, first = await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    go(shop, "12-08 10:00")  # the bot was down through the whole window
    await shop.restart()
    assert await remind(shop) == 2
    assert cards_sent(clerk, first) == 1
    assert "⚠️ Overdue: the window ended 8 Dec 00:00" in card_of(clerk, first).text
    assert [t for t in boss.inbox if "Overdue" in t] == [
        "⚠️ Overdue: First call for 王先生 (京A12345). The window ended 8 Dec 00:00 without a "
        "logged call.\nIt stays on Clerk Li's list."]
    shop.advance(minutes=1)
    assert await remind(shop) == 0


# --- who may, and bad input ------------------------------------------------------------------
async def test_technicians_and_advisors_are_refused(shop: Shop) -> None:
    clerk, _boss, customer_id, first = await first_call_due(shop)
    tech = await shop.hire("Zhang Tech", Role.technician)
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    card = card_of(clerk, first)
    for person in (tech, advisor):
        await person.send("/help")  # on WeCom a forged click needs a message of their own
        for data in (f"fu:{first}:log", f"fu:{first}:na", f"fu:{first}:sz",
                     f"fu:{first}:sz:1h", f"fu:{first}:wn", f"fu:{first}:wn:ok",
                     f"fu:{first}:wn:no"):
            assert await person.tap_data(data, card) == [STAFF_ONLY], (person.name, data)
        assert await person.send("/today") == [STAFF_ONLY]
        assert await person.send("/logcall") == [STAFF_ONLY]
        assert await person.send("/logcall 京A12345") == [STAFF_ONLY]
    # Nor by replying to a copy of the card (Telegram only: WeCom has no replies).
    if shop.channel == "telegram":
        assert await reply_to(tech, card, "notes") == [STAFF_ONLY]
    found = await followup(shop, first)
    assert (found.status, found.attempts, found.remind_at) == ("open", 0, shop.now())
    customer = (await rows(shop, Customer, Customer.id == customer_id))[0]
    assert customer.phones == "13812345678"
    assert await rows(shop, CallLog) == []
    # Nothing of the card reached them, so no phone number either.
    assert not any("13812345678" in t for t in tech.inbox)


async def test_cancel_at_every_step_saves_nothing(shop: Shop) -> None:
    clerk, _boss, _customer, first = await first_call_due(shop)
    steps = [
        lambda: clerk.tap("Reached"),
        lambda: clerk.tap("Usage and opinions"),
        lambda: clerk.tap("Done"),
        lambda: clerk.tap("3"),
        lambda: clerk.send("Some notes"),
        lambda: clerk.tap("Done"),
        lambda: clerk.tap("Yes"),
        lambda: clerk.send("A complaint"),
    ]
    for depth in range(len(steps) + 1):
        await clerk.tap("Log call", message=card_of(clerk, first))
        for step in steps[:depth]:
            await step()
        assert await clerk.send("/cancel") == ["Cancelled. Nothing was saved."], depth
        assert await rows(shop, CallLog) == []
        assert await rows(shop, Complaint) == []
        assert (await followup(shop, first)).status == "open"
    # /logcall's own steps too.
    await clerk.send("/logcall")
    assert await clerk.send("/cancel") == ["Cancelled. Nothing was saved."]
    await clerk.send("/logcall 京A12345")  # offers the open first call
    assert await clerk.send("/cancel") == ["Cancelled. Nothing was saved."]
    await customer_visit(shop, clerk.staff_id, name="王女士", phone="13900001111",  # type: ignore[arg-type]
                         plate="京B67890")
    await clerk.send("/logcall 王")  # two customers to pick from
    assert await clerk.send("/cancel") == ["Cancelled. Nothing was saved."]
    if shop.channel == "telegram":  # a reply to the card starts it too (WeCom has no replies)
        await reply_to(clerk, card_of(clerk, first), "Reached")
        assert await clerk.send("/cancel") == ["Cancelled. Nothing was saved."]
    assert await rows(shop, CallLog) == []
    assert await clerk.send("/cancel") == ["There is nothing to cancel."]
    # And the flow still works afterwards.
    await clerk.tap("Log call", message=card_of(clerk, first))
    await log_it(clerk)
    assert len(await rows(shop, CallLog)) == 1


async def test_nonsense_at_every_step_loses_nothing(shop: Shop) -> None:
    clerk, _boss, _customer, first = await first_call_due(shop)
    await clerk.tap("Log call", message=card_of(clerk, first))
    assert await clerk.send("yes") == [OFF_STEP]  # a button is due
    assert await clerk.send("/today") == [
        "Finish this step first, or send /cancel to stop. Nothing was lost."]
    assert await clerk.tap_data("cl:sat:3", clerk.last) == [BUTTON_OFF_STEP]
    await clerk.tap("Reached")
    assert await clerk.send("usage") == [OFF_STEP]
    assert await clerk.tap("Done") == ["Tick at least one topic first."]
    await clerk.tap("Usage and opinions")
    await clerk.tap("Done")
    assert await clerk.send("great") == ["Please tap a number from 1 to 5 (or “Not asked”)."]
    assert await clerk.send("7") == ["Please tap a number from 1 to 5 (or “Not asked”)."]
    assert await clerk.send_photo("face") == [OFF_STEP]
    assert (await clerk.send("2"))[-1].startswith("What did the customer say?")
    assert await clerk.tap("Done") == ["Please write at least a line of notes first."]
    assert await clerk.send_photo("receipt") == [OFF_STEP]
    replies = await clerk.send("x" * 4001)
    assert replies == ["That is 4001 characters; at most 4000, please. Nothing was lost — send "
                       "a shorter text."]
    await clerk.send("a" * 3000)
    replies = await clerk.send("b" * 1500)
    assert replies == ["With this message the notes would be 4501 characters; at most 4000. "
                       "It was not added — send a shorter one, or tap Done."]
    await clerk.send("Customer is happy")
    await clerk.tap("Done")
    assert await clerk.send("no") == [OFF_STEP]
    await clerk.tap("Yes")
    assert await clerk.send("   ") == ["Please send some text."]
    assert await clerk.tap_data("cl:req:no", clerk.last) == [BUTTON_OFF_STEP]
    await clerk.send("Wants a loan car next time")
    assert await clerk.send("yes") == [OFF_STEP]
    replies = await clerk.tap("Yes, answered")
    assert replies[-1].startswith("✅ Call with 王先生 logged.")
    assert "• Request recorded as answered on the call: Wants a loan car next time" in \
        replies[-1]
    call = (await rows(shop, CallLog))[0]
    assert (call.satisfaction, call.notes) == (2, "a" * 3000 + "\nCustomer is happy")
    assert (await rows(shop, Complaint))[0].status == "answered"
    # The conversation's buttons are dead once it is over.
    assert await clerk.tap_data("cl:topics:done", clerk.last) == [
        "This button is no longer active."]


async def test_a_restart_mid_conversation_continues(shop: Shop) -> None:
    clerk, _boss, _customer, first = await first_call_due(shop)
    await clerk.tap("Log call", message=card_of(clerk, first))
    await clerk.tap("Reached")
    await clerk.tap("Events and offers")
    await shop.restart()
    await clerk.tap("Visit to the customer")
    await clerk.tap("Done")
    await clerk.tap("1")
    await clerk.send("Unhappy with the wait")
    await shop.restart()
    await clerk.send("Wants to be called before 10")
    await clerk.tap("Done")
    replies = await clerk.tap("No")
    assert replies[-1].startswith("✅ Call with 王先生 logged.")
    call = (await rows(shop, CallLog))[0]
    assert (call.topics, call.satisfaction, call.notes) == (
        "events,visit", 1, "Unhappy with the wait\nWants to be called before 10")
    # The card was edited by the new application.
    assert card_of(clerk, first).text.endswith("✅ Logged by Clerk Li at 3 Dec 09:00.")
