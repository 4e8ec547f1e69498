"""W8–W10 duty areas: set up with /duty, reminders at their shop times (morning, evening,
Friday, the weekly wash of W9) sent once with a Done button, misses to the team leaders once
after 30 minutes, and the supervisors' weekly compliance summary."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import col, select

import jobs.duty_reminders
from models.attachment import Attachment
from models.audit import AuditEvent
from models.duty import DutyArea, DutyReminder, duty_summary
from models.staff import Role, Staff
from tests.shop import Person, Shop

pytestmark = pytest.mark.both_channels

SCHEDULE = ("Reminders: before work 08:30, before leaving 17:30 (working days); walls and "
            "windows Fridays 16:30; washing of protection covers and rags Saturday 16:00. Not "
            "confirmed within 30 minutes: the team leaders are told.")
EVENING = ["🔒 Before leaving Bay 1:",
           "• clean the floor, the equipment and the tools (W8)",
           "• clean the pipes, the lines and the window sills",
           "• lock the doors, the windows and the tool carts",
           "• switch the power off"]


async def run(shop: Shop) -> int:
    return await jobs.duty_reminders.run(shop.services, shop.now())


async def reminders(shop: Shop) -> list[DutyReminder]:
    async with shop.db.session() as session:
        return list((await session.exec(
            select(DutyReminder).order_by(col(DutyReminder.id)))).all())


async def actions(shop: Shop, prefix: str) -> list[str]:
    async with shop.db.session() as session:
        return list((await session.exec(select(AuditEvent.action).where(
            col(AuditEvent.action).startswith(prefix)).order_by(col(AuditEvent.id)))).all())


async def add_area(leader: Person, name: str, responsible: str) -> list[str]:
    """The team leader's /duty → New area → name → responsible, through chat."""
    await leader.send("/duty")
    await leader.tap("New area")
    await leader.send(name)
    return await leader.tap(responsible)


async def confirm_all(shop: Shop, person: Person) -> None:
    for reminder in await reminders(shop):
        if reminder.done_at is None:
            await person.tap_data(f"dty:{reminder.id}:done", person.last)


async def setup(shop: Shop) -> tuple[Person, Person, Person]:
    leader = await shop.hire("Zhao Leader", Role.team_leader)
    tech = await shop.hire("Zhang Tech", Role.technician)
    supervisor = await shop.hire("Sun Supervisor", Role.supervisor)
    await add_area(leader, "Bay 1", "Zhang Tech")
    return leader, tech, supervisor


async def test_a_team_leader_sets_up_the_duty_areas(shop: Shop) -> None:
    leader = await shop.hire("Zhao Leader", Role.team_leader)
    tech = await shop.hire("Zhang Tech", Role.technician)
    other = await shop.hire("Wang Tech", Role.technician)
    await shop.hire("Liu Advisor", Role.advisor)
    replies = await leader.send("/duty")
    assert replies[-1].splitlines() == [
        "🧹 Duty areas (W10)", "No duty area is set up yet.", "", SCHEDULE,
        "Tap an area to change who is responsible, or add one."]
    assert [label for label, _ in leader.last.buttons] == ["➕ New area"]
    assert (await leader.tap("New area"))[-1].startswith("Name of the new duty area")
    assert (await leader.send("   "))[-1] == "Please send some text."
    assert (await leader.send("x" * 41))[-1] == (
        "That is 41 characters; at most 40, please. Nothing was lost — send a shorter text.")
    replies = await leader.send("Bay  1")
    assert replies[-1] == "Who is responsible for Bay 1? /cancel stops."
    assert [label for label, _ in leader.last.buttons] == ["Wang Tech", "Zhang Tech",
                                                           "Zhao Leader"]
    assert (await leader.tap("Zhang Tech"))[-1] == "✅ Bay 1: Zhang Tech is responsible."
    assert tech.last.text.startswith("🧹 You are now responsible for the duty area Bay 1.")

    # The same name again (any case) is refused and the step waits for another.
    await leader.send("/duty")
    await leader.tap("New area")
    assert (await leader.send("BAY 1"))[-1] == (
        "There is already a duty area called “Bay 1”. Send another name.")
    await leader.send("Tool room")
    await leader.tap("Wang Tech")

    # Anyone sees the list; only team leaders get the buttons.
    replies = await tech.send("/duty")
    assert replies[-1].splitlines()[:3] == ["🧹 Duty areas (W10)", "• Bay 1: Zhang Tech",
                                            "• Tool room: Wang Tech"]
    assert tech.last.buttons == []
    assert await tech.tap_data("dut:new", tech.last) == [
        "Only team leaders can set up duty areas; nothing was changed."]
    async with shop.db.session() as session:
        bay = (await session.exec(select(DutyArea).where(DutyArea.name == "Bay 1"))).one()
    assert await tech.tap_data(f"dut:{bay.id}:edit", tech.last) == [
        "Only team leaders can set up duty areas; nothing was changed."]

    # Change who is responsible, then remove an area.
    await leader.send("/duty")
    await leader.tap("✏️ Bay 1")
    assert "Bay 1 — responsible now: Zhang Tech." in leader.last.text
    assert (await leader.tap("Wang Tech"))[-1] == "✅ Bay 1: Wang Tech is responsible."
    await leader.send("/duty")
    await leader.tap("✏️ Tool room")
    assert (await leader.tap("Remove this area"))[-1] == (
        "🗑 Tool room removed; no more reminders for it. Its history stays.")
    assert (await other.send("/duty"))[-1].splitlines()[1:3] == ["• Bay 1: Wang Tech", ""]
    assert await actions(shop, "duty.") == [
        "duty.area_create", "duty.area_create", "duty.responsible", "duty.area_remove"]


async def test_cancel_nonsense_and_a_restart_while_setting_up(shop: Shop) -> None:
    leader = await shop.hire("Zhao Leader", Role.team_leader)
    await shop.hire("Zhang Tech", Role.technician)
    await leader.send("/duty")
    await leader.tap("New area")
    assert await leader.send("/cancel") == ["Cancelled. Nothing was saved."]
    await leader.tap("New area")
    await leader.send("Washing area")
    assert (await leader.send("someone"))[-1] == (
        "That is not what this step needs. Please answer the question above, or send "
        "/cancel.")
    await shop.restart()
    assert (await leader.tap("Zhang Tech"))[-1] == "✅ Washing area: Zhang Tech is responsible."
    assert await leader.tap_data("dut:p:1", leader.last) == ["This button is no longer active."]


async def test_an_area_with_nobody_responsible_is_said_plainly(shop: Shop) -> None:
    supervisor = await shop.hire("Sun Supervisor", Role.supervisor)
    await supervisor.send("/duty")
    await supervisor.tap("New area")
    replies = await supervisor.send("Tool room")
    assert replies[-1] == ("Nobody can be made responsible: there is no active technician or "
                           "team leader. Add one, then tap Refresh. Nothing is lost.")
    tech = await shop.hire("Zhang Tech", Role.technician)
    leader = await shop.hire("Zhao Leader", Role.team_leader)
    await supervisor.tap("Refresh")
    await supervisor.tap("Zhang Tech")
    async with shop.db.session() as session:
        staff = await session.get(Staff, tech.staff_id)
        assert staff is not None
        staff.active = False  # Zhang leaves the shop
        await session.commit()
    replies = await supervisor.send("/duty")
    assert replies[-1].splitlines()[1] == (
        "• Tool room: ⚠️ nobody is responsible — its reminders go to the team leaders.")
    shop.advance(hours=8, minutes=30)  # 17:30
    assert await run(shop) == 1
    card = leader.last
    assert card.text.splitlines()[-1] == (
        "⚠️ Nobody is responsible for Tool room; a team leader sets someone with /duty. Due "
        "30 Nov 17:30.")
    [reminder] = await reminders(shop)
    assert card.buttons == [("✅ Done", f"dty:{reminder.id}:done"),
                            ("📷 Done with a photo", f"dty:{reminder.id}:photo")]
    shop.advance(minutes=31)
    assert await run(shop) == 0  # the team leaders have it already: no "missed" on top
    await leader.tap("✅ Done")
    assert "✅ Done by Zhao Leader at 30 Nov 18:01." in card.text


async def test_reminders_go_out_at_their_times_once(shop: Shop) -> None:
    leader, tech, _ = await setup(shop)
    assert await run(shop) == 0  # 09:00: the area is newer than this morning's reminder
    shop.advance(hours=8, minutes=29)
    assert await run(shop) == 0
    shop.advance(minutes=1)  # 17:30
    assert await run(shop) == 1
    card = tech.last
    [evening] = await reminders(shop)
    assert card.text.splitlines() == [*EVENING, "Responsible: Zhang Tech · due 30 Nov 17:30"]
    assert card.buttons == [("✅ Done", f"dty:{evening.id}:done"),
                            ("📷 Done with a photo", f"dty:{evening.id}:photo")]
    calls = len(shop.api.calls)
    assert await run(shop) == 0
    assert len(shop.api.calls) == calls
    await shop.restart()
    calls = len(shop.api.calls)
    shop.advance(minutes=5)
    assert await run(shop) == 0
    assert len(shop.api.calls) == calls
    assert (evening.kind, evening.staff_id, evening.sent_at) == (
        "evening", tech.staff_id, evening.due_at)

    assert (await tech.tap("✅ Done"))[-1] == "Recorded: before leaving done."
    assert card.buttons == [] and card.text.endswith("✅ Done by Zhang Tech at 30 Nov 17:35.")
    assert await tech.tap_data(f"dty:{evening.id}:done", card) == [
        "Already done by Zhang Tech at 30 Nov 17:35."]

    shop.advance(hours=14, minutes=55)  # Tuesday 08:30
    assert await run(shop) == 1
    assert tech.last.text.splitlines()[0] == "🧹 Before work: clean the floor of Bay 1."
    assert [r.kind for r in await reminders(shop)] == ["evening", "morning"]
    assert leader.inbox[-1] != tech.last.text


async def test_a_missed_confirmation_goes_to_the_team_leader_once_after_30_minutes(
    shop: Shop
) -> None:
    leader, tech, _ = await setup(shop)
    other_leader = await shop.hire("Qian Leader", Role.team_leader)
    shop.advance(hours=8, minutes=30)
    await run(shop)
    tech_card = tech.last
    shop.advance(minutes=29)
    assert await run(shop) == 0
    shop.advance(minutes=1)  # 18:00
    assert await run(shop) == 2
    alert = leader.last
    assert alert.text.splitlines()[-1] == "⏰ Not confirmed 30 minutes after the reminder."
    assert "Responsible: Zhang Tech" in alert.text
    assert "⏰ Not confirmed" in other_leader.last.text
    calls = len(shop.api.calls)
    shop.advance(minutes=30)
    assert await run(shop) == 0
    assert len(shop.api.calls) == calls
    [reminder] = await reminders(shop)
    assert reminder.missed_notified_at is not None

    # The responsible person confirms late: every copy shows it.
    shop.advance(minutes=5)
    await tech.tap_data(f"dty:{reminder.id}:done", tech_card)
    for message in (tech_card, alert, other_leader.last):
        assert message.buttons == [] and "✅ Done by Zhang Tech at 30 Nov 18:35." in message.text
    async with shop.db.session() as session:
        summary = await duty_summary(session, start=shop.now() - timedelta(days=1),
                                     end=shop.now())
    assert (summary.reminders, summary.confirmed, summary.late, summary.missed,
            summary.compliance) == (1, 1, 1, 0, 100.0)
    assert await actions(shop, "duty.") == ["duty.area_create", "duty.missed", "duty.done"]


async def test_fridays_add_walls_and_windows_and_saturdays_the_wash(shop: Shop) -> None:
    _, tech, _ = await setup(shop)
    shop.advance(days=4, hours=7, minutes=30)  # Friday 16:30; the bot was down since Monday
    assert await run(shop) == 2  # the day's morning reminder is still owed; past days are not
    assert tech.last.text.splitlines()[0] == "🪟 Friday: clean the walls and the windows of Bay 1."
    await confirm_all(shop, tech)
    shop.advance(hours=1)
    assert await run(shop) == 1
    await confirm_all(shop, tech)
    shop.advance(hours=23)  # Saturday 16:30: the morning's and the wash
    assert await run(shop) == 2
    assert tech.last.text.splitlines()[0] == (
        "🧺 Weekly wash: wash the car-protection covers and the rags of Bay 1, then fold "
        "them into the tool cart (W9).")
    await confirm_all(shop, tech)
    shop.advance(days=1)  # Sunday is not a working day (Saturday's evening passed unsent)
    assert await run(shop) == 1  # only the supervisor's weekly summary
    assert [(r.kind, r.day.isoformat()) for r in await reminders(shop)] == [
        ("morning", "2026-12-04"), ("friday", "2026-12-04"), ("evening", "2026-12-04"),
        ("morning", "2026-12-05"),
        ("wash", "2026-12-05")]


async def test_the_weekly_summary_goes_to_the_supervisors_once(shop: Shop) -> None:
    leader, tech, supervisor = await setup(shop)
    await add_area(leader, "Tool room", "Zhao Leader")
    shop.advance(hours=8, minutes=30)  # Monday 17:30
    await run(shop)
    await tech.tap("✅ Done")
    shop.advance(hours=15)  # Tuesday 08:30
    await run(shop)
    await leader.tap("✅ Done")
    before = len(supervisor.inbox)
    shop.advance(days=4, hours=9, minutes=29)  # Saturday 17:59
    await run(shop)
    assert all("Duty compliance" not in t for t in supervisor.inbox[before:])
    shop.advance(minutes=1)  # 18:00
    await run(shop)
    summary = supervisor.last.text.splitlines()
    assert summary[0] == "📊 Duty compliance, week 2026-W49 (30 Nov 2026 – 6 Dec 2026)"
    # Monday evening, Tuesday morning, and Saturday's morning, wash and evening (the bot
    # was down from Tuesday to Saturday afternoon), for two areas.
    assert summary[1] == ("All areas: 2 of 10 confirmed (20.0%), 0 late, 8 missed.")
    assert summary[2:4] == [
        "• Bay 1 (Zhang Tech): 1 of 5 confirmed (20.0%), 0 late, 4 missed",
        "• Tool room (Zhao Leader): 1 of 5 confirmed (20.0%), 0 late, 4 missed"]
    assert summary[4] == ("Equipment damage reports: 0 (0 misuse, 0 undecided); compensation "
                          "decided: ¥0.00.")
    await shop.restart()
    shop.advance(hours=20)  # Sunday
    await run(shop)
    assert sum("Duty compliance" in text for text in supervisor.inbox) == 1
    # Tool room's responsible person is the only team leader: its misses went to the
    # supervisor instead.
    assert "Responsible: Zhao Leader" in supervisor.last.text
    assert "⏰ Not confirmed" in supervisor.last.text
    assert await actions(shop, "duty.weekly") == ["duty.weekly_summary"]


async def test_done_with_a_photo(shop: Shop) -> None:
    _, tech, _ = await setup(shop)
    shop.advance(hours=8, minutes=30)
    await run(shop)
    card = tech.last
    [reminder] = await reminders(shop)
    assert (await tech.tap("Done with a photo"))[-1].startswith(
        "Send a photo of the cleaned area (up to 5)")
    assert (await tech.send("all clean"))[-1] == (
        "This step takes photos. Send one, then tap “Done — send” (or type /done). /cancel "
        "stops.")
    assert (await tech.send("/done"))[-1] == (
        "No photo yet: send one first, or /cancel and tap “✅ Done” on the reminder.")
    assert (await tech.send_photo("floor-1"))[-1].startswith("1 photo kept.")
    await shop.restart()
    assert (await tech.send_photo("floor-2"))[-1].startswith("2 photos kept.")
    assert (await tech.tap("Done — send"))[-1] == (
        "✅ Recorded: before leaving done, with 2 photos.")
    assert card.text.endswith("✅ Done by Zhang Tech at 30 Nov 17:30. 📷 2 photos")
    async with shop.db.session() as session:
        photos = (await session.exec(select(Attachment.file_id).where(
            Attachment.owner == "duty_reminder", Attachment.owner_id == reminder.id))).all()
    assert sorted(photos) == ["floor-1", "floor-2"]
    assert await tech.tap_data(f"dty:{reminder.id}:photo", card) == [
        "Already done by Zhang Tech at 30 Nov 17:30."]


async def test_cancel_a_photo_and_someone_else_and_two_at_once(shop: Shop) -> None:
    leader, tech, _ = await setup(shop)
    other = await shop.hire("Wang Tech", Role.technician)
    shop.advance(hours=8, minutes=30)
    await run(shop)
    card = tech.last
    [reminder] = await reminders(shop)
    await tech.tap("Done with a photo")
    await tech.send_photo("x")
    assert await tech.send("/cancel") == ["Cancelled. Nothing was saved."]
    assert (await reminders(shop))[0].done_at is None
    await other.send("/duty")
    assert await other.tap_data(f"dty:{reminder.id}:done", other.last) == [
        "This duty reminder is for someone else; nothing was changed."]
    assert await tech.tap_data("dty:99999:done", card) == [
        "That duty reminder no longer exists."]
    await leader.send("/duty")
    await asyncio.gather(tech.tap_data(f"dty:{reminder.id}:done", card),
                         leader.tap_data(f"dty:{reminder.id}:done", leader.last))
    assert (await actions(shop, "duty.done")) == ["duty.done"]
    assert sum(text.startswith("Already done by") for text in shop.api.alerts()) == 1


async def test_the_every_minute_workshop_job_sends_them(shop: Shop) -> None:
    import jobs.workshop

    _, tech, _ = await setup(shop)
    shop.advance(hours=8, minutes=30)
    assert await jobs.workshop.run(shop.services, shop.now()) >= 1
    assert tech.last.text.splitlines()[0] == "🔒 Before leaving Bay 1:"
    assert await jobs.workshop.run(shop.services, shop.now()) == 0


async def test_duty_checklists_and_damage_appear_in_the_monthly_report(shop: Shop) -> None:
    from tests.flows import complete_checklist, open_order

    leader, tech, supervisor = await setup(shop)
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    order_id = await open_order(shop, advisor, tech)
    await tech.tap(data=f"ord:{order_id}:plate")
    await tech.send("京A12345")
    await complete_checklist(tech, order_id, ("outside", "lift"))
    await tech.tap("Zhao Leader")
    await leader.tap("I am watching")
    await tech.send("/damage")
    await tech.send("Tyre changer")
    await tech.send("Clamp jaw cracked")
    await tech.send_photo("jaw")
    await tech.tap("Continue")
    await tech.tap("Yes, misuse")
    shop.advance(hours=8, minutes=30)
    await run(shop)
    await tech.tap("✅ Done")
    await supervisor.send("/report 2026-11")
    text = "\n".join(supervisor.inbox)
    for part in ("Pre-work checklists and lifting (N1–N7)", "Checklists completed: 1",
                 "Lifts confirmed by a watcher: 1", "Duty areas and cleaning (W8–W10)",
                 "Compliance: 100%", "Equipment damage (W8)", "Misuse: 1"):
        assert part in text, part
