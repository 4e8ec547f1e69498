"""W11 trainings and meetings: /notice posts to roles and named people, each invitee answers on
their card, a reminder goes once an hour before (not to those who declined), the organiser
marks attendance once (the first save wins) and the register shows it all."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

import jobs.training_reminders
import jobs.workshop
from models.audit import AuditEvent
from models.staff import Role
from models.training import Answer, Notice, NoticeInvitee, attendance_summary
from tests.shop import Person, Shop

pytestmark = pytest.mark.both_channels

# 2026-12-03 14:00 in Shanghai; the shop's clock starts on Monday 2026-11-30 09:00.
STARTS = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)


async def post_notice(
    organiser: Person, *, roles: tuple[str, ...] = ("Technician",),
    people: tuple[tuple[str, str], ...] = (), title: str = "Brake system training",
    when: str = "2026-12-03 14:00", place: str = "Training room 2", kind: str = "Training",
) -> list[str]:
    """The organiser's whole /notice through chat: ``people`` are (search text, name)."""
    await organiser.send("/notice")
    await organiser.tap(kind)
    await organiser.send(title)
    await organiser.send(when)
    await organiser.send(place)
    for role in roles:
        await organiser.tap(role)
    if people:
        await organiser.tap("People by name")
        for search, name in people:
            await organiser.send(search)
            await organiser.tap(name)
    await organiser.tap("Done")
    return await organiser.tap("Post notice")


async def the_notice(shop: Shop) -> Notice:
    async with shop.db.session() as session:
        return (await session.exec(select(Notice))).one()


async def invitees(shop: Shop) -> dict[int, NoticeInvitee]:
    """By staff id."""
    async with shop.db.session() as session:
        return {i.staff_id: i for i in (await session.exec(select(NoticeInvitee))).all()}


async def audited(shop: Shop, action: str) -> int:
    async with shop.db.session() as session:
        return len((await session.exec(
            select(AuditEvent).where(AuditEvent.action == action))).all())


async def remind(shop: Shop) -> int:
    return await jobs.training_reminders.run(shop.services, shop.now())


def reminders(person: Person) -> int:
    return sum("⏰ Reminder" in text for text in person.inbox)


async def team(shop: Shop) -> tuple[Person, Person, Person, Person]:
    supervisor = await shop.hire("Chen Supervisor", Role.supervisor)
    tech1 = await shop.hire("Zhang Tech", Role.technician)
    tech2 = await shop.hire("Li Tech", Role.technician)
    advisor = await shop.hire("Wang Advisor", Role.advisor)
    return supervisor, tech1, tech2, advisor


async def test_post_to_a_role_and_a_named_person(shop: Shop) -> None:
    supervisor, tech1, tech2, advisor = await team(shop)
    other_advisor = await shop.hire("Wang Other", Role.advisor)
    await supervisor.send("/notice")
    await supervisor.tap("Training")
    await supervisor.send("Brake system training")
    assert "like 2026-12-03 14:00" in (await supervisor.send("Thursday afternoon"))[-1]
    assert "already passed" in (await supervisor.send("2026-11-30 08:59"))[-1]
    assert "more than a year" in (await supervisor.send("2028-01-01 09:00"))[-1]
    assert "Starts 3 Dec 14:00" in (await supervisor.send("2026-12-03 14:00"))[-1]
    await supervisor.send("Training room 2")
    await supervisor.tap("Technician")
    assert "✅ Technician" in [label for label, _ in supervisor.last.buttons]
    await supervisor.tap("People by name")
    assert "Nobody active matches" in (await supervisor.send("Nobody Such"))[-1]
    await supervisor.send("Wang")
    await supervisor.tap("Wang Advisor")
    assert "✅ Wang Advisor" in [label for label, _ in supervisor.last.buttons]
    await supervisor.tap("Done")
    summary = supervisor.last.text
    assert "Brake system training" in summary and "When: 3 Dec 14:00" in summary
    assert "Invited (3 people): Li Tech, Wang Advisor, Zhang Tech" in summary
    replies = await supervisor.tap("Post notice")
    assert "✅ Notice posted to 3 people." in replies[-1]
    notice = await the_notice(shop)
    assert (notice.title, notice.place, notice.starts_at, notice.kind) == (
        "Brake system training", "Training room 2", STARTS, "training")
    assert notice.audience == ",technician,"
    rows = await invitees(shop)
    assert set(rows) == {tech1.staff_id, tech2.staff_id, advisor.staff_id}
    assert all(r.answer == Answer.pending and r.reminded_at is None for r in rows.values())
    for person in (tech1, tech2, advisor):
        card = person.last
        assert "📢 Training: Brake system training" in card.text
        assert "Where: Training room 2" in card.text and "Organiser: Chen Supervisor" in card.text
        assert [label for label, _ in card.buttons] == ["✅ Will attend", "❌ Can't attend"]
    assert not any("Brake" in text for text in other_advisor.inbox)
    assert await audited(shop, "notice.post") == 1


async def test_answers_on_the_card(shop: Shop) -> None:
    supervisor, tech1, tech2, advisor = await team(shop)
    await post_notice(supervisor)
    rows = await invitees(shop)
    card = tech1.last
    replies = await tech1.tap("Will attend", message=card)
    assert "Noted: you will attend “Brake system training”." in replies[-1]
    assert "Your answer: ✅ will attend." in card.text
    assert [label for label, _ in card.buttons] == ["❌ Can't attend after all"]
    # A replayed tap changes nothing and says so.
    replies = await tech1.tap_data(f"nti:{rows[tech1.staff_id].id}:yes", card)
    assert "You already said you will attend." in replies[-1]
    # Can't attend needs a reason; the organiser reads it.
    await tech2.tap("Can't attend")
    assert "Please send some text." in (await tech2.send("   "))[-1]
    replies = await tech2.send("On leave that day")
    assert "Noted: you can't attend" in replies[-1]
    assert "❌ Li Tech can't attend “Brake system training” (3 Dec 14:00): On leave that day" \
        in supervisor.last.text
    assert "Your answer: ❌ can't attend (On leave that day)." in tech2.find_button(
        "Will attend after all")[0].text
    # A change of mind is told too.
    await tech2.tap("Will attend after all")
    assert "Li Tech will attend “Brake system training” (3 Dec 14:00) after all." in \
        supervisor.last.text
    # Someone else's card: refused, nothing changed.
    replies = await tech2.tap_data(f"nti:{rows[tech1.staff_id].id}:no", tech2.last)
    assert "This notice is not addressed to you." in replies[-1]
    await advisor.send("/orders")
    replies = await advisor.tap_data(f"nti:{rows[tech1.staff_id].id}:yes", advisor.last)
    assert "This notice is not addressed to you." in replies[-1]
    rows = await invitees(shop)
    assert rows[tech1.staff_id].answer == Answer.attending
    assert rows[tech2.staff_id].answer == Answer.attending and rows[tech2.staff_id].reason is None
    assert advisor.staff_id not in rows
    assert await audited(shop, "notice.answer") == 3


async def test_decline_can_be_cancelled_and_survives_a_restart(shop: Shop) -> None:
    supervisor, tech1, _tech2, _advisor = await team(shop)
    await post_notice(supervisor)
    await tech1.tap("Can't attend")
    assert "Cancelled" in (await tech1.send("/cancel"))[-1]
    assert (await invitees(shop))[tech1.staff_id].answer == Answer.pending
    await tech1.tap("Can't attend")
    await shop.restart()
    await tech1.send("Taking my son to hospital")
    row = (await invitees(shop))[tech1.staff_id]
    assert (row.answer, row.reason) == (Answer.declined, "Taking my son to hospital")


async def test_reminder_once_an_hour_before_and_not_to_decliners(shop: Shop) -> None:
    supervisor, tech1, tech2, advisor = await team(shop)
    await post_notice(supervisor, people=(("Wang", "Wang Advisor"),))
    await tech1.tap("Will attend")
    await tech2.tap("Can't attend")
    await tech2.send("On leave")
    shop.clock.set(STARTS - timedelta(minutes=61))
    assert await remind(shop) == 0
    shop.clock.set(STARTS - timedelta(minutes=60))
    await jobs.workshop.run(shop.services, shop.now())  # the every-minute job runs this part
    assert reminders(tech1) == 1 and reminders(advisor) == 1 and reminders(tech2) == 0
    text = advisor.last.text
    assert "⏰ Reminder: this starts at 3 Dec 14:00." in text and "Will you attend?" in text
    assert "Your answer: ✅ will attend." in tech1.last.text
    # Never twice: not on the next run, not after a restart.
    shop.advance(minutes=1)
    assert await remind(shop) == 0
    await shop.restart()
    assert await remind(shop) == 0
    assert reminders(tech1) == 1 and reminders(advisor) == 1
    # The answer buttons on the reminder work like the card's.
    await advisor.tap("Will attend", message=advisor.last)
    assert (await invitees(shop))[advisor.staff_id].answer == Answer.attending
    assert await audited(shop, "notice.remind") == 2


async def test_a_notice_within_the_hour_is_its_own_reminder(shop: Shop) -> None:
    supervisor, tech1, _tech2, _advisor = await team(shop)
    await post_notice(supervisor, when="2026-11-30 09:30", kind="Meeting", title="Morning huddle")
    assert "📢 Meeting: Morning huddle" in tech1.last.text
    assert all(r.reminded_at == shop.now() for r in (await invitees(shop)).values())
    assert await remind(shop) == 0


async def test_no_reminder_after_the_start(shop: Shop) -> None:
    supervisor, tech1, _tech2, _advisor = await team(shop)
    await post_notice(supervisor)
    shop.clock.set(STARTS + timedelta(minutes=5))  # the bot was down through the hour before
    await remind(shop)
    assert reminders(tech1) == 0
    replies = await tech1.tap("Will attend")
    assert "“Brake system training” has already started; answers are closed." in replies[-1]


async def test_roll_call_attendance_and_register(shop: Shop) -> None:
    supervisor, tech1, tech2, advisor = await team(shop)
    await post_notice(supervisor, people=(("Wang", "Wang Advisor"),))
    await tech1.tap("Will attend")
    await tech2.tap("Will attend")
    await advisor.tap("Can't attend")
    await advisor.send("Customer appointment")
    notice = await the_notice(shop)
    # Not before it starts.
    await supervisor.send("/notice list")
    await supervisor.tap("Brake system training")
    assert "Attendance not saved yet." in supervisor.last.text
    replies = await supervisor.tap_data(f"ntc:{notice.id}:mark", supervisor.last)
    assert "Attendance can be marked once it starts (3 Dec 14:00)." in replies[-1]
    # At the start the organiser is asked, once.
    shop.clock.set(STARTS)
    await remind(shop)
    roll = supervisor.last
    assert "🗒 “Brake system training” starts now (3 Dec 14:00)." in roll.text
    assert "Invited 3: 2 will attend, 1 can't, 0 no answer." in roll.text
    await remind(shop)
    assert sum("starts now" in t for t in supervisor.inbox) == 1
    # Someone else may not mark it.
    replies = await tech1.tap_data(f"ntc:{notice.id}:mark", tech1.last)
    assert "Only the organiser of “Brake system training” or a supervisor" in replies[-1]
    await supervisor.tap("Mark attendance", message=roll)
    labels = [label for label, _ in supervisor.last.buttons]
    assert labels[:3] == ["✅ Li Tech (said yes)",
                          "⬜ Wang Advisor (said no: Customer appointment)",
                          "✅ Zhang Tech (said yes)"]
    assert labels[-1] == "💾 Save (2 present)"
    await supervisor.tap("Li Tech")  # said yes, did not come
    replies = await supervisor.tap("Save (1 present)")
    assert "✅ Attendance saved for “Brake system training”: 1 present, 2 absent." in replies[-1]
    assert "✅ Attendance saved by Chen Supervisor at 3 Dec 14:00." in roll.text
    assert roll.buttons == []
    rows = await invitees(shop)
    assert [rows[p.staff_id].attended for p in (tech1, tech2, advisor)] == [True, False, False]
    # Final: a second marking is refused with who saved it.
    replies = await supervisor.tap_data(f"ntc:{notice.id}:mark", supervisor.last)
    assert "Attendance was already saved by Chen Supervisor at 3 Dec 14:00." in replies[-1]
    # The register.
    await supervisor.send("/notice list")
    register = supervisor.last.text
    assert "3 Dec 14:00 Training “Brake system training”, Training room 2" in register
    assert "Attended 1, absent 2." in register
    await supervisor.tap("Brake system training")
    detail = supervisor.last.text
    assert "✅ Zhang Tech — will attend" in detail and "❌ Li Tech — will attend" in detail
    assert "❌ Wang Advisor — can't attend: Customer appointment" in detail
    assert await audited(shop, "notice.attendance") == 1
    async with shop.db.session() as session:
        summary = await attendance_summary(session, start=STARTS - timedelta(days=3),
                                           end=STARTS + timedelta(days=1))
    assert (summary.notices, summary.trainings, summary.invited, summary.attending,
            summary.declined, summary.attended, summary.absent, summary.unmarked) == (
        1, 1, 3, 2, 1, 1, 2, 0)
    assert [(p.name, p.attended, p.absent) for p in summary.people] == [
        ("Li Tech", 0, 1), ("Wang Advisor", 0, 1), ("Zhang Tech", 1, 0)]


async def test_two_savers_at_once_one_wins(shop: Shop) -> None:
    leader = await shop.hire("Zhao Leader", Role.team_leader)
    supervisor = await shop.hire("Chen Supervisor", Role.supervisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await post_notice(leader, kind="Meeting", title="Safety meeting")
    notice = await the_notice(shop)
    shop.clock.set(STARTS)
    await remind(shop)
    await leader.tap("Mark attendance")
    await supervisor.send("/notice list")
    await supervisor.tap("Safety meeting")
    await supervisor.tap("Mark attendance")
    await supervisor.tap("Zhang Tech")
    first, second = await asyncio.gather(leader.tap("Save"), supervisor.tap("Save"))
    notice = await the_notice(shop)
    assert notice.attendance_saved_by in (leader.staff_id, supervisor.staff_id)
    lost = second if notice.attendance_saved_by == leader.staff_id else first
    assert any("Attendance was already saved by" in text for text in lost)
    assert await audited(shop, "notice.attendance") == 1
    attended = (await invitees(shop))[tech.staff_id].attended
    assert attended is (notice.attendance_saved_by == supervisor.staff_id)


async def test_who_may_post_and_see_the_register(shop: Shop) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    leader = await shop.hire("Zhao Leader", Role.team_leader)
    assert "Only supervisors and team leaders post notices" in (await tech.send("/notice"))[-1]
    assert "Only supervisors and team leaders" in (await tech.send("/notice list"))[-1]
    assert "No notices in the last 60 days" in (await leader.send("/notice list"))[-1]
    await post_notice(leader)
    notice = await the_notice(shop)
    replies = await tech.tap_data(f"ntc:{notice.id}:view", tech.last)
    assert "Only supervisors and team leaders" in replies[-1]
    # The posting's buttons are spent once it is posted.
    replies = await leader.tap_data("ntc:role:technician", leader.last)
    assert "This button is no longer active." in replies[-1]


async def test_bad_input_loses_nothing(shop: Shop) -> None:
    leader = await shop.hire("Zhao Leader", Role.team_leader)
    await shop.hire("Zhang Tech", Role.technician, bind=False)
    await leader.send("/notice")
    assert "not what this step needs" in (await leader.send("a meeting please"))[-1]
    await leader.tap("Meeting")
    assert "at most 100" in (await leader.send("x" * 101))[-1]
    await leader.send("Monthly meeting")
    assert "Finish this step first" in (await leader.send("/orders"))[-1]
    await shop.restart()
    await leader.send("2026-12-03 14:00")
    await leader.send("Meeting room")
    replies = await leader.tap("Done")  # nobody chosen
    assert "Nobody is invited" in replies[-1]
    await leader.tap("Inspector")  # a role nobody holds
    assert "Nobody is invited" in (await leader.tap("Done"))[-1]
    await leader.tap("Technician")
    await leader.tap("Done")
    assert "Invited (1 person): Zhang Tech" in leader.last.text
    replies = await leader.tap("Post notice")
    assert "1 of them has no chat account bound and was not reached." in replies[-1]
    async with shop.db.session() as session:
        assert len((await session.exec(select(Notice).where(
            col(Notice.title) == "Monthly meeting"))).all()) == 1


async def test_time_passing_before_post_asks_for_a_new_time(shop: Shop) -> None:
    leader = await shop.hire("Zhao Leader", Role.team_leader)
    await shop.hire("Zhang Tech", Role.technician)
    await leader.send("/notice")
    await leader.tap("Training")
    await leader.send("Tyre fitting")
    await leader.send("2026-11-30 10:00")
    await leader.send("Bay 3")
    await leader.tap("Technician")
    await leader.tap("Done")
    shop.clock.set(datetime(2026, 11, 30, 2, 30, tzinfo=UTC))  # 10:30, past the start
    replies = await leader.tap("Post notice")
    assert any("already passed" in text for text in replies)
    await leader.send("2026-11-30 15:00")
    await leader.tap("Done")
    await leader.tap("Post notice")
    assert (await the_notice(shop)).starts_at == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
