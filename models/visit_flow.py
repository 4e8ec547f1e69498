"""Where the workshop hands over to the business department (W7 → A2, A3, A6): a delivered order or
a logged consultation opens the archive (A2) and schedules the first call (A6)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.audit import Actor
from models.customer import Vehicle, VisitKind, VisitOpened, open_visit
from models.db import id_of
from models.followup import FollowUp, FollowUpKind, schedule, schedule_first_call
from models.rules import Refused
from models.shop_time import ShopCalendar
from models.staff import Role, Staff
from models.work_order import ItemStatus, OrderStatus, WorkOrder, get_order, items_of

# W7: a car goes back to its customer only after the inspector's final inspection.
DELIVERABLE = frozenset({OrderStatus.inspected})


async def deliverable_orders(session: AsyncSession, advisor_id: int) -> list[WorkOrder]:
    """The advisor's orders that are ready to be handed back (``/deliver``'s buttons)."""
    return list((await session.exec(
        select(WorkOrder).where(WorkOrder.advisor_id == advisor_id,
                                col(WorkOrder.status).in_([s.value for s in DELIVERABLE]))
        .order_by(col(WorkOrder.id))
    )).all())


async def order_by_number(session: AsyncSession, number: str) -> WorkOrder:
    """``/deliver WO261130-00001``: case and surrounding spaces do not matter."""
    order = (await session.exec(
        select(WorkOrder).where(WorkOrder.number == number.strip().upper())
    )).first()
    if order is None:
        raise Refused("order_missing")
    return order


async def deliver(
    session: AsyncSession, *, order_id: int, advisor: Staff, now: datetime, actor: Actor,
    calendar: ShopCalendar, first_call_window: tuple[int, int],
) -> tuple[WorkOrder, VisitOpened, FollowUp | None]:
    if not advisor.has(Role.advisor):
        raise Refused("not_advisor")
    order = await get_order(session, order_id)
    status = OrderStatus(order.status)
    if status is OrderStatus.delivered:
        raise Refused("already_delivered", number=order.number)
    if status not in DELIVERABLE:
        raise Refused("wrong_status", status=status.value)
    items = await items_of(session, order_id)
    summary = "; ".join(i.description for i in items if i.status == ItemStatus.done)
    # Decided once: a second advisor (or a second channel) tapping at the same time loses.
    claimed = await session.exec(
        update(WorkOrder)
        .where(col(WorkOrder.id) == order_id, col(WorkOrder.status) == status.value)
        .values(status=OrderStatus.delivered.value, updated_at=now)
    )
    await session.refresh(order)
    if claimed.rowcount != 1:
        raise Refused("already_delivered", number=order.number)
    opened = await open_visit(
        session, kind=VisitKind.repair, now=now, actor=actor,
        customer_name=order.customer_name, phone=order.customer_phone, plate=order.plate,
        vehicle_model=order.vehicle_model, summary=summary, order_id=order.id,
        today=calendar.local_date(now),
    )
    order.customer_id = opened.customer.id
    audit.record(session, now=now, actor=actor, action="order.deliver", entity="work_order",
                 entity_id=order.id, before=status.value, after=OrderStatus.delivered.value,
                 customer_id=opened.customer.id)
    followup = await schedule_first_call(
        session, visit_id=id_of(opened.visit), customer_id=id_of(opened.customer),
        vehicle_id=opened.vehicle.id if opened.vehicle else None,
        visited_on=calendar.local_date(now), window=first_call_window, now=now,
        calendar=calendar,
    )
    await session.flush()
    return order, opened, followup


async def log_consultation(
    session: AsyncSession, *, clerk: Staff, customer_name: str, phone: str | None,
    plate: str | None, topic: str, now: datetime, actor: Actor, calendar: ShopCalendar,
    first_call_window: tuple[int, int], customer_id: int | None = None,
) -> tuple[VisitOpened, FollowUp | None]:
    if not clerk.has(Role.tracking_clerk, Role.supervisor, Role.advisor):
        raise Refused("not_clerk", name=clerk.name)
    if not topic.strip():
        raise Refused("empty_text")
    opened = await open_visit(
        session, kind=VisitKind.consultation, now=now, actor=actor,
        customer_name=customer_name, phone=phone, plate=plate, summary=topic.strip(),
        customer_id=customer_id, today=calendar.local_date(now),
        clerk=clerk if clerk.has(Role.tracking_clerk) else None,
    )
    followup = await schedule_first_call(
        session, visit_id=id_of(opened.visit), customer_id=id_of(opened.customer),
        vehicle_id=opened.vehicle.id if opened.vehicle else None,
        visited_on=calendar.local_date(now), window=first_call_window, now=now,
        calendar=calendar,
    )
    return opened, followup


async def schedule_maintenance_calls(
    session: AsyncSession, *, today: date, days_before: int, now: datetime,
    calendar: ShopCalendar,
) -> int:
    """A "maintenance due" call for each vehicle whose next maintenance is N days away."""
    horizon = today + timedelta(days=days_before)
    vehicles = (await session.exec(
        select(Vehicle).where(col(Vehicle.next_maintenance_on).is_not(None),
                              col(Vehicle.next_maintenance_on) >= today,
                              col(Vehicle.next_maintenance_on) <= horizon)
    )).all()
    created = 0
    for vehicle in vehicles:
        assert vehicle.next_maintenance_on is not None
        due_from = calendar.start_of_day(
            max(today, vehicle.next_maintenance_on - timedelta(days=days_before)))
        followup = await schedule(
            session, key=f"maint:{vehicle.id}:{vehicle.next_maintenance_on.isoformat()}",
            kind=FollowUpKind.maintenance, customer_id=vehicle.customer_id,
            vehicle_id=vehicle.id, due_from=due_from,
            due_until=calendar.start_of_day(vehicle.next_maintenance_on), now=now,
            calendar=calendar,
        )
        created += followup is not None
    return created
