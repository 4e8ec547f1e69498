"""Notes on an order from the floor, e.g. W2's "the listed items don't match the fault"."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.audit import Actor
from models.db import UTCDateTime, id_of
from models.rules import Refused
from models.staff import Staff
from models.work_order import (
    OrderStatus,
    WorkOrder,
    floor_order,
)


class NoteKind(StrEnum):
    items_mismatch = "items_mismatch"


class OrderNote(SQLModel, table=True):
    __tablename__ = "order_note"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="work_order.id", index=True)
    staff_id: int = Field(foreign_key="staff.id")
    kind: str = Field(max_length=32)
    text: str = Field(max_length=4096)
    created_at: datetime = Field(sa_type=UTCDateTime)


async def flag_items_mismatch(
    session: AsyncSession, *, order_id: int, technician: Staff, text: str, now: datetime,
    actor: Actor,
) -> tuple[WorkOrder, OrderNote]:
    """W2: the technician tells the front desk the listed items don't fit the fault."""
    order = await floor_order(session, order_id, technician, OrderStatus.in_progress)
    text = text.strip()
    if not text:
        raise Refused("empty_text")
    note = OrderNote(
        order_id=order_id, staff_id=id_of(technician),
        kind=NoteKind.items_mismatch, text=text, created_at=now,
    )
    session.add(note)
    await session.flush()
    audit.record(
        session, now=now, actor=actor, action="order.items_mismatch", entity="work_order",
        entity_id=order_id, note_id=note.id,
    )
    return order, note
