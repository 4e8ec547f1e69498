"""The job clock (start, pause, resume, finish per item), standard hours from the items list,
and what the monthly report makes of them: efficiency and rework rate per technician, plus the
other workshop summaries."""

from __future__ import annotations

import importlib.util
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlmodel import col, select

import models.report
from bot.i18n import Translator
from bot.report_files import report_xlsx
from handlers.after_sales.cards.report import report_messages
from models.audit import AuditEvent
from models.db import Database
from models.job_clock import ClockInterval, hours_by_technician
from models.report import WORKSHOP_SUMMARIES, month_period, period_report
from models.shop_time import ShopCalendar
from models.staff import Role, Staff
from models.work_order import ItemStatus, OrderItem, split_standard_hours
from tests.flows import open_order, order_in_progress, pending_check, self_check
from tests.report_data import SHANGHAI
from tests.shop import Person, Shop

pytestmark = pytest.mark.both_channels

NUMBER = "WO261130-00001"


def at(shop: Shop, hhmm: str, day: int = 30) -> None:
    """Move the shop clock to a local time on 30 November 2026."""
    hour, minute = map(int, hhmm.split(":"))
    local = datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)
    shop.clock.set(local.astimezone(UTC))


async def items(shop: Shop, order_id: int) -> list[OrderItem]:
    async with shop.db.session() as session:
        return list((await session.exec(select(OrderItem).where(
            OrderItem.order_id == order_id).order_by(col(OrderItem.position)))).all())


async def intervals(shop: Shop, item_id: int) -> list[ClockInterval]:
    async with shop.db.session() as session:
        return list((await session.exec(select(ClockInterval).where(
            ClockInterval.item_id == item_id).order_by(col(ClockInterval.id)))).all())


def local(moment: datetime | None) -> str:
    assert moment is not None
    return moment.astimezone(SHANGHAI).strftime("%H:%M")


def test_standard_hours_after_a_bar() -> None:
    assert split_standard_hours("Change oil | 1.5") == ("Change oil", 90)
    assert split_standard_hours("更换机油｜0.5小时") == ("更换机油", 30)
    assert split_standard_hours("Align wheels |2h") == ("Align wheels", 120)
    assert split_standard_hours("Brake pads | 1,25") == ("Brake pads", 75)
    assert split_standard_hours("Quick check | 0.01") == ("Quick check", 1)
    # Not a plausible number of hours: the whole line stays the description.
    for line in ("Change oil | 0", "Change oil | 100", "Change oil | abc", "| 1.5",
                 "Filter A|B", "Wipers"):
        assert split_standard_hours(line) == (line, None), line


async def test_start_pause_resume_finish_adds_up_the_running_time(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech,
                                       items=("Change oil | 1.5", "Replace filter"))
    first, second = await items(shop, order_id)
    assert (first.description, first.standard_minutes) == ("Change oil", 90)
    assert (second.description, second.standard_minutes) == ("Replace filter", None)
    labels = [label for label, _ in tech.last.buttons]
    assert labels[:4] == ["▶️ Start 1.", "✅ Done: 1. Change oil", "▶️ Start 2.",
                          "✅ Done: 2. Replace filter"]
    assert "⬜ 1. Change oil ⏱ standard 1.5 h" in tech.last.text

    at(shop, "09:00")
    assert "⏱ Clock running on 1. Change oil." in await tech.tap("Start 1.")
    assert "⬜ 1. Change oil ⏱ running since 30 Nov 09:00, standard 1.5 h" in tech.last.text
    assert "⏸ Pause 1." in [label for label, _ in tech.last.buttons]
    stale = await tech.tap_data(f"clk:{first.id}:start", tech.last)
    assert stale == ["The clock on “Change oil” is already running (since 30 Nov 09:00)."]

    at(shop, "10:00")
    assert "⏸ Clock paused on 1. Change oil." in await tech.tap("Pause 1.")
    assert "⬜ 1. Change oil ⏱ 1.0 h clocked, standard 1.5 h" in tech.last.text
    assert await tech.tap_data(f"clk:{first.id}:pause", tech.last) == [
        "The clock on “Change oil” is not running."]

    at(shop, "11:00")
    await shop.restart()  # the clock lives in the database
    assert "⏱ Clock running on 1. Change oil." in await tech.tap("Resume 1.")
    assert "running since 30 Nov 11:00, 1.0 h clocked" in tech.last.text
    at(shop, "11:30")
    await tech.tap("Done: 1.")
    [item, _other] = await items(shop, order_id)
    assert item.status == ItemStatus.done and item.clock_started_at is None
    assert item.clock_seconds == 90 * 60
    assert "✅ 1. Change oil (done 30 Nov 11:30) ⏱ 1.5 h clocked, standard 1.5 h" in tech.last.text
    assert [(local(i.started_at), local(i.stopped_at), i.stop_reason)
            for i in await intervals(shop, first.id)] == [
        ("09:00", "10:00", "pause"), ("11:00", "11:30", "done")]
    async with shop.db.session() as session:
        assert await hours_by_technician(session, first.id) == {tech.staff_id: 1.5}
        events = [e.action for e in (await session.exec(
            select(AuditEvent).where(col(AuditEvent.action).startswith("clock.")))).all()]
    assert events == ["clock.start", "clock.pause", "clock.start", "clock.done"]
    assert await tech.tap_data(f"clk:{first.id}:start", tech.last) == [
        "“Change oil” is already done."]
    # An item done without ever starting the clock simply has no clocked time.
    await tech.tap("Done: 2.")
    assert (await items(shop, order_id))[1].clock_seconds is None


async def test_only_the_orders_technician_clocks_and_only_while_in_progress(
    shop: Shop,
) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    other = await shop.hire("Wu Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    first, _second = await items(shop, order_id)
    await other.send("/orders")
    assert await other.tap_data(f"clk:{first.id}:start", other.last) == [
        f"Order {NUMBER} is not assigned to you; nothing was changed."]
    assert await tech.tap_data("clk:99999:start", tech.last) == [
        "That order or item no longer exists."]
    waiting = await open_order(shop, advisor, tech, plate="京B54321")
    [waiting_item, _] = await items(shop, waiting)
    assert await tech.tap_data(f"clk:{waiting_item.id}:start", tech.last) == [
        "This cannot be done now: the order is waiting for the plate check."]
    # The plate is checked but the pre-work checklist is not complete: no clock yet (N1–N7).
    await tech.tap(data=f"ord:{waiting}:plate")
    await tech.send("京B54321")
    replies = await tech.tap_data(f"clk:{waiting_item.id}:start", tech.last)
    assert replies and "WO261130-00002" in replies[0]
    assert await intervals(shop, first.id) == [] and await intervals(shop, waiting_item.id) == []

    # Handed over for QC, the clock buttons are spent.
    for item in await items(shop, order_id):
        await tech.tap(data=f"itm:{item.id}:done")
    await self_check(tech, order_id)
    assert await tech.tap_data(f"clk:{first.id}:start", tech.last) == [
        "This cannot be done now: the order is self-checked, waiting for QC."]


# --- the monthly report ----------------------------------------------------------------------


async def clocked(tech: Person, position: int, shop: Shop, start: str, stop: str,
                  verb: str = "Start") -> None:
    """Run the clock on an item from ``start`` and finish it at ``stop`` (shop time)."""
    at(shop, start)
    await tech.tap(f"{verb} {position}.")
    at(shop, stop)
    await tech.tap(f"Done: {position}.")


@pytest.mark.telegram_only
async def test_efficiency_and_rework_rate_in_the_monthly_report(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    other = await shop.hire("Wu Tech", Role.technician)
    leader = await shop.hire("Wang Leader", Role.team_leader)
    inspector = await shop.hire("Zhao Inspector", Role.inspector)
    boss = await shop.hire("Boss Ma", Role.supervisor)
    async with shop.db.session() as session:  # the spreadsheet shows the staff code (工号)
        zhang_staff = await session.get(Staff, tech.staff_id)
        assert zhang_staff is not None
        zhang_staff.code = "T07"
        await session.commit()

    # Zhang: oil (1.5 h standard) in 1 h; filter (0.5 h standard) in 1 h, sent back by the
    # team leader, then 30 more minutes.
    order_id = await order_in_progress(shop, advisor, tech,
                                       items=("Change oil | 1.5", "Replace filter | 0.5"))
    await clocked(tech, 1, shop, "09:00", "10:00")
    await clocked(tech, 2, shop, "10:00", "11:00")
    await self_check(tech, order_id)
    await leader.tap("🔁 Rework")
    await leader.tap("2. Replace filter")
    await leader.send("Housing leaks")
    await clocked(tech, 2, shop, "11:00", "11:30", verb="Resume")
    await self_check(tech, order_id)
    await leader.tap(data=f"qc:{await pending_check(shop, order_id)}:pass")
    await inspector.tap(data=f"qc:{await pending_check(shop, order_id)}:pass")
    # Wu: a wash without a standard time, 30 minutes.
    await order_in_progress(shop, advisor, other, items=("Wash the car",))
    await clocked(other, 1, shop, "12:00", "12:30")

    at(shop, "18:00")
    async with shop.db.session() as session:
        november = month_period(shop.settings.calendar, 2026, 11)
        report = await period_report(session, start=november.start, end=november.end,
                                     calendar=shop.settings.calendar, now=shop.now())
    wu, zhang = report.technicians  # by name
    assert (zhang.name, zhang.items_done, zhang.clocked_hours, zhang.standard_hours,
            zhang.measured_hours) == ("Zhang Tech", 2, 2.5, 2.0, 2.5)
    assert zhang.efficiency == pytest.approx(0.8)
    assert (zhang.reworks_leader, zhang.reworks_inspector, zhang.rework_rate) == (1, 0, 0.5)
    assert (wu.name, wu.items_done, wu.clocked_hours, wu.efficiency, wu.rework_rate) == (
        "Wu Tech", 1, 0.5, None, 0.0)
    qc = report.qc
    assert (qc.self_checks, qc.leader_passed, qc.leader_rework, qc.inspected,
            qc.inspector_rework, qc.handoffs) == (2, 1, 1, 1, 0, 0)

    replies = await boss.send("/report 2026-11")
    text = "\n\n".join(replies)
    assert "🔧 Workshop\n" \
        "• Self-checked and handed over for QC: 2; handed on to the next process: 0\n" \
        "• Team leader check: 1 passed, 1 sent back for rework\n" \
        "• Final inspection: 1 passed, 0 sent back for rework\n" \
        "All technicians:\n" \
        "• Items done: 3; clocked 3.0 h\n" in text
    assert "👷 Zhang Tech\n" \
        "• Items done: 2; clocked 2.5 h\n" \
        "• Efficiency: 80% (standard 2.0 h / actual 2.5 h on items with a standard time)\n" \
        "• Reworks: 1 (team leader 1, inspector 0); rework rate 50%" in text
    assert "👷 Wu Tech\n• Items done: 1; clocked 0.5 h\n" \
        "• Efficiency: — (no finished item with a standard time was clocked)\n" \
        "• Reworks: 0 (team leader 0, inspector 0); rework rate 0%" in text
    assert "Nothing happened in this period." not in text

    document = shop.api.sent_to(boss.user_id, "sendDocument")[0]
    book = load_workbook(io.BytesIO(document.files["document"][1]))
    rows = list(book["Technicians"].iter_rows(values_only=True))
    assert rows[0] == ("Staff no.", "Technician", "Items done", "Clocked hours",
                       "Standard hours", "Actual hours on items with a standard", "Efficiency",
                       "Reworks (team leader)", "Reworks (inspector)", "Rework rate")
    assert rows[1] == (None, "Wu Tech", 1, 0.5, 0.0, 0.0, None, 0, 0, 0.0)  # no code
    assert rows[2] == ("T07", "Zhang Tech", 2, 2.5, 2.0, 2.5, 0.8, 1, 0, 0.5)
    assert rows[3] == (None, "Total", 3, 3.0, 2.0, 2.5, 0.8, 1, 0, 0.3333)
    workshop = {(r[0], r[1]): r[2] for r in book["Workshop"].iter_rows(min_row=2,
                                                                       values_only=True)}
    assert workshop[("QC chain (W7)", "Team leader: sent back for rework")] == 1
    assert workshop[("QC chain (W7)", "Final inspection: passed")] == 1


# --- the other workshop summaries ------------------------------------------------------------


@dataclass(frozen=True)
class FakePerson:
    staff_id: int
    name: str
    invited: int
    attended: int


@dataclass(frozen=True)
class FakeAttendance:
    notices: int = 0
    invited: int = 0
    attended: int = 0
    declined: int = 0
    people: list[FakePerson] = field(default_factory=list)

    @property
    def attendance_rate(self) -> float | None:
        return self.attended / self.invited if self.invited else None


@dataclass(frozen=True)
class FakeParts:
    requests: int = 0
    compensation_fen: int = 0


@dataclass
class FakeCompliance:
    reminders: int = 0
    confirmed: int = 0

    @property
    def compliance(self) -> float | None:  # in percent
        return round(100 * self.confirmed / self.reminders, 1) if self.reminders else None


@dataclass
class FakeDuty(FakeCompliance):
    areas: dict[tuple[str, str], FakeCompliance] = field(default_factory=dict)


async def fake_duty(session: object, *, start: datetime, end: datetime) -> FakeDuty:
    return FakeDuty(reminders=8, confirmed=7,
                    areas={("Bay 1", "Zhang Tech"): FakeCompliance(8, 7)})


async def fake_attendance(session: object, *, start: datetime, end: datetime
                          ) -> FakeAttendance:
    return FakeAttendance(notices=1, invited=2, attended=1, declined=1,
                          people=[FakePerson(7, "Zhang Tech", 1, 1),
                                  FakePerson(8, "Wu Tech", 1, 0)])


async def fake_parts(session: object, *, start: datetime, end: datetime) -> FakeParts:
    return FakeParts()  # nothing happened at the parts counter


@pytest.mark.telegram_only
async def test_other_workshop_summaries_join_the_report(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    english = Translator("en", SHANGHAI)
    shop_calendar = ShopCalendar(SHANGHAI)
    october = month_period(shop_calendar, 2026, 10)
    # What exists today is included and does not break the report.
    async with db.session() as session:
        report = await period_report(session, start=october.start, end=october.end,
                                     calendar=shop_calendar)
    assert [s.key for s in report.sections] == [
        key for key, module, _function in WORKSHOP_SUMMARIES
        if importlib.util.find_spec(module) is not None]

    monkeypatch.setattr(models.report, "WORKSHOP_SUMMARIES", (
        ("parts", "tests.test_job_clock", "fake_parts"),
        ("duty", "tests.test_job_clock", "fake_duty"),
        ("equipment", "models.no_such_module", "damage_summary"),  # not written: left out
        ("checklist", "tests.test_job_clock", "no_such_function"),
        ("training", "tests.test_job_clock", "fake_attendance"),
    ))
    async with db.session() as session:
        report = await period_report(session, start=october.start, end=october.end,
                                     calendar=shop_calendar)
    assert [s.key for s in report.sections] == ["parts", "duty", "training"]
    text = "\n\n".join(report_messages(english, report, october, october.end))
    assert "🔧 Trainings and meetings (W11)\n• Notices: 1\n• Invited: 2\n• Attended: 1\n" \
        "• Can't attend: 1\n• Attendance rate: 50%\n" \
        "  – Zhang Tech: Invited 1, Attended 1\n  – Wu Tech: Invited 1, Attended 0" in text
    assert "🔧 Duty areas and cleaning (W8–W10)\n• Reminders: 8\n• Confirmed: 7\n" \
        "• Compliance: 88%\n  – Bay 1 / Zhang Tech: Reminders 8, Confirmed 7, Compliance 88%" \
        in text
    assert "Parts (W6)" not in text  # nothing counted there
    assert text.endswith("Wu Tech: Invited 1, Attended 0")
    book = load_workbook(io.BytesIO(report_xlsx(report, english)))
    rows = list(book["Workshop"].iter_rows(values_only=True))
    assert ("Parts (W6)", "Compensation", 0) in rows
    assert ("Trainings and meetings (W11)", "Attendance rate", 0.5) in rows
    assert ("Trainings and meetings (W11)", "Zhang Tech: Attended", 1) in rows
    assert ("Duty areas and cleaning (W8–W10)", "Bay 1 / Zhang Tech: Compliance", 87.5) in rows
