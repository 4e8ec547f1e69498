"""Photos kept as evidence: plate checks, unlisted faults, extra items, parts, damage (file ids
per channel, copies on the other channel, the bytes when needed); and voice notes given where a
step takes text (``kind`` "voice", with their length), which travel with the record's card the
same way."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, Index, LargeBinary
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import UTCDateTime

PHOTO = "photo"
VOICE = "voice"


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
    kind: str = Field(default=PHOTO, max_length=16, sa_column_kwargs={"server_default": PHOTO})
    duration: int | None = Field(default=None)  # a voice note's length in seconds


def voice_marker(seconds: int | None) -> str:
    """What a record's text says when its answer was a voice note: "🎤 0:12"."""
    if not seconds or seconds <= 0:
        return "🎤"
    return f"🎤 {seconds // 60}:{seconds % 60:02d}"


def attach(
    session: AsyncSession, *, owner: str, owner_id: int, photos: list[dict[str, Any]],
    staff_id: int | None, now: datetime,
) -> None:
    """``photos``: ``{"channel", "file_id", "file_unique_id"}`` as the handler received them
    (a voice note also has ``"kind": "voice"`` and its ``"duration"`` in seconds)."""
    for photo in photos:
        duration = photo.get("duration")
        session.add(
            Attachment(
                owner=owner, owner_id=owner_id, channel=photo["channel"],
                file_id=photo["file_id"], file_unique_id=photo.get("file_unique_id"),
                staff_id=staff_id, created_at=now, kind=photo.get("kind") or PHOTO,
                duration=int(duration) if duration is not None else None,
            )
        )


async def attachments_of(session: AsyncSession, owner: str, owner_id: int) -> list[Attachment]:
    return list(
        (
            await session.exec(
                select(Attachment)
                .where(Attachment.owner == owner, Attachment.owner_id == owner_id)
                .order_by(col(Attachment.id))
            )
        ).all()
    )


# --- the same photo on another channel, and its bytes ------------------------------------------
#
# A photo is known by the file id of the channel it came in on. Telegram file ids stay valid;
# a WeCom media id expires three days after the upload. To show a photo on the other channel,
# or on WeCom after three days, its bytes are uploaded again and the new id is kept as a copy.
# WeCom photos are fetched soon after they arrive (``jobs/media``), while their id still works.

WECOM_MEDIA_LIFE = timedelta(days=3)
MEDIA_MARGIN = timedelta(hours=2)  # do not count on an id in its last hours


def still_valid(channel: str, stored_at: datetime, now: datetime) -> bool:
    """Whether a file id stored at ``stored_at`` can still be sent on ``channel``."""
    return channel != "wecom" or now - stored_at < WECOM_MEDIA_LIFE - MEDIA_MARGIN


class AttachmentCopy(SQLModel, table=True):
    """The photo uploaded again on ``channel``: its file id there, and when it was made.
    Several rows for one photo and channel may exist (two uploads at once); the newest wins."""

    __tablename__ = "attachment_copy"
    __table_args__ = (Index("ix_attachment_copy_attachment", "attachment_id", "channel"),)

    id: int | None = Field(default=None, primary_key=True)
    attachment_id: int = Field(foreign_key="attachment.id")
    channel: str = Field(max_length=16)
    file_id: str = Field(max_length=255)
    stored_at: datetime = Field(sa_type=UTCDateTime)


class AttachmentContent(SQLModel, table=True):
    """The photo's bytes, once fetched (several rows for one photo are harmless)."""

    __tablename__ = "attachment_content"

    id: int | None = Field(default=None, primary_key=True)
    attachment_id: int = Field(foreign_key="attachment.id", index=True)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    fetched_at: datetime = Field(sa_type=UTCDateTime)


async def file_id_for(session: AsyncSession, photo: Attachment, channel: str, now: datetime
                      ) -> str | None:
    """A file id that shows ``photo`` on ``channel`` now, or None (upload the bytes)."""
    if photo.channel == channel and still_valid(channel, photo.created_at, now):
        return photo.file_id
    copy = (
        await session.exec(
            select(AttachmentCopy)
            .where(AttachmentCopy.attachment_id == photo.id, AttachmentCopy.channel == channel)
            .order_by(col(AttachmentCopy.stored_at).desc())
            .limit(1)
        )
    ).first()
    if copy is not None and still_valid(channel, copy.stored_at, now):
        return copy.file_id
    return None


async def sources(session: AsyncSession, photo: Attachment, now: datetime
                  ) -> list[tuple[str, str]]:
    """(channel, file id) pairs the photo's bytes can be fetched from now, original first."""
    found = [(photo.channel, photo.file_id)] if still_valid(
        photo.channel, photo.created_at, now) else []
    copies = (
        await session.exec(
            select(AttachmentCopy).where(AttachmentCopy.attachment_id == photo.id)
            .order_by(col(AttachmentCopy.stored_at).desc())
        )
    ).all()
    found += [(c.channel, c.file_id) for c in copies if still_valid(c.channel, c.stored_at, now)]
    return list(dict.fromkeys(found))


async def content_of(session: AsyncSession, attachment_id: int) -> bytes | None:
    row = (
        await session.exec(
            select(AttachmentContent).where(AttachmentContent.attachment_id == attachment_id)
            .limit(1)
        )
    ).first()
    return row.data if row is not None else None


def keep_content(session: AsyncSession, attachment_id: int, data: bytes, now: datetime) -> None:
    session.add(AttachmentContent(attachment_id=attachment_id, data=data, fetched_at=now))


def keep_copy(session: AsyncSession, attachment_id: int, channel: str, file_id: str,
              now: datetime) -> None:
    session.add(AttachmentCopy(attachment_id=attachment_id, channel=channel, file_id=file_id,
                               stored_at=now))


async def to_fetch(session: AsyncSession, now: datetime, *, limit: int = 20,
                   skip: set[int] | frozenset[int] = frozenset()) -> list[Attachment]:
    """WeCom photos whose bytes are not kept yet while their media id still works (but not
    those in ``skip``: already failed)."""
    kept = select(AttachmentContent.attachment_id)
    return list(
        (
            await session.exec(
                select(Attachment)
                .where(Attachment.channel == "wecom",
                       Attachment.created_at > now - WECOM_MEDIA_LIFE + MEDIA_MARGIN,
                       col(Attachment.id).not_in(kept),
                       col(Attachment.id).not_in(skip))
                .order_by(col(Attachment.id))
                .limit(limit)
            )
        ).all()
    )


async def attachments_by_id(session: AsyncSession, ids: list[int]) -> list[Attachment]:
    """The photos with these ids, in the order given (missing ones left out)."""
    if not ids:
        return []
    rows = {a.id: a for a in (await session.exec(
        select(Attachment).where(col(Attachment.id).in_(ids)))).all()}
    return [rows[i] for i in ids if i in rows]
