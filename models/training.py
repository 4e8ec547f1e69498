"""W11: training and meeting notices, the invitees' answers and the attendance register.

A supervisor or team leader posts a notice (time in shop time, never in the past) to roles
and named people; each invitee answers once (and may change their mind until it starts); the
ones who have not declined are reminded before it starts; the organiser is asked to mark
attendance when it starts, and the first save of the register is final.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import UniqueConstraint, or_, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.audit import Actor
from models.db import UTCDateTime, id_of
from models.rules import Refused
from models.shop_time import parse_day
from models.staff import Role, Staff, encode_roles, role_clause

MAX_TITLE = 100
MAX_PLACE = 200
MAX_REASON = 500
MAX_AHEAD = timedelta(days=366)
ORGANISER_ROLES = (Role.supervisor, Role.team_leader)


class NoticeKind(StrEnum):
    training = "training"
    meeting = "meeting"


class Answer(StrEnum):
    pending = "pending"
    attending = "attending"
    declined = "declined"


class Notice(SQLModel, table=True):
    __tablename__ = "notice"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default=NoticeKind.training, max_length=16)
    title: str = Field(max_length=MAX_TITLE)
    place: str = Field(max_length=MAX_PLACE)
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    organiser_id: int = Field(foreign_key="staff.id", index=True)
    # The roles invited, as ",technician,team_leader," (named people are invitees only).
    audience: str = Field(default=",", max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime)
    # When it started the organiser was asked to mark attendance (send first, then mark).
    roll_call_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attendance_saved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attendance_saved_by: int | None = Field(default=None, foreign_key="staff.id")


class NoticeInvitee(SQLModel, table=True):
    __tablename__ = "notice_invitee"
    __table_args__ = (UniqueConstraint("notice_id", "staff_id",
                                       name="uq_notice_invitee_notice_staff"),)

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    answer: str = Field(default=Answer.pending, max_length=16)
    reason: str | None = Field(default=None, max_length=MAX_REASON)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attended: bool | None = None  # set when the organiser saves the register


# --- posting -------------------------------------------------------------------------------

# A day, then a space (or "T", or nothing after 日/号), then hours:minutes.
_WHEN = re.compile(r"^(?P<day>.+?)(?:[ T]+|(?<=[日号]))(?P<hour>\d{1,2}):(?P<minute>\d{2})$")


def parse_start(text: str, tz: ZoneInfo, today: date) -> datetime:
    """"2026-12-03 14:00" in the shop's time zone → UTC (the day in any form
    :func:`models.shop_time.parse_day` reads, "12月3日 14:00" too); ``Refused`` when it is not
    that."""
    cleaned = " ".join(unicodedata.normalize("NFKC", text).split())
    match = _WHEN.match(cleaned)
    day = parse_day(match["day"], today) if match else None
    if match is None or day is None:
        raise Refused("notice_time_invalid")
    try:
        local = datetime.combine(day, time(int(match["hour"]), int(match["minute"])), tzinfo=tz)
    except ValueError:
        raise Refused("notice_time_invalid") from None
    return local.astimezone(UTC)


def check_start(starts_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise Refused("notice_in_past")
    if starts_at > now + MAX_AHEAD:
        raise Refused("notice_too_far")


def require_organiser(staff: Staff) -> None:
    if not staff.has(*ORGANISER_ROLES):
        raise Refused("notice_not_organiser")


async def resolve_invitees(
    session: AsyncSession, *, roles: list[Role], staff_ids: list[int], organiser_id: int | None
) -> list[Staff]:
    """Active holders of any of ``roles`` and the named active people, minus the organiser."""
    if not roles and not staff_ids:
        return []
    clauses = [role_clause(role) for role in roles]
    if staff_ids:
        clauses.append(col(Staff.id).in_(staff_ids))
    rows = (await session.exec(
        select(Staff).where(Staff.active == True, or_(*clauses))  # noqa: E712
        .order_by(col(Staff.name), col(Staff.id))
    )).all()
    return [staff for staff in rows if staff.id != organiser_id]


async def post_notice(
    session: AsyncSession,
    *,
    organiser: Staff,
    kind: NoticeKind,
    title: str,
    place: str,
    starts_at: datetime,
    roles: list[Role],
    staff_ids: list[int],
    now: datetime,
    actor: Actor,
    remind_before: timedelta,
) -> tuple[Notice, list[NoticeInvitee]]:
    """Create the notice and one invitee row per person; a notice that starts within the
    reminder window counts as reminded (the card itself is the reminder)."""
    require_organiser(organiser)
    title, place = title.strip(), place.strip()
    if not title or not place:
        raise Refused("empty_text")
    if len(title) > MAX_TITLE or len(place) > MAX_PLACE:
        raise Refused("too_long", limit=MAX_TITLE if len(title) > MAX_TITLE else MAX_PLACE)
    check_start(starts_at, now)
    people = await resolve_invitees(session, roles=roles, staff_ids=staff_ids,
                                    organiser_id=organiser.id)
    if not people:
        raise Refused("notice_no_invitees")
    notice = Notice(
        kind=kind.value, title=title, place=place, starts_at=starts_at,
        organiser_id=id_of(organiser),
        audience=encode_roles(roles), created_at=now,
    )
    session.add(notice)
    await session.flush()
    reminded = now if starts_at - remind_before <= now else None
    invitees = [
        NoticeInvitee(notice_id=id_of(notice), staff_id=id_of(person),
                      reminded_at=reminded)
        for person in people
    ]
    session.add_all(invitees)
    audit.record(
        session, now=now, actor=actor, action="notice.post", entity="notice",
        entity_id=notice.id, after=kind.value, invited=len(invitees),
        roles=[r.value for r in roles], staff_ids=staff_ids,
    )
    await session.flush()
    return notice, invitees


# --- answers -------------------------------------------------------------------------------


async def get_notice(session: AsyncSession, notice_id: int) -> Notice:
    notice = await session.get(Notice, notice_id)
    if notice is None:
        raise Refused("notice_missing")
    return notice


async def check_answerable(
    session: AsyncSession, *, invitee_id: int, staff: Staff, now: datetime
) -> tuple[Notice, NoticeInvitee]:
    """Only the invitee answers their own card, and only before the notice starts."""
    invitee = await session.get(NoticeInvitee, invitee_id)
    if invitee is None:
        raise Refused("notice_missing")
    if invitee.staff_id != staff.id:
        raise Refused("notice_not_invited")
    notice = await get_notice(session, invitee.notice_id)
    if notice.starts_at <= now:
        raise Refused("notice_started", title=notice.title)
    return notice, invitee


async def answer(
    session: AsyncSession,
    *,
    invitee_id: int,
    staff: Staff,
    attending: bool,
    now: datetime,
    actor: Actor,
    reason: str | None = None,
) -> tuple[Notice, NoticeInvitee]:
    """Will attend / can't attend (with a reason). Changing one's mind before the start is
    fine; the same answer twice (a double tap) changes nothing and says so."""
    notice, invitee = await check_answerable(session, invitee_id=invitee_id, staff=staff,
                                             now=now)
    new = Answer.attending if attending else Answer.declined
    reason = (reason or "").strip() or None
    if not attending and not reason:
        raise Refused("reason_missing")
    before = invitee.answer
    result = await session.exec(
        update(NoticeInvitee)
        .where(col(NoticeInvitee.id) == invitee_id, col(NoticeInvitee.answer) != new.value)
        .values(answer=new.value, reason=reason[:MAX_REASON] if reason and not attending else None,
                answered_at=now)
    )
    await session.refresh(invitee)
    if result.rowcount != 1:
        raise Refused("notice_same_answer", answer=new.value)
    audit.record(
        session, now=now, actor=actor, action="notice.answer", entity="notice_invitee",
        entity_id=invitee_id, before=before, after=new.value, notice_id=notice.id,
        reason=invitee.reason,
    )
    await session.flush()
    return notice, invitee


# --- reminders and the roll call --------------------------------------------------------------


async def due_reminders(
    session: AsyncSession, *, now: datetime, before: timedelta
) -> list[tuple[NoticeInvitee, Notice, Staff]]:
    """Invitees who have not declined, not yet reminded, of notices starting within
    ``before`` (a notice already started gets no reminder: it would only confuse)."""
    rows = (await session.exec(
        select(NoticeInvitee, Notice, Staff)
        .join(Notice, col(Notice.id) == col(NoticeInvitee.notice_id))
        .join(Staff, col(Staff.id) == col(NoticeInvitee.staff_id))
        .where(
            col(NoticeInvitee.reminded_at).is_(None),
            col(NoticeInvitee.answer) != Answer.declined.value,
            col(Notice.starts_at) > now,
            col(Notice.starts_at) <= now + before,
            Staff.active == True,  # noqa: E712
        )
        .order_by(col(Notice.starts_at), col(NoticeInvitee.id))
    )).all()
    return [(invitee, notice, staff) for invitee, notice, staff in rows]


async def mark_reminded(session: AsyncSession, *, invitee_id: int, now: datetime) -> bool:
    """After sending: a crash between the two sends the reminder at most once more."""
    result = await session.exec(
        update(NoticeInvitee)
        .where(col(NoticeInvitee.id) == invitee_id, col(NoticeInvitee.reminded_at).is_(None))
        .values(reminded_at=now)
    )
    if result.rowcount == 1:
        audit.record(session, now=now, actor=None, action="notice.remind",
                     entity="notice_invitee", entity_id=invitee_id)
        return True
    return False


async def due_roll_calls(session: AsyncSession, *, now: datetime) -> list[Notice]:
    """Notices that have started whose organiser has not been asked to mark attendance."""
    return list((await session.exec(
        select(Notice).where(
            col(Notice.starts_at) <= now,
            col(Notice.roll_call_sent_at).is_(None),
            col(Notice.attendance_saved_at).is_(None),
        ).order_by(col(Notice.starts_at), col(Notice.id))
    )).all())


async def mark_roll_call_sent(session: AsyncSession, *, notice_id: int, now: datetime) -> bool:
    result = await session.exec(
        update(Notice)
        .where(col(Notice.id) == notice_id, col(Notice.roll_call_sent_at).is_(None))
        .values(roll_call_sent_at=now)
    )
    if result.rowcount == 1:
        audit.record(session, now=now, actor=None, action="notice.roll_call", entity="notice",
                     entity_id=notice_id)
        return True
    return False


# --- the attendance register ------------------------------------------------------------------


async def saved_by(session: AsyncSession, notice: Notice) -> Refused:
    who = await session.get(Staff, notice.attendance_saved_by) \
        if notice.attendance_saved_by else None
    return Refused("notice_attendance_saved", name=who.name if who else "?",
                   at=notice.attendance_saved_at)


def marks_attendance(notice: Notice, staff: Staff) -> bool:
    """The organiser, or a supervisor standing in."""
    return staff.id == notice.organiser_id or staff.has(Role.supervisor)


async def check_markable(
    session: AsyncSession, *, notice_id: int, staff: Staff, now: datetime
) -> Notice:
    """The organiser (or a supervisor standing in) marks attendance once it has started."""
    notice = await get_notice(session, notice_id)
    if not marks_attendance(notice, staff):
        raise Refused("notice_not_organiser_of", title=notice.title)
    if notice.attendance_saved_at is not None:
        raise await saved_by(session, notice)
    if notice.starts_at > now:
        raise Refused("notice_not_started", at=notice.starts_at)
    return notice


async def save_attendance(
    session: AsyncSession,
    *,
    notice_id: int,
    staff: Staff,
    present: set[int],
    now: datetime,
    actor: Actor,
) -> Notice:
    """Record who was there (invitee ids in ``present``); the first save wins and is final."""
    notice = await check_markable(session, notice_id=notice_id, staff=staff, now=now)
    result = await session.exec(
        update(Notice)
        .where(col(Notice.id) == notice_id, col(Notice.attendance_saved_at).is_(None))
        .values(attendance_saved_at=now, attendance_saved_by=staff.id)
    )
    await session.refresh(notice)
    if result.rowcount != 1:
        raise await saved_by(session, notice)
    invitees = (await session.exec(
        select(NoticeInvitee).where(NoticeInvitee.notice_id == notice_id)
    )).all()
    for invitee in invitees:
        invitee.attended = invitee.id in present
    attended = sum(1 for i in invitees if i.attended)
    audit.record(
        session, now=now, actor=actor, action="notice.attendance", entity="notice",
        entity_id=notice_id, after="saved", attended=attended,
        absent=len(invitees) - attended,
    )
    await session.flush()
    return notice


async def invitees_of(
    session: AsyncSession, notice_id: int
) -> list[tuple[NoticeInvitee, Staff]]:
    rows = (await session.exec(
        select(NoticeInvitee, Staff)
        .join(Staff, col(Staff.id) == col(NoticeInvitee.staff_id))
        .where(NoticeInvitee.notice_id == notice_id)
        .order_by(col(Staff.name), col(Staff.id))
    )).all()
    return [(invitee, staff) for invitee, staff in rows]


async def invitee_of(session: AsyncSession, notice_id: int, staff_id: int) -> NoticeInvitee | None:
    return (await session.exec(
        select(NoticeInvitee).where(NoticeInvitee.notice_id == notice_id,
                                    NoticeInvitee.staff_id == staff_id)
    )).first()


@dataclass(frozen=True)
class Tally:
    invited: int = 0
    attending: int = 0
    declined: int = 0
    pending: int = 0
    attended: int = 0
    absent: int = 0


def tally(invitees: list[NoticeInvitee]) -> Tally:
    return Tally(
        invited=len(invitees),
        attending=sum(1 for i in invitees if i.answer == Answer.attending),
        declined=sum(1 for i in invitees if i.answer == Answer.declined),
        pending=sum(1 for i in invitees if i.answer == Answer.pending),
        attended=sum(1 for i in invitees if i.attended is True),
        absent=sum(1 for i in invitees if i.attended is False),
    )


async def notice_tally(session: AsyncSession, notice_id: int) -> Tally:
    return tally(list((await session.exec(
        select(NoticeInvitee).where(NoticeInvitee.notice_id == notice_id)
    )).all()))


async def recent_notices(
    session: AsyncSession, *, now: datetime, days: int = 60, limit: int = 15
) -> list[Notice]:
    """The register's list: upcoming first, then the latest past ones."""
    return list((await session.exec(
        select(Notice).where(col(Notice.starts_at) >= now - timedelta(days=days))
        .order_by(col(Notice.starts_at).desc(), col(Notice.id).desc()).limit(limit)
    )).all())


@dataclass(frozen=True)
class PersonAttendance:
    staff_id: int
    name: str
    invited: int
    attended: int
    absent: int
    declined: int


@dataclass(frozen=True)
class AttendanceSummary:
    """W11 for the monthly report: notices that started in ``[start, end)``.

    ``attending`` and ``declined`` count the answers given; ``attended`` and ``absent`` come
    from the registers the organisers saved; ``unmarked`` notices have no register yet.
    """

    notices: int = 0
    trainings: int = 0
    meetings: int = 0
    invited: int = 0
    attending: int = 0
    declined: int = 0
    unanswered: int = 0
    attended: int = 0
    absent: int = 0
    unmarked: int = 0
    people: list[PersonAttendance] = field(default_factory=list)

    @property
    def attendance_rate(self) -> float | None:
        marked = self.attended + self.absent
        return self.attended / marked if marked else None


async def attendance_summary(
    session: AsyncSession, *, start: datetime, end: datetime
) -> AttendanceSummary:
    notices = list((await session.exec(
        select(Notice).where(col(Notice.starts_at) >= start, col(Notice.starts_at) < end)
    )).all())
    if not notices:
        return AttendanceSummary()
    ids = [n.id for n in notices]
    rows = (await session.exec(
        select(NoticeInvitee, Staff)
        .join(Staff, col(Staff.id) == col(NoticeInvitee.staff_id))
        .where(col(NoticeInvitee.notice_id).in_(ids))
    )).all()
    counts = tally([invitee for invitee, _ in rows])
    people: dict[int, dict[str, int]] = {}
    names: dict[int, str] = {}
    for invitee, staff in rows:
        entry = people.setdefault(id_of(staff),
                                  {"invited": 0, "attended": 0, "absent": 0, "declined": 0})
        names[id_of(staff)] = staff.name
        entry["invited"] += 1
        entry["attended"] += invitee.attended is True
        entry["absent"] += invitee.attended is False
        entry["declined"] += invitee.answer == Answer.declined
    return AttendanceSummary(
        notices=len(notices),
        trainings=sum(1 for n in notices if n.kind == NoticeKind.training),
        meetings=sum(1 for n in notices if n.kind == NoticeKind.meeting),
        invited=counts.invited,
        attending=counts.attending,
        declined=counts.declined,
        unanswered=counts.pending,
        attended=counts.attended,
        absent=counts.absent,
        unmarked=sum(1 for n in notices if n.attendance_saved_at is None),
        people=sorted(
            (PersonAttendance(staff_id, names[staff_id], **entry)
             for staff_id, entry in people.items()),
            key=lambda p: (p.name, p.staff_id),
        ),
    )


async def find_people(session: AsyncSession, text: str, limit: int = 10) -> list[Staff]:
    """Active staff whose name contains ``text`` or whose staff code is ``text``."""
    text = text.strip()
    if not text:
        return []
    return list((await session.exec(
        select(Staff).where(Staff.active == True,  # noqa: E712
                            or_(col(Staff.name).contains(text), col(Staff.code) == text))
        .order_by(col(Staff.name), col(Staff.id)).limit(limit)
    )).all())
