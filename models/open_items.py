"""What waits for one person, counted: the open items a plain message outside any step points
to (``handlers.staff.pointer``). Each count is what the person's own list command shows (or its
first page): /orders, /approvals, /deliver, /qc, /parts, /today, /complaints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from models.approvals import waiting_for
from models.complaint import open_complaints
from models.db import id_of
from models.followup import FollowUpStatus, day_bounds, day_list
from models.parts import open_requests
from models.qc import waiting_checks
from models.shop_time import ShopCalendar
from models.staff import AFTER_SALES, Role, Staff
from models.visit_flow import deliverable_orders
from models.work_order import orders_of_advisor, orders_of_technician


@dataclass(frozen=True)
class OpenItems:
    orders: int = 0  # on the floor with me, or opened by me and not closed
    approvals: int = 0  # extra items and fault reports waiting for me (or, on duty, any advisor)
    deliveries: int = 0  # my cars ready to hand back
    checks: int = 0  # QC checks I may decide
    parts: int = 0  # part requests waiting for a clerk
    calls: int = 0  # follow-up calls open today (or overdue)
    complaints: int = 0  # complaints still open

    def any(self) -> bool:
        return any((self.orders, self.approvals, self.deliveries, self.checks, self.parts,
                    self.calls, self.complaints))


async def open_items(session: AsyncSession, staff: Staff, *, now: datetime,
                     calendar: ShopCalendar) -> OpenItems:
    me = id_of(staff)
    orders: set[int] = set()
    approvals = deliveries = checks = parts = calls = complaints = 0
    if staff.has(Role.technician, Role.team_leader):
        orders |= {id_of(o) for o in await orders_of_technician(session, me)}
    if staff.has(Role.advisor):
        orders |= {id_of(o) for o in await orders_of_advisor(session, me)}
        approvals = len(await waiting_for(session, staff))  # what /approvals lists
        deliveries = len(await deliverable_orders(session, me))
    if staff.has(Role.team_leader, Role.inspector):
        checks = len(await waiting_checks(session, staff))
    if staff.has(Role.parts_clerk):
        parts = len(await open_requests(session))
    if staff.active and staff.has(*AFTER_SALES):
        everyone = staff.has(Role.supervisor)
        start, end = day_bounds(calendar, now)
        rows = await day_list(session, start=start, end=end, now=now,
                              clerk_ids=None if everyone else [me])
        calls = sum(1 for followup, _ in rows if followup.status == FollowUpStatus.open)
        complaints = len(await open_complaints(session, clerk_ids=None if everyone else [me]))
    return OpenItems(orders=len(orders), approvals=approvals, deliveries=deliveries,
                     checks=checks, parts=parts, calls=calls, complaints=complaints)
