"""Every decision and state change leaves an audit event: who, when, channel, before → after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import UTCDateTime


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    channel: str | None = Field(default=None, max_length=16)
    action: str = Field(max_length=64)
    entity: str = Field(max_length=32)
    entity_id: int | None = Field(default=None, index=True)
    before: str | None = Field(default=None, max_length=32)
    after: str | None = Field(default=None, max_length=32)
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


def record(
    session: AsyncSession,
    *,
    now: datetime,
    actor: Actor | None,
    action: str,
    entity: str,
    entity_id: int | None,
    before: str | None = None,
    after: str | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add an audit event to the session; it commits with the change it describes. A state
    longer than its column (a long list of roles) is cut there and kept whole in ``detail``."""
    for name, value in (("before", before), ("after", after)):
        if value is not None and len(value) > STATE_LENGTH:
            detail[name] = value
    before = _fit(before)
    after = _fit(after)
    event = AuditEvent(
        at=now,
        staff_id=actor.staff_id if actor else None,
        channel=actor.channel if actor else None,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=before,
        after=after,
        detail=detail or None,
    )
    session.add(event)
    return event


STATE_LENGTH = 32  # the before/after columns


def _fit(value: str | None) -> str | None:
    if value is None or len(value) <= STATE_LENGTH:
        return value
    return value[: STATE_LENGTH - 1] + "…"


class Actor:
    """Who is acting and through which channel (``None`` channel: the CLI or a job)."""

    __slots__ = ("channel", "staff_id")

    def __init__(self, staff_id: int | None, channel: str | None) -> None:
        self.staff_id = staff_id
        self.channel = channel

    def __repr__(self) -> str:
        return f"Actor(staff_id={self.staff_id!r}, channel={self.channel!r})"
