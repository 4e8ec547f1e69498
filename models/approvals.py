"""What waits for an advisor's decision (``/approvals``): extra items to approve or reject (W5)
and fault reports to acknowledge (W4), on the advisor's own orders and — when they are on duty,
as the escalation reaches every advisor on duty — the escalated ones of any order. Orders that
are closed (delivered, cancelled) are left out: nothing can be decided on them."""

from __future__ import annotations

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import id_of
from models.extra_item import Decision, ExtraItemRequest
from models.fault_report import FaultReport, FaultStatus
from models.staff import Staff
from models.work_order import CLOSED, WorkOrder

Waiting = ExtraItemRequest | FaultReport


async def waiting_for(session: AsyncSession, advisor: Staff) -> list[Waiting]:
    """Oldest first (by when the technician asked)."""
    mine = col(WorkOrder.advisor_id) == id_of(advisor)
    live = col(WorkOrder.status).not_in([s.value for s in CLOSED])
    extras = (await session.exec(
        select(ExtraItemRequest)
        .join(WorkOrder, col(WorkOrder.id) == col(ExtraItemRequest.order_id))
        .where(col(ExtraItemRequest.status) == Decision.pending.value, live,
               or_(mine, col(ExtraItemRequest.escalated_at).is_not(None))
               if advisor.on_duty else mine))).all()
    faults = (await session.exec(
        select(FaultReport)
        .join(WorkOrder, col(WorkOrder.id) == col(FaultReport.order_id))
        .where(col(FaultReport.status) == FaultStatus.reported.value, live,
               or_(mine, col(FaultReport.escalated_at).is_not(None))
               if advisor.on_duty else mine))).all()
    waiting: list[Waiting] = [*extras, *faults]
    return sorted(waiting, key=lambda record: (record.created_at,
                                               isinstance(record, FaultReport), record.id or 0))


async def waiting_on_order(session: AsyncSession, order_id: int) -> list[Waiting]:
    """What waits for a decision on one order (its advisor's order card offers the buttons),
    oldest first; nothing once the order is closed."""
    order = await session.get(WorkOrder, order_id)
    if order is None or order.status in CLOSED:
        return []
    extras = (await session.exec(select(ExtraItemRequest).where(
        col(ExtraItemRequest.order_id) == order_id,
        col(ExtraItemRequest.status) == Decision.pending.value))).all()
    faults = (await session.exec(select(FaultReport).where(
        col(FaultReport.order_id) == order_id,
        col(FaultReport.status) == FaultStatus.reported.value))).all()
    waiting: list[Waiting] = [*extras, *faults]
    return sorted(waiting, key=lambda record: (record.created_at,
                                               isinstance(record, FaultReport), record.id or 0))
