"""W5 from the customer's phone: the advisor sends the customer a link to the order's pending
extra items; the customer approves or declines each one on a page, signing with their name.

The link is a random token (``new_token``: 192 bits) of which only the SHA-256 is stored, bound
to the items it was made for, with what the page showed of each (description, reason, prices,
photo ids) frozen at that moment. A decision through it is the advisor's decision with
consent method ``customer_link``: the same conditional update (``models.extra_item.settle``),
so the first decision wins, whoever makes it. The link dies when it expires
(``CUSTOMER_LINK_HOURS``) or once every item on it is decided; a price changed since it was
made makes it refuse, and the advisor sends a new one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import JSON, Column, UniqueConstraint, or_, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.attachment import attachments_of
from models.audit import Actor
from models.customer import Vehicle, Visit
from models.db import UTCDateTime, clean_text, id_of
from models.extra_item import ConsentMethod, Decision, ExtraItemRequest, settle
from models.rules import Refused
from models.staff import Staff
from models.work_order import OrderStatus, WorkOrder, get_order, require_advisor

TOKEN_BYTES = 24  # 192 bits: never guessed
NAME_MAX = 60
NOTE_MAX = 500


class DeclineReason(StrEnum):
    """Why a customer declined an item (the page's choices)."""

    price = "price"
    later = "later"
    second_opinion = "second_opinion"
    other = "other"


class LinkState(StrEnum):
    open = "open"  # the customer may decide
    expired = "expired"
    decided = "decided"  # every item on it is decided (by the customer or the front desk)


class CustomerLink(SQLModel, table=True):
    __tablename__ = "customer_link"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)  # SHA-256 of the token, hex
    form_key: str = Field(max_length=32)  # the page's form carries it (CSRF)
    order_id: int = Field(foreign_key="work_order.id", index=True)
    created_by: int = Field(foreign_key="staff.id")  # the advisor who sent it
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # first seen


class CustomerLinkItem(SQLModel, table=True):
    """One item on a link: what the page showed, and the customer's decision through it."""

    __tablename__ = "customer_link_item"
    __table_args__ = (UniqueConstraint("link_id", "request_id"),)

    id: int | None = Field(default=None, primary_key=True)
    link_id: int = Field(foreign_key="customer_link.id", index=True)
    request_id: int = Field(foreign_key="extra_item_request.id", index=True)
    description: str = Field(max_length=500)
    reason: str = Field(max_length=2000)
    parts_fen: int | None = None
    labour_fen: int | None = None
    photo_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The customer's decision (None: not through this link).
    decision: str | None = Field(default=None, max_length=16)  # approved / rejected
    decline_reason: str | None = Field(default=None, max_length=16)  # a DeclineReason
    signed_name: str | None = Field(default=None, max_length=NAME_MAX)
    note: str | None = Field(default=None, max_length=NOTE_MAX)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=300)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def form_key_matches(link: CustomerLink, given: str | None) -> bool:
    """The page's form carries the link's form key (against a form posted from elsewhere):
    only someone shown the page has it."""
    return hmac.compare_digest(link.form_key, given or "")


def mask_plate(plate: str) -> str:
    """京A·12345 → 京A·***45: enough for the customer to know their car, no more."""
    compact = plate.replace("·", "").replace(" ", "")
    if len(compact) < 5:
        return "*" * len(compact)
    head, tail = compact[:2], compact[2:]
    return f"{head}·{'*' * (len(tail) - 2)}{tail[-2:]}"


async def pending_requests(session: AsyncSession, order_id: int) -> list[ExtraItemRequest]:
    return list((await session.exec(
        select(ExtraItemRequest).where(ExtraItemRequest.order_id == order_id,
                                       ExtraItemRequest.status == Decision.pending)
        .order_by(col(ExtraItemRequest.id)))).all())


async def make_link(
    session: AsyncSession, *, order_id: int, advisor: Staff, now: datetime, hours: float,
    actor: Actor,
) -> tuple[CustomerLink, str, list[CustomerLinkItem]]:
    """A link to the order's pending extra items (every one of them, as they are now); returns
    the link, its token (shown once, never stored) and its items. Refused when nothing waits
    for a decision."""
    require_advisor(advisor)
    order = await get_order(session, order_id)
    if order.status != OrderStatus.in_progress:
        raise Refused("order_not_in_progress")
    requests = await pending_requests(session, order_id)
    if not requests:
        raise Refused("nothing_for_the_customer")
    token = new_token()
    link = CustomerLink(token_hash=token_hash(token), form_key=secrets.token_hex(16),
                        order_id=order_id,
                        created_by=id_of(advisor), created_at=now,
                        expires_at=now + timedelta(hours=hours))
    session.add(link)
    await session.flush()
    items = []
    for request in requests:
        photos = await attachments_of(session, "extra_item", id_of(request))
        items.append(CustomerLinkItem(
            link_id=id_of(link), request_id=id_of(request), description=request.description,
            reason=request.reason, parts_fen=request.parts_fen, labour_fen=request.labour_fen,
            photo_ids=[id_of(photo) for photo in photos if photo.kind == "photo"]))
    session.add_all(items)
    audit.record(session, now=now, actor=actor, action="customer_link.make",
                 entity="customer_link", entity_id=id_of(link), order=order_id,
                 items=[item.request_id for item in items])
    await session.flush()
    return link, token, items


@dataclass(frozen=True)
class LinkItemView:
    """An item as the page shows it: what was frozen, and where it stands now."""

    item: CustomerLinkItem
    status: Decision
    consent_method: str | None  # how it was decided (customer_link: on this page)
    changed: bool  # its description or prices differ from what the link froze


@dataclass(frozen=True)
class LinkView:
    link: CustomerLink
    order: WorkOrder
    items: list[LinkItemView]
    state: LinkState

    @property
    def total_fen(self) -> int:
        return sum((i.item.parts_fen or 0) + (i.item.labour_fen or 0) for i in self.items)

    @property
    def changed(self) -> bool:
        return any(i.changed for i in self.items if i.status is Decision.pending)


async def find_link(session: AsyncSession, token: str) -> CustomerLink | None:
    if not token or len(token) > 100:
        return None
    return (await session.exec(select(CustomerLink).where(
        CustomerLink.token_hash == token_hash(token)))).first()


async def view_link(session: AsyncSession, link: CustomerLink, now: datetime) -> LinkView:
    order = await get_order(session, link.order_id)
    rows = (await session.exec(
        select(CustomerLinkItem, ExtraItemRequest)
        .join(ExtraItemRequest, col(ExtraItemRequest.id) == col(CustomerLinkItem.request_id))
        .where(CustomerLinkItem.link_id == id_of(link))
        .order_by(col(CustomerLinkItem.id)))).all()
    items = [LinkItemView(
        item=item, status=Decision(request.status), consent_method=request.consent_method,
        changed=(request.description, request.parts_fen, request.labour_fen)
        != (item.description, item.parts_fen, item.labour_fen)) for item, request in rows]
    if all(i.status is not Decision.pending for i in items):
        state = LinkState.decided
    elif link.closed_at is not None or now >= link.expires_at:
        state = LinkState.expired
    else:
        state = LinkState.open
    return LinkView(link=link, order=order, items=items, state=state)


async def opened(session: AsyncSession, link: CustomerLink, now: datetime) -> None:
    """The first time the customer opened the page (the advisor's card can say so)."""
    if link.opened_at is None:
        await session.exec(update(CustomerLink).where(
            col(CustomerLink.id) == id_of(link), col(CustomerLink.opened_at).is_(None))
            .values(opened_at=now))
        link.opened_at = now


@dataclass(frozen=True)
class CustomerChoice:
    request_id: int
    approve: bool
    reason: DeclineReason | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of one item the customer decided: ``decided`` by them now, else how it
    had been decided already (``status``)."""

    request_id: int
    decided: bool
    status: Decision


async def customer_decides(
    session: AsyncSession, *, link: CustomerLink, choices: list[CustomerChoice], name: str,
    note: str | None, ip: str | None, user_agent: str | None, now: datetime,
) -> list[Outcome]:
    """The customer's decisions from the page, each item once: approved with consent method
    ``customer_link`` or declined with their reason; an item someone decided meanwhile (the
    advisor tapped at the same moment) keeps that decision. Refused: the link expired or is
    used up, a price changed since it was made, an item not on it, no name."""
    name = clean_text(name).strip()[:NAME_MAX]
    if not name:
        raise Refused("customer_name_missing")
    note = clean_text(note or "").strip()[:NOTE_MAX] or None
    view = await view_link(session, link, now)
    if view.state is not LinkState.open:
        raise Refused("customer_link_closed")
    if view.changed:
        raise Refused("customer_link_changed")
    on_link = {i.item.request_id: i for i in view.items}
    if not choices or any(c.request_id not in on_link for c in choices) \
            or len({c.request_id for c in choices}) != len(choices):
        raise Refused("customer_link_items")
    actor = Actor(None, "customer_link")
    outcomes = []
    for choice in choices:
        shown = on_link[choice.request_id]
        if shown.status is not Decision.pending:
            outcomes.append(Outcome(choice.request_id, False, shown.status))
            continue
        reason = (choice.reason or DeclineReason.other).value
        won = await settle(
            session, request_id=choice.request_id, approve=choice.approve, decided_by=None,
            now=now, actor=actor,
            consent_method=ConsentMethod.customer_link if choice.approve else None,
            consent_note=name if choice.approve else None,
            reject_reason=None if choice.approve else f"customer: {reason}")
        if won is None:
            request = await session.get(ExtraItemRequest, choice.request_id)
            assert request is not None
            outcomes.append(Outcome(choice.request_id, False, Decision(request.status)))
            continue
        item = shown.item
        item.decision = Decision.approved if choice.approve else Decision.rejected
        item.decline_reason = None if choice.approve else reason
        item.signed_name, item.note, item.decided_at = name, note, now
        item.ip = (ip or "")[:64] or None
        item.user_agent = clean_text(user_agent or "")[:300] or None
        session.add(item)
        outcomes.append(Outcome(choice.request_id, True, Decision(item.decision)))
    # Used up once every item on it is decided (by anyone): those decided now, or before.
    settled = {outcome.request_id for outcome in outcomes}
    if all(i.status is not Decision.pending or i.item.request_id in settled
           for i in view.items):
        link.closed_at = now
        session.add(link)
    await session.flush()
    return outcomes


async def customer_record(session: AsyncSession, request_id: int) -> CustomerLinkItem | None:
    """The customer's own decision on an item, if they made it on a link."""
    return (await session.exec(select(CustomerLinkItem).where(
        CustomerLinkItem.request_id == request_id,
        col(CustomerLinkItem.decided_at).is_not(None)))).first()


@dataclass(frozen=True)
class CustomerRecord:
    """One extra item a customer decided on a link: the order, the item, what they signed."""

    order: WorkOrder
    request: ExtraItemRequest
    record: CustomerLinkItem


async def customer_decisions_of(session: AsyncSession, customer_id: int, *, limit: int = 10
                                ) -> list[CustomerRecord]:
    """The extra items a customer decided on their links, newest first: on the orders of
    their vehicles (by plate) and of their visits."""
    plates = select(Vehicle.plate).where(Vehicle.customer_id == customer_id)
    visited = select(Visit.order_id).where(Visit.customer_id == customer_id,
                                           col(Visit.order_id).is_not(None))
    rows = (await session.exec(
        select(WorkOrder, ExtraItemRequest, CustomerLinkItem)
        .join(ExtraItemRequest, col(ExtraItemRequest.order_id) == col(WorkOrder.id))
        .join(CustomerLinkItem, col(CustomerLinkItem.request_id) == col(ExtraItemRequest.id))
        .where(col(CustomerLinkItem.decided_at).is_not(None),
               or_(col(WorkOrder.plate).in_(plates), col(WorkOrder.id).in_(visited)))
        .order_by(col(CustomerLinkItem.decided_at).desc(), col(CustomerLinkItem.id).desc())
        .limit(limit))).all()
    return [CustomerRecord(order, request, record) for order, request, record in rows]
