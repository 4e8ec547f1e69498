"""W4: faults found on the vehicle that the work order does not list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.attachment import (
    Attachment,
    AttachmentContent,
    AttachmentCopy,
    attach,
    attachments_of,
)
from models.audit import Actor
from models.db import UTCDateTime, id_of
from models.extra_item import Decision, ExtraItemRequest, add_request
from models.rules import Refused
from models.staff import Staff
from models.work_order import (
    OrderStatus,
    WorkOrder,
    floor_order,
    get_order,
    require_advisor,
    require_on_floor,
)

MAX_PHOTOS = 10


class FaultStatus(StrEnum):
    reported = "reported"
    acknowledged = "acknowledged"
    proposed = "proposed"  # the advisor turned it into an extra item with a price


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
    # W4 → W5: the extra item the advisor made of it (``propose_from_fault``), who and when.
    proposed_request_id: int | None = Field(default=None, foreign_key="extra_item_request.id")
    proposed_by: int | None = Field(default=None, foreign_key="staff.id")
    proposed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


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


# --- W4 → W5: the advisor proposes the fault as an extra item with a price --------------------

PROPOSE = "fault.propose"  # the audit event of a proposal
ITEM_NAME_MAX = 200


@dataclass(frozen=True)
class Proposal:
    """The extra item a fault report became, who proposed it and when."""

    request: ExtraItemRequest
    advisor: Staff | None
    at: datetime


async def proposal_of(session: AsyncSession, report: FaultReport) -> Proposal | None:
    if report.proposed_request_id is None or report.proposed_at is None:
        return None
    request = await session.get(ExtraItemRequest, report.proposed_request_id)
    if request is None:
        return None
    advisor = await session.get(Staff, report.proposed_by) if report.proposed_by else None
    return Proposal(request, advisor, report.proposed_at)


async def already_proposed(session: AsyncSession, report: FaultReport) -> Refused:
    proposal = await proposal_of(session, report)
    return Refused("fault_already_proposed",
                   name=proposal.advisor.name if proposal and proposal.advisor else "?",
                   at=proposal.at if proposal else report.acknowledged_at,
                   item=proposal.request.description if proposal else report.description)


async def check_proposable(
    session: AsyncSession, *, report_id: int, advisor: Staff
) -> tuple[WorkOrder, FaultReport]:
    """Before asking the advisor for the price: an advisor, an order in progress, a report
    not proposed yet."""
    require_advisor(advisor)
    report = await session.get(FaultReport, report_id)
    if report is None:
        raise Refused("order_missing")
    if report.status == FaultStatus.proposed:
        raise await already_proposed(session, report)
    order = await get_order(session, report.order_id)
    require_on_floor(order, OrderStatus.in_progress)
    return order, report


def item_name(report: FaultReport) -> str:
    """The fault's text as the item's name on the order (one line, at most 200 characters)."""
    text = " ".join(report.description.split())
    return text if len(text) <= ITEM_NAME_MAX else text[:ITEM_NAME_MAX - 1] + "…"


async def propose_from_fault(
    session: AsyncSession, *, report_id: int, advisor: Staff, parts_fen: int, labour_fen: int,
    now: datetime, actor: Actor,
) -> tuple[WorkOrder, ExtraItemRequest]:
    """The fault report becomes a pending extra item with the advisor's price, once (a
    conditional update: a second advisor learns who proposed it). The item is requested by the
    technician who found the fault (they do the work and are told the decision, as for their
    own request); the advisor's part is the audit event. The report's photos go with it,
    copied as the item's (``extra_item``) attachments, so its card and the customer's page
    show them. An unacknowledged report counts as acknowledged by the advisor."""
    order, report = await check_proposable(session, report_id=report_id, advisor=advisor)
    before = report.status
    result = await session.exec(
        update(FaultReport)
        .where(col(FaultReport.id) == report_id,
               col(FaultReport.status) != FaultStatus.proposed.value)
        .values(status=FaultStatus.proposed.value, proposed_by=advisor.id, proposed_at=now,
                acknowledged_by=func.coalesce(col(FaultReport.acknowledged_by), advisor.id),
                acknowledged_at=func.coalesce(col(FaultReport.acknowledged_at), now))
    )
    await session.refresh(report)
    if result.rowcount != 1:
        raise await already_proposed(session, report)
    request = await add_request(
        session, order_id=id_of(order), requested_by=report.reported_by,
        description=item_name(report), reason=report.description[:2000],
        parts_fen=parts_fen, labour_fen=labour_fen, now=now)
    report.proposed_request_id = id_of(request)
    session.add(report)
    await _copy_photos(session, id_of(report), id_of(request))
    order.updated_at = now
    audit.record(session, now=now, actor=actor, action="extra.request",
                 entity="extra_item_request", entity_id=request.id,
                 after=Decision.pending.value, order_id=id_of(order), fault_report=report_id)
    audit.record(session, now=now, actor=actor, action=PROPOSE, entity="fault_report",
                 entity_id=report_id, before=before, after=FaultStatus.proposed.value,
                 request=request.id, parts_fen=parts_fen, labour_fen=labour_fen)
    await session.flush()
    return order, request


async def _copy_photos(session: AsyncSession, report_id: int, request_id: int) -> None:
    """The report's photos and voice notes as the request's own: each row copied with its
    channel copies and fetched bytes, so it shows wherever the request's photos show."""
    for photo in await attachments_of(session, "fault_report", report_id):
        copy = Attachment(owner="extra_item", owner_id=request_id, channel=photo.channel,
                          file_id=photo.file_id, file_unique_id=photo.file_unique_id,
                          staff_id=photo.staff_id, created_at=photo.created_at,
                          kind=photo.kind, duration=photo.duration)
        session.add(copy)
        await session.flush()
        for other in (await session.exec(select(AttachmentCopy).where(
                AttachmentCopy.attachment_id == photo.id))).all():
            session.add(AttachmentCopy(attachment_id=id_of(copy), channel=other.channel,
                                       file_id=other.file_id, stored_at=other.stored_at))
        for content in (await session.exec(select(AttachmentContent).where(
                AttachmentContent.attachment_id == photo.id))).all():
            session.add(AttachmentContent(attachment_id=id_of(copy), data=content.data,
                                          fetched_at=content.fetched_at))
