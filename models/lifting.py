"""N5: a lifting job needs a named watcher.

A lift belongs to an order at work whose pre-work checklist (:mod:`models.checklist`) is
complete and says "lift or stands". The technician names someone on shift, the watcher
confirms in chat, and only then is the lift recorded as started. A request nobody confirms in
``LIFT_WATCH_MINUTES`` goes to the team leaders, once (:mod:`jobs.lifting_watch`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, func, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.audit import Actor
from models.checklist import JobType, job_types_of
from models.db import UTCDateTime, id_of
from models.rules import Refused
from models.staff import Role, Staff, role_clause
from models.work_order import (
    OrderStatus,
    WorkOrder,
    floor_order,
    get_order,
    require_checklist,
    require_on_floor,
)


class WatchStatus(StrEnum):
    requested = "requested"
    confirmed = "confirmed"  # the lift is recorded as started
    cancelled = "cancelled"  # the technician named someone else


class LiftWatch(SQLModel, table=True):
    __tablename__ = "lift_watch"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="work_order.id", index=True)
    technician_id: int = Field(foreign_key="staff.id")
    watcher_id: int = Field(foreign_key="staff.id", index=True)  # the one named
    status: str = Field(default=WatchStatus.requested, max_length=16, index=True)
    requested_at: datetime = Field(sa_type=UTCDateTime, index=True)
    confirmed_by: int | None = Field(default=None, foreign_key="staff.id")  # watcher or leader
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    alerted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


async def watch_candidates(session: AsyncSession, technician: Staff) -> list[Staff]:
    """People on shift who can watch a lift: active, on duty technicians and team leaders,
    other than the one lifting."""
    query = select(Staff).where(
        Staff.active == True, Staff.on_duty == True,  # noqa: E712
        role_clause(Role.technician) | role_clause(Role.team_leader),
        col(Staff.id) != technician.id,
    ).order_by(col(Staff.name), col(Staff.id))
    return list((await session.exec(query)).all())


async def get_watch(session: AsyncSession, watch_id: int) -> LiftWatch:
    watch = await session.get(LiftWatch, watch_id)
    if watch is None:
        raise Refused("lifting_missing")
    return watch


async def lift_order(session: AsyncSession, *, order_id: int, staff: Staff) -> WorkOrder:
    """A lift belongs to an order at work whose checklist is complete and says "lift"."""
    order = await floor_order(session, order_id, staff, OrderStatus.in_progress)
    require_checklist(order)
    if JobType.lift not in await job_types_of(session, order_id):
        raise Refused("lifting_not_in_checklist", number=order.number)
    return order


async def request_watch(
    session: AsyncSession, *, order_id: int, technician: Staff, watcher_id: int,
    now: datetime, actor: Actor,
) -> tuple[WorkOrder, LiftWatch, list[LiftWatch]]:
    """Name a watcher; an earlier request still waiting for its watcher is withdrawn.
    Returns the order, the new request and the withdrawn ones."""
    order = await lift_order(session, order_id=order_id, staff=technician)
    watcher = await session.get(Staff, watcher_id)
    candidates = {s.id for s in await watch_candidates(session, technician)}
    if watcher is None or watcher.id not in candidates:
        raise Refused("lifting_bad_watcher", name=watcher.name if watcher else "?")
    withdrawn = list((await session.exec(
        select(LiftWatch).where(LiftWatch.order_id == order_id,
                                LiftWatch.status == WatchStatus.requested)
    )).all())
    for old in withdrawn:
        result = await session.exec(
            update(LiftWatch)
            .where(col(LiftWatch.id) == old.id,
                   col(LiftWatch.status) == WatchStatus.requested.value)
            .values(status=WatchStatus.cancelled.value, cancelled_at=now))
        if result.rowcount == 1:
            audit.record(session, now=now, actor=actor, action="lift.withdraw",
                         entity="lift_watch", entity_id=old.id,
                         before=WatchStatus.requested.value,
                         after=WatchStatus.cancelled.value)
        await session.refresh(old)
    watch = LiftWatch(order_id=order_id, technician_id=id_of(technician),
                      watcher_id=id_of(watcher), requested_at=now)
    session.add(watch)
    await session.flush()
    audit.record(session, now=now, actor=actor, action="lift.request", entity="lift_watch",
                 entity_id=watch.id, after=WatchStatus.requested.value, order_id=order_id,
                 watcher_id=watcher.id)
    await session.flush()
    return order, watch, [w for w in withdrawn if w.status == WatchStatus.cancelled]


@dataclass(frozen=True)
class WatchTaken:
    """Who confirmed a watch, or that it was withdrawn, for the loser of a race."""

    status: WatchStatus
    name: str
    at: datetime


async def taken(session: AsyncSession, watch: LiftWatch) -> WatchTaken:
    if watch.status == WatchStatus.confirmed:
        who = await session.get(Staff, watch.confirmed_by) if watch.confirmed_by else None
        return WatchTaken(WatchStatus.confirmed, who.name if who else "?",
                          watch.confirmed_at or watch.requested_at)
    who = await session.get(Staff, watch.technician_id)
    return WatchTaken(WatchStatus(watch.status), who.name if who else "?",
                      watch.cancelled_at or watch.requested_at)


async def confirm_watch(
    session: AsyncSession, *, watch_id: int, staff: Staff, now: datetime, actor: Actor,
    take_over: bool = False,
) -> tuple[WorkOrder, LiftWatch]:
    """The named watcher confirms — or a team leader takes the watch over, at any time (a
    leader on the floor may stand in; the alert only tells them when nobody has confirmed).
    The conditional update lets exactly one confirmation count; the lift starts with it."""
    watch = await get_watch(session, watch_id)
    if take_over:
        if not staff.has(Role.team_leader):
            raise Refused("lifting_not_leader")
    elif watch.watcher_id != staff.id:
        raise Refused("lifting_not_watcher")
    order = await get_order(session, watch.order_id)
    if watch.status == WatchStatus.requested:
        require_on_floor(order, OrderStatus.in_progress)
    result = await session.exec(
        update(LiftWatch)
        .where(col(LiftWatch.id) == watch_id,
               col(LiftWatch.status) == WatchStatus.requested.value)
        .values(status=WatchStatus.confirmed.value, confirmed_by=staff.id, confirmed_at=now)
    )
    await session.refresh(watch)
    if result.rowcount != 1:
        gone = await taken(session, watch)
        raise Refused("lifting_already", status=gone.status.value, name=gone.name, at=gone.at)
    audit.record(session, now=now, actor=actor,
                 action="lift.take_over" if take_over else "lift.confirm",
                 entity="lift_watch", entity_id=watch_id, before=WatchStatus.requested.value,
                 after=WatchStatus.confirmed.value, order_id=order.id)
    await session.flush()
    return order, watch


async def due_for_alert(
    session: AsyncSession, *, now: datetime, delay: timedelta
) -> list[LiftWatch]:
    return list((await session.exec(
        select(LiftWatch).where(
            LiftWatch.status == WatchStatus.requested,
            col(LiftWatch.alerted_at).is_(None),
            LiftWatch.requested_at <= now - delay,
        ).order_by(col(LiftWatch.id))
    )).all())


async def mark_alerted(session: AsyncSession, *, watch_id: int, now: datetime) -> bool:
    """After the team leaders were told (a crash in between tells them at most once more)."""
    result = await session.exec(
        update(LiftWatch)
        .where(col(LiftWatch.id) == watch_id, col(LiftWatch.alerted_at).is_(None),
               col(LiftWatch.status) == WatchStatus.requested.value)
        .values(alerted_at=now)
    )
    if result.rowcount == 1:
        audit.record(session, now=now, actor=None, action="lift.alert", entity="lift_watch",
                     entity_id=watch_id)
        return True
    return False


async def lift_figures(
    session: AsyncSession, *, start: datetime, end: datetime
) -> tuple[int, int, int]:
    """For the monthly report, in ``[start, end)``: lifts a watcher was asked for (a request
    withdrawn for another watcher is not a lift of its own), lifts confirmed, and requests
    nobody confirmed in time."""

    async def count(*where: ColumnElement[bool]) -> int:
        return int((await session.exec(
            select(func.count()).select_from(LiftWatch).where(*where))).one())

    in_period = (col(LiftWatch.requested_at) >= start, col(LiftWatch.requested_at) < end)
    return (await count(*in_period, col(LiftWatch.status) != WatchStatus.cancelled.value),
            await count(*in_period, col(LiftWatch.status) == WatchStatus.confirmed.value),
            await count(*in_period, col(LiftWatch.alerted_at).is_not(None)))
