"""W4: faults found on the vehicle that the work order does not list."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.attachment import attach
from models.audit import Actor
from models.db import UTCDateTime, id_of
from models.rules import Refused
from models.staff import Staff
from models.work_order import (
    OrderStatus,
    WorkOrder,
    floor_order,
    require_advisor,
)

MAX_PHOTOS = 10


class FaultStatus(StrEnum):
    reported = "reported"
    acknowledged = "acknowledged"


class FaultReport(SQLModel, table=True):
    __tablename__ = "fault_report"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="work_order.id", index=True)
    reported_by: int = Field(foreign_key="staff.id")
    description: str = Field(max_length=4096)
    status: str = Field(default=FaultStatus.reported, max_length=16, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    acknowledged_by: int | None = Field(default=None, foreign_key="staff.id")
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


async def report_fault(
    session: AsyncSession, *, order_id: int, technician: Staff, description: str,
    photos: list[dict[str, str]], now: datetime, actor: Actor,
) -> tuple[WorkOrder, FaultReport]:
    order = await floor_order(session, order_id, technician, OrderStatus.in_progress)
    description = description.strip()
    if not description:
        raise Refused("empty_text")
    report = FaultReport(
        order_id=order_id, reported_by=id_of(technician),
        description=description, created_at=now,
    )
    session.add(report)
    await session.flush()
    attach(session, owner="fault_report", owner_id=id_of(report),
           photos=photos, staff_id=technician.id, now=now)
    audit.record(
        session, now=now, actor=actor, action="fault.report", entity="fault_report",
        entity_id=report.id, after=FaultStatus.reported.value, order_id=order_id,
        photos=len(photos),
    )
    await session.flush()
    return order, report


async def acknowledge(
    session: AsyncSession, *, report_id: int, advisor: Staff, now: datetime, actor: Actor
) -> FaultReport:
    """The first advisor to acknowledge wins; later taps learn who and when."""
    require_advisor(advisor)
    report = await session.get(FaultReport, report_id)
    if report is None:
        raise Refused("order_missing")
    result = await session.exec(
        update(FaultReport)
        .where(
            col(FaultReport.id) == report_id,
            col(FaultReport.status) == FaultStatus.reported.value,
        )
        .values(status=FaultStatus.acknowledged.value, acknowledged_by=advisor.id,
                acknowledged_at=now)
    )
    await session.refresh(report)
    if result.rowcount != 1:
        who = await session.get(Staff, report.acknowledged_by)
        raise Refused("already_acknowledged", name=who.name if who else "?",
                      at=report.acknowledged_at)
    audit.record(
        session, now=now, actor=actor, action="fault.acknowledge", entity="fault_report",
        entity_id=report_id, before=FaultStatus.reported.value,
        after=FaultStatus.acknowledged.value,
    )
    await session.flush()
    return report


async def due_for_escalation(
    session: AsyncSession, *, now: datetime, delay: timedelta
) -> list[FaultReport]:
    return list(
        (
            await session.exec(
                select(FaultReport).where(
                    FaultReport.status == FaultStatus.reported,
                    col(FaultReport.escalated_at).is_(None),
                    FaultReport.created_at <= now - delay,
                ).order_by(col(FaultReport.id))
            )
        ).all()
    )


async def mark_escalated(session: AsyncSession, *, report_id: int, now: datetime) -> bool:
    """Record that the report went to every advisor (after sending: a crash resends once)."""
    result = await session.exec(
        update(FaultReport)
        .where(col(FaultReport.id) == report_id, col(FaultReport.escalated_at).is_(None),
               col(FaultReport.status) == FaultStatus.reported.value)
        .values(escalated_at=now)
    )
    if result.rowcount == 1:
        audit.record(session, now=now, actor=None, action="fault.escalate",
                     entity="fault_report", entity_id=report_id)
        return True
    return False
