"""W5: extra items found during the work need the front desk's approval before anyone works on
them. The first decision wins; approval records how the customer consented."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.attachment import attach
from models.audit import Actor
from models.db import UTCDateTime, id_of
from models.money import parse_fen
from models.rules import Refused
from models.staff import Staff
from models.work_order import (
    ItemKind,
    ItemStatus,
    OrderItem,
    OrderStatus,
    WorkOrder,
    floor_order,
    get_order,
    require_advisor,
    require_on_floor,
)


class Decision(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class ConsentMethod(StrEnum):
    phone = "phone"
    in_person = "in_person"
    wechat = "wechat"
    other = "other"
    customer_link = "customer_link"  # the customer on their phone (models.customer_link)


class ExtraItemRequest(SQLModel, table=True):
    __tablename__ = "extra_item_request"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="work_order.id", index=True)
    item_id: int = Field(foreign_key="order_item.id", unique=True)
    requested_by: int = Field(foreign_key="staff.id")
    description: str = Field(max_length=500)
    reason: str = Field(max_length=2000)
    parts_fen: int | None = None  # estimates in fen (0.01 yuan)
    labour_fen: int | None = None
    status: str = Field(default=Decision.pending, max_length=16, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: int | None = Field(default=None, foreign_key="staff.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_channel: str | None = Field(default=None, max_length=16)
    consent_method: str | None = Field(default=None, max_length=16)
    consent_note: str | None = Field(default=None, max_length=1000)
    reject_reason: str | None = Field(default=None, max_length=1000)


MAX_ESTIMATE_FEN = 100_000_000  # one million yuan: anything above is a typo


def parse_estimate(text: str) -> tuple[int, int]:
    """"300 150" or "300，150.5" → parts and labour in fen; raises ``Refused`` otherwise."""
    cleaned = text.replace("，", " ").replace(",", " ").replace("/", " ").replace("¥", "")
    cleaned = cleaned.replace("元", " ")
    parts = cleaned.split()
    if len(parts) not in (1, 2):
        raise Refused("estimate_invalid")
    values = []
    for part in parts:
        fen = parse_fen(part)
        if fen is None or fen > MAX_ESTIMATE_FEN:
            raise Refused("estimate_invalid")
        values.append(fen)
    if len(values) == 1:
        values.append(0)
    return values[0], values[1]


async def request_extra_item(
    session: AsyncSession, *, order_id: int, technician: Staff, description: str, reason: str,
    photos: list[dict[str, str]], parts_fen: int | None, labour_fen: int | None,
    now: datetime, actor: Actor,
) -> tuple[WorkOrder, ExtraItemRequest]:
    order = await floor_order(session, order_id, technician, OrderStatus.in_progress)
    description, reason = description.strip(), reason.strip()
    if not description or not reason:
        raise Refused("empty_text")
    request = await add_request(
        session, order_id=order_id, requested_by=id_of(technician), description=description,
        reason=reason, parts_fen=parts_fen, labour_fen=labour_fen, now=now)
    attach(session, owner="extra_item", owner_id=id_of(request),
           photos=photos, staff_id=technician.id, now=now)
    audit.record(
        session, now=now, actor=actor, action="extra.request", entity="extra_item_request",
        entity_id=request.id, after=Decision.pending.value, order_id=order_id,
    )
    await session.flush()
    return order, request


async def add_request(
    session: AsyncSession, *, order_id: int, requested_by: int, description: str, reason: str,
    parts_fen: int | None, labour_fen: int | None, now: datetime,
) -> ExtraItemRequest:
    """The pending item at the end of the order's list and its request (a technician's
    request, or a fault report the advisor proposed: ``models.fault_report``)."""
    position = (
        await session.exec(
            select(func.coalesce(func.max(OrderItem.position), 0)).where(
                OrderItem.order_id == order_id
            )
        )
    ).one()
    item = OrderItem(
        order_id=order_id, position=position + 1, kind=ItemKind.extra,
        description=description[:200], status=ItemStatus.pending, created_at=now,
    )
    session.add(item)
    await session.flush()
    request = ExtraItemRequest(
        order_id=order_id, item_id=id_of(item), requested_by=requested_by,
        description=description, reason=reason, parts_fen=parts_fen, labour_fen=labour_fen,
        created_at=now,
    )
    session.add(request)
    await session.flush()
    return request


@dataclass(frozen=True)
class DecisionTaken:
    """Who decided a request and when, for the loser of a race."""

    name: str
    at: datetime
    status: Decision


async def decision_of(session: AsyncSession, request: ExtraItemRequest) -> DecisionTaken:
    if request.decided_by is None and request.decided_channel == ConsentMethod.customer_link:
        from models.customer_link import customer_record  # it builds on this module

        record = await customer_record(session, id_of(request))
        name = record.signed_name if record is not None and record.signed_name else "?"
    else:
        who = await session.get(Staff, request.decided_by) if request.decided_by else None
        name = who.name if who else "?"
    return DecisionTaken(
        name=name,
        at=request.decided_at or request.created_at,
        status=Decision(request.status),
    )


async def get_request(session: AsyncSession, request_id: int) -> ExtraItemRequest:
    request = await session.get(ExtraItemRequest, request_id)
    if request is None:
        raise Refused("order_missing")
    return request


async def check_decidable(
    session: AsyncSession, *, request_id: int, advisor: Staff
) -> tuple[WorkOrder, ExtraItemRequest]:
    """Before asking for consent or a reason: the right person, a request still pending (the
    order and the request, as read)."""
    require_advisor(advisor)
    request = await get_request(session, request_id)
    order = await get_order(session, request.order_id)
    if request.status != Decision.pending:
        taken = await decision_of(session, request)
        raise Refused("already_decided", name=taken.name, at=taken.at,
                      decision=taken.status.value)
    require_on_floor(order, OrderStatus.in_progress)
    return order, request


async def decide(
    session: AsyncSession,
    *,
    request_id: int,
    advisor: Staff,
    approve: bool,
    now: datetime,
    actor: Actor,
    consent_method: ConsentMethod | None = None,
    consent_note: str | None = None,
    reject_reason: str | None = None,
) -> tuple[WorkOrder, ExtraItemRequest]:
    """Approve (with the customer's consent) or reject (with a reason); exactly one wins."""
    require_advisor(advisor)
    if approve:
        if consent_method is None:
            raise Refused("consent_missing")
        if consent_method is ConsentMethod.other and not (consent_note or "").strip():
            raise Refused("consent_note_missing")
    elif not (reject_reason or "").strip():
        raise Refused("reason_missing")
    settled = await settle(session, request_id=request_id, approve=approve, decided_by=advisor,
                           now=now, actor=actor, consent_method=consent_method,
                           consent_note=consent_note, reject_reason=reject_reason)
    if settled is None:
        request = await get_request(session, request_id)
        taken = await decision_of(session, request)
        raise Refused("already_decided", name=taken.name, at=taken.at,
                      decision=taken.status.value)
    return settled


async def settle(
    session: AsyncSession,
    *,
    request_id: int,
    approve: bool,
    decided_by: Staff | None,
    now: datetime,
    actor: Actor,
    consent_method: ConsentMethod | None = None,
    consent_note: str | None = None,
    reject_reason: str | None = None,
) -> tuple[WorkOrder, ExtraItemRequest] | None:
    """The one conditional update that decides a request (an advisor's ``decide``, or the
    customer on their link with ``decided_by`` None); None when someone decided it first."""
    request = await get_request(session, request_id)
    order = await get_order(session, request.order_id)
    if request.status == Decision.pending:
        require_on_floor(order, OrderStatus.in_progress)
    new_status = Decision.approved if approve else Decision.rejected
    result = await session.exec(
        update(ExtraItemRequest)
        .where(
            col(ExtraItemRequest.id) == request_id,
            col(ExtraItemRequest.status) == Decision.pending.value,
        )
        .values(
            status=new_status.value,
            decided_by=decided_by.id if decided_by is not None else None,
            decided_at=now,
            decided_channel=actor.channel,
            consent_method=consent_method.value if approve and consent_method else None,
            consent_note=(consent_note or "").strip() or None if approve else None,
            reject_reason=None if approve else (reject_reason or "").strip(),
        )
    )
    await session.refresh(request)
    if result.rowcount != 1:
        return None
    item = await session.get(OrderItem, request.item_id)
    assert item is not None
    item.status = ItemStatus.open if approve else ItemStatus.rejected
    order.updated_at = now
    audit.record(
        session, now=now, actor=actor, action="extra.decide", entity="extra_item_request",
        entity_id=request_id, before=Decision.pending.value, after=new_status.value,
        consent=request.consent_method, reason=request.reject_reason,
    )
    await session.flush()
    return order, request


async def due_for_escalation(
    session: AsyncSession, *, now: datetime, delay: timedelta
) -> list[ExtraItemRequest]:
    return list(
        (
            await session.exec(
                select(ExtraItemRequest).where(
                    ExtraItemRequest.status == Decision.pending,
                    col(ExtraItemRequest.escalated_at).is_(None),
                    ExtraItemRequest.created_at <= now - delay,
                ).order_by(col(ExtraItemRequest.id))
            )
        ).all()
    )


async def mark_escalated(session: AsyncSession, *, request_id: int, now: datetime) -> bool:
    """Record that the card went to the other advisors (after sending: a crash resends once)."""
    result = await session.exec(
        update(ExtraItemRequest)
        .where(col(ExtraItemRequest.id) == request_id,
               col(ExtraItemRequest.escalated_at).is_(None))
        .values(escalated_at=now)
    )
    if result.rowcount == 1:
        audit.record(session, now=now, actor=None, action="extra.escalate",
                     entity="extra_item_request", entity_id=request_id)
        return True
    return False


async def pending_for_order(session: AsyncSession, order_id: int) -> list[ExtraItemRequest]:
    return list(
        (
            await session.exec(
                select(ExtraItemRequest).where(
                    ExtraItemRequest.order_id == order_id,
                    ExtraItemRequest.status == Decision.pending,
                )
            )
        ).all()
    )
