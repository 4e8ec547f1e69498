"""Complaints and requests from calls (A6): answered at once, or researched, escalated after
two days, solved, and the customer told the same day. The whole history is kept."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.absence import route
from models.audit import Actor
from models.customer import get_customer
from models.db import UTCDateTime, id_of
from models.followup import FollowUp, FollowUpKind, schedule
from models.rules import Refused
from models.shop_time import ShopCalendar
from models.staff import Role, Staff, require_after_sales, require_supervisor

ESCALATE_AFTER = timedelta(days=2)


class ComplaintStatus(StrEnum):
    answered = "answered"  # answered on the call; closed
    researching = "researching"
    escalated = "escalated"  # with the supervisor
    solved = "solved"  # solution found; the customer still to be told
    told = "told"  # the customer was told the solution; closed


OPEN = frozenset({ComplaintStatus.researching, ComplaintStatus.escalated,
                  ComplaintStatus.solved})


class Complaint(SQLModel, table=True):
    __tablename__ = "complaint"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    call_log_id: int | None = Field(default=None, foreign_key="call_log.id")
    clerk_id: int = Field(foreign_key="staff.id", index=True)  # who follows it up
    text: str = Field(max_length=2000)
    status: str = Field(max_length=16, index=True)
    opened_at: datetime = Field(sa_type=UTCDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    solution: str | None = Field(default=None, max_length=2000)
    solved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    solved_by: int | None = Field(default=None, foreign_key="staff.id")
    told_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    callback_reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    callback_late_reported_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ComplaintEvent(SQLModel, table=True):
    __tablename__ = "complaint_event"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    action: str = Field(max_length=32)  # opened, escalated, assigned_back, solved, told
    note: str | None = Field(default=None, max_length=2000)


def _event(session: AsyncSession, complaint: Complaint, action: str, now: datetime,
           actor: Actor | None, note: str | None = None) -> None:
    session.add(ComplaintEvent(complaint_id=id_of(complaint),
                               at=now, staff_id=actor.staff_id if actor else None,
                               action=action, note=note))
    audit.record(session, now=now, actor=actor, action=f"complaint.{action}",
                 entity="complaint", entity_id=complaint.id, after=complaint.status)


async def open_complaint(
    session: AsyncSession, *, customer_id: int, call_log_id: int | None, clerk_id: int,
    text: str, answered_on_call: bool, now: datetime, actor: Actor,
) -> Complaint:
    text = text.strip()
    if not text:
        raise Refused("empty_text")
    complaint = Complaint(
        customer_id=customer_id, call_log_id=call_log_id, clerk_id=clerk_id, text=text[:2000],
        status=ComplaintStatus.answered if answered_on_call else ComplaintStatus.researching,
        opened_at=now, told_at=now if answered_on_call else None,
    )
    session.add(complaint)
    await session.flush()
    _event(session, complaint, "opened", now, actor,
           "answered on the call" if answered_on_call else None)
    return complaint


async def get_complaint(session: AsyncSession, complaint_id: int) -> Complaint:
    complaint = await session.get(Complaint, complaint_id)
    if complaint is None:
        raise Refused("complaint_missing")
    return complaint


async def require_may_solve(session: AsyncSession, complaint: Complaint, staff: Staff,
                            day: date) -> None:
    """Who records a solution: a supervisor, the clerk who follows it up, their stand-in on
    ``day`` (the shop's local date), or the customer's assigned clerk."""
    require_after_sales(staff)
    if staff.has(Role.supervisor):
        return
    customer = await get_customer(session, complaint.customer_id)
    allowed = {complaint.clerk_id, customer.clerk_id,
               (await route(session, complaint.clerk_id, day)).staff_id}
    if staff.id not in allowed:
        clerk = await session.get(Staff, complaint.clerk_id)
        raise Refused("complaint_not_yours", name=clerk.name if clerk else "?")


async def due_for_escalation(session: AsyncSession, *, now: datetime) -> list[Complaint]:
    return list((await session.exec(
        select(Complaint).where(
            Complaint.status == ComplaintStatus.researching,
            col(Complaint.escalated_at).is_(None),
            Complaint.opened_at <= now - ESCALATE_AFTER,
        ).order_by(col(Complaint.id))
    )).all())


async def mark_escalated(session: AsyncSession, *, complaint_id: int, now: datetime) -> bool:
    """After the supervisors got it; only a complaint still being researched moves."""
    result = await session.exec(
        update(Complaint)
        .where(col(Complaint.id) == complaint_id,
               col(Complaint.status) == ComplaintStatus.researching.value)
        .values(status=ComplaintStatus.escalated.value, escalated_at=now)
    )
    if result.rowcount != 1:
        return False
    complaint = await get_complaint(session, complaint_id)
    await session.refresh(complaint)
    _event(session, complaint, "escalated", now, None)
    return True


async def assign_back(
    session: AsyncSession, *, complaint_id: int, supervisor: Staff, note: str | None,
    now: datetime, actor: Actor,
) -> Complaint:
    """The supervisor hands an escalated complaint back to the clerk to keep researching."""
    require_supervisor(supervisor)
    result = await session.exec(
        update(Complaint)
        .where(col(Complaint.id) == complaint_id,
               col(Complaint.status) == ComplaintStatus.escalated.value)
        .values(status=ComplaintStatus.researching.value)
    )
    complaint = await get_complaint(session, complaint_id)
    await session.refresh(complaint)
    if result.rowcount != 1:
        raise Refused("complaint_moved", status=complaint.status)
    _event(session, complaint, "assigned_back", now, actor, note)
    await session.flush()
    return complaint


async def record_solution(
    session: AsyncSession, *, complaint_id: int, staff: Staff, solution: str, now: datetime,
    actor: Actor, calendar: ShopCalendar,
) -> tuple[Complaint, FollowUp | None]:
    """A solution is found: the clerk must tell the customer today (a callback follow-up)."""
    complaint = await get_complaint(session, complaint_id)
    if not (staff.has(Role.supervisor) or staff.id == complaint.clerk_id
            or staff.has(Role.tracking_clerk)):
        raise Refused("not_clerk", name=staff.name)
    solution = solution.strip()
    if not solution:
        raise Refused("empty_text")
    result = await session.exec(
        update(Complaint)
        .where(col(Complaint.id) == complaint_id,
               col(Complaint.status).in_([ComplaintStatus.researching.value,
                                          ComplaintStatus.escalated.value]))
        .values(status=ComplaintStatus.solved.value, solution=solution[:2000], solved_at=now,
                solved_by=staff.id)
    )
    await session.refresh(complaint)
    if result.rowcount != 1:
        raise Refused("complaint_moved", status=complaint.status)
    _event(session, complaint, "solved", now, actor, solution)
    today = calendar.local_date(now)
    callback = await schedule(
        session, key=f"callback:{complaint.id}", kind=FollowUpKind.complaint_callback,
        customer_id=complaint.customer_id, complaint_id=complaint.id, due_from=now,
        due_until=calendar.end_of_day(today), now=now, calendar=calendar,
    )
    if callback is not None:
        callback.remind_at = now  # "the same day": remind at once, even after hours
    await session.flush()
    return complaint, callback


async def mark_told(session: AsyncSession, *, complaint_id: int, now: datetime,
                    actor: Actor) -> Complaint:
    complaint = await get_complaint(session, complaint_id)
    if complaint.status != ComplaintStatus.solved:
        raise Refused("complaint_moved", status=complaint.status)
    complaint.status = ComplaintStatus.told
    complaint.told_at = now
    _event(session, complaint, "told", now, actor)
    await session.flush()
    return complaint


async def history(session: AsyncSession, complaint_id: int) -> list[ComplaintEvent]:
    return list((await session.exec(
        select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint_id)
        .order_by(col(ComplaintEvent.at), col(ComplaintEvent.id))
    )).all())


async def open_for_customer(session: AsyncSession, customer_id: int) -> list[Complaint]:
    return list((await session.exec(
        select(Complaint).where(Complaint.customer_id == customer_id,
                                col(Complaint.status).in_([s.value for s in OPEN]))
    )).all())


async def open_complaints(
    session: AsyncSession, *, clerk_ids: list[int] | None = None, limit: int = 50
) -> list[Complaint]:
    """Still open (researching, escalated, or solved and the customer not told), oldest first;
    only those followed up by ``clerk_ids`` when given."""
    query = select(Complaint).where(col(Complaint.status).in_([s.value for s in OPEN]))
    if clerk_ids is not None:
        query = query.where(col(Complaint.clerk_id).in_(clerk_ids))
    return list((await session.exec(
        query.order_by(col(Complaint.opened_at), col(Complaint.id)).limit(limit)
    )).all())


async def callbacks_not_logged(
    session: AsyncSession, *, since: datetime, until: datetime
) -> list[Complaint]:
    """Solved between ``since`` and ``until`` and the customer not told yet."""
    return list((await session.exec(
        select(Complaint).where(Complaint.status == ComplaintStatus.solved,
                                col(Complaint.solved_at) >= since,
                                col(Complaint.solved_at) < until)
        .order_by(col(Complaint.id))
    )).all())
