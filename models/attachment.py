"""Photos kept as evidence: plate checks, unlisted faults, extra items (file ids per channel)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import UTCDateTime


class Attachment(SQLModel, table=True):
    __tablename__ = "attachment"

    id: int | None = Field(default=None, primary_key=True)
    owner: str = Field(max_length=32, index=True)  # "fault_report", "extra_item", "plate_check"
    owner_id: int = Field(index=True)
    channel: str = Field(max_length=16)
    file_id: str = Field(max_length=255)
    file_unique_id: str | None = Field(default=None, max_length=128)
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = Field(sa_type=UTCDateTime)


def attach(
    session: AsyncSession, *, owner: str, owner_id: int, photos: list[dict[str, str]],
    staff_id: int | None, now: datetime,
) -> None:
    """``photos``: ``{"channel", "file_id", "file_unique_id"}`` as the handler received them."""
    for photo in photos:
        session.add(
            Attachment(
                owner=owner, owner_id=owner_id, channel=photo["channel"],
                file_id=photo["file_id"], file_unique_id=photo.get("file_unique_id"),
                staff_id=staff_id, created_at=now,
            )
        )


async def attachments_of(session: AsyncSession, owner: str, owner_id: int) -> list[Attachment]:
    return list(
        (
            await session.exec(
                select(Attachment)
                .where(Attachment.owner == owner, Attachment.owner_id == owner_id)
                .order_by(Attachment.id)  # type: ignore[arg-type]
            )
        ).all()
    )
