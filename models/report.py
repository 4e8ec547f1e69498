"""The supervisor's monthly and year-end summary (A12), as figures: aggregate SQL, no chat.

A period is ``[start, end)`` in UTC, computed from whole days of the shop's local calendar.
Every figure is one GROUP BY over the period's rows (never a Python loop over them), so the
report stays fast on a million follow-ups, and only compares timestamps, so it reads the same on
SQLite and PostgreSQL.

Who a row counts for — work counts for the person who did it, a stand-in's included:

- a follow-up done: the clerk who logged the call that closed it (``done_by``);
- a follow-up not done: the clerk its last reminder went to (a stand-in during an absence),
  else the customer's clerk;
- a call: the clerk who made or took it; a complaint: the clerk following it up;
- a visit's archive: the customer's clerk at the visit; a letter: the clerk who sent it.

The workshop side (W7 and the job clock) counts for the technician: clocked hours by who ran
the clock (intervals that ended in the period); items done, their standard hours and the hours
clocked on them by who finished them; reworks by whose work went back. Summaries that other
workshop modules offer (parts, checklists, duty, equipment, trainings) are added when those
modules exist (:data:`WORKSHOP_SUMMARIES`).

A follow-up is *due* in the period when its window ends in it (``start < due_until <= end``:
``due_until`` is the half-open end, the first instant after the window's last day). Done
before ``due_until`` is on time, after it late; cancelled, or still open once ``due_until`` has
passed at ``now``, is missed; still open before then (a period not over yet) is *open*.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.audit import AuditEvent
from models.call_log import CallLog, Direction
from models.campaign import Campaign
from models.complaint import Complaint, ComplaintStatus
from models.customer import Customer, Visit
from models.db import select_columns
from models.extra_item import ConsentMethod, Decision, ExtraItemRequest
from models.followup import FollowUp, FollowUpStatus
from models.job_clock import ClockInterval
from models.letter import Letter
from models.qc import OrderHandoff, QcCheck, QcStage, QcStatus
from models.rules import Refused
from models.shop_time import ShopCalendar, parse_day
from models.staff import Staff
from models.work_order import ItemStatus, OrderItem

UTC_CALENDAR = ShopCalendar(ZoneInfo("UTC"))


# --- periods ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A month, a year or a run of whole days of the shop: local days and UTC bounds."""

    label: str  # "2026-10", "2026", or "2026-10-01_2026-10-15"
    first_day: date
    last_day: date
    start: datetime
    end: datetime

    @property
    def is_year(self) -> bool:
        return len(self.label) == 4

    @property
    def is_month(self) -> bool:
        return len(self.label) == 7


def month_period(calendar: ShopCalendar, year: int, month: int) -> Period:
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return Period(f"{year:04d}-{month:02d}", first, following - timedelta(days=1),
                  calendar.start_of_day(first), calendar.start_of_day(following))


def year_period(calendar: ShopCalendar, year: int) -> Period:
    first, following = date(year, 1, 1), date(year + 1, 1, 1)
    return Period(f"{year:04d}", first, following - timedelta(days=1),
                  calendar.start_of_day(first), calendar.start_of_day(following))


def last_month(calendar: ShopCalendar, now: datetime) -> Period:
    """The month before the one ``now`` falls in, in the shop's time zone."""
    this_month = calendar.local_date(now).replace(day=1)
    previous = this_month - timedelta(days=1)
    return month_period(calendar, previous.year, previous.month)


PERIOD = re.compile(r"^(\d{4})(?:-(\d{1,2}))?$")


def parse_period(text: str, calendar: ShopCalendar, now: datetime) -> Period:
    """"2026-10" (a month) or "2026" (a year); empty means last month.

    A period that has not started yet is refused; the current one is reported so far.
    """
    text = text.strip()
    if not text:
        return last_month(calendar, now)
    match = PERIOD.match(text)
    if not match or not 2000 <= int(match.group(1)) <= 2999:
        raise Refused("report_period_invalid", text=text)
    year = int(match.group(1))
    if match.group(2) is None:
        period = year_period(calendar, year)
    else:
        month = int(match.group(2))
        if not 1 <= month <= 12:
            raise Refused("report_period_invalid", text=text)
        period = month_period(calendar, year, month)
    if period.start > now:
        raise Refused("report_period_future", period=period.label)
    return period


# Between the two days of a range: a space, or a word or sign that says "to".
RANGE_SEPARATOR = re.compile(r"\s*(?:~|～|–|—|至|到|\bto\b)\s*|\s+")


def parse_range(text: str, calendar: ShopCalendar, now: datetime) -> Period:
    """"2026-10-01 2026-10-31" (both days included; each day as :func:`parse_day` reads it,
    "10/1 至 10/31" too), or a month or year as for the report."""
    text = text.strip()
    if PERIOD.match(text):
        return parse_period(text, calendar, now)
    today = calendar.local_date(now)
    days = [parse_day(part, today) for part in RANGE_SEPARATOR.split(text, maxsplit=2)]
    if len(days) != 2 or None in days:
        raise Refused("report_range_invalid", text=text)
    first, last = days
    assert first is not None and last is not None
    if last < first:
        raise Refused("report_range_reversed", first=first, last=last)
    if first > calendar.local_date(now):
        raise Refused("report_period_future", period=first.isoformat())
    return days_period(calendar, first, last)


def days_period(calendar: ShopCalendar, first: date, last: date) -> Period:
    """Whole local days ``first`` … ``last``, both included."""
    return Period(f"{first.isoformat()}_{last.isoformat()}", first, last,
                  calendar.start_of_day(first), calendar.end_of_day(last))


def due_periods(calendar: ShopCalendar, now: datetime, at: time) -> list[Period]:
    """What the monthly job owes at ``now``: on the 1st from ``at`` (shop time) until the day
    ends, last month's report; on 1 January the past year's as well."""
    local = calendar.local(now)
    if local.day != 1 or local.time().replace(tzinfo=None) < at:
        return []
    periods = [last_month(calendar, now)]
    if local.month == 1:
        periods.append(year_period(calendar, local.year - 1))
    return periods


# --- the figures -----------------------------------------------------------------------------


@dataclass
class Figures:
    """One clerk's figures, or the total. Rates are computed from the counts."""

    due: int = 0
    on_time: int = 0
    late: int = 0
    missed: int = 0
    calls: int = 0
    outbound: int = 0
    reached: int = 0  # outbound calls that reached the customer
    inbound: int = 0
    satisfaction_sum: int = 0
    ratings: int = 0
    complaints_opened: int = 0
    answered_on_call: int = 0
    escalated: int = 0
    solved: int = 0
    solve_seconds: float = 0.0
    visits: int = 0
    archives_on_time: int = 0
    letters_sent: int = 0

    @property
    def still_open(self) -> int:
        """Due in the period, not done and not yet past its window (a period still running)."""
        return self.due - self.on_time - self.late - self.missed

    @property
    def reach_rate(self) -> float | None:
        """Reached outbound calls / outbound calls (an inbound call always reaches)."""
        return self.reached / self.outbound if self.outbound else None

    @property
    def satisfaction(self) -> float | None:
        return self.satisfaction_sum / self.ratings if self.ratings else None

    @property
    def hours_to_solve(self) -> float | None:
        """Mean time from the complaint's call to its recorded solution, in hours."""
        return self.solve_seconds / 3600 / self.solved if self.solved else None

    def add(self, other: Figures) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class ClerkFigures:
    staff_id: int | None  # None: customers nobody is assigned to
    name: str
    figures: Figures
    code: str | None = None  # the staff code (工号) the spreadsheet shows


@dataclass(frozen=True)
class CampaignFigures:
    campaign_id: int
    title: str
    kind: str
    event_on: date
    calls: int  # campaign follow-ups (one per customer)
    called: int  # of which done
    letters_sent: int

    @property
    def coverage(self) -> float | None:
        return self.called / self.calls if self.calls else None


@dataclass
class TechnicianFigures:
    """One technician's workshop figures (or the total, ``staff_id`` None)."""

    staff_id: int | None
    name: str
    items_done: int = 0
    clocked_seconds: float = 0.0  # every clock interval that ended in the period
    standard_minutes: int = 0  # items done with a standard time and clocked time
    measured_seconds: float = 0.0  # the time clocked on those items
    reworks_leader: int = 0  # items of theirs the team leader sent back
    reworks_inspector: int = 0  # … and the inspector
    code: str | None = None  # the staff code (工号) the spreadsheet shows

    @property
    def clocked_hours(self) -> float:
        return self.clocked_seconds / 3600

    @property
    def standard_hours(self) -> float:
        return self.standard_minutes / 60

    @property
    def measured_hours(self) -> float:
        return self.measured_seconds / 3600

    @property
    def efficiency(self) -> float | None:
        """Standard hours / actual hours, over the items that have both: above 1 is faster
        than the standard."""
        return self.standard_hours / self.measured_hours if self.measured_seconds else None

    @property
    def reworks(self) -> int:
        return self.reworks_leader + self.reworks_inspector

    @property
    def rework_rate(self) -> float | None:
        """Items sent back for rework per item finished."""
        return self.reworks / self.items_done if self.items_done else None

    def add(self, other: TechnicianFigures) -> None:
        for name in ("items_done", "clocked_seconds", "standard_minutes", "measured_seconds",
                     "reworks_leader", "reworks_inspector"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class QcFigures:
    """The QC chain in the period (W7)."""

    self_checks: int = 0  # orders handed over for QC (a team leader's check opened)
    leader_passed: int = 0
    leader_rework: int = 0
    inspected: int = 0  # final inspections passed: cars ready for delivery
    inspector_rework: int = 0
    handoffs: int = 0  # orders handed on to the next process

    @property
    def empty(self) -> bool:
        return not any((self.self_checks, self.leader_passed, self.leader_rework,
                        self.inspected, self.inspector_rework, self.handoffs))


@dataclass(frozen=True)
class WorkshopSection:
    """Another module's summary of the period, e.g. ``("parts", PartsSummary(…))``."""

    key: str
    summary: Any


@dataclass
class Report:
    start: datetime
    end: datetime
    first_day: date
    last_day: date
    clerks: list[ClerkFigures] = field(default_factory=list)
    total: Figures = field(default_factory=Figures)
    campaigns: list[CampaignFigures] = field(default_factory=list)
    technicians: list[TechnicianFigures] = field(default_factory=list)
    technician_total: TechnicianFigures = field(
        default_factory=lambda: TechnicianFigures(None, ""))
    qc: QcFigures = field(default_factory=QcFigures)
    sections: list[WorkshopSection] = field(default_factory=list)


def _count_if(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _seconds_between(later: Any, earlier: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


async def period_report(
    session: AsyncSession, *, start: datetime, end: datetime,
    calendar: ShopCalendar | None = None, now: datetime | None = None,
) -> Report:
    """The figures of ``[start, end)``, per clerk and in total.

    ``calendar`` turns the bounds into local days for the campaigns' event dates (UTC when not
    given); ``now`` decides which open follow-ups are already missed (the period's end when
    not given, i.e. a finished period).
    """
    calendar = calendar or UTC_CALENDAR
    now = min(now or end, end)
    first_day = calendar.local_date(start)
    last_day = calendar.local_date(end - timedelta(microseconds=1))
    dialect = session.get_bind().dialect.name
    rows: dict[int | None, Figures] = {}

    def figures(staff_id: int | None) -> Figures:
        return rows.setdefault(staff_id, Figures())

    # Follow-ups whose window ends in the period.
    # The customer's clerk as a correlated lookup, needed only when nobody did or got it: far
    # cheaper than a join that SQLite would drive from the customer side.
    customers_clerk = (select(col(Customer.clerk_id))
                       .where(col(Customer.id) == col(FollowUp.customer_id))
                       .scalar_subquery())
    owner = func.coalesce(col(FollowUp.done_by), col(FollowUp.reminded_staff_id),
                          customers_clerk)
    done = col(FollowUp.status) == FollowUpStatus.done.value
    followups = (
        select_columns(
            owner,
            func.count(),
            _count_if(and_(done, col(FollowUp.done_at) < col(FollowUp.due_until))),
            _count_if(and_(done, col(FollowUp.done_at) >= col(FollowUp.due_until))),
            _count_if(or_(
                col(FollowUp.status) == FollowUpStatus.cancelled.value,
                and_(col(FollowUp.status) == FollowUpStatus.open.value,
                     col(FollowUp.due_until) <= now),
            )),
        )
        .select_from(FollowUp)
        .where(col(FollowUp.due_until) > start, col(FollowUp.due_until) <= end)
        .group_by(owner)
    )
    for staff_id, due, on_time, late, missed in (await session.exec(followups)).all():
        row = figures(staff_id)
        row.due, row.on_time, row.late, row.missed = due, on_time or 0, late or 0, missed or 0

    # Calls logged in the period.
    outbound = col(CallLog.direction) == Direction.outbound.value
    calls = (
        select_columns(
            col(CallLog.clerk_id),
            func.count(),
            _count_if(outbound),
            _count_if(and_(outbound, col(CallLog.reached))),
            _count_if(col(CallLog.direction) == Direction.inbound.value),
            func.coalesce(func.sum(col(CallLog.satisfaction)), 0),
            func.count(col(CallLog.satisfaction)),
        )
        .where(col(CallLog.at) >= start, col(CallLog.at) < end)
        .group_by(col(CallLog.clerk_id))
    )
    for staff_id, total, out, reached, inbound, rating_sum, ratings in (
            await session.exec(calls)).all():
        row = figures(staff_id)
        row.calls, row.outbound, row.reached, row.inbound = total, out or 0, reached or 0, \
            inbound or 0
        row.satisfaction_sum, row.ratings = int(rating_sum or 0), ratings

    # Complaints opened, escalated and solved in the period (each on its own date).
    def within(column: Any) -> ColumnElement[bool]:
        return and_(column >= start, column < end)

    opened = within(col(Complaint.opened_at))
    solved = within(col(Complaint.solved_at))
    complaints = (
        select_columns(
            col(Complaint.clerk_id),
            _count_if(opened),
            _count_if(and_(opened, col(Complaint.status) == ComplaintStatus.answered.value)),
            _count_if(within(col(Complaint.escalated_at))),
            _count_if(solved),
            func.coalesce(func.sum(case(
                (solved, _seconds_between(col(Complaint.solved_at), col(Complaint.opened_at),
                                          dialect)),
                else_=0)), 0),
        )
        .where(or_(opened, within(col(Complaint.escalated_at)), solved))
        .group_by(col(Complaint.clerk_id))
    )
    for staff_id, n_opened, answered, escalated, n_solved, seconds in (
            await session.exec(complaints)).all():
        row = figures(staff_id)
        row.complaints_opened, row.answered_on_call = n_opened or 0, answered or 0
        row.escalated, row.solved, row.solve_seconds = escalated or 0, n_solved or 0, \
            float(seconds or 0)

    # Visits in the period and whether their archive was complete within two days (A2).
    visits = (
        select(
            col(Visit.clerk_id),
            func.count(),
            _count_if(and_(col(Visit.archive_completed_at).is_not(None),
                           col(Visit.archive_completed_at) <= col(Visit.archive_due_at))),
        )
        .where(col(Visit.visited_at) >= start, col(Visit.visited_at) < end)
        .group_by(col(Visit.clerk_id))
    )
    for staff_id, n_visits, on_time in (await session.exec(visits)).all():
        row = figures(staff_id)
        row.visits, row.archives_on_time = n_visits, on_time or 0

    # Letters sent in the period (A10).
    letters = (
        select(col(Letter.clerk_id), func.count())
        .where(col(Letter.sent_at) >= start, col(Letter.sent_at) < end)
        .group_by(col(Letter.clerk_id))
    )
    for staff_id, sent in (await session.exec(letters)).all():
        figures(staff_id).letters_sent = sent

    report = Report(start=start, end=end, first_day=first_day, last_day=last_day)
    names = await _names(session, [i for i in rows if i is not None])
    codes = await _codes(session, [i for i in rows if i is not None])
    for staff_id, row in sorted(rows.items(), key=lambda item: (
            item[0] is None, names.get(item[0], "") if item[0] is not None else "",
            item[0] or 0)):
        name = names.get(staff_id, f"#{staff_id}") if staff_id is not None else ""
        report.clerks.append(ClerkFigures(staff_id, name, row,
                                          codes.get(staff_id) if staff_id is not None else None))
        report.total.add(row)
    report.campaigns = await _campaigns(session, first_day, last_day)
    report.technicians, report.qc = await _workshop(session, start, end, dialect)
    for technician in report.technicians:
        report.technician_total.add(technician)
    report.sections = await _other_summaries(session, start, end)
    return report


async def _workshop(session: AsyncSession, start: datetime, end: datetime, dialect: str
                    ) -> tuple[list[TechnicianFigures], QcFigures]:
    """W7 and the job clock: per technician and the QC chain's totals."""
    rows: dict[int, TechnicianFigures] = {}

    def technician(staff_id: int) -> TechnicianFigures:
        return rows.setdefault(staff_id, TechnicianFigures(staff_id, ""))

    clocked = (
        select(col(ClockInterval.staff_id),
               func.sum(_seconds_between(col(ClockInterval.stopped_at),
                                         col(ClockInterval.started_at), dialect)))
        .where(col(ClockInterval.stopped_at) >= start, col(ClockInterval.stopped_at) < end)
        .group_by(col(ClockInterval.staff_id))
    )
    for staff_id, seconds in (await session.exec(clocked)).all():
        technician(staff_id).clocked_seconds = float(round(seconds or 0))  # whole seconds

    measured = and_(col(OrderItem.standard_minutes).is_not(None),
                    col(OrderItem.clock_seconds) > 0)
    done = (
        select(col(OrderItem.done_by), func.count(),
               func.coalesce(func.sum(case((measured, col(OrderItem.standard_minutes)),
                                           else_=0)), 0),
               func.coalesce(func.sum(case((measured, col(OrderItem.clock_seconds)),
                                           else_=0)), 0))
        .where(col(OrderItem.status) == ItemStatus.done.value,
               col(OrderItem.done_by).is_not(None),
               col(OrderItem.done_at) >= start, col(OrderItem.done_at) < end)
        .group_by(col(OrderItem.done_by))
    )
    for technician_id, count, standard, seconds in (await session.exec(done)).all():
        assert technician_id is not None  # the query leaves NULL out
        row = technician(technician_id)
        row.items_done, row.standard_minutes = count, int(standard or 0)
        row.measured_seconds = float(seconds or 0)

    decided = and_(col(QcCheck.decided_at) >= start, col(QcCheck.decided_at) < end)
    leader = col(QcCheck.stage) == QcStage.leader.value
    inspector = col(QcCheck.stage) == QcStage.inspector.value
    reworked = col(QcCheck.status) == QcStatus.rework.value
    reworks = (
        select(col(QcCheck.rework_technician_id), _count_if(leader), _count_if(inspector))
        .where(reworked, decided, col(QcCheck.rework_technician_id).is_not(None))
        .group_by(col(QcCheck.rework_technician_id))
    )
    for technician_id, by_leader, by_inspector in (await session.exec(reworks)).all():
        assert technician_id is not None  # the query leaves NULL out
        row = technician(technician_id)
        row.reworks_leader, row.reworks_inspector = by_leader or 0, by_inspector or 0

    opened = and_(leader, col(QcCheck.created_at) >= start, col(QcCheck.created_at) < end)
    passed = col(QcCheck.status) == QcStatus.passed.value
    self_checks, leader_passed, leader_rework, inspected, inspector_rework = (
        await session.exec(
            select_columns(_count_if(opened), _count_if(and_(decided, leader, passed)),
                           _count_if(and_(decided, leader, reworked)),
                           _count_if(and_(decided, inspector, passed)),
                           _count_if(and_(decided, inspector, reworked)))
            .select_from(QcCheck)
            .where(or_(opened, decided))
        )).one()
    handoffs = (await session.exec(
        select(func.count()).select_from(OrderHandoff)
        .where(col(OrderHandoff.at) >= start, col(OrderHandoff.at) < end)
    )).one()
    qc = QcFigures(self_checks or 0, leader_passed or 0, leader_rework or 0, inspected or 0,
                   inspector_rework or 0, handoffs)

    names = await _names(session, list(rows))
    codes = await _codes(session, list(rows))
    for staff_id, row in rows.items():
        row.name = names.get(staff_id, f"#{staff_id}")
        row.code = codes.get(staff_id)
    return sorted(rows.values(), key=lambda r: (r.name, r.staff_id or 0)), qc


# (key, module, function): ``async def function(session, *, start, end)`` returning a
# dataclass; each is added to the report when its module exists.
WORKSHOP_SUMMARIES: tuple[tuple[str, str, str], ...] = (
    ("parts", "models.parts", "parts_summary"),
    ("checklist", "models.checklist", "checklist_summary"),
    ("duty", "models.duty", "duty_summary"),
    ("equipment", "models.equipment", "damage_summary"),
    ("training", "models.training", "attendance_summary"),
    ("extra_items", "models.report", "extra_item_summary"),
    ("plate_photos", "models.plate_reading", "plate_reading_summary"),
)


async def _other_summaries(session: AsyncSession, start: datetime, end: datetime
                           ) -> list[WorkshopSection]:
    sections = []
    for key, module_name, function in WORKSHOP_SUMMARIES:
        if importlib.util.find_spec(module_name) is None:
            continue
        summarize = getattr(importlib.import_module(module_name), function, None)
        if summarize is not None:
            sections.append(WorkshopSection(key, await summarize(session, start=start,
                                                                 end=end)))
    return sections


@dataclass(frozen=True)
class ExtraItemSummary:
    """W5 and the customer's own consent (issue 16): extra items proposed in the period
    (requested in it) and the decisions taken in it — approved by the customer on a link
    ("online") or by an advisor at the front desk (phone, in person, WeChat …), declined — and
    the median minutes from the request to its decision."""

    proposed: int
    approved_online: int
    approved_front_desk: int
    declined_online: int
    declined_front_desk: int
    median_minutes: float | None

    @property
    def approval_rate(self) -> float | None:
        """Approved of all decided in the period."""
        approved = self.approved_online + self.approved_front_desk
        decided = approved + self.declined_online + self.declined_front_desk
        return approved / decided if decided else None


async def extra_item_summary(session: AsyncSession, *, start: datetime, end: datetime
                             ) -> ExtraItemSummary:
    """Counted in SQL; the median over the decisions' waits (one number per decision taken in
    the period, as neither SQLite nor the report's portable SQL has a median)."""
    dialect = session.get_bind().dialect.name
    proposed = (await session.exec(
        select(func.count()).select_from(ExtraItemRequest)
        .where(col(ExtraItemRequest.created_at) >= start, col(ExtraItemRequest.created_at) < end)
    )).one()
    online = and_(col(ExtraItemRequest.decided_by).is_(None),
                  col(ExtraItemRequest.decided_channel) == ConsentMethod.customer_link.value)
    approved = col(ExtraItemRequest.status) == Decision.approved.value
    declined = col(ExtraItemRequest.status) == Decision.rejected.value
    decided = and_(col(ExtraItemRequest.decided_at) >= start,
                   col(ExtraItemRequest.decided_at) < end)
    approved_online, approved_front_desk, declined_online, declined_front_desk = (
        await session.exec(
            select_columns(_count_if(and_(approved, online)), _count_if(and_(approved, ~online)),
                           _count_if(and_(declined, online)), _count_if(and_(declined, ~online)))
            .select_from(ExtraItemRequest).where(decided))).one()
    waits = (await session.exec(
        select(_seconds_between(col(ExtraItemRequest.decided_at),
                                col(ExtraItemRequest.created_at), dialect))
        .where(decided, or_(approved, declined)))).all()
    return ExtraItemSummary(
        proposed, approved_online or 0, approved_front_desk or 0, declined_online or 0,
        declined_front_desk or 0,
        round(float(statistics.median(waits)) / 60, 1) if waits else None)


async def _names(session: AsyncSession, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = (await session.exec(
        select(Staff.id, Staff.name).where(col(Staff.id).in_(ids))
    )).all()
    return {staff_id: name for staff_id, name in rows if staff_id is not None}


async def _codes(session: AsyncSession, ids: list[int]) -> dict[int, str | None]:
    if not ids:
        return {}
    rows = (await session.exec(
        select(Staff.id, Staff.code).where(col(Staff.id).in_(ids))
    )).all()
    return {staff_id: code for staff_id, code in rows if staff_id is not None}


async def _campaigns(session: AsyncSession, first_day: date, last_day: date
                     ) -> list[CampaignFigures]:
    """Campaigns held in the period (by event date) and how many of their calls were made."""
    held = and_(col(Campaign.event_on) >= first_day, col(Campaign.event_on) <= last_day)
    calls = (
        select_columns(
            col(Campaign.id), col(Campaign.title), col(Campaign.kind), col(Campaign.event_on),
            func.count(col(FollowUp.id)),
            _count_if(col(FollowUp.status) == FollowUpStatus.done.value),
        )
        .select_from(Campaign)
        .outerjoin(FollowUp, col(FollowUp.campaign_id) == col(Campaign.id))
        .where(held)
        .group_by(col(Campaign.id), col(Campaign.title), col(Campaign.kind),
                  col(Campaign.event_on))
        .order_by(col(Campaign.event_on), col(Campaign.id))
    )
    letters = dict((await session.exec(
        select(col(Letter.campaign_id), func.count())
        .join(Campaign, col(Campaign.id) == col(Letter.campaign_id))
        .where(held, col(Letter.sent_at).is_not(None))
        .group_by(col(Letter.campaign_id))
    )).all())
    return [
        CampaignFigures(campaign_id, title, kind, event_on, n_calls, called or 0,
                        letters.get(campaign_id, 0))
        for campaign_id, title, kind, event_on, n_calls, called in (
            await session.exec(calls)).all()
    ]


async def report_for(
    session: AsyncSession, period: Period, *, calendar: ShopCalendar, now: datetime
) -> Report:
    return await period_report(session, start=period.start, end=period.end, calendar=calendar,
                               now=now)


# --- which reports went out (the monthly job's record) ----------------------------------------
# An audit event per supervisor and period ("report.sent", entity staff, after = the period's
# label) is the record: no table of its own, and it is the audit trail anyway.

SENT = "report.sent"


async def already_sent(session: AsyncSession, *, period: Period, staff_id: int) -> bool:
    return (await session.exec(
        select(AuditEvent.id).where(
            AuditEvent.entity == "staff", col(AuditEvent.entity_id) == staff_id,
            AuditEvent.action == SENT, AuditEvent.after == period.label,
        ).limit(1)
    )).first() is not None


def record_sent(session: AsyncSession, *, period: Period, staff_id: int, now: datetime,
                delivered: int) -> None:
    """After sending: a crash between the two sends the report at most once more."""
    audit.record(session, now=now, actor=None, action=SENT, entity="staff",
                 entity_id=staff_id, after=period.label, delivered=delivered)
