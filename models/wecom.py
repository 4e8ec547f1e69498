"""The WeCom channel's own records: who a chat id is, what each sent message became on WeCom,
and which callbacks were already handled (WeCom resends, attackers replay).

A WeCom ``userid`` is a string; the handlers speak Telegram's integer chat ids, so each userid
gets a stable chat id (``wecom_chat_id``) and ``WeComUser`` remembers the way back.
"""

from __future__ import annotations

import hashlib
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
    kind: str = Field(max_length=8)  # text, list, card, image, file, alert
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
    """A callback already taken in (MsgId, or FromUserName+CreateTime+event for events)."""

    __tablename__ = "wecom_inbound"
    __table_args__ = (
        PrimaryKeyConstraint("key", name="pk_wecom_inbound"),
        Index("ix_wecom_inbound_received_at", "received_at"),
    )

    key: str = Field(max_length=200)
    received_at: datetime = Field(sa_type=UTCDateTime)


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


async def claim_inbound(
    session: AsyncSession, key: str, *, now: datetime, keep: timedelta = timedelta(days=2)
) -> bool:
    """True the first time ``key`` is seen; a resend or a replay gets False. Commits."""
    session.add(WeComInbound(key=key[:200], received_at=now))
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
