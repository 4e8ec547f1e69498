"""Where a card was sent, so a decision can update it on every chat that shows it."""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel, col, delete, select
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
    """Every copy of a card, oldest first: stored, and (within an update) sent or retired by
    it so far (:class:`CardBook`)."""
    stored = (await session.exec(
        select(CardMessage)
        .where(CardMessage.kind == kind, CardMessage.ref_id == ref_id)
        .order_by(col(CardMessage.id))
    )).all()
    book = current_book()
    if book is None:
        return list(stored)
    return [card for card in stored if card.id not in book.removed] + [
        card for card in book.added if card.kind == kind and card.ref_id == ref_id]


async def recipients_of(session: AsyncSession, kind: str, ref_id: int) -> set[int]:
    return {card.staff_id for card in await cards_of(session, kind, ref_id)}


async def card_at(
    session: AsyncSession, channel: str, chat_id: int, message_id: int
) -> CardMessage | None:
    """The card a message is (a clerk replying to a reminder names it this way)."""
    book = current_book()
    for card in book.added if book is not None else ():
        if (card.channel, card.chat_id, card.message_id) == (channel, chat_id, message_id):
            return card
    found = (
        await session.exec(
            select(CardMessage).where(
                CardMessage.channel == channel,
                CardMessage.chat_id == chat_id,
                CardMessage.message_id == message_id,
            )
        )
    ).first()
    return None if found is not None and book is not None and found.id in book.removed \
        else found


# --- the copies one update sent and retired -------------------------------------------------
# A copy's message id is known only once it is sent, and it is sent only after the decision it
# shows was committed; recording it in a commit of its own made two or three commits per update.
# Within an update (begun and ended by ``bot.application``) the copies go into the update's
# book instead and are written with its last transaction, the one that saves the conversation
# states (``bot.persistence``). Outside an update (jobs) they are added to the session as
# before. Reads (``cards_of``, ``card_at``) see the book, so an update that sends a card and
# then edits it edits the copy it sent.


class CardBook:
    """The card copies an update sent (rows without ids yet) and retired (ids)."""

    def __init__(self, task: asyncio.Task[Any] | None = None) -> None:
        self.task = task
        self.added: list[CardMessage] = []
        self.removed: set[int] = set()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)

    def take(self, other: CardBook) -> None:
        """Take on what ``other`` has not written yet (an earlier update's, a refused write)."""
        self.added.extend(other.added)
        self.removed |= other.removed
        other.added, other.removed = [], set()

    async def write(self, session: AsyncSession) -> None:
        """Add the sent copies and delete the retired ones in ``session``'s transaction (the
        caller commits). Copies of the rows are added, so a refused write can be tried again."""
        if self.removed:
            await session.exec(delete(CardMessage).where(
                col(CardMessage.id).in_(sorted(self.removed))))
        session.add_all([CardMessage.model_validate(card.model_dump(exclude={"id"}))
                         for card in self.added])


_book: ContextVar[CardBook | None] = ContextVar("card_book", default=None)


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no event loop
        return None


def begin_book() -> CardBook | None:
    """Start an update's book in this task; returns the one an earlier update left unwritten
    (it stopped before its saving step), for the caller to write with this one."""
    left = end_book()
    _book.set(CardBook(_current_task()))
    return left if left else None


def end_book() -> CardBook | None:
    """The update's book, no longer written to (None: no update began in this task)."""
    book = current_book()
    _book.set(None)
    return book


def current_book() -> CardBook | None:
    """The book of the update this task is handling; None in a job, or in a task that merely
    inherited the context of an update (a job scheduled from one)."""
    book = _book.get()
    return book if book is not None and book.task is _current_task() else None


def remember_card(session: AsyncSession, card: CardMessage) -> None:
    """Record a sent copy: into the update's book, or ``session`` outside an update."""
    book = current_book()
    if book is None:
        session.add(card)
    else:
        book.added.append(card)


async def retire_card(session: AsyncSession, card: CardMessage) -> None:
    """Forget a copy (a newer one went out, or its reader no longer decides): through the
    update's book, or ``session`` outside an update."""
    book = current_book()
    if book is None:
        await session.delete(card)
    elif card.id is None:
        book.added = [added for added in book.added if added is not card]
    else:
        book.removed.add(card.id)
