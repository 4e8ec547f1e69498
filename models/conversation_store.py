"""Rows behind the bot's persistence: conversation states and per-user drafts survive restarts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


class ConversationState(SQLModel, table=True):
    __tablename__ = "conversation_state"
    __table_args__ = (UniqueConstraint("channel", "name", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    name: str = Field(max_length=64)
    key: str = Field(max_length=128)  # the conversation key as JSON, e.g. "[42, 42]"
    state: Any = Field(sa_column=Column(JSON, nullable=False))


class UserDataRow(SQLModel, table=True):
    __tablename__ = "user_data"
    __table_args__ = (UniqueConstraint("channel", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
