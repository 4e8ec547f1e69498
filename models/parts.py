"""W6: parts requisitions, issued old-for-new (以坏换新).

A technician asks for a part against one open item of an order in progress. The parts clerks
decide once: **issue** (saying what became of the old part), **out of stock** (with the date
it is expected; it can still be issued or declined later) or **decline** (with a reason).

Old-for-new: issuing records the old part as received, still to be handed in (the request
then stays on the "awaiting old part" list until it is received or written off), not needed
(a new fitting or a consumable), or lost / damaged on purpose, which records a compensation
entry against the technician (amount, replace or pay) for the supervisors.

A part that does not match is returned uninstalled, with a reason and photos; the request is
then ``returned`` and a new one can follow.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import func, update
from sqlalchemy.orm import Mapped
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.attachment import attach
from models.audit import Actor
from models.db import UTCDateTime, id_of
from models.money import parse_fen
from models.rules import Refused
from models.shop_time import parse_day
from models.staff import Role, Staff
from models.work_order import (
    CLOSED,
    ItemStatus,
    OrderItem,
    OrderStatus,
    WorkOrder,
    floor_order,
    get_order,
    items_of,
)

MAX_QUANTITY = 99
MAX_PART_TEXT = 200
MAX_PHOTOS = 5
MAX_COMPENSATION_FEN = 10_000_000  # 100,000 yuan: anything above is a typo


class PartStatus(StrEnum):
    pending = "pending"
    out_of_stock = "out_of_stock"  # still open: issued or declined once the part is in
    issued = "issued"
    declined = "declined"
    returned = "returned"  # issued, then returned uninstalled: it does not match


OPEN = frozenset({PartStatus.pending, PartStatus.out_of_stock})


class OldPart(StrEnum):
    received = "received"  # handed in at the counter
    awaiting = "awaiting"  # issued before the old part was in hand
    none = "none"  # a new fitting or a consumable: there is no old part
    lost = "lost"  # lost or damaged on purpose: a compensation entry


class Settlement(StrEnum):
    # (the member named ``replace`` shadows ``str.replace``: its name is its stored value)
    replace = "replace"  # type: ignore[assignment]  # the technician replaces the part
    pay = "pay"  # the technician pays the amount


class PartRequest(SQLModel, table=True):
    __tablename__ = "part_request"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="work_order.id", index=True)
    item_id: int = Field(foreign_key="order_item.id", index=True)
    requested_by: int = Field(foreign_key="staff.id", index=True)
    part_number: str | None = Field(default=None, max_length=64)
    part_name: str | None = Field(default=None, max_length=200)
    quantity: int
    # False when the technician said there is no old part (a new fitting, a consumable).
    old_part_expected: bool = Field(default=True)
    status: str = Field(default=PartStatus.pending, max_length=16, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    stock_by: int | None = Field(default=None, foreign_key="staff.id")
    stock_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expected_on: date | None = None
    issued_by: int | None = Field(default=None, foreign_key="staff.id")
    issued_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    issued_channel: str | None = Field(default=None, max_length=16)
    old_part: str | None = Field(default=None, max_length=16, index=True)
    old_part_by: int | None = Field(default=None, foreign_key="staff.id")
    old_part_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    declined_by: int | None = Field(default=None, foreign_key="staff.id")
    declined_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decline_reason: str | None = Field(default=None, max_length=1000)
    returned_by: int | None = Field(default=None, foreign_key="staff.id")
    returned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    return_reason: str | None = Field(default=None, max_length=1000)


class PartCompensation(SQLModel, table=True):
    """An old part lost or damaged on purpose: who makes it good, how, and for how much."""

    __tablename__ = "part_compensation"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="part_request.id", unique=True)
    technician_id: int = Field(foreign_key="staff.id", index=True)
    part: str = Field(max_length=300)
    amount_fen: int
    settlement: str = Field(max_length=8)
    recorded_by: int = Field(foreign_key="staff.id")
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


# --- reading what the technician typed -----------------------------------------------------

_PART_NUMBER = re.compile(r"^(?=.*\d)[A-Za-z0-9][A-Za-z0-9\-./]{3,63}$")
_QUANTITY = re.compile(r"^([0-9]{1,6})\s*(?:个|件|只|套|支|条|片|根|pcs?\.?|x)?$", re.IGNORECASE)


def split_part(text: str) -> tuple[str | None, str | None]:
    """"04152-YZZA1 机油滤清器" → number and name; a word without digits is a name only.

    A part number is the first word when it has a digit and only letters, digits, "-", "."
    or "/"; everything else is the name."""
    text = " ".join(text.split())
    if not text:
        raise Refused("empty_text")
    first, _, rest = text.partition(" ")
    if _PART_NUMBER.match(first):
        return first.upper(), rest or None
    return None, text


def parse_quantity(text: str) -> int:
    """1 to 99 ("2", "2个", "2 pcs"); 0 and 10,000 are refused with their own reason."""
    typed = unicodedata.normalize("NFKC", text).strip() if len(text) <= 20 else ""
    match = _QUANTITY.match(typed)
    if match is None:
        raise Refused("parts_quantity_invalid", limit=MAX_QUANTITY)
    quantity = int(match.group(1))
    if quantity < 1:
        raise Refused("parts_quantity_zero")
    if quantity > MAX_QUANTITY:
        raise Refused("parts_quantity_too_many", limit=MAX_QUANTITY)
    return quantity


def parse_amount(text: str) -> int:
    """"80", "¥80.50", "80元" → fen; zero, negative or absurd amounts are refused."""
    fen = parse_fen(text)
    if fen is None or not 0 < fen <= MAX_COMPENSATION_FEN:
        raise Refused("parts_amount_invalid")
    return fen


def parse_expected(text: str, today: date) -> date:
    """The day the part is expected (any form :func:`parse_day` reads), today or later."""
    day = parse_day(text, today)
    if day is None:
        raise Refused("date_invalid")
    if day < today:
        raise Refused("date_in_past")
    return day


def part_label(request: PartRequest) -> str:
    """How the part is named on cards and in the compensation register."""
    return " · ".join(p for p in (request.part_number, request.part_name) if p)


# --- the technician asks -------------------------------------------------------------------


def require_clerk(staff: Staff) -> None:
    if not staff.active or not staff.has(Role.parts_clerk):
        raise Refused("parts_not_clerk")


async def requestable_items(
    session: AsyncSession, order_id: int, technician: Staff
) -> tuple[WorkOrder, list[OrderItem]]:
    """The order (its technician's, in progress) and the items a part can be asked for: the
    open ones (not done, not waiting for approval, not rejected)."""
    order = await floor_order(session, order_id, technician, OrderStatus.in_progress)
    items = [i for i in await items_of(session, order_id) if i.status == ItemStatus.open]
    if not items:
        raise Refused("parts_no_open_item", number=order.number)
    return order, items


async def request_part(
    session: AsyncSession, *, order_id: int, item_id: int, technician: Staff, text: str,
    quantity: int, photos: list[dict[str, str]], old_part_expected: bool, now: datetime,
    actor: Actor,
) -> tuple[WorkOrder, OrderItem, PartRequest]:
    order, items = await requestable_items(session, order_id, technician)
    item = next((i for i in items if i.id == item_id), None)
    if item is None:
        other = await session.get(OrderItem, item_id)
        if other is None or other.order_id != order_id:
            raise Refused("order_missing")
        raise Refused("parts_item_not_open", item=other.description)
    number, name = split_part(text)
    if not 1 <= quantity <= MAX_QUANTITY:
        raise Refused("parts_quantity_too_many" if quantity > 0 else "parts_quantity_zero",
                      limit=MAX_QUANTITY)
    request = PartRequest(
        order_id=order_id, item_id=item_id, requested_by=id_of(technician),
        part_number=number, part_name=(name or "")[:MAX_PART_TEXT] or None, quantity=quantity,
        old_part_expected=old_part_expected, created_at=now,
    )
    session.add(request)
    await session.flush()
    attach(session, owner="part_request", owner_id=id_of(request),
           photos=photos, staff_id=technician.id, now=now)
    audit.record(
        session, now=now, actor=actor, action="part.request", entity="part_request",
        entity_id=request.id, after=PartStatus.pending.value, order_id=order_id,
        item_id=item_id, quantity=quantity, photos=len(photos),
    )
    await session.flush()
    return order, item, request


# --- the clerks decide ---------------------------------------------------------------------


class Action(StrEnum):
    issue = "issue"
    out_of_stock = "out_of_stock"
    decline = "decline"


ALLOWED_FROM: dict[Action, frozenset[PartStatus]] = {
    Action.issue: OPEN,
    Action.decline: OPEN,
    Action.out_of_stock: frozenset({PartStatus.pending}),
}


@dataclass(frozen=True)
class Taken:
    """Who moved a request on, and when: what the loser of a race is told."""

    name: str
    at: datetime
    status: PartStatus


async def taken_by(session: AsyncSession, request: PartRequest) -> Taken:
    status = PartStatus(request.status)
    who_id, at = {
        PartStatus.pending: (None, request.created_at),
        PartStatus.out_of_stock: (request.stock_by, request.stock_at),
        PartStatus.issued: (request.issued_by, request.issued_at),
        PartStatus.declined: (request.declined_by, request.declined_at),
        PartStatus.returned: (request.returned_by, request.returned_at),
    }[status]
    who = await session.get(Staff, who_id) if who_id is not None else None
    return Taken(name=who.name if who else "?", at=at or request.created_at, status=status)


async def get_request(session: AsyncSession, request_id: int) -> PartRequest:
    request = await session.get(PartRequest, request_id)
    if request is None:
        raise Refused("parts_request_missing")
    return request


async def _refuse_taken(session: AsyncSession, request: PartRequest) -> Refused:
    taken = await taken_by(session, request)
    return Refused("parts_already_decided", name=taken.name, at=taken.at,
                   decision=taken.status.value)


def _require_live(order: WorkOrder) -> None:
    if order.status in CLOSED:
        raise Refused("order_closed", number=order.number)


async def check_decidable(
    session: AsyncSession, *, request_id: int, clerk: Staff, action: Action
) -> tuple[WorkOrder, PartRequest]:
    """Before asking the clerk anything more: a clerk, a request this action still applies
    to, an order not closed."""
    require_clerk(clerk)
    request = await get_request(session, request_id)
    if request.status not in ALLOWED_FROM[action]:
        raise await _refuse_taken(session, request)
    order = await get_order(session, request.order_id)
    _require_live(order)
    return order, request


async def _claim(
    session: AsyncSession, request: PartRequest, action: Action, **values: object
) -> None:
    """The conditional update that lets exactly one decision through."""
    result = await session.exec(
        update(PartRequest)
        .where(col(PartRequest.id) == request.id,
               col(PartRequest.status).in_([s.value for s in ALLOWED_FROM[action]]))
        .values(**values)
    )
    await session.refresh(request)
    if result.rowcount != 1:
        raise await _refuse_taken(session, request)


async def mark_out_of_stock(
    session: AsyncSession, *, request_id: int, clerk: Staff, expected_on: date, today: date,
    now: datetime, actor: Actor,
) -> tuple[WorkOrder, PartRequest]:
    if expected_on < today:
        raise Refused("date_in_past")
    order, request = await check_decidable(session, request_id=request_id, clerk=clerk,
                                           action=Action.out_of_stock)
    await _claim(session, request, Action.out_of_stock, status=PartStatus.out_of_stock.value,
                 stock_by=clerk.id, stock_at=now, expected_on=expected_on)
    audit.record(
        session, now=now, actor=actor, action="part.out_of_stock", entity="part_request",
        entity_id=request.id, before=PartStatus.pending.value,
        after=PartStatus.out_of_stock.value, expected_on=expected_on.isoformat(),
    )
    await session.flush()
    return order, request


async def decline(
    session: AsyncSession, *, request_id: int, clerk: Staff, reason: str, now: datetime,
    actor: Actor,
) -> tuple[WorkOrder, PartRequest]:
    reason = reason.strip()
    if not reason:
        raise Refused("reason_missing")
    order, request = await check_decidable(session, request_id=request_id, clerk=clerk,
                                           action=Action.decline)
    before = request.status
    await _claim(session, request, Action.decline, status=PartStatus.declined.value,
                 declined_by=clerk.id, declined_at=now, decline_reason=reason)
    audit.record(
        session, now=now, actor=actor, action="part.decline", entity="part_request",
        entity_id=request.id, before=before, after=PartStatus.declined.value, reason=reason,
    )
    await session.flush()
    return order, request


@dataclass(frozen=True)
class Loss:
    """The compensation the clerk records for an old part lost or damaged on purpose."""

    amount_fen: int
    settlement: Settlement


async def _record_loss(
    session: AsyncSession, request: PartRequest, clerk: Staff, loss: Loss, now: datetime,
    actor: Actor,
) -> PartCompensation:
    if not 0 < loss.amount_fen <= MAX_COMPENSATION_FEN:
        raise Refused("parts_amount_invalid")
    entry = PartCompensation(
        request_id=id_of(request), technician_id=request.requested_by,
        part=part_label(request)[:300], amount_fen=loss.amount_fen,
        settlement=loss.settlement.value, recorded_by=id_of(clerk),
        created_at=now,
    )
    session.add(entry)
    await session.flush()
    audit.record(
        session, now=now, actor=actor, action="part.compensation", entity="part_compensation",
        entity_id=entry.id, request_id=request.id, technician_id=request.requested_by,
        amount_fen=loss.amount_fen, settlement=loss.settlement.value,
    )
    return entry


async def issue(
    session: AsyncSession, *, request_id: int, clerk: Staff, old_part: OldPart,
    loss: Loss | None = None, now: datetime, actor: Actor,
) -> tuple[WorkOrder, PartRequest, PartCompensation | None]:
    """Old-for-new: the part goes out with the old part's fate recorded; exactly one wins."""
    if (old_part is OldPart.lost) != (loss is not None):
        raise Refused("parts_amount_invalid")
    order, request = await check_decidable(session, request_id=request_id, clerk=clerk,
                                           action=Action.issue)
    before = request.status
    await _claim(session, request, Action.issue, status=PartStatus.issued.value,
                 issued_by=clerk.id, issued_at=now, issued_channel=actor.channel,
                 old_part=old_part.value,
                 old_part_by=None if old_part is OldPart.awaiting else clerk.id,
                 old_part_at=None if old_part is OldPart.awaiting else now)
    audit.record(
        session, now=now, actor=actor, action="part.issue", entity="part_request",
        entity_id=request.id, before=before, after=PartStatus.issued.value,
        old_part=old_part.value,
    )
    entry = await _record_loss(session, request, clerk, loss, now, actor) if loss else None
    await session.flush()
    return order, request, entry


async def check_awaiting(
    session: AsyncSession, *, request_id: int, clerk: Staff
) -> PartRequest:
    """An issued part whose old part is still to be handed in."""
    require_clerk(clerk)
    request = await get_request(session, request_id)
    if request.status != PartStatus.issued or request.old_part != OldPart.awaiting:
        raise await _refuse_old_part(session, request)
    return request


async def _refuse_old_part(session: AsyncSession, request: PartRequest) -> Refused:
    if request.status == PartStatus.pending:  # nothing issued yet: no old part to settle
        return Refused("parts_not_issued_yet")
    if request.status != PartStatus.issued:
        return await _refuse_taken(session, request)
    who = await session.get(Staff, request.old_part_by) if request.old_part_by else None
    return Refused("parts_old_part_settled", name=who.name if who else "?",
                   at=request.old_part_at or request.created_at,
                   outcome=request.old_part or "")


async def settle_old_part(
    session: AsyncSession, *, request_id: int, clerk: Staff, outcome: OldPart,
    loss: Loss | None = None, now: datetime, actor: Actor,
) -> tuple[PartRequest, PartCompensation | None]:
    """The old part of an issued request came in after all, or is written off as lost."""
    if outcome not in (OldPart.received, OldPart.lost) or (
            (outcome is OldPart.lost) != (loss is not None)):
        raise Refused("parts_amount_invalid")
    request = await check_awaiting(session, request_id=request_id, clerk=clerk)
    result = await session.exec(
        update(PartRequest)
        .where(col(PartRequest.id) == request_id,
               col(PartRequest.status) == PartStatus.issued.value,
               col(PartRequest.old_part) == OldPart.awaiting.value)
        .values(old_part=outcome.value, old_part_by=clerk.id, old_part_at=now)
    )
    await session.refresh(request)
    if result.rowcount != 1:
        raise await _refuse_old_part(session, request)
    audit.record(
        session, now=now, actor=actor, action="part.old_part", entity="part_request",
        entity_id=request_id, before=OldPart.awaiting.value, after=outcome.value,
    )
    entry = await _record_loss(session, request, clerk, loss, now, actor) if loss else None
    await session.flush()
    return request, entry


# --- "part does not match" ---------------------------------------------------------------


async def check_returnable(
    session: AsyncSession, *, request_id: int, technician: Staff
) -> tuple[WorkOrder, PartRequest]:
    """An issued part, on an order in progress that is this technician's."""
    request = await get_request(session, request_id)
    order = await floor_order(session, request.order_id, technician, OrderStatus.in_progress)
    if request.status != PartStatus.issued:
        if request.status == PartStatus.returned:
            raise await _refuse_taken(session, request)
        raise Refused("parts_not_issued")
    return order, request


async def return_part(
    session: AsyncSession, *, request_id: int, technician: Staff, reason: str,
    photos: list[dict[str, str]], now: datetime, actor: Actor,
) -> tuple[WorkOrder, PartRequest]:
    """The issued part goes back uninstalled: it does not match. Nothing is installed."""
    reason = reason.strip()
    if not reason:
        raise Refused("reason_missing")
    if not photos:
        raise Refused("parts_photo_missing")
    order, request = await check_returnable(session, request_id=request_id,
                                            technician=technician)
    result = await session.exec(
        update(PartRequest)
        .where(col(PartRequest.id) == request_id,
               col(PartRequest.status) == PartStatus.issued.value)
        .values(status=PartStatus.returned.value, returned_by=technician.id, returned_at=now,
                return_reason=reason)
    )
    await session.refresh(request)
    if result.rowcount != 1:
        raise await _refuse_taken(session, request)
    attach(session, owner="part_return", owner_id=request_id, photos=photos,
           staff_id=technician.id, now=now)
    audit.record(
        session, now=now, actor=actor, action="part.return", entity="part_request",
        entity_id=request_id, before=PartStatus.issued.value, after=PartStatus.returned.value,
        reason=reason, photos=len(photos),
    )
    await session.flush()
    return order, request


# --- lists for /parts and the monthly report ------------------------------------------------


async def open_requests(session: AsyncSession) -> list[PartRequest]:
    """Waiting for a clerk (pending or out of stock), oldest first."""
    return list((await session.exec(
        select(PartRequest)
        .where(col(PartRequest.status).in_([s.value for s in OPEN]))
        .order_by(col(PartRequest.created_at), col(PartRequest.id))
    )).all())


async def issued_between(
    session: AsyncSession, start: datetime, end: datetime
) -> list[PartRequest]:
    return list((await session.exec(
        select(PartRequest)
        .where(col(PartRequest.issued_at) >= start, col(PartRequest.issued_at) < end)
        .order_by(col(PartRequest.issued_at), col(PartRequest.id))
    )).all())


async def awaiting_old_parts(session: AsyncSession) -> list[PartRequest]:
    """Issued parts whose old part has not been handed in yet, longest waiting first."""
    return list((await session.exec(
        select(PartRequest)
        .where(PartRequest.status == PartStatus.issued,
               PartRequest.old_part == OldPart.awaiting)
        .order_by(col(PartRequest.issued_at), col(PartRequest.id))
    )).all())


async def compensations_between(
    session: AsyncSession, start: datetime, end: datetime
) -> list[PartCompensation]:
    return list((await session.exec(
        select(PartCompensation)
        .where(col(PartCompensation.created_at) >= start, col(PartCompensation.created_at) < end)
        .order_by(col(PartCompensation.created_at), col(PartCompensation.id))
    )).all())


async def compensation_of(session: AsyncSession, request_id: int) -> PartCompensation | None:
    return (await session.exec(
        select(PartCompensation).where(PartCompensation.request_id == request_id)
    )).first()


@dataclass(frozen=True)
class PartsSummary:
    """W6 in the monthly report: what happened at the parts counter in ``[start, end)``."""

    requests: int
    issued: int
    out_of_stock: int
    declined: int
    returned: int
    compensations: int
    compensation_fen: int


async def parts_summary(session: AsyncSession, *, start: datetime, end: datetime
                        ) -> PartsSummary:
    async def count(column: Mapped[datetime | None]) -> int:
        return (await session.exec(
            select(func.count()).select_from(PartRequest)
            .where(column >= start, column < end)
        )).one()

    compensations = (await session.exec(
        select(func.count(), func.coalesce(func.sum(PartCompensation.amount_fen), 0))
        .where(col(PartCompensation.created_at) >= start,
               col(PartCompensation.created_at) < end)
    )).one()
    return PartsSummary(
        requests=await count(col(PartRequest.created_at)),
        issued=await count(col(PartRequest.issued_at)),
        out_of_stock=await count(col(PartRequest.stock_at)),
        declined=await count(col(PartRequest.declined_at)),
        returned=await count(col(PartRequest.returned_at)),
        compensations=int(compensations[0]),
        compensation_fen=int(compensations[1]),
    )
