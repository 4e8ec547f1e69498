"""What a clerk should know before calling (A3, A7): the facts a reminder card is drawn from.

Gathered from the archive when the reminder goes out, so the card shows the customer as they
are now: the next maintenance, the services they want, complaints still open, events coming
up, and what the last call already covered so the second call brings something new.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from models.call_log import CallLog, last_call
from models.campaign import Campaign, upcoming
from models.complaint import Complaint, open_for_customer
from models.customer import Customer, Vehicle, Visit, get_customer, vehicles_of
from models.followup import FollowUp
from models.staff import Staff

UPCOMING_DAYS = 60


@dataclass(frozen=True)
class TalkingPoints:
    followup: FollowUp
    customer: Customer
    clerk: Staff | None  # the customer's assigned clerk
    vehicle: Vehicle | None
    visit: Visit | None  # what started the follow-up (a repair or a consultation)
    campaign: Campaign | None  # the event a campaign call invites to
    complaint: Complaint | None  # the complaint a callback answers
    open_complaints: list[Complaint]
    upcoming: list[Campaign]  # other events in the next weeks
    last_call: CallLog | None
    last_caller: Staff | None

    @property
    def plate(self) -> str:
        return self.vehicle.plate if self.vehicle else "—"

    @property
    def next_maintenance_on(self) -> date | None:
        return self.vehicle.next_maintenance_on if self.vehicle else None


async def gather(
    session: AsyncSession, followup: FollowUp, *, today: date,
    campaigns: list[Campaign] | None = None,
) -> TalkingPoints:
    """``campaigns``: the upcoming events when the caller already has them (one job run)."""
    customer = await get_customer(session, followup.customer_id)
    vehicle = await session.get(Vehicle, followup.vehicle_id) if followup.vehicle_id else None
    if vehicle is None:
        vehicles = await vehicles_of(session, followup.customer_id)
        vehicle = vehicles[0] if vehicles else None
    visit = await session.get(Visit, followup.visit_id) if followup.visit_id else None
    campaign = (await session.get(Campaign, followup.campaign_id)
                if followup.campaign_id else None)
    complaint = (await session.get(Complaint, followup.complaint_id)
                 if followup.complaint_id else None)
    if campaigns is None:
        campaigns = await upcoming(session, today=today, days=UPCOMING_DAYS)
    call = await last_call(session, followup.customer_id)
    clerk = await session.get(Staff, customer.clerk_id) if customer.clerk_id else None
    caller = await session.get(Staff, call.clerk_id) if call is not None else None
    return TalkingPoints(
        followup=followup, customer=customer, clerk=clerk, vehicle=vehicle, visit=visit,
        campaign=campaign, complaint=complaint,
        open_complaints=[c for c in await open_for_customer(session, followup.customer_id)
                         if c.id != followup.complaint_id],
        upcoming=[c for c in campaigns if c.id != followup.campaign_id],
        last_call=call, last_caller=caller,
    )
