"""W8–W10 duty areas and their cleaning and lock-up reminders; W9 the weekly wash.

A team leader names the duty areas (bay 1, tool room, washing area …) and who is responsible
for each. At set shop times the responsible person gets a reminder with a Done button:

* ``morning`` (working days, before work): clean the area's floor (W10);
* ``evening`` (working days, before leaving): floor, equipment and tools (W8), pipes, lines,
  window sills; lock doors, windows and tool carts; power off (W10);
* ``friday``: walls and windows (W10);
* ``wash`` (one day a week): wash the car-protection items and rags (W9).

Each reminder is a row with a unique key (kind, local day, area), created once when it falls
due, sent once (``sent_at``), confirmed once (``done_at``). Thirty minutes after sending, an
unconfirmed reminder goes to the team leaders, once (``missed_notified_at``). A weekly summary
of who confirmed what goes to the supervisors; an audit event per supervisor and week records
that it went out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.attachment import attach
from models.audit import Actor, AuditEvent
from models.db import UTCDateTime, id_of
from models.rules import Refused
from models.shop_time import ShopCalendar
from models.staff import Role, Staff

MAX_AREA_NAME = 40
MAX_PHOTOS = 5
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SUMMARY_SENT = "duty.weekly_summary"


class DutyKind(StrEnum):
    morning = "morning"
    evening = "evening"
    friday = "friday"
    wash = "wash"


class DutyArea(SQLModel, table=True):
    __tablename__ = "duty_area"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    responsible_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    active: bool = Field(default=True)
    created_by: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class DutyReminder(SQLModel, table=True):
    __tablename__ = "duty_reminder"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)  # "evening:2026-11-30:3"
    area_id: int = Field(foreign_key="duty_area.id", index=True)
    kind: str = Field(max_length=16)
    day: date = Field(index=True)  # the shop's local day
    due_at: datetime = Field(sa_type=UTCDateTime)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")  # None: nobody was set
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done_by: int | None = Field(default=None, foreign_key="staff.id")
    missed_notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- the schedule ------------------------------------------------------------------------------


def parse_day_time(text: str) -> tuple[int, time]:
    """"sat 16:00" → (5, 16:00); the weekday as Python counts it (Monday 0)."""
    parts = text.strip().lower().split()
    if len(parts) != 2 or parts[0][:3] not in WEEKDAYS:
        raise ValueError(f"not a weekday and a time like 'sat 16:00': {text!r}")
    return WEEKDAYS.index(parts[0][:3]), time.fromisoformat(parts[1])


@dataclass(frozen=True)
class DutySchedule:
    """When each kind of reminder falls due, in shop time."""

    morning: time
    evening: time
    friday: time
    wash: tuple[int, time]
    summary: tuple[int, time]

    @classmethod
    def parse(cls, *, morning: str, evening: str, friday: str, wash: str, summary: str
              ) -> DutySchedule:
        """As the settings spell it: "08:30" for the daily times, "sat 16:00" for the weekly."""
        return cls(morning=time.fromisoformat(morning), evening=time.fromisoformat(evening),
                   friday=time.fromisoformat(friday), wash=parse_day_time(wash),
                   summary=parse_day_time(summary))

    def due_on(self, calendar: ShopCalendar, day: date) -> list[tuple[DutyKind, datetime]]:
        """The reminders of one local day with their due time (UTC). Morning and evening on
        working days, the Friday one on Fridays that are worked, the wash on its weekday."""
        due: list[tuple[DutyKind, datetime]] = []
        if calendar.is_working_day(day):
            due.append((DutyKind.morning, calendar.at(day, self.morning)))
            if day.weekday() == 4:
                due.append((DutyKind.friday, calendar.at(day, self.friday)))
            due.append((DutyKind.evening, calendar.at(day, self.evening)))
        if day.weekday() == self.wash[0]:
            due.append((DutyKind.wash, calendar.at(day, self.wash[1])))
        return sorted(due, key=lambda pair: pair[1])


# --- duty areas --------------------------------------------------------------------------------


def require_leader(staff: Staff) -> None:
    """Team leaders set the duty areas (supervisors may too)."""
    if not staff.has(Role.team_leader, Role.supervisor):
        raise Refused("duty_not_leader")


async def responsible_candidates(session: AsyncSession) -> list[Staff]:
    """Who can be responsible for an area: active technicians and team leaders."""
    from models.staff import role_clause

    return list((await session.exec(
        select(Staff).where(Staff.active == True,  # noqa: E712
                            role_clause(Role.technician) | role_clause(Role.team_leader))
        .order_by(col(Staff.name), col(Staff.id))
    )).all())


async def _responsible(session: AsyncSession, staff_id: int) -> Staff:
    person = await session.get(Staff, staff_id)
    if person is None or not person.active or not person.has(Role.technician,
                                                             Role.team_leader):
        raise Refused("duty_bad_responsible", name=person.name if person else "?")
    return person


async def areas(session: AsyncSession) -> list[DutyArea]:
    return list((await session.exec(
        select(DutyArea).where(DutyArea.active == True)  # noqa: E712
        .order_by(col(DutyArea.name), col(DutyArea.id))
    )).all())


async def get_area(session: AsyncSession, area_id: int) -> DutyArea:
    area = await session.get(DutyArea, area_id)
    if area is None or not area.active:
        raise Refused("duty_area_missing")
    return area


def clean_name(text: str) -> str:
    name = " ".join(text.split())
    if not name:
        raise Refused("empty_text")
    if len(name) > MAX_AREA_NAME:
        raise Refused("too_long", limit=MAX_AREA_NAME)
    return name


async def check_new_name(session: AsyncSession, text: str) -> str:
    """A usable name no active area has (case does not make a new area)."""
    name = clean_name(text)
    for area in await areas(session):
        if area.name.casefold() == name.casefold():
            raise Refused("duty_area_exists", name=area.name)
    return name


async def create_area(
    session: AsyncSession, *, name: str, responsible_id: int, leader: Staff, now: datetime,
    actor: Actor,
) -> DutyArea:
    """A new duty area and who is responsible for it; a removed area of that name returns."""
    require_leader(leader)
    name = await check_new_name(session, name)
    person = await _responsible(session, responsible_id)
    area = (await session.exec(select(DutyArea).where(DutyArea.name == name))).first()
    if area is None:
        area = DutyArea(name=name, created_by=leader.id, created_at=now, updated_at=now)
        session.add(area)
    area.active = True
    area.responsible_id = person.id
    area.created_at = now  # reminders due before this are not owed
    area.updated_at = now
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Refused("duty_area_exists", name=name) from None
    audit.record(session, now=now, actor=actor, action="duty.area_create", entity="duty_area",
                 entity_id=area.id, after=str(person.id), name=name)
    await session.flush()
    return area


async def set_responsible(
    session: AsyncSession, *, area_id: int, responsible_id: int, leader: Staff, now: datetime,
    actor: Actor,
) -> DutyArea:
    require_leader(leader)
    area = await get_area(session, area_id)
    person = await _responsible(session, responsible_id)
    before = area.responsible_id
    area.responsible_id = person.id
    area.updated_at = now
    audit.record(session, now=now, actor=actor, action="duty.responsible", entity="duty_area",
                 entity_id=area.id, before=str(before) if before else None,
                 after=str(person.id))
    await session.flush()
    return area


async def remove_area(
    session: AsyncSession, *, area_id: int, leader: Staff, now: datetime, actor: Actor
) -> DutyArea:
    """No more reminders for it; its history stays."""
    require_leader(leader)
    area = await get_area(session, area_id)
    area.active = False
    area.updated_at = now
    audit.record(session, now=now, actor=actor, action="duty.area_remove", entity="duty_area",
                 entity_id=area.id, before="active", after="removed")
    await session.flush()
    return area


async def active_responsible(session: AsyncSession, area: DutyArea) -> Staff | None:
    """The responsible person, if there is one who can still act."""
    if area.responsible_id is None:
        return None
    person = await session.get(Staff, area.responsible_id)
    return person if person is not None and person.active else None


# --- reminders ---------------------------------------------------------------------------------


async def create_due(
    session: AsyncSession, *, now: datetime, calendar: ShopCalendar, schedule: DutySchedule
) -> int:
    """Today's reminders whose time has come, once per kind, day and area (the unique key
    makes a second run, or a second process, harmless). Areas set up after the time are not
    owed that reminder."""
    today = calendar.local_date(now)
    due = [(kind, at) for kind, at in schedule.due_on(calendar, today) if at <= now]
    if not due:
        return 0
    created = 0
    existing = set((await session.exec(
        select(DutyReminder.key).where(DutyReminder.day == today))).all())
    for area in await areas(session):
        for kind, at in due:
            key = f"{kind.value}:{today.isoformat()}:{area.id}"
            if key in existing or area.created_at > at:
                continue
            person = await active_responsible(session, area)
            reminder = DutyReminder(key=key, area_id=id_of(area), kind=kind.value,
                                    day=today, due_at=at,
                                    staff_id=person.id if person else None, created_at=now)
            try:
                async with session.begin_nested():
                    session.add(reminder)
                    await session.flush()
            except IntegrityError:  # another run made it a moment ago
                continue
            created += 1
    return created


async def unsent(session: AsyncSession, *, today: date) -> list[DutyReminder]:
    """Today's reminders not sent yet (a day that passed while the bot was down is not
    caught up: a morning reminder the next day would mean nothing)."""
    return list((await session.exec(
        select(DutyReminder).where(DutyReminder.day == today,
                                   col(DutyReminder.sent_at).is_(None))
        .order_by(col(DutyReminder.due_at), col(DutyReminder.id))
    )).all())


async def mark_sent(session: AsyncSession, *, reminder_id: int, now: datetime) -> bool:
    result = await session.exec(
        update(DutyReminder)
        .where(col(DutyReminder.id) == reminder_id, col(DutyReminder.sent_at).is_(None))
        .values(sent_at=now))
    return bool(result.rowcount == 1)


async def get_reminder(session: AsyncSession, reminder_id: int) -> DutyReminder:
    reminder = await session.get(DutyReminder, reminder_id)
    if reminder is None:
        raise Refused("duty_reminder_missing")
    return reminder


async def check_confirmable(
    session: AsyncSession, *, reminder_id: int, staff: Staff
) -> DutyReminder:
    """The responsible person, or a team leader, on a reminder nobody has confirmed yet."""
    reminder = await get_reminder(session, reminder_id)
    if reminder.staff_id != staff.id and not staff.has(Role.team_leader):
        raise Refused("duty_not_yours")
    if reminder.done_at is not None:
        who = await session.get(Staff, reminder.done_by) if reminder.done_by else None
        raise Refused("duty_already_done", name=who.name if who else "?", at=reminder.done_at)
    return reminder


async def confirm(
    session: AsyncSession, *, reminder_id: int, staff: Staff, now: datetime, actor: Actor,
    photos: list[dict[str, str]] | None = None,
) -> DutyReminder:
    """Done: the first confirmation counts; a second learns who and when."""
    reminder = await check_confirmable(session, reminder_id=reminder_id, staff=staff)
    result = await session.exec(
        update(DutyReminder)
        .where(col(DutyReminder.id) == reminder_id, col(DutyReminder.done_at).is_(None))
        .values(done_at=now, done_by=staff.id))
    await session.refresh(reminder)
    if result.rowcount != 1:
        who = await session.get(Staff, reminder.done_by) if reminder.done_by else None
        raise Refused("duty_already_done", name=who.name if who else "?", at=reminder.done_at)
    attach(session, owner="duty_reminder", owner_id=reminder_id, photos=photos or [],
           staff_id=staff.id, now=now)
    audit.record(session, now=now, actor=actor, action="duty.done", entity="duty_reminder",
                 entity_id=reminder_id, after="done", kind=reminder.kind,
                 late=reminder.missed_notified_at is not None, photos=len(photos or []))
    await session.flush()
    return reminder


async def due_missed(
    session: AsyncSession, *, now: datetime, delay: timedelta
) -> list[DutyReminder]:
    """Sent to a responsible person, not confirmed ``delay`` after, team leaders not told."""
    return list((await session.exec(
        select(DutyReminder).where(
            col(DutyReminder.sent_at).is_not(None),
            col(DutyReminder.sent_at) <= now - delay,
            col(DutyReminder.done_at).is_(None),
            col(DutyReminder.missed_notified_at).is_(None),
            col(DutyReminder.staff_id).is_not(None),
        ).order_by(col(DutyReminder.due_at), col(DutyReminder.id))
    )).all())


async def mark_missed(session: AsyncSession, *, reminder_id: int, now: datetime) -> bool:
    result = await session.exec(
        update(DutyReminder)
        .where(col(DutyReminder.id) == reminder_id,
               col(DutyReminder.missed_notified_at).is_(None),
               col(DutyReminder.done_at).is_(None))
        .values(missed_notified_at=now))
    if result.rowcount == 1:
        audit.record(session, now=now, actor=None, action="duty.missed",
                     entity="duty_reminder", entity_id=reminder_id)
        return True
    return False


# --- compliance --------------------------------------------------------------------------------


@dataclass
class Compliance:
    """Reminders sent and what became of them; ``late``: confirmed after the team leaders
    were told. ``compliance``: confirmed of sent, in percent (None when nothing was sent)."""

    reminders: int = 0
    confirmed: int = 0
    late: int = 0

    @property
    def missed(self) -> int:
        return self.reminders - self.confirmed

    @property
    def compliance(self) -> float | None:
        return round(100 * self.confirmed / self.reminders, 1) if self.reminders else None

    def add(self, reminder: DutyReminder) -> None:
        self.reminders += 1
        if reminder.done_at is not None:
            self.confirmed += 1
            if reminder.missed_notified_at is not None and \
                    reminder.done_at > reminder.missed_notified_at:
                self.late += 1


@dataclass
class DutySummary(Compliance):
    """The whole shop, and per area (name, responsible person's name → figures)."""

    areas: dict[tuple[str, str], Compliance] = field(default_factory=dict)


async def duty_summary(session: AsyncSession, *, start: datetime, end: datetime) -> DutySummary:
    """Reminders sent in ``[start, end)`` and how many were confirmed."""
    rows = (await session.exec(
        select(DutyReminder, DutyArea)
        .join(DutyArea, col(DutyArea.id) == col(DutyReminder.area_id))
        .where(col(DutyReminder.sent_at) >= start, col(DutyReminder.sent_at) < end)
        .order_by(col(DutyArea.name), col(DutyReminder.due_at))
    )).all()
    names: dict[int, str] = {}
    summary = DutySummary()
    for reminder, area in rows:
        who = "—"
        if reminder.staff_id is not None:
            if reminder.staff_id not in names:
                person = await session.get(Staff, reminder.staff_id)
                names[reminder.staff_id] = person.name if person else "?"
            who = names[reminder.staff_id]
        summary.add(reminder)
        summary.areas.setdefault((area.name, who), Compliance()).add(reminder)
    return summary


def week_of(calendar: ShopCalendar, now: datetime) -> tuple[str, datetime, datetime]:
    """The ISO week ``now`` is in: its label ("2026-W49") and ``[Monday, next Monday)``."""
    day = calendar.local_date(now)
    monday = day - timedelta(days=day.weekday())
    year, week, _ = day.isocalendar()
    return (f"{year}-W{week:02d}", calendar.start_of_day(monday),
            calendar.start_of_day(monday + timedelta(days=7)))


def summary_due(calendar: ShopCalendar, schedule: DutySchedule, now: datetime) -> bool:
    """The weekly summary is owed from its weekday and time to the end of that week."""
    local = calendar.local(now)
    weekday, at = schedule.summary
    return local.weekday() > weekday or (
        local.weekday() == weekday and local.time().replace(tzinfo=None) >= at)


async def summary_sent(session: AsyncSession, *, label: str, staff_id: int) -> bool:
    return (await session.exec(
        select(AuditEvent.id).where(
            AuditEvent.entity == "staff", col(AuditEvent.entity_id) == staff_id,
            AuditEvent.action == SUMMARY_SENT, AuditEvent.after == label).limit(1)
    )).first() is not None


def record_summary(session: AsyncSession, *, label: str, staff_id: int, now: datetime,
                   delivered: int) -> None:
    """After sending: a crash between the two sends it at most once more."""
    audit.record(session, now=now, actor=None, action=SUMMARY_SENT, entity="staff",
                 entity_id=staff_id, after=label, delivered=delivered)
