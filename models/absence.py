"""A11: when a clerk is away, a stand-in named by the supervisor gets their customers' work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.audit import Actor
from models.db import UTCDateTime, id_of
from models.rules import Refused
from models.staff import Role, Staff


class Absence(SQLModel, table=True):
    __tablename__ = "absence"

    id: int | None = Field(default=None, primary_key=True)
    clerk_id: int = Field(foreign_key="staff.id", index=True)
    standin_id: int = Field(foreign_key="staff.id")
    starts_on: date  # local dates, both days included
    ends_on: date
    created_by: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


async def record_absence(
    session: AsyncSession, *, clerk: Staff, standin: Staff, starts_on: date, ends_on: date,
    today: date, now: datetime, actor: Actor,
) -> Absence:
    if not clerk.has(Role.tracking_clerk):
        raise Refused("not_clerk", name=clerk.name)
    if not standin.active or not standin.has(Role.tracking_clerk):
        raise Refused("not_clerk", name=standin.name)
    if standin.id == clerk.id:
        raise Refused("standin_is_clerk")
    if starts_on < today or ends_on < starts_on:
        raise Refused("absence_dates")
    overlapping = (await session.exec(
        select(Absence).where(
            Absence.clerk_id == clerk.id, col(Absence.cancelled_at).is_(None),
            col(Absence.starts_on) <= ends_on, col(Absence.ends_on) >= starts_on,
        )
    )).first()
    if overlapping is not None:
        raise Refused("absence_overlaps", starts_on=overlapping.starts_on,
                      ends_on=overlapping.ends_on)
    absence = Absence(clerk_id=id_of(clerk), standin_id=id_of(standin),
                      starts_on=starts_on, ends_on=ends_on, created_by=actor.staff_id,
                      created_at=now)
    session.add(absence)
    await session.flush()
    audit.record(session, now=now, actor=actor, action="absence.record", entity="absence",
                 entity_id=absence.id, clerk_id=clerk.id, standin_id=standin.id)
    return absence


@dataclass(frozen=True)
class Route:
    """Who gets a customer's follow-up today, and for whom they stand in (if anyone)."""

    staff_id: int
    standing_in_for: int | None = None


async def route(session: AsyncSession, clerk_id: int, day: date) -> Route:
    """The clerk, or their stand-in on the days of an absence (stand-ins of stand-ins too)."""
    seen = {clerk_id}
    current = clerk_id
    for _ in range(5):
        absence = (await session.exec(
            select(Absence).where(
                Absence.clerk_id == current, col(Absence.cancelled_at).is_(None),
                col(Absence.starts_on) <= day, col(Absence.ends_on) >= day,
            )
        )).first()
        if absence is None or absence.standin_id in seen:
            break
        seen.add(absence.standin_id)
        current = absence.standin_id
    return Route(current, clerk_id if current != clerk_id else None)


async def absences_on(session: AsyncSession, day: date) -> list[Absence]:
    return list((await session.exec(
        select(Absence).where(col(Absence.cancelled_at).is_(None),
                              col(Absence.starts_on) <= day, col(Absence.ends_on) >= day)
    )).all())


async def absences_from(session: AsyncSession, day: date) -> list[Absence]:
    """Absences under way or still to come on ``day`` (``/away`` lists them)."""
    return list((await session.exec(
        select(Absence).where(col(Absence.cancelled_at).is_(None),
                              col(Absence.ends_on) >= day)
        .order_by(col(Absence.starts_on), col(Absence.id))
    )).all())
