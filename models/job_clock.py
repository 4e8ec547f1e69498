"""The job clock (W3): per item start, pause, resume and finish, so the shop knows the hours a job
really took (per item and per technician) next to its standard time.

Each run of the clock is a :class:`ClockInterval` (who, from, to). The item itself carries the
clock's current state — ``clock_started_at`` while it runs, ``clock_seconds`` clocked before —
so every card can show it without another query, and a conditional update on those columns
decides a double tap: the clock starts (or stops) once.

Finishing is the item's ✅ done (:func:`finish_item`): it stops the clock. Handing the order to
the next process stops the clocks that still run on it (:func:`stop_order_clocks`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.audit import Actor
from models.db import UTCDateTime, id_of
from models.rules import Refused
from models.staff import Staff
from models.work_order import (
    ItemStatus,
    OrderItem,
    OrderStatus,
    WorkOrder,
    get_order,
    mark_item_done,
    require_checklist,
    require_on_floor,
    require_technician,
)


class StopReason(StrEnum):
    pause = "pause"
    done = "done"
    handoff = "handoff"


class ClockInterval(SQLModel, table=True):
    __tablename__ = "job_clock"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="work_order.id", index=True)
    item_id: int = Field(foreign_key="order_item.id", index=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    started_at: datetime = Field(sa_type=UTCDateTime)
    stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    stop_reason: str | None = Field(default=None, max_length=16)


class ClockState(StrEnum):
    """What the card offers for an open item: ▶️ start, ⏸ pause or ▶️ resume."""

    idle = "idle"  # never started
    running = "running"
    paused = "paused"


def clock_state(item: OrderItem) -> ClockState:
    if item.clock_started_at is not None:
        return ClockState.running
    if item.clock_seconds is not None:
        return ClockState.paused
    return ClockState.idle


def clocked_seconds(item: OrderItem, now: datetime | None = None) -> int:
    """Seconds clocked on the item; with ``now``, a running interval counts up to it."""
    seconds = item.clock_seconds or 0
    if now is not None and item.clock_started_at is not None:
        seconds += max(0, int((now - item.clock_started_at).total_seconds()))
    return seconds


async def _clock_item(
    session: AsyncSession, item_id: int, staff: Staff
) -> tuple[WorkOrder, OrderItem]:
    """The item a clock button names, if this person may work on it now."""
    item = await session.get(OrderItem, item_id)
    if item is None:
        raise Refused("order_missing")
    order = await get_order(session, item.order_id)
    require_technician(order, staff)
    require_on_floor(order, OrderStatus.in_progress)
    status = ItemStatus(item.status)
    if status is ItemStatus.pending:
        raise Refused("item_pending", item=item.description)
    if status is ItemStatus.rejected:
        raise Refused("item_rejected", item=item.description)
    if status is ItemStatus.done:
        raise Refused("item_already_done", item=item.description)
    return order, item


async def start(
    session: AsyncSession, *, item_id: int, technician: Staff, now: datetime, actor: Actor
) -> tuple[WorkOrder, OrderItem]:
    """Start (or resume) the clock on an open item; a second tap finds it running."""
    order, item = await _clock_item(session, item_id, technician)
    require_checklist(order)  # N1–N7: no work before the pre-work checklist
    before = clock_state(item)
    result = await session.exec(
        update(OrderItem)
        .where(col(OrderItem.id) == item_id, col(OrderItem.clock_started_at).is_(None),
               col(OrderItem.status) == ItemStatus.open.value)
        .values(clock_started_at=now, clock_seconds=item.clock_seconds or 0)
    )
    await session.refresh(item)
    if result.rowcount != 1:
        if item.clock_started_at is None:  # finished meanwhile
            raise Refused("item_already_done", item=item.description)
        raise Refused("clock_running", item=item.description, since=item.clock_started_at)
    session.add(ClockInterval(order_id=id_of(order), item_id=item_id,
                              staff_id=id_of(technician), started_at=now))
    audit.record(session, now=now, actor=actor, action="clock.start", entity="order_item",
                 entity_id=item_id, before=before.value, after=ClockState.running.value)
    order.updated_at = now
    await session.flush()
    return order, item


async def _stop(
    session: AsyncSession, item: OrderItem, *, now: datetime, reason: StopReason,
    actor: Actor | None,
) -> int | None:
    """Stop a running clock: close the interval, add its seconds. ``None`` if not running."""
    since = item.clock_started_at
    if since is None:
        return None
    seconds = max(0, int((now - since).total_seconds()))
    result = await session.exec(
        update(OrderItem)
        .where(col(OrderItem.id) == item.id, col(OrderItem.clock_started_at) == since)
        .values(clock_started_at=None, clock_seconds=(item.clock_seconds or 0) + seconds)
    )
    await session.refresh(item)
    if result.rowcount != 1:
        return None
    await session.exec(
        update(ClockInterval)
        .where(col(ClockInterval.item_id) == item.id, col(ClockInterval.stopped_at).is_(None))
        .values(stopped_at=now, stop_reason=reason.value)
    )
    audit.record(session, now=now, actor=actor, action=f"clock.{reason.value}",
                 entity="order_item", entity_id=item.id, before=ClockState.running.value,
                 after=ClockState.paused.value if reason is StopReason.pause else reason.value,
                 seconds=seconds)
    return seconds


async def pause(
    session: AsyncSession, *, item_id: int, technician: Staff, now: datetime, actor: Actor
) -> tuple[WorkOrder, OrderItem]:
    order, item = await _clock_item(session, item_id, technician)
    if await _stop(session, item, now=now, reason=StopReason.pause, actor=actor) is None:
        raise Refused("clock_not_running", item=item.description)
    order.updated_at = now
    await session.flush()
    return order, item


async def finish_item(
    session: AsyncSession, *, item_id: int, technician: Staff, now: datetime, actor: Actor
) -> tuple[WorkOrder, OrderItem]:
    """W3's ✅ done, and the clock stops if it runs: the item's actual time is final."""
    order, item = await mark_item_done(session, item_id=item_id, technician=technician,
                                       now=now, actor=actor)
    await _stop(session, item, now=now, reason=StopReason.done, actor=actor)
    await session.flush()
    return order, item


async def stop_order_clocks(
    session: AsyncSession, *, order_id: int, now: datetime, reason: StopReason,
    actor: Actor | None,
) -> int:
    """Stop every clock still running on the order (it changes hands); returns how many."""
    running = (await session.exec(
        select(OrderItem).where(OrderItem.order_id == order_id,
                                col(OrderItem.clock_started_at).is_not(None))
    )).all()
    stopped = 0
    for item in running:
        stopped += await _stop(session, item, now=now, reason=reason, actor=actor) is not None
    return stopped


async def intervals_of(session: AsyncSession, item_id: int) -> list[ClockInterval]:
    return list((await session.exec(
        select(ClockInterval).where(ClockInterval.item_id == item_id)
        .order_by(col(ClockInterval.started_at), col(ClockInterval.id))
    )).all())


async def hours_by_technician(session: AsyncSession, item_id: int) -> dict[int, float]:
    """Closed intervals on one item, in hours per person who clocked them."""
    hours: dict[int, float] = {}
    for interval in await intervals_of(session, item_id):
        if interval.stopped_at is not None:
            seconds = (interval.stopped_at - interval.started_at).total_seconds()
            hours[interval.staff_id] = hours.get(interval.staff_id, 0.0) + seconds / 3600
    return hours
