"""W7: after the work, the technician self-inspects each item (done, tested, cleaned up), the
team leader checks the order, then an inspector does the final inspection. Either check may
send one item back for rework with a reason; the order returns to ``in_progress`` and the
chain starts again from the self-check. Instead of QC the technician may hand the order on to
the next process (another technician) with a note.

Who checks: any active team leader, then any active inspector — never the order's own
technician. The first decision on a check wins (a conditional update), later taps learn who
decided and when. Rework counts per order, item and technician come from the checks sent back
(:func:`rework_counts`; the monthly report groups the same rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.audit import Actor
from models.db import UTCDateTime, id_of
from models.job_clock import StopReason, stop_order_clocks
from models.rules import Refused
from models.staff import Role, Staff, active_with_role
from models.work_order import (
    ItemStatus,
    OrderItem,
    OrderStatus,
    WorkOrder,
    floor_order,
    get_order,
    items_of,
    open_items,
    self_check,
)

MAX_REASON = 1000
MAX_NOTE = 1000

# --- the technician's self-check -------------------------------------------------------------


class Box(StrEnum):
    """The three boxes of the self-check, per item."""

    done = "done"  # all of the item's work done as listed
    tested = "tested"
    cleaned = "cleaned"  # the work area cleaned up


class ItemSelfCheck(SQLModel, table=True):
    __tablename__ = "item_self_check"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="work_order.id", index=True)
    item_id: int = Field(foreign_key="order_item.id", unique=True)
    done: bool = Field(default=False)
    tested: bool = Field(default=False)
    cleaned: bool = Field(default=False)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")  # who ticked last
    updated_at: datetime = Field(sa_type=UTCDateTime)

    def ticked(self, box: Box) -> bool:
        return bool(getattr(self, box.value))

    @property
    def complete(self) -> bool:
        return self.done and self.tested and self.cleaned


@dataclass(frozen=True)
class SelfCheckSheet:
    """The checklist one message shows: the order's done items and their boxes."""

    order: WorkOrder
    items: list[OrderItem]
    ticks: dict[int, ItemSelfCheck]

    def ticked(self, item_id: int, box: Box) -> bool:
        tick = self.ticks.get(item_id)
        return tick is not None and tick.ticked(box)

    @property
    def empty_boxes(self) -> int:
        return sum(not self.ticked(id_of(i), box) for i in self.items for box in Box)


async def self_check_sheet(
    session: AsyncSession, *, order_id: int, technician: Staff, now: datetime
) -> SelfCheckSheet:
    """The sheet of an order in progress whose items are all done (or rejected); the rows of
    boxes are made here, so a tap only flips a box."""
    order = await floor_order(session, order_id, technician, OrderStatus.in_progress)
    items = await items_of(session, order_id)
    remaining = open_items(items)
    if remaining:
        raise Refused("items_open", count=len(remaining))
    done = [i for i in items if i.status == ItemStatus.done]
    ticks = {t.item_id: t for t in (await session.exec(
        select(ItemSelfCheck).where(ItemSelfCheck.order_id == order_id))).all()}
    for item in done:
        item_id = id_of(item)
        if item_id not in ticks:
            ticks[item_id] = ItemSelfCheck(order_id=order_id, item_id=item_id, updated_at=now)
            session.add(ticks[item_id])
    await session.flush()
    return SelfCheckSheet(order, done, ticks)


async def tick(
    session: AsyncSession, *, item_id: int, box: Box, technician: Staff, now: datetime,
    actor: Actor,
) -> SelfCheckSheet:
    """Flip one box (a tap on ⬜ ticks it, a tap on ✅ unticks it) and return the sheet."""
    item = await session.get(OrderItem, item_id)
    if item is None:
        raise Refused("order_missing")
    sheet = await self_check_sheet(session, order_id=item.order_id, technician=technician,
                                   now=now)
    row = sheet.ticks.get(item_id)
    if row is None:  # a rejected item, or another order's
        raise Refused("order_missing")
    await session.exec(
        update(ItemSelfCheck).where(col(ItemSelfCheck.id) == row.id)
        .values({box.value: ~getattr(ItemSelfCheck, box.value), "staff_id": technician.id,
                 "updated_at": now})
    )
    await session.refresh(row)
    audit.record(session, now=now, actor=actor, action="qc.tick", entity="order_item",
                 entity_id=item_id, after=f"{box.value}={'yes' if row.ticked(box) else 'no'}")
    await session.flush()
    return sheet


async def tick_all(
    session: AsyncSession, *, order_id: int, technician: Staff, now: datetime, actor: Actor
) -> SelfCheckSheet:
    """Every box of every item at once: the technician vouches for the lot."""
    sheet = await self_check_sheet(session, order_id=order_id, technician=technician, now=now)
    await session.exec(
        update(ItemSelfCheck).where(col(ItemSelfCheck.order_id) == order_id)
        .values(done=True, tested=True, cleaned=True, staff_id=technician.id, updated_at=now)
    )
    for row in sheet.ticks.values():
        await session.refresh(row)
    audit.record(session, now=now, actor=actor, action="qc.tick_all", entity="work_order",
                 entity_id=order_id, items=len(sheet.items))
    await session.flush()
    return sheet


# --- the checks ------------------------------------------------------------------------------


class QcStage(StrEnum):
    leader = "leader"  # the team leader's check
    inspector = "inspector"  # the final inspection


class QcStatus(StrEnum):
    pending = "pending"
    passed = "passed"
    rework = "rework"


# Which role checks at each stage, the order's state while it waits and after a pass.
STAGE_ROLE = {QcStage.leader: Role.team_leader, QcStage.inspector: Role.inspector}
WAITING = {QcStage.leader: OrderStatus.self_checked, QcStage.inspector: OrderStatus.leader_passed}
PASSED = {QcStage.leader: OrderStatus.leader_passed, QcStage.inspector: OrderStatus.inspected}


class QcCheck(SQLModel, table=True):
    __tablename__ = "qc_check"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="work_order.id", index=True)
    stage: str = Field(max_length=16)
    status: str = Field(default=QcStatus.pending, max_length=16, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    decided_by: int | None = Field(default=None, foreign_key="staff.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    decided_channel: str | None = Field(default=None, max_length=16)
    # A rework: the item sent back, whose work it was, and why.
    rework_item_id: int | None = Field(default=None, foreign_key="order_item.id", index=True)
    rework_technician_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    reason: str | None = Field(default=None, max_length=MAX_REASON)


async def submit_self_check(
    session: AsyncSession, *, order_id: int, technician: Staff, now: datetime, actor: Actor
) -> tuple[WorkOrder, QcCheck]:
    """Every box ticked → the order is self-checked and waits for the team leader's check."""
    sheet = await self_check_sheet(session, order_id=order_id, technician=technician, now=now)
    if sheet.empty_boxes:
        raise Refused("qc_boxes_empty", count=sheet.empty_boxes)
    order = await self_check(session, order_id=order_id, technician=technician, now=now,
                             actor=actor)
    check = QcCheck(order_id=order_id, stage=QcStage.leader, created_at=now)
    session.add(check)
    await session.flush()
    audit.record(session, now=now, actor=actor, action="qc.open", entity="qc_check",
                 entity_id=check.id, after=QcStatus.pending.value, order_id=order_id,
                 stage=QcStage.leader.value)
    await session.flush()
    return order, check


@dataclass(frozen=True)
class Taken:
    """Who decided a check and when, for the loser of a race."""

    name: str
    at: datetime
    status: QcStatus


async def taken(session: AsyncSession, check: QcCheck) -> Taken:
    who = await session.get(Staff, check.decided_by) if check.decided_by else None
    return Taken(who.name if who else "?", check.decided_at or check.created_at,
                 QcStatus(check.status))


async def _already(session: AsyncSession, check: QcCheck) -> Refused:
    decided = await taken(session, check)
    return Refused("qc_already_decided", name=decided.name, at=decided.at,
                   decision=decided.status.value)


async def get_check(session: AsyncSession, check_id: int) -> QcCheck:
    check = await session.get(QcCheck, check_id)
    if check is None:
        raise Refused("order_missing")
    return check


def require_checker(check: QcCheck, order: WorkOrder, staff: Staff) -> None:
    """The stage's role, and not one's own work."""
    stage = QcStage(check.stage)
    if not staff.active or not staff.has(STAGE_ROLE[stage]):
        raise Refused("qc_not_leader" if stage is QcStage.leader else "qc_not_inspector")
    if order.technician_id == staff.id:
        raise Refused("qc_own_work", number=order.number)


async def check_decidable(
    session: AsyncSession, *, check_id: int, staff: Staff
) -> tuple[QcCheck, WorkOrder]:
    """Before asking for the item and the reason: the right person, a check still open."""
    check = await get_check(session, check_id)
    order = await get_order(session, check.order_id)
    require_checker(check, order, staff)
    if check.status != QcStatus.pending:
        raise await _already(session, check)
    return check, order


async def _claim(
    session: AsyncSession, check: QcCheck, order: WorkOrder, *, to: OrderStatus,
    staff: Staff, now: datetime, actor: Actor, **values: object,
) -> None:
    """The conditional updates that make a decision happen once: the check leaves
    ``pending`` and the order leaves the state it waited in, or nothing changes."""
    stage = QcStage(check.stage)
    result = await session.exec(
        update(QcCheck)
        .where(col(QcCheck.id) == check.id, col(QcCheck.status) == QcStatus.pending.value)
        .values(decided_by=staff.id, decided_at=now, decided_channel=actor.channel, **values)
    )
    await session.refresh(check)
    if result.rowcount != 1:
        raise await _already(session, check)
    moved = await session.exec(
        update(WorkOrder)
        .where(col(WorkOrder.id) == order.id,
               col(WorkOrder.status) == WAITING[stage].value)
        .values(status=to.value, updated_at=now)
    )
    await session.refresh(order)
    if moved.rowcount != 1:
        raise Refused("wrong_status", status=order.status)


async def pass_check(
    session: AsyncSession, *, check_id: int, staff: Staff, now: datetime, actor: Actor
) -> tuple[WorkOrder, QcCheck, QcCheck | None]:
    """Pass: after the team leader the inspectors' check opens; after the inspector the car is
    ready for delivery. Returns the order, the check and the next check (if any)."""
    check, order = await check_decidable(session, check_id=check_id, staff=staff)
    stage = QcStage(check.stage)
    await _claim(session, check, order, to=PASSED[stage], staff=staff, now=now, actor=actor,
                 status=QcStatus.passed.value)
    audit.record(session, now=now, actor=actor, action="qc.pass", entity="qc_check",
                 entity_id=check.id, before=QcStatus.pending.value,
                 after=QcStatus.passed.value, order_id=order.id, stage=stage.value)
    audit.record(session, now=now, actor=actor, action=f"order.{stage.value}_pass",
                 entity="work_order", entity_id=order.id, before=WAITING[stage].value,
                 after=PASSED[stage].value)
    following = None
    if stage is QcStage.leader:
        following = QcCheck(order_id=id_of(order), stage=QcStage.inspector,
                            created_at=now)
        session.add(following)
        await session.flush()
        audit.record(session, now=now, actor=actor, action="qc.open", entity="qc_check",
                     entity_id=following.id, after=QcStatus.pending.value, order_id=order.id,
                     stage=QcStage.inspector.value)
    await session.flush()
    return order, check, following


async def rework_choices(session: AsyncSession, order_id: int) -> list[OrderItem]:
    """The items a check may send back: the done ones."""
    return [i for i in await items_of(session, order_id) if i.status == ItemStatus.done]


async def send_back(
    session: AsyncSession, *, check_id: int, staff: Staff, item_id: int, reason: str,
    now: datetime, actor: Actor,
) -> tuple[WorkOrder, QcCheck, OrderItem]:
    """Rework: the item is open again, the order back in progress with its technician, the
    item's self-check boxes cleared; the check records whose work went back and why."""
    reason = reason.strip()
    if not reason:
        raise Refused("reason_missing")
    check, order = await check_decidable(session, check_id=check_id, staff=staff)
    item = await session.get(OrderItem, item_id)
    if item is None or item.order_id != order.id or item.status != ItemStatus.done:
        raise Refused("qc_item_not_done")
    stage = QcStage(check.stage)
    worked_by = item.done_by or order.technician_id
    await _claim(session, check, order, to=OrderStatus.in_progress, staff=staff, now=now,
                 actor=actor, status=QcStatus.rework.value, rework_item_id=item.id,
                 rework_technician_id=worked_by, reason=reason[:MAX_REASON])
    item.status = ItemStatus.open
    item.done_at = None
    item.done_by = None
    await session.exec(
        update(ItemSelfCheck).where(col(ItemSelfCheck.item_id) == item.id)
        .values(done=False, tested=False, cleaned=False, updated_at=now)
    )
    audit.record(session, now=now, actor=actor, action="qc.rework", entity="qc_check",
                 entity_id=check.id, before=QcStatus.pending.value,
                 after=QcStatus.rework.value, order_id=order.id, stage=stage.value,
                 item_id=item.id, technician_id=worked_by, reason=check.reason)
    audit.record(session, now=now, actor=actor, action="order.rework", entity="work_order",
                 entity_id=order.id, before=WAITING[stage].value,
                 after=OrderStatus.in_progress.value, item_id=item.id)
    audit.record(session, now=now, actor=actor, action="item.rework", entity="order_item",
                 entity_id=item.id, before=ItemStatus.done.value, after=ItemStatus.open.value)
    await session.flush()
    return order, check, item


async def checkers_for(session: AsyncSession, check: QcCheck, order: WorkOrder) -> list[Staff]:
    """Who gets the check's card: every active holder of the stage's role but the technician."""
    role = STAGE_ROLE[QcStage(check.stage)]
    return [s for s in await active_with_role(session, role) if s.id != order.technician_id]


def stages_of(staff: Staff) -> list[QcStage]:
    return [stage for stage, role in STAGE_ROLE.items() if staff.has(role)]


async def waiting_checks(session: AsyncSession, staff: Staff) -> list[tuple[QcCheck, WorkOrder]]:
    """``/qc``: the checks this person may decide, oldest first (not their own orders)."""
    stages = stages_of(staff)
    if not stages:
        return []
    rows = (await session.exec(
        select(QcCheck, WorkOrder)
        .join(WorkOrder, col(WorkOrder.id) == col(QcCheck.order_id))
        .where(col(QcCheck.status) == QcStatus.pending.value,
               col(QcCheck.stage).in_([s.value for s in stages]),
               col(WorkOrder.technician_id) != staff.id)
        .order_by(col(QcCheck.created_at), col(QcCheck.id))
    )).all()
    return [(check, order) for check, order in rows]


async def checks_of(session: AsyncSession, order_id: int) -> list[QcCheck]:
    return list((await session.exec(
        select(QcCheck).where(QcCheck.order_id == order_id).order_by(col(QcCheck.id))
    )).all())


@dataclass
class ReworkCounts:
    """Items sent back for rework: in total, per item and per technician whose work it was."""

    total: int = 0
    by_item: dict[int, int] = field(default_factory=dict)
    by_technician: dict[int, int] = field(default_factory=dict)


async def rework_counts(session: AsyncSession, order_id: int) -> ReworkCounts:
    rows = (await session.exec(
        select(col(QcCheck.rework_item_id), col(QcCheck.rework_technician_id), func.count())
        .where(QcCheck.order_id == order_id, col(QcCheck.status) == QcStatus.rework.value)
        .group_by(col(QcCheck.rework_item_id), col(QcCheck.rework_technician_id))
    )).all()
    counts = ReworkCounts()
    for item_id, technician_id, count in rows:
        counts.total += count
        if item_id is not None:
            counts.by_item[item_id] = counts.by_item.get(item_id, 0) + count
        if technician_id is not None:
            counts.by_technician[technician_id] = (
                counts.by_technician.get(technician_id, 0) + count)
    return counts


# --- the next process ------------------------------------------------------------------------


class OrderHandoff(SQLModel, table=True):
    """The order went from one technician to the next process, with a note."""

    __tablename__ = "order_handoff"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="work_order.id", index=True)
    from_staff_id: int = Field(foreign_key="staff.id")
    to_staff_id: int = Field(foreign_key="staff.id", index=True)
    note: str = Field(max_length=MAX_NOTE)
    by_staff_id: int | None = Field(default=None, foreign_key="staff.id")
    at: datetime = Field(sa_type=UTCDateTime, index=True)


async def handoff_targets(session: AsyncSession, order: WorkOrder) -> list[Staff]:
    """Active technicians other than the one who has the order now."""
    return [s for s in await active_with_role(session, Role.technician)
            if s.id != order.technician_id]


async def check_handoff(
    session: AsyncSession, *, order_id: int, technician: Staff, to_staff_id: int
) -> tuple[WorkOrder, Staff]:
    order = await floor_order(session, order_id, technician, OrderStatus.in_progress)
    target = await session.get(Staff, to_staff_id)
    if target is None or not target.active or not target.has(Role.technician):
        raise Refused("not_technician", name=target.name if target else "?")
    if target.id == order.technician_id:
        raise Refused("qc_handoff_same", name=target.name)
    return order, target


async def hand_over(
    session: AsyncSession, *, order_id: int, technician: Staff, to_staff_id: int, note: str,
    now: datetime, actor: Actor,
) -> tuple[WorkOrder, Staff, Staff]:
    """The order stays in progress with the next technician; clocks still running stop.
    Returns the order, the previous technician and the next one."""
    note = note.strip()
    if not note:
        raise Refused("empty_text")
    order, target = await check_handoff(session, order_id=order_id, technician=technician,
                                        to_staff_id=to_staff_id)
    previous_id = order.technician_id
    moved = await session.exec(
        update(WorkOrder)
        .where(col(WorkOrder.id) == order_id, col(WorkOrder.technician_id) == previous_id,
               col(WorkOrder.status) == OrderStatus.in_progress.value)
        .values(technician_id=target.id, updated_at=now)
    )
    await session.refresh(order)
    if moved.rowcount != 1:
        raise Refused("qc_handoff_moved", number=order.number)
    await stop_order_clocks(session, order_id=order_id, now=now, reason=StopReason.handoff,
                            actor=actor)
    session.add(OrderHandoff(order_id=order_id, from_staff_id=previous_id,
                             to_staff_id=id_of(target), note=note[:MAX_NOTE],
                             by_staff_id=technician.id, at=now))
    audit.record(session, now=now, actor=actor, action="order.handoff", entity="work_order",
                 entity_id=order_id, before=str(previous_id), after=str(target.id),
                 note=note[:MAX_NOTE])
    previous = await session.get(Staff, previous_id)
    assert previous is not None
    await session.flush()
    return order, previous, target
