"""Work orders (任务委托书) and their items: the state machine of W1–W3 and W7; no work
before the N1–N7 checklist.

``open`` → (plate confirmed) ``in_progress`` → (self-check) ``self_checked`` → (team leader
passes) ``leader_passed`` → (inspector passes) ``inspected`` → ``delivered``; a rework from
either check sends the order back to ``in_progress`` (:mod:`models.qc`). Three plate
mismatches in a row put the order in ``locked`` until the advisor clears it.

An item may carry a standard time: ``Change oil | 1.5`` in the items list is the item "Change
oil" with 1.5 standard hours (:func:`split_standard_hours`); the job clock
(:mod:`models.job_clock`) keeps the hours actually clocked on it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit, plate
from models.attachment import attach
from models.audit import Actor
from models.db import UTCDateTime, id_of
from models.plate_check import PlateCheck
from models.rules import Refused
from models.shop_time import ShopCalendar
from models.staff import Role, Staff


class OrderStatus(StrEnum):
    open = "open"  # assigned, waiting for the plate check
    locked = "locked"  # too many plate mismatches; the advisor must clear it
    in_progress = "in_progress"
    self_checked = "self_checked"  # W7 first step; the QC chain continues from here
    leader_passed = "leader_passed"
    inspected = "inspected"  # ready for delivery
    delivered = "delivered"
    cancelled = "cancelled"


# Which status may follow which. The QC steps are listed so later work only adds handlers.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.open: frozenset({OrderStatus.in_progress, OrderStatus.locked,
                                 OrderStatus.cancelled}),
    OrderStatus.locked: frozenset({OrderStatus.open, OrderStatus.cancelled}),
    OrderStatus.in_progress: frozenset({OrderStatus.self_checked, OrderStatus.cancelled}),
    OrderStatus.self_checked: frozenset({OrderStatus.leader_passed, OrderStatus.in_progress}),
    OrderStatus.leader_passed: frozenset({OrderStatus.inspected, OrderStatus.in_progress}),
    OrderStatus.inspected: frozenset({OrderStatus.delivered, OrderStatus.in_progress}),
    OrderStatus.delivered: frozenset(),
    OrderStatus.cancelled: frozenset(),
}
CLOSED = frozenset({OrderStatus.delivered, OrderStatus.cancelled})
ON_THE_FLOOR = frozenset({OrderStatus.open, OrderStatus.locked, OrderStatus.in_progress})


class ItemKind(StrEnum):
    listed = "listed"
    extra = "extra"


class ItemStatus(StrEnum):
    open = "open"
    done = "done"
    pending = "pending"  # an extra item waiting for the advisor
    rejected = "rejected"


class WorkOrder(SQLModel, table=True):
    __tablename__ = "work_order"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True)
    plate: str = Field(max_length=16, index=True)
    plate_is_mainland: bool = Field(default=True)
    customer_name: str = Field(max_length=64)
    customer_phone: str = Field(max_length=32)
    vehicle_model: str = Field(max_length=64)
    complaint: str = Field(max_length=2000)
    advisor_id: int = Field(foreign_key="staff.id", index=True)
    technician_id: int = Field(foreign_key="staff.id", index=True)
    status: str = Field(default=OrderStatus.open, max_length=16, index=True)
    plate_mismatches: int = Field(default=0)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    self_checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # N1–N7: the pre-work checklist was completed (models.checklist); no work before it.
    checklist_done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class OrderItem(SQLModel, table=True):
    __tablename__ = "order_item"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="work_order.id", index=True)
    position: int
    kind: str = Field(default=ItemKind.listed, max_length=8)
    description: str = Field(max_length=500)
    status: str = Field(default=ItemStatus.open, max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done_by: int | None = Field(default=None, foreign_key="staff.id")
    standard_minutes: int | None = None  # the standard time given with the item, if any
    # The job clock's current state (models.job_clock keeps the intervals): running since,
    # and the seconds clocked before that; None until the clock is first started.
    clock_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    clock_seconds: int | None = None


MAX_ITEMS = 30
MAX_ITEM_LENGTH = 200


_ENUMERATION = re.compile(r"^(?:[-•*·]+|\d{1,2}\s*[.、)）:：])\s*")


def parse_items(text: str) -> list[str]:
    """One item per line; blank lines, bullets and "1." / "2、" numbering dropped. A line may end
    in ``| 1.5``, the item's standard hours; :func:`open_order` splits it off."""
    items = []
    for line in text.splitlines():
        line = _ENUMERATION.sub("", line.strip()).strip()
        if line:
            items.append(line)
    return items


MAX_STANDARD_HOURS = Decimal(99)
_STANDARD = re.compile(
    r"^(?P<text>.*?\S)\s*[|｜]\s*(?P<hours>\d{1,2}(?:[.,]\d{1,2})?)\s*(?:h|小时|工时)?$",
    re.IGNORECASE,
)


def split_standard_hours(line: str) -> tuple[str, int | None]:
    """"Change oil | 1.5" → ("Change oil", 90 minutes). Anything that is not a plausible number
    of hours after the bar (0 < h ≤ 99) stays part of the description, so nothing is lost."""
    match = _STANDARD.match(line.strip())
    if match is None:
        return line.strip(), None
    hours = Decimal(match.group("hours").replace(",", "."))
    if not 0 < hours <= MAX_STANDARD_HOURS:
        return line.strip(), None
    minutes = int((hours * 60).to_integral_value(rounding=ROUND_HALF_UP))
    return match.group("text").strip(), max(minutes, 1)


def _transition(order: WorkOrder, to: OrderStatus) -> None:
    current = OrderStatus(order.status)
    if to not in TRANSITIONS[current]:
        raise Refused("wrong_status", status=current.value)
    order.status = to


async def open_order(
    session: AsyncSession,
    *,
    plate_text: str,
    plate_confirmed: bool = False,
    customer_name: str,
    customer_phone: str,
    vehicle_model: str,
    complaint: str,
    items: list[str],
    advisor: Staff,
    technician: Staff,
    now: datetime,
    actor: Actor,
    number: str | None = None,
    calendar: ShopCalendar | None = None,
) -> WorkOrder:
    """Open an order under ``number`` (the DMS's), or a number of our own,
    ``WO<yymmdd>-<id>``, on the shop's local date: ``calendar`` is needed then."""
    if number is None and calendar is None:
        raise ValueError("an order numbered here needs the shop's calendar (its local date)")
    normalized = plate.normalize(plate_text)
    mainland = plate.is_mainland(normalized)
    if not mainland and not (plate_confirmed and plate.is_plausible(normalized)):
        raise Refused("plate_invalid", plate=normalized)
    if not items:
        raise Refused("no_items")
    if len(items) > MAX_ITEMS:
        raise Refused("too_many_items", limit=MAX_ITEMS)
    if not advisor.has(Role.advisor):
        raise Refused("not_advisor")
    if not technician.active or not technician.has(Role.technician):
        raise Refused("not_technician", name=technician.name)
    order = WorkOrder(
        number=number or f"TMP-{secrets.token_hex(8)}",
        plate=normalized,
        plate_is_mainland=mainland,
        customer_name=customer_name.strip(),
        customer_phone=customer_phone.strip(),
        vehicle_model=vehicle_model.strip(),
        complaint=complaint.strip(),
        advisor_id=id_of(advisor),
        technician_id=id_of(technician),
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    await session.flush()
    if number is None:
        assert calendar is not None
        order.number = f"WO{calendar.local_date(now):%y%m%d}-{order.id:05d}"
    for position, text in enumerate(items, start=1):
        description, standard_minutes = split_standard_hours(text)
        session.add(
            OrderItem(
                order_id=id_of(order),
                position=position,
                description=description[:MAX_ITEM_LENGTH],
                standard_minutes=standard_minutes,
                created_at=now,
            )
        )
    audit.record(
        session, now=now, actor=actor, action="order.open", entity="work_order",
        entity_id=order.id, after=OrderStatus.open.value, technician_id=technician.id,
    )
    await session.flush()
    return order


async def get_order(session: AsyncSession, order_id: int) -> WorkOrder:
    order = await session.get(WorkOrder, order_id)
    if order is None:
        raise Refused("order_missing")
    return order


async def items_of(session: AsyncSession, order_id: int) -> list[OrderItem]:
    return list(
        (
            await session.exec(
                select(OrderItem)
                .where(OrderItem.order_id == order_id)
                .order_by(col(OrderItem.position), col(OrderItem.id))
            )
        ).all()
    )


def require_technician(order: WorkOrder, staff: Staff) -> None:
    """Floor actions belong to the order's technician (team leaders may act for them)."""
    if order.technician_id == staff.id:
        return
    if staff.has(Role.team_leader):
        return
    raise Refused("not_your_order", number=order.number)


def require_on_floor(order: WorkOrder, *allowed: OrderStatus) -> None:
    status = OrderStatus(order.status)
    if status in CLOSED:
        raise Refused("order_closed", number=order.number)
    if status not in allowed:
        if status is OrderStatus.locked:
            raise Refused("order_locked", number=order.number)
        raise Refused("wrong_status", status=status.value)


async def floor_order(
    session: AsyncSession, order_id: int, staff: Staff, status: OrderStatus
) -> WorkOrder:
    """The order a floor action names, if this person may act on it in this state."""
    order = await get_order(session, order_id)
    require_technician(order, staff)
    require_on_floor(order, status)
    return order


def require_checklist(order: WorkOrder) -> None:
    """N1–N7: no item done and no clock started before the pre-work checklist is complete."""
    if order.checklist_done_at is None:
        raise Refused("checklist_open", number=order.number)


@dataclass(frozen=True)
class PlateResult:
    matched: bool
    typed: str
    expected: str
    mismatches: int
    locked: bool
    check_id: int = 0  # the PlateCheck row written


async def confirm_plate(
    session: AsyncSession,
    *,
    order_id: int,
    typed: str,
    technician: Staff,
    now: datetime,
    actor: Actor,
    lock_after: int,
    photos: list[dict[str, str]] | None = None,
) -> PlateResult:
    """W1: the typed plate must match the order before any work starts."""
    order = await floor_order(session, order_id, technician, OrderStatus.open)
    normalized = plate.normalize(typed)
    if not normalized or (order.plate_is_mainland and not plate.is_mainland(normalized)):
        raise Refused("plate_typo", plate=normalized)
    matched = normalized == order.plate
    before = order.status
    if matched:
        _transition(order, OrderStatus.in_progress)
        order.plate_mismatches = 0
        order.started_at = now
    else:
        order.plate_mismatches += 1
        if order.plate_mismatches >= lock_after:
            _transition(order, OrderStatus.locked)
    order.updated_at = now
    check = PlateCheck(
        order_id=id_of(order),
        staff_id=id_of(technician),
        typed=normalized,
        matched=matched,
        at=now,
    )
    session.add(check)
    await session.flush()
    attach(session, owner="plate_check", owner_id=id_of(check),
           photos=photos or [], staff_id=technician.id, now=now)
    audit.record(
        session, now=now, actor=actor, action="order.plate_check", entity="work_order",
        entity_id=order.id, before=before, after=order.status, typed=normalized,
        matched=matched,
    )
    await session.flush()
    return PlateResult(
        matched=matched,
        typed=normalized,
        expected=order.plate,
        mismatches=order.plate_mismatches,
        locked=order.status == OrderStatus.locked,
        check_id=id_of(check),
    )


async def clear_lock(
    session: AsyncSession, *, order_id: int, advisor: Staff, now: datetime, actor: Actor
) -> WorkOrder:
    order = await get_order(session, order_id)
    require_advisor(advisor)
    if order.status != OrderStatus.locked:
        raise Refused("not_locked", number=order.number)
    _transition(order, OrderStatus.open)
    order.plate_mismatches = 0
    order.updated_at = now
    audit.record(
        session, now=now, actor=actor, action="order.clear_lock", entity="work_order",
        entity_id=order.id, before=OrderStatus.locked.value, after=OrderStatus.open.value,
    )
    await session.flush()
    return order


def require_advisor(staff: Staff) -> None:
    if not staff.has(Role.advisor):
        raise Refused("not_advisor")


async def mark_item_done(
    session: AsyncSession, *, item_id: int, technician: Staff, now: datetime, actor: Actor
) -> tuple[WorkOrder, OrderItem]:
    """W3/W5: an open item becomes done; a pending or rejected extra item cannot."""
    item = await session.get(OrderItem, item_id)
    if item is None:
        raise Refused("order_missing")
    order = await get_order(session, item.order_id)
    require_technician(order, technician)
    require_on_floor(order, OrderStatus.in_progress)
    require_checklist(order)
    status = ItemStatus(item.status)
    if status is ItemStatus.pending:
        raise Refused("item_pending", item=item.description)
    if status is ItemStatus.rejected:
        raise Refused("item_rejected", item=item.description)
    result = await session.exec(
        update(OrderItem)
        .where(col(OrderItem.id) == item_id, col(OrderItem.status) == ItemStatus.open.value)
        .values(status=ItemStatus.done.value, done_at=now, done_by=technician.id)
    )
    if result.rowcount != 1:
        raise Refused("item_already_done", item=item.description)
    await session.refresh(item)
    audit.record(
        session, now=now, actor=actor, action="item.done", entity="order_item",
        entity_id=item.id, before=status.value, after=ItemStatus.done.value,
    )
    order.updated_at = now
    await session.flush()
    return order, item


def open_items(items: list[OrderItem]) -> list[OrderItem]:
    """Items that keep the order on the floor: open work and extra items awaiting a decision."""
    return [i for i in items if i.status in (ItemStatus.open, ItemStatus.pending)]


async def self_check(
    session: AsyncSession, *, order_id: int, technician: Staff, now: datetime, actor: Actor
) -> WorkOrder:
    """W7 first step: every item done (or rejected) and the technician vouches for the work."""
    order = await floor_order(session, order_id, technician, OrderStatus.in_progress)
    remaining = open_items(await items_of(session, order_id))
    if remaining:
        raise Refused("items_open", count=len(remaining))
    result = await session.exec(
        update(WorkOrder)
        .where(
            col(WorkOrder.id) == order_id,
            col(WorkOrder.status) == OrderStatus.in_progress.value,
        )
        .values(status=OrderStatus.self_checked.value, self_checked_at=now, updated_at=now)
    )
    if result.rowcount != 1:
        raise Refused("wrong_status", status=order.status)
    await session.refresh(order)
    audit.record(
        session, now=now, actor=actor, action="order.self_check", entity="work_order",
        entity_id=order.id, before=OrderStatus.in_progress.value,
        after=OrderStatus.self_checked.value,
    )
    await session.flush()
    return order


async def orders_of_technician(session: AsyncSession, staff_id: int) -> list[WorkOrder]:
    return list(
        (
            await session.exec(
                select(WorkOrder)
                .where(
                    WorkOrder.technician_id == staff_id,
                    col(WorkOrder.status).in_([s.value for s in ON_THE_FLOOR]),
                )
                .order_by(col(WorkOrder.id))
            )
        ).all()
    )


async def orders_of_advisor(session: AsyncSession, staff_id: int) -> list[WorkOrder]:
    return list(
        (
            await session.exec(
                select(WorkOrder)
                .where(
                    WorkOrder.advisor_id == staff_id,
                    col(WorkOrder.status).not_in([s.value for s in CLOSED]),
                )
                .order_by(col(WorkOrder.id))
            )
        ).all()
    )
