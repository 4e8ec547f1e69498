"""The WeCom channel's own records: who a chat id is, what each sent message became on WeCom,
which callbacks were taken in and handled (WeCom resends, attackers replay), and the recent
sends each member's limits count (every worker's, across restarts).

A WeCom ``userid`` is a string; the handlers speak Telegram's integer chat ids, so each userid
gets a stable chat id (``wecom_chat_id``) and ``WeComUser`` remembers the way back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
    delete,
    or_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import UTCDateTime
from models.staff import ChatAccount


def wecom_chat_id(userid: str) -> int:
    """A stable chat id for a WeCom ``userid``: positive, below 2**53 so JSON keeps it exact."""
    digest = hashlib.sha256(userid.encode("utf-8")).digest()
    return (int.from_bytes(digest[:8], "big") >> 11) or 1


class WeComUser(SQLModel, table=True):
    """A WeCom member who wrote to the app (bound or not: strangers get an answer too)."""

    __tablename__ = "wecom_user"
    __table_args__ = (
        PrimaryKeyConstraint("chat_id", name="pk_wecom_user"),
        UniqueConstraint("userid", name="uq_wecom_user_userid"),
    )

    chat_id: int = Field(sa_column=Column(BigInteger, autoincrement=False, nullable=False))
    userid: str = Field(max_length=64)
    seen_at: datetime = Field(sa_type=UTCDateTime)


class WeComMessage(SQLModel, table=True):
    """One message the bot sent on WeCom. ``message_id`` is the Telegram id the handlers know;
    a message that WeCom cannot edit is sent again as a new copy with the same ``message_id``.
    """

    __tablename__ = "wecom_message"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_wecom_message"),
        UniqueConstraint("task_id", name="uq_wecom_message_task_id"),
        Index("ix_wecom_message_chat", "chat_id", "message_id"),
        Index("ix_wecom_message_msgid", "msgid"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(max_length=8)  # text, list, card, more (a card's rest), image, file, alert
    part: int = Field(default=0)  # a long text goes out in parts
    msgid: str | None = Field(default=None, max_length=128)
    task_id: str | None = Field(default=None, max_length=128)
    response_code: str | None = Field(default=None, max_length=255)
    code_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # [[label, callback data], …]: a card's buttons, a numbered list's options
    options: list[Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    sent_at: datetime = Field(sa_type=UTCDateTime)


class WeComInbound(SQLModel, table=True):
    """A callback taken in (keyed by MsgId, or FromUserName+CreateTime+event for events),
    written before WeCom gets its 200: ``fields`` is the decrypted message, ``handled_at``
    says it reached the handlers (at most once), ``claimed_until`` that a worker is on it."""

    __tablename__ = "wecom_inbound"
    __table_args__ = (
        PrimaryKeyConstraint("key", name="pk_wecom_inbound"),
        Index("ix_wecom_inbound_received_at", "received_at"),
    )

    key: str = Field(max_length=200)
    received_at: datetime = Field(sa_type=UTCDateTime)
    fields: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WeComSend(SQLModel, table=True):
    """One message that reached WeCom for a member, stamped when the send completed: WeCom's
    per-member limits (30 a minute, 1,000 an hour) counted by every worker, across restarts.
    ``key`` is made by the sender, so a worker tells its own rows from the others'."""

    __tablename__ = "wecom_send"
    __table_args__ = (
        PrimaryKeyConstraint("key", name="pk_wecom_send"),
        Index("ix_wecom_send_member", "userid", "sent_at"),
        Index("ix_wecom_send_sent_at", "sent_at"),
    )

    key: str = Field(max_length=32)
    userid: str = Field(max_length=64)
    sent_at: datetime = Field(sa_type=UTCDateTime)


# --- users -----------------------------------------------------------------------------------


async def remember_user(session: AsyncSession, userid: str, *, now: datetime) -> int:
    chat_id = wecom_chat_id(userid)
    row = await session.get(WeComUser, chat_id)
    if row is None:
        session.add(WeComUser(chat_id=chat_id, userid=userid, seen_at=now))
    elif row.userid != userid:  # two userids on one hash: never seen, but never mix them up
        raise ValueError(f"chat id {chat_id} is taken by another userid")
    else:
        row.seen_at = now
    return chat_id


async def userid_for(session: AsyncSession, chat_id: int) -> str | None:
    """The userid behind a chat id: someone who wrote, or someone bound on the command line."""
    row = await session.get(WeComUser, chat_id)
    if row is not None:
        return row.userid
    account = (
        await session.exec(
            select(ChatAccount).where(ChatAccount.channel == "wecom",
                                      ChatAccount.chat_id == chat_id)
        )
    ).first()
    return account.user_key if account else None


# --- callbacks taken in -----------------------------------------------------------------------
KEEP_INBOUND = timedelta(days=2)  # WeCom resends within seconds; replays older are refused
HANDLING_LEASE = timedelta(minutes=2)  # a worker handling a callback; a crashed one's frees


async def take_in(session: AsyncSession, key: str, fields: dict[str, str], *, now: datetime,
                  keep: timedelta = KEEP_INBOUND) -> bool:
    """Record a callback before WeCom gets its 200: True the first time ``key`` is seen, False
    for a resend or a replay. Commits; a database error is raised (then WeCom must get no 200,
    so it sends the callback again)."""
    session.add(WeComInbound(key=key[:200], received_at=now, fields=dict(fields)))
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return False
    if hash(key) % 64 == 0:  # now and then, forget what can no longer come back
        await session.exec(
            delete(WeComInbound).where(col(WeComInbound.received_at) < now - keep)
        )
        await session.commit()
    return True


async def start_handling(session: AsyncSession, key: str, *, now: datetime,
                         lease: timedelta = HANDLING_LEASE) -> dict[str, Any] | None:
    """Take a recorded callback to handle it: its fields, or None when it was handled already
    or another worker is on it. Commits. ``mark_handled`` follows before the handlers see it;
    a worker that fails before that leaves it to be taken again once the lease is over."""
    taken = await session.exec(
        update(WeComInbound)
        .where(col(WeComInbound.key) == key, col(WeComInbound.handled_at).is_(None),
               or_(col(WeComInbound.claimed_until).is_(None),
                   col(WeComInbound.claimed_until) <= now))
        .values(claimed_until=now + lease))
    await session.commit()
    if taken.rowcount != 1:
        return None
    fields = (await session.exec(
        select(WeComInbound.fields).where(col(WeComInbound.key) == key))).first()
    return dict(fields) if fields else None


async def mark_handled(session: AsyncSession, key: str, *, now: datetime) -> None:
    """The callback goes to the handlers now: never again (the caller commits first)."""
    await session.exec(
        update(WeComInbound).where(col(WeComInbound.key) == key).values(handled_at=now))


async def unhandled(session: AsyncSession, *, now: datetime, older_than: timedelta,
                    keep: timedelta = KEEP_INBOUND, limit: int = 100
                    ) -> list[tuple[str, dict[str, Any]]]:
    """(key, fields) of callbacks taken in at least ``older_than`` ago that never reached
    the handlers and that no worker is on, oldest first."""
    rows = await session.exec(
        select(WeComInbound.key, WeComInbound.fields)
        .where(col(WeComInbound.handled_at).is_(None),
               col(WeComInbound.received_at) <= now - older_than,
               col(WeComInbound.received_at) > now - keep,
               or_(col(WeComInbound.claimed_until).is_(None),
                   col(WeComInbound.claimed_until) <= now))
        .order_by(col(WeComInbound.received_at)).limit(limit))
    return [(key, dict(fields or {})) for key, fields in rows.all()]


# --- WeCom's per-member limits ------------------------------------------------------------------
# WeCom: "每应用对同一个成员不可超过30次/分钟，1000次/小时"; past either, the message is answered
# ok and dropped. Paced with a margin: another worker's send may be on its way, clocks differ.
MEMBER_LIMITS: tuple[tuple[timedelta, int], ...] = (
    (timedelta(minutes=1), 28), (timedelta(hours=1), 950))


def member_wait(sent: Iterable[datetime], now: datetime,
                limits: Sequence[tuple[timedelta, int]] = MEMBER_LIMITS) -> timedelta:
    """How long until one more message to a member fits every limit (zero: now), given when
    the messages that reached them went."""
    newest_first = sorted(sent, reverse=True)
    wait = timedelta(0)
    for window, limit in limits:
        recent = [at for at in newest_first if at > now - window]
        if len(recent) >= limit:  # free once the limit-th newest leaves the window
            wait = max(wait, recent[limit - 1] + window - now)
    return wait


async def recent_sends(session: AsyncSession, userid: str, *, now: datetime,
                       window: timedelta = timedelta(hours=1)) -> list[tuple[str, datetime]]:
    """(key, when) of the messages that reached ``userid`` within ``window``, every worker's."""
    rows = await session.exec(
        select(WeComSend.key, WeComSend.sent_at)
        .where(col(WeComSend.userid) == userid, col(WeComSend.sent_at) > now - window))
    return [(key, at) for key, at in rows.all()]


async def record_sends(session: AsyncSession, sends: Sequence[WeComSend], *, now: datetime,
                       window: timedelta = timedelta(hours=1)) -> None:
    """Keep these sends; forget those no limit counts any more (the caller commits)."""
    session.add_all(sends)
    await session.flush()
    await session.exec(delete(WeComSend).where(col(WeComSend.sent_at) <= now - window))
