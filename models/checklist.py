"""N1–N7 before work: the pre-work checklist.

After the plate check (W1) the technician says what kind of job this is — outside the car,
inside it, on a lift or stands, opening fuel, oil or water parts, removing assemblies — and
ticks the boxes those kinds require: protective equipment always (N1), the protection cover
outside (N6), seat cover, floor mat and wheel cover inside (N7), stands firm and not
overloaded on a lift (N2), drip pans for fluids (N4), trays for removed assemblies (N3). Until
every required box is ticked, ``work_order.checklist_done_at`` stays empty and no item can be
marked done (:func:`models.work_order.require_checklist`). Each tick records who and when.

A lifting job also needs a named watcher (N5): :mod:`models.lifting`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint, delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models import audit
from models.audit import Actor
from models.db import UTCDateTime, id_of
from models.rules import Refused
from models.staff import Staff
from models.work_order import (
    OrderStatus,
    WorkOrder,
    floor_order,
    get_order,
    require_on_floor,
    require_technician,
)


class JobType(StrEnum):
    outside = "outside"  # work outside the car (N6)
    inside = "inside"  # work inside the car (N7)
    lift = "lift"  # a lift, platform or stands (N2, N5)
    fluids = "fluids"  # opens the fuel tank or oil/water parts (N4)
    disassembly = "disassembly"  # removes assemblies (N3)


class Box(StrEnum):
    ppe = "ppe"  # N1 protective equipment
    cover = "cover"  # N6 fender / protection cover (护车布)
    seat_cover = "seat_cover"  # N7
    floor_mat = "floor_mat"  # N7
    wheel_cover = "wheel_cover"  # N7 steering-wheel cover
    stands = "stands"  # N2 stands firm, not overloaded
    drip_pans = "drip_pans"  # N4
    trays = "trays"  # N3 trays for removed assemblies


ALWAYS: tuple[Box, ...] = (Box.ppe,)
REQUIRES: dict[JobType, tuple[Box, ...]] = {
    JobType.outside: (Box.cover,),
    JobType.inside: (Box.seat_cover, Box.floor_mat, Box.wheel_cover),
    JobType.lift: (Box.stands,),
    JobType.fluids: (Box.drip_pans,),
    JobType.disassembly: (Box.trays,),
}
RULE: dict[Box, str] = {
    Box.ppe: "N1", Box.cover: "N6", Box.seat_cover: "N7", Box.floor_mat: "N7",
    Box.wheel_cover: "N7", Box.stands: "N2", Box.drip_pans: "N4", Box.trays: "N3",
}


def required_boxes(types: set[JobType] | frozenset[JobType]) -> list[Box]:
    """The boxes the chosen job types require, in the order they are shown."""
    needed = set(ALWAYS)
    for job_type in types:
        needed.update(REQUIRES[job_type])
    return [box for box in Box if box in needed]


class SiteChecklist(SQLModel, table=True):
    """One work order's pre-work checklist. The gate itself is ``work_order.checklist_done_at``;
    this row says what kind of job it was and who completed it."""

    __tablename__ = "site_checklist"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="work_order.id", unique=True)
    technician_id: int = Field(foreign_key="staff.id", index=True)
    job_types: str = Field(default="", max_length=64)  # "outside,lift"
    types_chosen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    completed_by: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)

    @property
    def types(self) -> frozenset[JobType]:
        return frozenset(JobType(t) for t in self.job_types.split(",") if t)


class ChecklistTick(SQLModel, table=True):
    """A ticked box: who ticked it and when. Unticking deletes the row (the audit keeps it)."""

    __tablename__ = "checklist_tick"
    __table_args__ = (UniqueConstraint("checklist_id", "box", name="uq_checklist_tick_box"),)

    id: int | None = Field(default=None, primary_key=True)
    checklist_id: int = Field(foreign_key="site_checklist.id", index=True)
    box: str = Field(max_length=16)
    ticked_by: int = Field(foreign_key="staff.id")
    ticked_at: datetime = Field(sa_type=UTCDateTime)


def _encode(types: set[JobType] | frozenset[JobType]) -> str:
    return ",".join(t.value for t in JobType if t in types)


@dataclass(frozen=True)
class ChecklistState:
    """What the checklist message shows."""

    order: WorkOrder
    checklist: SiteChecklist
    ticks: dict[Box, ChecklistTick]

    @property
    def required(self) -> list[Box]:
        return required_boxes(self.checklist.types)

    @property
    def missing(self) -> list[Box]:
        return [box for box in self.required if box not in self.ticks]

    @property
    def done(self) -> bool:
        return self.order.checklist_done_at is not None


async def _checklist_row(session: AsyncSession, order_id: int) -> SiteChecklist | None:
    return (await session.exec(
        select(SiteChecklist).where(SiteChecklist.order_id == order_id))).first()


async def job_types_of(session: AsyncSession, order_id: int) -> frozenset[JobType]:
    """The kinds of job an order's checklist names (none before they are chosen)."""
    checklist = await _checklist_row(session, order_id)
    return checklist.types if checklist is not None else frozenset()


async def _ticks(session: AsyncSession, checklist_id: int) -> dict[Box, ChecklistTick]:
    rows = (await session.exec(
        select(ChecklistTick).where(ChecklistTick.checklist_id == checklist_id))).all()
    return {Box(row.box): row for row in rows}


async def state_of(session: AsyncSession, order: WorkOrder) -> ChecklistState:
    """The checklist of an order as it stands (an empty one when nothing was chosen yet)."""
    checklist = await _checklist_row(session, id_of(order))
    if checklist is None:
        checklist = SiteChecklist(order_id=id_of(order), technician_id=order.technician_id,
                                  created_at=order.updated_at, updated_at=order.updated_at)
        return ChecklistState(order, checklist, {})
    return ChecklistState(order, checklist, await _ticks(session, id_of(checklist)))


async def _open(
    session: AsyncSession, order_id: int, staff: Staff, now: datetime
) -> tuple[WorkOrder, SiteChecklist]:
    """The order's checklist for a change: the right person, work started, not yet complete."""
    order = await floor_order(session, order_id, staff, OrderStatus.in_progress)
    if order.checklist_done_at is not None:
        raise Refused("checklist_already_done", number=order.number)
    checklist = await _checklist_row(session, order_id)
    if checklist is None:
        checklist = SiteChecklist(order_id=order_id, technician_id=order.technician_id,
                                  created_at=now, updated_at=now)
        try:
            async with session.begin_nested():
                session.add(checklist)
                await session.flush()
        except IntegrityError:  # a second tap created it at the same moment
            checklist = await _checklist_row(session, order_id)
            assert checklist is not None
    return order, checklist


async def view(session: AsyncSession, *, order_id: int, staff: Staff) -> ChecklistState:
    """The checklist for the order's technician (or a team leader) to look at."""
    order = await get_order(session, order_id)
    require_technician(order, staff)
    require_on_floor(order, OrderStatus.in_progress)
    return await state_of(session, order)


async def set_job_type(
    session: AsyncSession, *, order_id: int, staff: Staff, job_type: JobType, on: bool,
    now: datetime, actor: Actor,
) -> ChecklistState:
    """Choose or drop a job type. A button carries the state it sets, so a double tap or an
    old copy of the message changes nothing more. Dropping a type drops the ticks only it
    required."""
    order, checklist = await _open(session, order_id, staff, now)
    before = checklist.types
    after = before | {job_type} if on else before - {job_type}
    if after != before:
        checklist.job_types = _encode(after)
        checklist.updated_at = now
        still_needed = {box.value for box in required_boxes(after)}
        await session.exec(
            delete(ChecklistTick).where(
                col(ChecklistTick.checklist_id) == checklist.id,
                col(ChecklistTick.box).not_in(still_needed)))
        audit.record(session, now=now, actor=actor, action="checklist.type",
                     entity="work_order", entity_id=order_id, before=_encode(before) or None,
                     after=_encode(after) or None)
        await session.flush()
    return await state_of(session, order)


async def choose_types(
    session: AsyncSession, *, order_id: int, staff: Staff, now: datetime, actor: Actor,
    chosen: bool = True,
) -> ChecklistState:
    """Move on from the job types to the boxes (``chosen``), or back again."""
    order, checklist = await _open(session, order_id, staff, now)
    if chosen and not checklist.types:
        raise Refused("checklist_no_type")
    checklist.types_chosen_at = now if chosen else None
    checklist.updated_at = now
    await session.flush()
    return await state_of(session, order)


async def set_tick(
    session: AsyncSession, *, order_id: int, staff: Staff, box: Box, on: bool, now: datetime,
    actor: Actor,
) -> ChecklistState:
    """Tick or untick one required box; the tick records who and when."""
    order, checklist = await _open(session, order_id, staff, now)
    if checklist.types_chosen_at is None or box not in required_boxes(checklist.types):
        raise Refused("checklist_box_not_needed")
    ticks = await _ticks(session, id_of(checklist))
    if on and box not in ticks:
        tick = ChecklistTick(checklist_id=id_of(checklist), box=box.value,
                             ticked_by=id_of(staff), ticked_at=now)
        try:
            async with session.begin_nested():
                session.add(tick)
                await session.flush()
        except IntegrityError:  # the same tick arrived twice at once: it is ticked
            return await state_of(session, order)
        audit.record(session, now=now, actor=actor, action="checklist.tick",
                     entity="work_order", entity_id=order_id, after=box.value, rule=RULE[box])
    elif not on and box in ticks:
        await session.delete(ticks[box])
        audit.record(session, now=now, actor=actor, action="checklist.untick",
                     entity="work_order", entity_id=order_id, before=box.value,
                     rule=RULE[box])
    await session.flush()
    return await state_of(session, order)


async def complete(
    session: AsyncSession, *, order_id: int, staff: Staff, now: datetime, actor: Actor
) -> ChecklistState:
    """Every required box ticked: work may start. Exactly one completion counts."""
    order, checklist = await _open(session, order_id, staff, now)
    if not checklist.types or checklist.types_chosen_at is None:
        raise Refused("checklist_no_type")
    ticks = await _ticks(session, id_of(checklist))
    missing = [box for box in required_boxes(checklist.types) if box not in ticks]
    if missing:
        raise Refused("checklist_missing", boxes=[box.value for box in missing])
    result = await session.exec(
        update(WorkOrder)
        .where(col(WorkOrder.id) == order_id, col(WorkOrder.checklist_done_at).is_(None),
               col(WorkOrder.status) == OrderStatus.in_progress.value)
        .values(checklist_done_at=now, updated_at=now)
    )
    if result.rowcount != 1:
        await session.refresh(order)
        raise Refused("checklist_already_done", number=order.number)
    await session.refresh(order)
    checklist.completed_at = now
    checklist.completed_by = staff.id
    checklist.updated_at = now
    audit.record(session, now=now, actor=actor, action="checklist.complete",
                 entity="work_order", entity_id=order_id, after=checklist.job_types,
                 boxes=sorted(ticks))
    await session.flush()
    return await state_of(session, order)


async def open_checklists_of(session: AsyncSession, staff: Staff) -> list[WorkOrder]:
    """The person's orders at work whose checklist is not complete yet (``/checklist``)."""
    return list((await session.exec(
        select(WorkOrder).where(
            WorkOrder.technician_id == staff.id,
            WorkOrder.status == OrderStatus.in_progress,
            col(WorkOrder.checklist_done_at).is_(None),
        ).order_by(col(WorkOrder.id))
    )).all())


# --- for the monthly report ----------------------------------------------------------------


@dataclass(frozen=True)
class ChecklistSummary:
    checklists: int  # pre-work checklists completed
    lifts: int  # lifting jobs a watcher was asked for (each lift once)
    lifts_confirmed: int  # lifts a watcher confirmed: recorded as started
    watcher_alerts: int  # lift requests no watcher confirmed in time (team leaders told)


async def checklist_summary(
    session: AsyncSession, *, start: datetime, end: datetime
) -> ChecklistSummary:
    """Figures for ``[start, end)``; the lifts are counted by :mod:`models.lifting`."""
    from models.lifting import lift_figures  # the lifting watch builds on the checklist

    async def count(query: SelectOfScalar[int]) -> int:
        return int((await session.exec(query)).one())

    checklists = await count(select(func.count()).select_from(WorkOrder).where(
        col(WorkOrder.checklist_done_at) >= start, col(WorkOrder.checklist_done_at) < end))
    return ChecklistSummary(checklists, *await lift_figures(session, start=start, end=end))
