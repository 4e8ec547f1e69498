"""Several workers, one schedule: a job claims a due row before it sends anything for it.

A claim is a row in ``job_claim`` keyed by what is claimed (``kind``, ``ref_id``) with who holds
it and until when (a lease). Taking one is a single statement that only one worker can win —
an insert when nobody holds it, a conditional update when the holder's lease has run out (a
crashed worker's rows are taken over) — so it works the same on SQLite and PostgreSQL. The
order is claim → send → record: a database that refuses writes means no claim and so no send;
a crash after the send and before the record sends it at most once more, after the lease.
The record and the release go in one transaction, and a claimer re-reads the row after
winning, so a worker that selected the row before someone else recorded it sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from sqlalchemy import PrimaryKeyConstraint, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, SQLModel, col, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import UTCDateTime, id_of


class _Stored(Protocol):
    @property
    def id(self) -> int | None: ...


Row = TypeVar("Row", bound=_Stored)

LEASE = timedelta(minutes=5)  # longer than any send; a crashed worker's claim frees after it
_lease = LEASE


def set_lease(lease: timedelta) -> None:
    """The lease of this process's claims (``CLAIM_LEASE_SECONDS``, set by ``bot.services``)."""
    global _lease
    _lease = lease


class JobClaim(SQLModel, table=True):
    __tablename__ = "job_claim"
    __table_args__ = (PrimaryKeyConstraint("kind", "ref_id", name="pk_job_claim"),)

    kind: str = Field(max_length=32)  # what a job does with the row, e.g. "followup.remind"
    ref_id: int
    claimed_by: str = Field(max_length=128)  # the worker: host, pid, start time
    claimed_until: datetime = Field(sa_type=UTCDateTime)


async def claim(session: AsyncSession, kind: str, ref_id: int, *, worker: str, now: datetime,
                lease: timedelta | None = None) -> bool:
    """Take ``(kind, ref_id)`` for ``worker`` until ``now + lease``; False when another worker
    holds it. ``now`` is the time of the claim itself (the clock read just before), never the
    start of a long pass: a lease counted from a stale time runs out while the row is sent.
    Commits, so the claim is visible to every other worker before anything is sent."""
    until = now + (lease or _lease)
    values = {"kind": kind, "ref_id": ref_id, "claimed_by": worker, "claimed_until": until}
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    taken = await session.exec(
        insert(JobClaim).values(**values).on_conflict_do_nothing())
    won = taken.rowcount == 1
    if not won:  # held: take it over only when its lease has run out
        taken = await session.exec(
            update(JobClaim)
            .where(col(JobClaim.kind) == kind, col(JobClaim.ref_id) == ref_id,
                   col(JobClaim.claimed_until) <= now)
            .values(claimed_by=worker, claimed_until=until))
        won = taken.rowcount == 1
    await session.commit()
    return won


async def release(session: AsyncSession, kind: str, ref_id: int, *, worker: str) -> None:
    """With the record of what was sent, in the same transaction (the caller commits)."""
    await session.exec(
        delete(JobClaim).where(col(JobClaim.kind) == kind, col(JobClaim.ref_id) == ref_id,
                               col(JobClaim.claimed_by) == worker))


async def claim_row(session: AsyncSession, kind: str, row: Row, *, worker: str, now: datetime,
                    still_due: Callable[[Row], bool], lease: timedelta | None = None) -> bool:
    """Claim a row a job selected, then read it again: another worker may have done it since
    (it recorded and released in one transaction). False, with nothing held, when it is not
    this worker's to do."""
    ref_id = id_of(row)
    if not await claim(session, kind, ref_id, worker=worker, now=now, lease=lease):
        return False
    await session.refresh(row)
    if still_due(row):
        return True
    await release(session, kind, ref_id, worker=worker)
    await session.commit()
    return False


async def hold(session: AsyncSession, kind: str, ref_id: int, *, worker: str,
               until: datetime) -> None:
    """Keep a claim as the record that a once-a-day (or once-a-period) job ran: instead of the
    release, in the same transaction as what it did (the caller commits). Nobody can take it
    before ``until``; a crash before this frees it after the usual lease."""
    await session.exec(
        update(JobClaim)
        .where(col(JobClaim.kind) == kind, col(JobClaim.ref_id) == ref_id,
               col(JobClaim.claimed_by) == worker)
        .values(claimed_until=until))


async def held_until(session: AsyncSession, kind: str, ref_id: int) -> datetime | None:
    """Until when someone holds ``(kind, ref_id)`` (None: nobody)."""
    held = await session.get(JobClaim, (kind, ref_id), populate_existing=True)
    return held.claimed_until if held is not None else None
