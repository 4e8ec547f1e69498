"""Messages a chat platform refused for now (rate limits, an outage), kept until they go out.

WeCom refuses with 45009/45033 when an app sends too fast; Telegram answers ``RetryAfter``;
either API can be unreachable for a while. After the short in-process back-off, such a
message is written here and a job sends it later, oldest first per chat, so nothing is lost
and a chat's messages keep their order. A message that cannot be delivered at all (the
person left, blocked the bot) or that waited longer than ``GIVE_UP_AFTER`` is marked failed
and kept for the record; a sent one is deleted.

``kind`` says what ``payload`` holds:

* ``wecom``: a raw WeCom ``message/send`` (``userid``, ``msgtype``, ``content``, ``task_id``
  of the message copy it belongs to); the handlers already got their answer.
* ``message``: a notification to one chat (``text``, ``markup``, ``card`` = [kind, ref id],
  ``photos`` = attachment ids), sent as the messenger would have sent it.
* ``file``: a generated file (``filename``, ``photo``, ``caption``) with its bytes in ``data``.
* ``edit``: a new version of a sent card (``message_id``, ``text``, ``markup``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, delete, func, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import UTCDateTime

FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(minutes=30)
GIVE_UP_AFTER = timedelta(days=2)
KINDS = ("wecom", "message", "file", "edit")


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "failed_at", "not_before"),
        Index("ix_outbox_chat", "channel", "chat_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    kind: str = Field(max_length=16)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    data: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = Field(sa_type=UTCDateTime)
    not_before: datetime = Field(sa_type=UTCDateTime)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=255)
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def new_message(
    *, channel: str, chat_id: int, kind: str, payload: dict[str, Any], now: datetime,
    staff_id: int | None = None, data: bytes | None = None, error: str | None = None,
    retry_after: float | None = None,
) -> OutboxMessage:
    """A message to keep; the first try comes after ``retry_after`` seconds (the platform's
    own hint) or ``FIRST_RETRY``."""
    assert kind in KINDS, kind
    wait = timedelta(seconds=retry_after) if retry_after else FIRST_RETRY
    return OutboxMessage(
        channel=channel, chat_id=chat_id, staff_id=staff_id, kind=kind, payload=payload,
        data=data, created_at=now, not_before=now + min(wait, LONGEST_WAIT), attempts=0,
        last_error=(error or "")[:255] or None,
    )


def next_try(message: OutboxMessage, now: datetime, retry_after: float | None = None
             ) -> datetime | None:
    """When to try again after one more refusal: doubling from ``FIRST_RETRY`` up to
    ``LONGEST_WAIT`` (never sooner than the platform asked); None once it waited too long."""
    if now - message.created_at >= GIVE_UP_AFTER:
        return None
    wait = min(FIRST_RETRY * (2 ** min(message.attempts, 10)), LONGEST_WAIT)
    if retry_after:
        wait = max(wait, timedelta(seconds=retry_after))
    return now + wait


async def due(session: AsyncSession, now: datetime, *, limit: int = 200
              ) -> list[OutboxMessage]:
    """Messages to try now, oldest first. A chat whose oldest message is not due yet is left
    out entirely, so a later message never overtakes an earlier one."""
    waiting = (
        select(OutboxMessage.channel, OutboxMessage.chat_id)
        .where(col(OutboxMessage.failed_at).is_(None), OutboxMessage.not_before > now)
    )
    held = {(channel, chat_id) for channel, chat_id in (await session.exec(waiting)).all()}
    rows = (
        await session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.failed_at).is_(None), OutboxMessage.not_before <= now)
            .order_by(col(OutboxMessage.id))
            .limit(limit)
        )
    ).all()
    return [row for row in rows if (row.channel, row.chat_id) not in held]


async def waiting_chats(session: AsyncSession) -> set[tuple[str, int]]:
    """(channel, chat id) of every chat with messages still to go out."""
    rows = (
        await session.exec(
            select(OutboxMessage.channel, OutboxMessage.chat_id)
            .where(col(OutboxMessage.failed_at).is_(None)).distinct()
        )
    ).all()
    return {(channel, chat_id) for channel, chat_id in rows}


async def mark_sent(session: AsyncSession, message_id: int) -> None:
    await session.exec(
        delete(OutboxMessage).where(col(OutboxMessage.id) == message_id)
    )


async def photos_sent(session: AsyncSession, message: OutboxMessage, *,
                      left: Sequence[int] = (), not_shown: int = 0) -> None:
    """The photos of a kept notification went out (all but ``left``, still to send); a retry
    of its text must not resend them. ``not_shown`` of them could not be shown at all: the
    text says so when it goes."""
    message.payload = {**message.payload, "photos": list(left)}
    if not_shown:
        message.payload["photos_not_shown"] = not_shown
    await session.exec(
        update(OutboxMessage).where(col(OutboxMessage.id) == message.id)
        .values(payload=message.payload)
    )


async def mark_refused(session: AsyncSession, message: OutboxMessage, now: datetime, *,
                       error: str, retry_after: float | None = None) -> bool:
    """One more try failed for now; False when the message is given up (marked failed)."""
    when = next_try(message, now, retry_after)
    values: dict[str, Any] = {"attempts": message.attempts + 1, "last_error": error[:255]}
    if when is None:
        values["failed_at"] = now
    else:
        values["not_before"] = when
    await session.exec(
        update(OutboxMessage).where(col(OutboxMessage.id) == message.id).values(**values)
    )
    return when is not None


async def mark_failed(session: AsyncSession, message: OutboxMessage, now: datetime, *,
                      error: str) -> None:
    """The message can never be delivered (the person is unreachable): kept, not retried."""
    await session.exec(
        update(OutboxMessage).where(col(OutboxMessage.id) == message.id)
        .values(attempts=message.attempts + 1, last_error=error[:255], failed_at=now)
    )


async def counts(session: AsyncSession) -> tuple[int, int]:
    """(waiting, failed) messages, for the health check and the CLI."""
    total, failed = (
        await session.exec(
            select(func.count(), func.count(col(OutboxMessage.failed_at)))
        )
    ).one()
    return int(total) - int(failed), int(failed)


async def listing(session: AsyncSession, *, failed: bool | None = None, limit: int = 200
                  ) -> list[OutboxMessage]:
    """Kept messages, oldest first: all, only the failed ones, or only those still waiting."""
    query = select(OutboxMessage).order_by(col(OutboxMessage.id)).limit(limit)
    if failed is True:
        query = query.where(col(OutboxMessage.failed_at).is_not(None))
    elif failed is False:
        query = query.where(col(OutboxMessage.failed_at).is_(None))
    return list((await session.exec(query)).all())


async def retry_failed(session: AsyncSession, ids: list[int] | None, now: datetime) -> int:
    """Put failed messages back in the queue (all of them when ``ids`` is None), as if kept
    ``now``: tried at the next run, given up two days from now. Returns how many."""
    query = (
        update(OutboxMessage)
        .where(col(OutboxMessage.failed_at).is_not(None))
        .values(failed_at=None, not_before=now, created_at=now, attempts=0)
    )
    if ids is not None:
        query = query.where(col(OutboxMessage.id).in_(ids))
    result = await session.exec(query)
    return int(result.rowcount or 0)


def preview(message: OutboxMessage, width: int = 40) -> str:
    """A line saying what the message is, for the operator."""
    payload = message.payload or {}
    if message.kind == "file":
        text = f"[file] {payload.get('filename', '')}"
    elif message.kind == "wecom":
        content = payload.get("content") or {}
        if payload.get("msgtype") == "template_card":
            text = "[card] " + str((content.get("main_title") or {}).get("title", ""))
        else:
            text = str(content.get("content") or f"[{payload.get('msgtype')}]")
    else:
        text = str(payload.get("text", ""))
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
