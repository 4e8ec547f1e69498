"""The call log (跟踪记录表, A9; topics A4, what was said before A7): every follow-up call,
outbound or inbound, written down.

Logging a call closes its follow-up (the first log wins), schedules what comes next — the
second call after a reached first call, the invitation letter after a campaign call, the
complaint's "customer told" after a callback — and opens a complaint when there is one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.audit import Actor
from models.complaint import Complaint, mark_told, open_complaint
from models.customer import get_customer
from models.db import UTCDateTime, id_of
from models.followup import (
    FollowUp,
    FollowUpKind,
    close_done,
    get_followup,
    schedule_second_call,
)
from models.rules import Refused
from models.shop_time import ShopCalendar
from models.staff import Staff


class Topic(StrEnum):
    """The seven things a follow-up call covers (A4, 售后服务工作的内容 3(1)–(7))."""

    usage_opinion = "usage_opinion"  # 用车情况和对本公司服务的意见
    new_needs = "new_needs"  # 近期有无新的服务需求
    care_tips = "care_tips"  # 汽车运用知识和注意事项
    new_services = "new_services"  # 本公司近期的新服务
    events = "events"  # 优惠联谊活动：内容、日期、地址
    consultation = "consultation"  # 咨询服务
    visit = "visit"  # 走访客户


class Direction(StrEnum):
    outbound = "outbound"
    inbound = "inbound"


class CallLog(SQLModel, table=True):
    __tablename__ = "call_log"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    followup_id: int | None = Field(default=None, foreign_key="follow_up.id", index=True)
    clerk_id: int = Field(foreign_key="staff.id", index=True)  # who made or took the call
    on_behalf_of: int | None = Field(default=None, foreign_key="staff.id")  # stand-in for
    direction: str = Field(default=Direction.outbound, max_length=8)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    reached: bool = True
    topics: str = Field(default="", max_length=200)  # comma-separated Topic values
    satisfaction: int | None = None  # 1..5
    notes: str = Field(default="", max_length=4000)
    request: str | None = Field(default=None, max_length=2000)

    @property
    def topic_list(self) -> list[Topic]:
        return [Topic(t) for t in self.topics.split(",") if t]


@dataclass(frozen=True)
class CallLogged:
    call: CallLog
    followup: FollowUp | None
    next_followup: FollowUp | None
    complaint: Complaint | None
    letter_id: int | None


MAX_NOTES = 4000


async def log_call(
    session: AsyncSession,
    *,
    clerk: Staff,
    customer_id: int,
    followup_id: int | None,
    reached: bool,
    topics: list[Topic],
    satisfaction: int | None,
    notes: str,
    request: str | None,
    answered_on_call: bool,
    now: datetime,
    actor: Actor,
    calendar: ShopCalendar,
    second_call_window: tuple[int, int],
    letter_within_days: int = 2,
    direction: Direction = Direction.outbound,
) -> CallLogged:
    """Record the call; a follow-up that is already logged refuses (a reply to an old reminder)."""
    from models.letter import LetterKind, schedule_letter

    if satisfaction is not None and not 1 <= satisfaction <= 5:
        raise Refused("satisfaction_invalid")
    notes = notes.strip()
    if len(notes) > MAX_NOTES:
        raise Refused("too_long", limit=MAX_NOTES)
    customer = await get_customer(session, customer_id)
    followup: FollowUp | None = None
    if followup_id is not None:
        followup = await get_followup(session, followup_id)
        if followup.customer_id != customer_id:
            raise Refused("followup_missing")
    on_behalf_of = customer.clerk_id if customer.clerk_id not in (None, clerk.id) else None
    call = CallLog(
        customer_id=customer_id, followup_id=followup_id, clerk_id=id_of(clerk),
        on_behalf_of=on_behalf_of, direction=direction, at=now, reached=reached,
        topics=",".join(t.value for t in dict.fromkeys(topics)), satisfaction=satisfaction,
        notes=notes, request=(request or "").strip() or None,
    )
    next_followup = None
    letter_id = None
    complaint = None
    if followup is not None and reached:
        followup = await close_done(session, followup_id=id_of(followup),
                                    staff_id=id_of(clerk), now=now)
    session.add(call)
    await session.flush()
    if followup is not None and reached:
        kind = FollowUpKind(followup.kind)
        if kind is FollowUpKind.first_call:
            next_followup = await schedule_second_call(
                session, first=followup, called_on=calendar.local_date(now),
                window=second_call_window, now=now, calendar=calendar,
            )
        elif kind is FollowUpKind.campaign and followup.campaign_id is not None:
            letter = await schedule_letter(
                session, customer_id=customer_id, kind=LetterKind.invitation,
                campaign_id=followup.campaign_id, followup_id=followup.id,
                due_at=calendar.end_of_day(calendar.local_date(now))
                if letter_within_days == 0 else
                calendar.window(calendar.local_date(now), 0, letter_within_days)[1],
                clerk_id=id_of(clerk), now=now,
            )
            letter_id = letter.id if letter else None
        elif kind is FollowUpKind.complaint_callback and followup.complaint_id is not None:
            await mark_told(session, complaint_id=followup.complaint_id, now=now, actor=actor)
    if call.request:
        complaint = await open_complaint(
            session, customer_id=customer_id, call_log_id=id_of(call), clerk_id=id_of(clerk),
            text=call.request, answered_on_call=answered_on_call, now=now, actor=actor,
        )
    audit.record(session, now=now, actor=actor, action="call.log", entity="call_log",
                 entity_id=call.id, followup_id=followup_id, reached=reached,
                 direction=direction.value)
    await session.flush()
    return CallLogged(call, followup, next_followup, complaint, letter_id)


async def calls_of(session: AsyncSession, customer_id: int, limit: int = 20) -> list[CallLog]:
    return list((await session.exec(
        select(CallLog).where(CallLog.customer_id == customer_id)
        .order_by(col(CallLog.at).desc(), col(CallLog.id).desc()).limit(limit)
    )).all())


async def last_call(session: AsyncSession, customer_id: int) -> CallLog | None:
    calls = await calls_of(session, customer_id, limit=1)
    return calls[0] if calls else None
