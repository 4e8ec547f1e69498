"""Where a card was sent, so a decision can update it on every chat that shows it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import UTCDateTime


class CardKind(StrEnum):
    """What a card is about: the ``kind`` of its ``card_message`` rows (and, for most, the owner
    of its photos), so a decision edits every copy."""

    extra_item = "extra_item"  # W5: the advisors' approve / reject card
    fault_report = "fault_report"  # W4: the front desk's acknowledge card
    lift_watch = "lift_watch"  # N5: the watcher's confirm card
    part_request = "part_request"  # W6: the parts clerks' card
    qc_check = "qc_check"  # W7: a team leader's or inspector's check
    duty_reminder = "duty_reminder"  # W8–W10: a duty area's reminder
    damage_report = "damage_report"  # W8: an equipment damage report
    notice = "notice"  # W11: an invitee's card (ref_id: the invitee row)
    notice_roll = "notice_roll"  # W11: the organiser's attendance card (ref_id: the notice)
    followup = "followup"  # A3, A6, A7: a follow-up call reminder
    complaint = "complaint"  # A6: the supervisors' escalation card
    letter = "letter"  # A8, A10: the clerk's letter task and its overdue notice
    order_technician = "order_technician"  # W1–W7: the technician's living order card
    order_advisor = "order_advisor"  # W1–W7: the advisor's living order card
    plate_mismatch = "plate_mismatch"  # W1: the advisor's alert (ref_id: the order)


class CardMessage(SQLModel, table=True):
    __tablename__ = "card_message"
    __table_args__ = (Index("ix_card_message_chat", "channel", "chat_id", "message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, index=True)  # a CardKind
    ref_id: int = Field(index=True)
    staff_id: int = Field(foreign_key="staff.id")
    channel: str = Field(max_length=16)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    message_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    sent_at: datetime = Field(sa_type=UTCDateTime)


async def cards_of(session: AsyncSession, kind: str, ref_id: int) -> list[CardMessage]:
    return list(
        (
            await session.exec(
                select(CardMessage)
                .where(CardMessage.kind == kind, CardMessage.ref_id == ref_id)
                .order_by(col(CardMessage.id))
            )
        ).all()
    )


async def recipients_of(session: AsyncSession, kind: str, ref_id: int) -> set[int]:
    return {card.staff_id for card in await cards_of(session, kind, ref_id)}


async def card_at(
    session: AsyncSession, channel: str, chat_id: int, message_id: int
) -> CardMessage | None:
    """The card a message is (a clerk replying to a reminder names it this way)."""
    return (
        await session.exec(
            select(CardMessage).where(
                CardMessage.channel == channel,
                CardMessage.chat_id == chat_id,
                CardMessage.message_id == message_id,
            )
        )
    ).first()
