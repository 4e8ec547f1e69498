"""Campaigns (A8): events, offers, free-inspection weeks. Each chosen customer gets a call
14 days ahead, and an invitation letter within 2 days of the call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.audit import Actor
from models.customer import Customer, Vehicle, Visit
from models.db import UTCDateTime
from models.followup import FollowUpKind, schedule
from models.rules import Refused
from models.shop_time import ShopCalendar

CALL_DAYS_AHEAD = 14
CALL_WINDOW_DAYS = 3  # the call is due on day −14 and overdue after day −12


class CampaignKind(StrEnum):
    event = "event"  # 联谊活动
    offer = "offer"  # 优惠服务月
    free_inspection = "free_inspection"  # 免费检测周
    talk = "talk"  # 汽车运用新知识晚会
    other = "other"


class Audience(StrEnum):
    all = "all"
    model = "model"  # customers with a vehicle of this model (contains, case-insensitive)
    visited_since = "visited_since"  # customers with a visit on or after a date
    not_visited_since = "not_visited_since"  # customers whose last visit is before a date


class Campaign(SQLModel, table=True):
    __tablename__ = "campaign"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=24)
    title: str = Field(max_length=100)
    content: str = Field(max_length=2000)
    event_on: date
    address: str = Field(default="", max_length=200)
    audience: str = Field(max_length=24)
    audience_value: str | None = Field(default=None, max_length=64)
    created_by: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = Field(sa_type=UTCDateTime)


def audience_query(audience: Audience, value: str | None, calendar: ShopCalendar):
    """The ids of the customers a campaign reaches."""
    query = select(Customer.id)
    if audience is Audience.model:
        if not (value or "").strip():
            raise Refused("audience_value_missing")
        return query.where(col(Customer.id).in_(
            select(Vehicle.customer_id).where(
                func.lower(Vehicle.model).contains((value or "").strip().lower()))
        ))
    if audience in (Audience.visited_since, Audience.not_visited_since):
        try:
            since = date.fromisoformat((value or "").strip())
        except ValueError:
            raise Refused("date_invalid") from None
        recent = select(Visit.customer_id).where(
            col(Visit.visited_at) >= calendar.start_of_day(since))
        if audience is Audience.visited_since:
            return query.where(col(Customer.id).in_(recent))
        return query.where(col(Customer.id).not_in(recent))
    return query


async def count_audience(
    session: AsyncSession, audience: Audience, value: str | None, calendar: ShopCalendar
) -> int:
    subquery = audience_query(audience, value, calendar).subquery()
    return (await session.exec(select(func.count()).select_from(subquery))).one()


@dataclass(frozen=True)
class CampaignCreated:
    campaign: Campaign
    calls: int


async def create_campaign(
    session: AsyncSession, *, kind: CampaignKind, title: str, content: str, event_on: date,
    address: str, audience: Audience, audience_value: str | None, now: datetime,
    actor: Actor, calendar: ShopCalendar,
) -> CampaignCreated:
    """A call task per chosen customer, due 14 days before the event (or at once if later)."""
    if event_on <= calendar.local_date(now):
        raise Refused("date_in_past")
    if not title.strip() or not content.strip():
        raise Refused("empty_text")
    customer_ids = list(
        (await session.exec(audience_query(audience, audience_value, calendar))).all()
    )
    if not customer_ids:
        raise Refused("no_customers")
    campaign = Campaign(kind=kind, title=title.strip()[:100], content=content.strip()[:2000],
                        event_on=event_on, address=address.strip()[:200], audience=audience,
                        audience_value=audience_value, created_by=actor.staff_id,
                        created_at=now)
    session.add(campaign)
    await session.flush()
    call_day = event_on - timedelta(days=CALL_DAYS_AHEAD)
    due_from, due_until = calendar.window(call_day, 0, CALL_WINDOW_DAYS - 1)
    if due_until <= now:  # the event is close: call from today until the day before it
        due_from, due_until = now, calendar.start_of_day(event_on)
    for customer_id in customer_ids:
        await schedule(
            session, key=f"camp:{campaign.id}:{customer_id}", kind=FollowUpKind.campaign,
            customer_id=customer_id, campaign_id=campaign.id, due_from=due_from,
            due_until=due_until, now=now, calendar=calendar,
        )
    audit.record(session, now=now, actor=actor, action="campaign.create", entity="campaign",
                 entity_id=campaign.id, customers=len(customer_ids))
    await session.flush()
    return CampaignCreated(campaign, len(customer_ids))


async def upcoming(session: AsyncSession, *, today: date, days: int = 60) -> list[Campaign]:
    return list((await session.exec(
        select(Campaign).where(Campaign.event_on >= today,
                               Campaign.event_on <= today + timedelta(days=days))
        .order_by(col(Campaign.event_on))
    )).all())
