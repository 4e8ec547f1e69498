"""Where a card was sent, so a decision can update it on every chat that shows it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import UTCDateTime


class CardMessage(SQLModel, table=True):
    __tablename__ = "card_message"
    __table_args__ = (Index("ix_card_message_chat", "channel", "chat_id", "message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, index=True)  # "extra_item", "fault_report", …
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
                .order_by(CardMessage.id)  # type: ignore[arg-type]
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
