"""Letters (跟踪服务信函登记表, A10; campaign letters A8): every notice, invitation and reply
letter, registered."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import or_, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.audit import Actor
from models.db import UTCDateTime
from models.rules import Refused


class LetterKind(StrEnum):
    notice = "notice"  # 通知
    invitation = "invitation"  # 邀请函
    reply = "reply"  # 答复函


class LetterChannel(StrEnum):
    post = "post"
    email = "email"
    wechat = "wechat"
    sms = "sms"
    by_hand = "by_hand"


class Letter(SQLModel, table=True):
    __tablename__ = "letter"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    kind: str = Field(max_length=16)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", index=True)
    followup_id: int | None = Field(default=None, foreign_key="follow_up.id", unique=True)
    clerk_id: int = Field(foreign_key="staff.id", index=True)
    summary: str = Field(default="", max_length=500)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    channel: str | None = Field(default=None, max_length=16)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


async def schedule_letter(
    session: AsyncSession, *, customer_id: int, kind: LetterKind, clerk_id: int,
    due_at: datetime, now: datetime, campaign_id: int | None = None,
    followup_id: int | None = None, summary: str = "",
) -> Letter | None:
    """A letter still to send; one per follow-up at most."""
    if followup_id is not None:
        existing = (await session.exec(
            select(Letter).where(Letter.followup_id == followup_id))).first()
        if existing is not None:
            return None
    letter = Letter(customer_id=customer_id, kind=kind, campaign_id=campaign_id,
                    followup_id=followup_id, clerk_id=clerk_id, summary=summary[:500],
                    due_at=due_at, created_at=now)
    session.add(letter)
    await session.flush()
    return letter


async def get_letter(session: AsyncSession, letter_id: int) -> Letter:
    letter = await session.get(Letter, letter_id)
    if letter is None:
        raise Refused("letter_missing")
    return letter


async def record_sent(
    session: AsyncSession, *, letter_id: int, channel: LetterChannel, sent_at: datetime,
    clerk_id: int, now: datetime, actor: Actor, summary: str | None = None,
) -> Letter:
    """Register a letter as sent; registering it twice is refused."""
    if sent_at > now:
        raise Refused("time_in_future")
    values: dict[str, object] = {"sent_at": sent_at, "channel": channel.value,
                                 "clerk_id": clerk_id}
    if summary:
        values["summary"] = summary[:500]
    result = await session.exec(
        update(Letter).where(col(Letter.id) == letter_id, col(Letter.sent_at).is_(None))
        .values(**values)
    )
    letter = await session.get(Letter, letter_id)
    if letter is None:
        raise Refused("letter_missing")
    await session.refresh(letter)
    if result.rowcount != 1:
        raise Refused("letter_already_sent", at=letter.sent_at)
    audit.record(session, now=now, actor=actor, action="letter.sent", entity="letter",
                 entity_id=letter_id, channel=channel.value)
    await session.flush()
    return letter


async def register_letter(
    session: AsyncSession, *, customer_id: int, kind: LetterKind, channel: LetterChannel,
    summary: str, clerk_id: int, sent_at: datetime, now: datetime, actor: Actor,
) -> Letter:
    """A letter sent outside any campaign (a notice, a reply to a customer)."""
    if not summary.strip():
        raise Refused("empty_text")
    letter = Letter(customer_id=customer_id, kind=kind, clerk_id=clerk_id,
                    summary=summary.strip()[:500], sent_at=sent_at, channel=channel,
                    created_at=now)
    session.add(letter)
    await session.flush()
    audit.record(session, now=now, actor=actor, action="letter.register", entity="letter",
                 entity_id=letter.id, channel=channel.value)
    return letter


async def due_letters(session: AsyncSession, *, now: datetime) -> list[Letter]:
    """Letters to send whose reminder has not gone out yet (reminded once when created)."""
    return list((await session.exec(
        select(Letter).where(col(Letter.sent_at).is_(None), col(Letter.reminded_at).is_(None),
                             col(Letter.due_at).is_not(None))
        .order_by(col(Letter.id))
    )).all())


async def overdue_letters(session: AsyncSession, *, now: datetime) -> list[Letter]:
    """Unsent at their due time and not yet reported as overdue.

    ``reminded_at`` says what went out last: before ``due_at`` it was the first reminder, on
    or after ``due_at`` it was the overdue notice, so each goes out once without a column of
    its own.
    """
    return list((await session.exec(
        select(Letter).where(
            col(Letter.sent_at).is_(None), col(Letter.due_at).is_not(None),
            col(Letter.due_at) <= now,
            or_(col(Letter.reminded_at).is_(None),
                col(Letter.reminded_at) < col(Letter.due_at)),
        ).order_by(col(Letter.id))
    )).all())


async def unsent_for_customer(session: AsyncSession, customer_id: int) -> list[Letter]:
    """Letter tasks of a customer still to send (``/letter`` offers them before a new one)."""
    return list((await session.exec(
        select(Letter).where(Letter.customer_id == customer_id, col(Letter.sent_at).is_(None))
        .order_by(col(Letter.due_at), col(Letter.id))
    )).all())
