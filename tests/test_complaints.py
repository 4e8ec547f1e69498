"""A6 complaints in chat: escalation to the supervisors after 2 days with the call notes, a
solution recorded once, the same-day callback reminder at 17:00, the supervisors told the next
morning, assigning back, /complaints and the whole history."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

import jobs.complaint_jobs
from models.absence import record_absence
from models.audit import Actor, AuditEvent
from models.call_log import Topic, log_call
from models.complaint import Complaint, history
from models.followup import FollowUp, FollowUpKind
from models.staff import Role, Staff
from tests.conftest import START
from tests.flows import customer_visit
from tests.shop import Person, Shop

pytestmark = pytest.mark.both_channels

WEDNESDAY_9 = START + timedelta(days=2)  # Wed 2 Dec 2026, 09:00 in Shanghai


async def open_complaint(
    shop: Shop, clerk: Person, *, text: str = "The brakes squeal again",
    notes: str = "Unhappy: the noise came back after two days", answered: bool = False,
    name: str = "王先生", phone: str = "13812345678", plate: str = "京A12345",
) -> int:
    """A consultation, then the first call logged (through the model) with a complaint."""
    customer_id, first_id = await customer_visit(shop, clerk.staff_id,  # type: ignore[arg-type]
                                                 name=name, phone=phone, plate=plate)
    settings = shop.settings
    async with shop.db.session() as session:
        staff = await session.get(Staff, clerk.staff_id)
        assert staff is not None
        logged = await log_call(
            session, clerk=staff, customer_id=customer_id, followup_id=first_id, reached=True,
            topics=[Topic.usage_opinion], satisfaction=2, notes=notes, request=text,
            answered_on_call=answered, now=shop.now(), actor=Actor(staff.id, "telegram"),
            calendar=settings.calendar, second_call_window=settings.second_call_window,
        )
        await session.commit()
    assert logged.complaint is not None
    return logged.complaint.id  # type: ignore[return-value]


async def run_job(shop: Shop) -> int:
    return await jobs.complaint_jobs.run(shop.services, shop.now())


async def the_complaint(shop: Shop, complaint_id: int) -> Complaint:
    async with shop.db.session() as session:
        complaint = await session.get(Complaint, complaint_id)
        assert complaint is not None
        return complaint


async def actions(shop: Shop, complaint_id: int) -> list[str]:
    async with shop.db.session() as session:
        return [e.action for e in await history(session, complaint_id)]


async def callbacks(shop: Shop, complaint_id: int) -> list[FollowUp]:
    async with shop.db.session() as session:
        return list((await session.exec(select(FollowUp).where(
            FollowUp.key == f"callback:{complaint_id}"))).all())


async def people(shop: Shop) -> tuple[Person, Person, Person]:
    clerk = await shop.hire("Li Clerk", Role.tracking_clerk)
    boss = await shop.hire("Ma Boss", Role.supervisor)
    other_boss = await shop.hire("Zhou Boss", Role.supervisor)
    return clerk, boss, other_boss


async def escalated(shop: Shop, clerk: Person) -> int:
    """A complaint opened Monday 09:00 and escalated Wednesday 09:00."""
    complaint_id = await open_complaint(shop, clerk)
    shop.clock.set(WEDNESDAY_9)
    assert await run_job(shop) > 0
    return complaint_id


async def test_escalated_on_day_two_exactly_once_with_the_call_notes(shop: Shop) -> None:
    clerk, boss, other_boss = await people(shop)
    tech = await shop.hire("Zhang Tech", Role.technician)
    gone = await shop.hire("Old Boss", Role.supervisor)
    async with shop.db.session() as session:
        staff = await session.get(Staff, gone.staff_id)
        assert staff is not None
        staff.active = False
        await session.commit()
    complaint_id = await open_complaint(shop, clerk)
    assert (await the_complaint(shop, complaint_id)).status == "researching"

    shop.advance(days=1)  # day 1: still the clerk's to research
    assert await run_job(shop) == 0
    shop.clock.set(WEDNESDAY_9 - timedelta(minutes=1))
    assert await run_job(shop) == 0
    assert not boss.inbox and not other_boss.inbox
    shop.clock.set(WEDNESDAY_9)
    assert await run_job(shop) == 3  # two supervisors and the clerk

    for supervisor in (boss, other_boss):
        card = supervisor.last
        for part in ("⚠️ Complaint not solved within 2 days", "Customer: 王先生 · 13812345678",
                     "Vehicle: 京A12345", "Clerk: Li Clerk", "Opened: 30 Nov 09:00",
                     "Complaint: The brakes squeal again",
                     "Call notes (30 Nov 09:00, satisfaction 2/5):",
                     "Unhappy: the noise came back after two days"):
            assert part in card.text, part
        assert card.buttons == [("✍️ Record solution", f"cp:{complaint_id}:solve"),
                                ("↩️ Assign back", f"cp:{complaint_id}:back")]
    assert "went to the supervisor" in clerk.last.text
    assert not tech.inbox and not gone.inbox

    shop.advance(minutes=1)
    calls = len(shop.api.calls)
    assert await run_job(shop) == 0
    assert len(shop.api.calls) == calls
    complaint = await the_complaint(shop, complaint_id)
    assert (complaint.status, complaint.escalated_at) == ("escalated", WEDNESDAY_9)
    assert await actions(shop, complaint_id) == ["opened", "escalated"]


async def test_not_escalated_when_answered_on_the_call_or_at_night(shop: Shop) -> None:
    clerk, boss, _ = await people(shop)
    await open_complaint(shop, clerk, answered=True)
    shop.clock.set(WEDNESDAY_9 - timedelta(hours=10))  # Tuesday 23:00
    researching = await open_complaint(shop, clerk, name="李女士", phone="13900001111",
                                       plate="沪B54321")
    shop.clock.set(WEDNESDAY_9 + timedelta(days=1, hours=13))  # Thursday 22:00: after hours
    assert await run_job(shop) == 0
    shop.clock.set(WEDNESDAY_9 + timedelta(days=2))  # Friday 09:00: the morning after
    assert await run_job(shop) == 3  # the two supervisors and the clerk, for one complaint
    assert len(boss.inbox) == 1
    assert f"cp:{researching}:solve" in [data for _, data in boss.last.buttons]


async def test_supervisor_records_the_solution_and_the_clerk_is_sent_to_call(shop: Shop) -> None:
    clerk, boss, other_boss = await people(shop)
    complaint_id = await escalated(shop, clerk)
    card, other_card = boss.last, other_boss.last
    shop.advance(hours=1)

    replies = await boss.tap("Record solution")
    assert replies == ["Solution to 王先生's complaint “The brakes squeal again”: what was found "
                       "or decided? The clerk tells the customer today. /cancel stops."]
    assert await boss.send("   ") == ["Please send some text."]
    assert (await boss.send("x" * 2001))[0].startswith("That is 2001 characters")
    assert "not what this step needs" in (await boss.send_photo("pads"))[0]
    assert "Finish this step first" in (await boss.send("/complaints"))[0]
    assert (await the_complaint(shop, complaint_id)).status == "escalated"

    replies = await boss.send("Free re-check of the brake pads on Friday")
    assert replies[-1] == "✅ Solution saved. Li Clerk has been told to call 王先生 back today."
    (callback,) = await callbacks(shop, complaint_id)
    assert (callback.kind, callback.status) == (FollowUpKind.complaint_callback, "open")
    assert shop.settings.calendar.local(callback.due_until).strftime("%m-%d %H:%M") == \
        "12-03 00:00"  # the end of today
    told = clerk.last
    for part in ("Ma Boss found a solution to 王先生's complaint.",
                 "Complaint: The brakes squeal again",
                 "Solution: Free re-check of the brake pads on Friday",
                 "Call the customer back TODAY (13812345678)"):
        assert part in told.text, part
    assert told.buttons == [("📝 Log call", f"fu:{callback.id}:log")]
    for each in (card, other_card):
        assert "✅ Solved by Ma Boss at 2 Dec 10:00: Free re-check of the brake pads on " \
               "Friday" in each.text
        assert "The clerk is to call the customer back today." in each.text
        assert each.buttons == [("📜 History", f"cp:{complaint_id}:hist")]

    # The other supervisor's old button: told who solved it, nothing changes.
    replies = await other_boss.tap_data(f"cp:{complaint_id}:solve", other_card)
    assert replies == ["Already solved by Ma Boss at 2 Dec 10:00: Free re-check of the brake "
                       "pads on Friday"]
    replies = await other_boss.tap_data(f"cp:{complaint_id}:back", other_card)
    assert replies[0].startswith("Already solved by Ma Boss")
    complaint = await the_complaint(shop, complaint_id)
    assert (complaint.status, complaint.solved_by) == ("solved", boss.staff_id)
    assert await actions(shop, complaint_id) == ["opened", "escalated", "solved"]
    async with shop.db.session() as session:
        audited = (await session.exec(select(AuditEvent).where(
            AuditEvent.action == "complaint.solved"))).all()
    assert [(a.staff_id, a.channel) for a in audited] == [(boss.staff_id, shop.channel)]


async def test_callback_reminder_at_five_and_the_supervisors_next_morning(shop: Shop) -> None:
    clerk, boss, other_boss = await people(shop)
    complaint_id = await escalated(shop, clerk)
    shop.advance(hours=1)
    await boss.tap("Record solution")
    await boss.send("Free re-check on Friday")
    (callback,) = await callbacks(shop, complaint_id)

    shop.clock.set(WEDNESDAY_9 + timedelta(hours=7, minutes=59))  # 16:59
    assert await run_job(shop) == 0
    shop.advance(minutes=1)  # 17:00
    assert await run_job(shop) == 1
    reminder = clerk.last
    assert reminder.text.startswith("⏰ 王先生 has not been told the solution to their complaint "
                                    "yet. Call back before the day ends (13812345678)")
    assert "Solution: Free re-check on Friday" in reminder.text
    assert reminder.buttons == [("📝 Log call", f"fu:{callback.id}:log")]
    shop.advance(minutes=1)
    assert await run_job(shop) == 0
    assert (await the_complaint(shop, complaint_id)).callback_reminded_at is not None

    boss_seen, other_seen = len(boss.inbox), len(other_boss.inbox)
    shop.clock.set(WEDNESDAY_9 + timedelta(days=1, minutes=-1))  # Thursday 08:59
    assert await run_job(shop) == 0
    shop.advance(minutes=1)  # Thursday 09:00: the next working day opens
    assert await run_job(shop) == 2
    for supervisor, seen in ((boss, boss_seen), (other_boss, other_seen)):
        assert len(supervisor.inbox) == seen + 1
        notice = supervisor.last
        assert notice.text.startswith("⚠️ 王先生 was not told the solution to their complaint "
                                      "on the day it was found.")
        assert "Clerk: Li Clerk" in notice.text
        assert "Solved by Ma Boss at 2 Dec 10:00: Free re-check on Friday" in notice.text
    shop.advance(minutes=5)
    assert await run_job(shop) == 0

    history_text = (await boss.tap("History"))[0]
    assert history_text.splitlines()[:2] == [
        "📜 Complaint of 王先生: The brakes squeal again",
        "Status: solved, customer not told yet"]
    assert "30 Nov 09:00 opened by Li Clerk, to be researched" in history_text
    assert "2 Dec 09:00 escalated to the supervisors (open 2 days)" in history_text
    assert "2 Dec 10:00 solved by Ma Boss: Free re-check on Friday" in history_text


async def test_no_reminder_once_the_callback_is_logged(shop: Shop) -> None:
    clerk, boss, _ = await people(shop)
    complaint_id = await escalated(shop, clerk)
    shop.advance(hours=1)
    await boss.tap("Record solution")
    await boss.send("Free re-check on Friday")
    (callback,) = await callbacks(shop, complaint_id)
    shop.advance(hours=5)  # 15:00: the clerk calls the customer back
    settings = shop.settings
    async with shop.db.session() as session:
        staff = await session.get(Staff, clerk.staff_id)
        assert staff is not None
        await log_call(
            session, clerk=staff, customer_id=callback.customer_id, followup_id=callback.id,
            reached=True, topics=[], satisfaction=4, notes="Told him about Friday",
            request=None, answered_on_call=False, now=shop.now(),
            actor=Actor(staff.id, "telegram"), calendar=settings.calendar,
            second_call_window=settings.second_call_window,
        )
        await session.commit()
    seen = len(clerk.inbox), len(boss.inbox)
    shop.clock.set(WEDNESDAY_9 + timedelta(hours=8))  # 17:00
    assert await run_job(shop) == 0
    shop.clock.set(WEDNESDAY_9 + timedelta(days=1))  # Thursday 09:00
    assert await run_job(shop) == 0
    assert (len(clerk.inbox), len(boss.inbox)) == seen
    assert await actions(shop, complaint_id) == ["opened", "escalated", "solved", "told"]
    assert await clerk.send("/complaints") == ["No open complaints."]
    # The closed complaint's history is still one tap away on the supervisor's card.
    assert (await boss.tap("History"))[0].splitlines() == [
        "📜 Complaint of 王先生: The brakes squeal again",
        "Status: solved, customer told",
        "",
        "30 Nov 09:00 opened by Li Clerk, to be researched",
        "2 Dec 09:00 escalated to the supervisors (open 2 days)",
        "2 Dec 10:00 solved by Ma Boss: Free re-check on Friday",
        "2 Dec 15:00 customer told by Li Clerk",
    ]


async def test_assign_back_then_the_clerk_solves_it(shop: Shop) -> None:
    clerk, boss, other_boss = await people(shop)
    complaint_id = await escalated(shop, clerk)
    card, other_card = boss.last, other_boss.last
    assert await clerk.tap_data(f"cp:{complaint_id}:back", clerk.last) == [
        "Only supervisors can do this; nothing was changed."]

    replies = await boss.tap("Assign back")
    assert replies == ["Assign 王先生's complaint back to Li Clerk. A note for them (what to "
                       "look into)? Or tap Skip."]
    assert await boss.send("  ") == ["Please send some text."]
    replies = await boss.send("Ask the workshop whether the pads were glazed")
    assert replies[-1] == "↩️ Assigned back to Li Clerk; they have been told."
    note = clerk.last
    assert note.text.startswith("↩️ Ma Boss assigned 王先生's complaint back to you: keep "
                                "researching.")
    assert "Note: Ask the workshop whether the pads were glazed" in note.text
    assert note.buttons == [("✍️ Record solution", f"cp:{complaint_id}:solve")]
    for each in (card, other_card):
        assert "↩️ Assigned back to Li Clerk by Ma Boss at 2 Dec 09:00." in each.text
        assert each.buttons == [("📜 History", f"cp:{complaint_id}:hist")]
    assert await other_boss.tap_data(f"cp:{complaint_id}:back", other_card) == [
        "This complaint is being researched now; nothing was changed."]
    assert (await the_complaint(shop, complaint_id)).status == "researching"
    shop.advance(days=3)
    assert await run_job(shop) == 0  # escalated once; it is not sent up again

    replies = await clerk.tap("Record solution")
    assert replies[0].startswith("Solution to 王先生's complaint")
    replies = await clerk.send("The pads were glazed; new pads at cost")
    (callback,) = await callbacks(shop, complaint_id)
    assert replies[0].startswith("✅ Solution saved.\n\n✅ Li Clerk found a solution")
    assert "Call the customer back TODAY" in replies[0]
    assert clerk.last.buttons == [("📝 Log call", f"fu:{callback.id}:log")]
    assert "✅ Solved by Li Clerk at 5 Dec 09:00" in card.text
    async with shop.db.session() as session:
        events = await history(session, complaint_id)
    assert [(e.action, e.staff_id, e.note) for e in events][2:] == [
        ("assigned_back", boss.staff_id, "Ask the workshop whether the pads were glazed"),
        ("solved", clerk.staff_id, "The pads were glazed; new pads at cost")]


async def test_assign_back_without_a_note_and_cancel(shop: Shop) -> None:
    clerk, boss, _ = await people(shop)
    complaint_id = await escalated(shop, clerk)
    await boss.tap("Assign back")
    assert await boss.send("/cancel") == ["Cancelled. Nothing was saved."]
    assert (await the_complaint(shop, complaint_id)).status == "escalated"
    prompt_replies = await boss.tap("Assign back")
    assert prompt_replies[0].startswith("Assign 王先生's complaint back")
    replies = await boss.tap("Skip")
    assert replies[-1] == "↩️ Assigned back to Li Clerk; they have been told."
    assert "Note:" not in clerk.last.text
    assert (await the_complaint(shop, complaint_id)).status == "researching"


def outcome(replies: list[str]) -> str:
    """The one answer to a supervisor's solution: saved, or already solved by the other."""
    [told] = [r for r in replies if r.startswith(("Already solved by ", "✅ Solution saved."))]
    return told


async def test_two_supervisors_solving_at_once_one_wins(shop: Shop) -> None:
    clerk, boss, other_boss = await people(shop)
    complaint_id = await escalated(shop, clerk)
    await boss.tap("Record solution")
    await other_boss.tap("Record solution")
    first, second = await asyncio.gather(boss.send("New pads at cost"),
                                         other_boss.send("Refund the labour"))
    # Each one's chat may also get the other's edit of their card, in either order: pick the
    # one outcome each was told, whenever it came.
    outcomes = sorted([outcome(first), outcome(second)])
    assert outcomes[0].startswith("Already solved by ")
    assert outcomes[1].startswith("✅ Solution saved. Li Clerk has been told")
    complaint = await the_complaint(shop, complaint_id)
    assert complaint.status == "solved"
    winner = boss if complaint.solved_by == boss.staff_id else other_boss
    assert outcomes[0].endswith(f"{complaint.solution}")
    assert winner.name in outcomes[0]
    assert (await actions(shop, complaint_id)).count("solved") == 1
    assert len(await callbacks(shop, complaint_id)) == 1
    assert sum("found a solution" in text for text in clerk.inbox) == 1


async def test_complaints_list_for_clerks_and_supervisors(shop: Shop) -> None:
    clerk, boss, _ = await people(shop)
    other_clerk = await shop.hire("Wu Clerk", Role.tracking_clerk)
    tech = await shop.hire("Zhang Tech", Role.technician)
    mine = await open_complaint(shop, clerk)
    await open_complaint(shop, clerk, answered=True, name="赵先生", phone="13700002222",
                         plate="京C11111", text="Wanted a receipt")
    theirs = await open_complaint(shop, other_clerk, name="李女士", phone="13900001111",
                                  plate="沪B54321", text="Waited too long")

    assert await tech.send("/complaints") == [
        "Only tracking clerks and supervisors can do this; nothing was changed."]
    replies = await clerk.send("/complaints")
    assert replies == ["1 open complaint:\n1. 王先生 — being researched, open 0 hours: The "
                       "brakes squeal again"]
    assert clerk.last.buttons == [("✍️ 1. Record solution", f"cp:{mine}:solve"),
                                  ("📜 1", f"cp:{mine}:hist")]
    await other_clerk.send("/help")  # on WeCom a forged click needs a message of their own
    assert await other_clerk.tap_data(f"cp:{mine}:solve", clerk.last) == [
        "Li Clerk follows this complaint up; only they, their stand-in or a supervisor can "
        "record its solution."]
    assert await tech.tap_data(f"cp:{mine}:hist", clerk.last) == [
        "Only tracking clerks and supervisors can do this; nothing was changed."]
    assert await tech.tap_data(f"cp:{mine}:solve", clerk.last) == [
        "Only tracking clerks and supervisors can do this; nothing was changed."]

    shop.clock.set(WEDNESDAY_9)
    await run_job(shop)
    replies = await boss.send("/complaints")
    assert replies == ["2 open complaints:\n"
                       "1. 王先生 — with the supervisor, open 2 days: The brakes squeal again "
                       "(clerk Li Clerk)\n"
                       "2. 李女士 — with the supervisor, open 2 days: Waited too long "
                       "(clerk Wu Clerk)"]
    assert boss.last.buttons[:3] == [("✍️ 1. Record solution", f"cp:{mine}:solve"),
                                     ("📜 1", f"cp:{mine}:hist"), ("↩️ 1", f"cp:{mine}:back")]

    history_text = (await clerk.tap("📜 1"))[0]
    assert history_text.splitlines() == [
        "📜 Complaint of 王先生: The brakes squeal again",
        "Status: with the supervisor",
        "",
        "30 Nov 09:00 opened by Li Clerk, to be researched",
        "2 Dec 09:00 escalated to the supervisors (open 2 days)",
    ]

    # Standing in for Li Clerk today, Wu Clerk sees Li's complaints too, and may solve them.
    async with shop.db.session() as session:
        absent = await session.get(Staff, clerk.staff_id)
        standin = await session.get(Staff, other_clerk.staff_id)
        today = shop.settings.calendar.local_date(shop.now())
        await record_absence(session, clerk=absent, standin=standin, starts_on=today,  # type: ignore[arg-type]
                             ends_on=today, today=today, now=shop.now(),
                             actor=Actor(boss.staff_id, "telegram"))
        await session.commit()
    replies = await other_clerk.send("/complaints")
    assert replies[0].startswith("2 open complaints:")
    await other_clerk.tap_data(f"cp:{mine}:solve", other_clerk.last)
    replies = await other_clerk.send("Pads replaced free of charge")
    assert replies[0].startswith("✅ Solution saved.\n\n👥 You stand in for Li Clerk; this is "
                                 "their customer.")
    assert (await the_complaint(shop, mine)).status == "solved"
    assert (await the_complaint(shop, theirs)).status == "escalated"


async def test_cancel_nonsense_and_restart_in_the_middle(shop: Shop) -> None:
    clerk, boss, _ = await people(shop)
    complaint_id = await escalated(shop, clerk)
    card = boss.last
    await boss.tap("Record solution")
    replies = await boss.tap_data("camp:ok", card)
    assert replies == ["That button is not part of this step. Finish the step or send /cancel."]
    assert await boss.send("/cancel") == ["Cancelled. Nothing was saved."]
    assert await boss.send("/cancel") == ["There is nothing to cancel."]
    assert (await the_complaint(shop, complaint_id)).status == "escalated"

    await boss.tap("Record solution", message=card)
    await shop.restart()
    replies = await boss.send("Replace the pads free of charge")
    assert replies[-1] == "✅ Solution saved. Li Clerk has been told to call 王先生 back today."
    assert "✅ Solved by Ma Boss" in card.text
    assert await boss.tap_data(f"cp:{complaint_id}:back:skip", card) == [
        "This button is no longer active."]
    assert await boss.tap_data("cp:999:hist", card) == ["That complaint no longer exists."]
