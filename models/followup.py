"""Follow-up calls (A3, A6, A7): what is due when, for whom, and what happened to it.

The database holds the schedule. A follow-up has a window ``[due_from, due_until)`` and a
``remind_at``; the reminder job sends those whose ``remind_at`` has passed and that have not
been reminded since it was set. No answer, a snooze or a wrong number move ``remind_at`` and
clear ``reminded_at``, so the next reminder goes out once, at the new time.
"""

from __future__ import annotations

from collections import deque
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Index, and_, or_, text, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.audit import Actor
from models.db import UTCDateTime, id_of
from models.rules import Refused
from models.shop_time import ShopCalendar
from models.staff import Staff

if TYPE_CHECKING:
    from models.customer import Customer


class FollowUpKind(StrEnum):
    first_call = "first_call"  # 3–7 days after pickup or consultation (A6)
    second_call = "second_call"  # 7–14 days after the first call (A7)
    maintenance = "maintenance"  # N days before the next maintenance date (A3)
    campaign = "campaign"  # 14 days before an event or offer (A8)
    complaint_callback = "complaint_callback"  # the same day a solution is found (A6)


class FollowUpStatus(StrEnum):
    open = "open"
    done = "done"
    cancelled = "cancelled"


class FollowUp(SQLModel, table=True):
    __tablename__ = "follow_up"
    __table_args__ = (
        # The reminder job's one query: open, not yet reminded, remind time passed.
        Index("ix_follow_up_due", "remind_at",
              sqlite_where=text("status = 'open' AND reminded_at IS NULL"),
              postgresql_where=text("status = 'open' AND reminded_at IS NULL")),
        Index("ix_follow_up_overdue", "due_until",
              sqlite_where=text("status = 'open' AND overdue_notified_at IS NULL"),
              postgresql_where=text("status = 'open' AND overdue_notified_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)  # "first:<visit>", "camp:<c>:<customer>" …
    kind: str = Field(max_length=24)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    vehicle_id: int | None = Field(default=None, foreign_key="vehicle.id")
    visit_id: int | None = Field(default=None, foreign_key="visit.id")
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", index=True)
    # No foreign key: complaint → call_log → follow_up already points the other way.
    complaint_id: int | None = Field(default=None, index=True)
    status: str = Field(default=FollowUpStatus.open, max_length=16, index=True)
    due_from: datetime = Field(sa_type=UTCDateTime)
    due_until: datetime = Field(sa_type=UTCDateTime, index=True)  # reports: due in a period
    remind_at: datetime = Field(sa_type=UTCDateTime)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminded_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    attempts: int = Field(default=0)  # calls without an answer
    wrong_number_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    overdue_notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done_by: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = Field(sa_type=UTCDateTime)


async def schedule(
    session: AsyncSession, *, key: str, kind: FollowUpKind, customer_id: int,
    due_from: datetime, due_until: datetime, now: datetime, calendar: ShopCalendar,
    vehicle_id: int | None = None, visit_id: int | None = None,
    campaign_id: int | None = None, complaint_id: int | None = None,
) -> FollowUp | None:
    """Create a follow-up once per ``key``; returns ``None`` when it already exists."""
    existing = (await session.exec(select(FollowUp).where(FollowUp.key == key))).first()
    if existing is not None:
        return None
    remind_at = calendar.next_working_start(max(due_from, now))
    followup = FollowUp(
        key=key, kind=kind, customer_id=customer_id, vehicle_id=vehicle_id,
        visit_id=visit_id, campaign_id=campaign_id, complaint_id=complaint_id,
        due_from=due_from, due_until=max(due_until, due_from), remind_at=remind_at,
        created_at=now,
    )
    session.add(followup)
    await session.flush()
    return followup


async def schedule_first_call(
    session: AsyncSession, *, visit_id: int, customer_id: int, vehicle_id: int | None,
    visited_on: date, window: tuple[int, int], now: datetime, calendar: ShopCalendar,
) -> FollowUp | None:
    due_from, due_until = calendar.window(visited_on, *window)
    return await schedule(
        session, key=f"first:{visit_id}", kind=FollowUpKind.first_call,
        customer_id=customer_id, vehicle_id=vehicle_id, visit_id=visit_id,
        due_from=due_from, due_until=due_until, now=now, calendar=calendar,
    )


async def schedule_second_call(
    session: AsyncSession, *, first: FollowUp, called_on: date, window: tuple[int, int],
    now: datetime, calendar: ShopCalendar,
) -> FollowUp | None:
    due_from, due_until = calendar.window(called_on, *window)
    return await schedule(
        session, key=f"second:{first.visit_id or first.id}", kind=FollowUpKind.second_call,
        customer_id=first.customer_id, vehicle_id=first.vehicle_id, visit_id=first.visit_id,
        due_from=due_from, due_until=due_until, now=now, calendar=calendar,
    )


async def get_followup(session: AsyncSession, followup_id: int) -> FollowUp:
    followup = await session.get(FollowUp, followup_id)
    if followup is None:
        raise Refused("followup_missing")
    return followup


async def due_reminders(session: AsyncSession, *, now: datetime, limit: int = 500,
                        after: tuple[datetime, int] | None = None) -> list[FollowUp]:
    """Open follow-ups whose reminder time has come and that were not reminded since, oldest
    first; ``after`` (the last one's ``remind_at`` and id) gives the next page."""
    query = select(FollowUp).where(
        FollowUp.status == FollowUpStatus.open,
        col(FollowUp.reminded_at).is_(None),
        FollowUp.remind_at <= now,
    )
    if after is not None:
        at, last_id = after
        query = query.where(or_(col(FollowUp.remind_at) > at,
                                and_(col(FollowUp.remind_at) == at, col(FollowUp.id) > last_id)))
    return list((await session.exec(
        query.order_by(col(FollowUp.remind_at), col(FollowUp.id)).limit(limit))).all())


def page_end(page: list[FollowUp]) -> tuple[datetime, int]:
    """Where the next page of ``due_reminders`` starts."""
    last = page[-1]
    return last.remind_at, id_of(last)


class Rounds:
    """Due reminders dealt out clerk by clerk: the next one goes to the clerk served longest
    ago who has none in hand, so no clerk's chat gets two in a row while others wait and no
    clerk waits behind another's hundred. Pages are added as they are read (``add``); a page's
    last reminders mix with the next page's first, so a clerk with many in one page never
    holds the others back at its end. ``clerk_of`` maps customer ids to their clerk (None:
    the supervisors get it)."""

    def __init__(self) -> None:
        self._queues: dict[int | None, deque[FollowUp]] = {}
        self._turns: deque[int | None] = deque()  # clerks with reminders waiting, in turn
        self._in_hand: set[int | None] = set()
        self._count = 0

    def __len__(self) -> int:
        """Reminders waiting (not taken yet)."""
        return self._count

    def add(self, page: list[FollowUp], clerk_of: dict[int, int | None]) -> None:
        for followup in page:
            clerk = clerk_of.get(followup.customer_id)
            if clerk not in self._queues:
                self._queues[clerk] = deque()
                self._turns.append(clerk)
            self._queues[clerk].append(followup)
        self._count += len(page)

    def take(self) -> tuple[FollowUp, int | None] | None:
        """The next reminder and its clerk, who is then in hand until ``done``; None when every
        clerk with reminders waiting has one in hand (or none wait)."""
        for _ in range(len(self._turns)):
            clerk = self._turns.popleft()
            if clerk in self._in_hand:
                self._turns.append(clerk)
                continue
            queue = self._queues[clerk]
            followup = queue.popleft()
            if queue:
                self._turns.append(clerk)
            else:
                del self._queues[clerk]
            self._in_hand.add(clerk)
            self._count -= 1
            return followup, clerk
        return None

    def done(self, clerk: int | None) -> None:
        self._in_hand.discard(clerk)


async def mark_reminded(
    session: AsyncSession, *, followup_id: int, staff_id: int, now: datetime
) -> None:
    """After sending: a crash between the two sends the reminder at most once more."""
    await session.exec(
        update(FollowUp).where(col(FollowUp.id) == followup_id,
                               col(FollowUp.reminded_at).is_(None))
        .values(reminded_at=now, reminded_staff_id=staff_id)
    )


def _require_open(followup: FollowUp) -> None:
    if followup.status != FollowUpStatus.open:
        raise Refused("followup_closed")


async def open_followup(session: AsyncSession, followup_id: int) -> FollowUp:
    """The follow-up if it is still open; else who logged it and when."""
    followup = await get_followup(session, followup_id)
    if followup.status == FollowUpStatus.done:
        done_by = await session.get(Staff, followup.done_by) if followup.done_by else None
        raise Refused("call_already_logged", name=done_by.name if done_by else "?",
                      at=followup.done_at)
    if followup.status != FollowUpStatus.open:
        raise Refused("followup_closed")
    return followup


async def explain_closed(session: AsyncSession, followup_id: int, refused: Refused) -> Refused:
    """A rule said "closed" after a race: say by whom, as the first check would have."""
    if refused.code != "followup_closed":
        return refused
    try:
        await open_followup(session, followup_id)
    except Refused as better:
        return better
    return refused


def snooze_until(choice: str, now: datetime, calendar: ShopCalendar) -> datetime:
    """A snooze choice ("1h", "3h", "tm" tomorrow morning, "nw" next week) as a time the clerks
    are at work (the reminder job only reminds in working hours)."""
    if choice == "1h":
        return calendar.next_working_start(now + timedelta(hours=1))
    if choice == "3h":
        return calendar.next_working_start(now + timedelta(hours=3))
    if choice == "tm":
        return calendar.next_working_day_start(now)
    today = calendar.local_date(now)
    monday = today + timedelta(days=7 - today.weekday())
    return calendar.next_working_start(calendar.at(monday, calendar.day_start))


async def no_answer(
    session: AsyncSession, *, followup_id: int, now: datetime, calendar: ShopCalendar,
    actor: Actor,
) -> FollowUp:
    """Counted, and tried again at the start of the next working day."""
    followup = await get_followup(session, followup_id)
    _require_open(followup)
    followup.attempts += 1
    followup.remind_at = calendar.next_working_day_start(now)
    followup.reminded_at = None
    audit.record(session, now=now, actor=actor, action="followup.no_answer",
                 entity="follow_up", entity_id=followup_id, attempts=followup.attempts)
    await session.flush()
    return followup


async def snooze(
    session: AsyncSession, *, followup_id: int, until: datetime, now: datetime, actor: Actor
) -> FollowUp:
    followup = await get_followup(session, followup_id)
    _require_open(followup)
    if until <= now:
        raise Refused("time_in_past")
    followup.remind_at = until
    followup.reminded_at = None
    audit.record(session, now=now, actor=actor, action="followup.snooze",
                 entity="follow_up", entity_id=followup_id, until=until.isoformat())
    await session.flush()
    return followup


async def wrong_number(
    session: AsyncSession, *, followup_id: int, now: datetime, calendar: ShopCalendar,
    actor: Actor,
) -> FollowUp:
    """The number on file is wrong: the archive needs a new one; retry next working day."""
    from models.customer import get_customer

    followup = await get_followup(session, followup_id)
    _require_open(followup)
    followup.wrong_number_at = now
    followup.remind_at = calendar.next_working_day_start(now)
    followup.reminded_at = None
    customer = await get_customer(session, followup.customer_id)
    phones = customer.phone_list
    customer.phones = ",".join(phones[1:])  # the first number is the one that was called
    customer.archive_completed_at = None if not customer.phones else \
        customer.archive_completed_at
    customer.updated_at = now
    audit.record(session, now=now, actor=actor, action="followup.wrong_number",
                 entity="follow_up", entity_id=followup_id,
                 phone=phones[0] if phones else None)
    await session.flush()
    return followup


async def close_done(
    session: AsyncSession, *, followup_id: int, staff_id: int, now: datetime
) -> FollowUp:
    """The first logged call closes the follow-up; a second log is told it is done."""
    result = await session.exec(
        update(FollowUp)
        .where(col(FollowUp.id) == followup_id,
               col(FollowUp.status) == FollowUpStatus.open.value)
        .values(status=FollowUpStatus.done.value, done_at=now, done_by=staff_id)
    )
    followup = await get_followup(session, followup_id)
    await session.refresh(followup)
    if result.rowcount != 1:
        raise Refused("followup_closed")
    return followup


async def overdue_unnotified(session: AsyncSession, *, now: datetime) -> list[FollowUp]:
    return list((await session.exec(
        select(FollowUp).where(
            FollowUp.status == FollowUpStatus.open,
            col(FollowUp.overdue_notified_at).is_(None),
            FollowUp.due_until <= now,
        ).order_by(col(FollowUp.id))
    )).all())


async def mark_overdue_notified(session: AsyncSession, *, followup_id: int, now: datetime
                                ) -> None:
    await session.exec(
        update(FollowUp).where(col(FollowUp.id) == followup_id)
        .values(overdue_notified_at=now)
    )


async def open_for_customer(session: AsyncSession, customer_id: int) -> list[FollowUp]:
    return list((await session.exec(
        select(FollowUp).where(FollowUp.customer_id == customer_id,
                               FollowUp.status == FollowUpStatus.open)
        .order_by(col(FollowUp.due_from))
    )).all())


def is_overdue(followup: FollowUp, now: datetime) -> bool:
    return followup.status == FollowUpStatus.open and followup.due_until <= now


def day_bounds(calendar: ShopCalendar, now: datetime) -> tuple[datetime, datetime]:
    today = calendar.local_date(now)
    return calendar.start_of_day(today), calendar.end_of_day(today)



async def day_list(
    session: AsyncSession, *, start: datetime, end: datetime, now: datetime,
    clerk_ids: list[int] | None = None, done_by: int | None = None, limit: int = 200,
) -> list[tuple[FollowUp, Customer]]:
    """A clerk's day (``/today``): open follow-ups due before ``end`` or overdue, and those
    done in ``[start, end)``; of the customers of ``clerk_ids`` (everyone's when ``None``),
    plus any that ``done_by`` closed for another clerk's customer."""
    from models.customer import Customer

    open_now = and_(col(FollowUp.status) == FollowUpStatus.open.value,
                    or_(col(FollowUp.remind_at) < end, col(FollowUp.due_until) <= now))
    done_today = and_(col(FollowUp.status) == FollowUpStatus.done.value,
                      col(FollowUp.done_at) >= start, col(FollowUp.done_at) < end)
    query = (select(FollowUp, Customer)
             .join(Customer, col(Customer.id) == col(FollowUp.customer_id))
             .where(or_(open_now, done_today)))
    if clerk_ids is not None:
        theirs: ColumnElement[bool] = col(Customer.clerk_id).in_(clerk_ids)
        if done_by is not None:
            theirs = or_(theirs, and_(done_today, col(FollowUp.done_by) == done_by))
        query = query.where(theirs)
    return list((await session.exec(
        query.order_by(col(FollowUp.due_until), col(FollowUp.id)).limit(limit)
    )).all())
