"""W8: damaged instruments, equipment and tools — reported with a photo, and whether it was
misuse; a supervisor decides on compensation (amount and who pays) or none, once. The reports
and decisions are the damage register."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.attachment import attach
from models.audit import Actor
from models.db import UTCDateTime, id_of
from models.money import parse_fen
from models.rules import Refused
from models.staff import Role, Staff, require_supervisor, role_clause

MAX_EQUIPMENT = 100
MAX_DESCRIPTION = 1500
MAX_PHOTOS = 5
MAX_AMOUNT_FEN = 10_000_000  # 100,000 yuan: more than that is a typo, not a tool
OWNER = "damage_report"  # attachment owner and card kind


class DamageStatus(StrEnum):
    reported = "reported"
    compensation = "compensation"
    no_compensation = "no_compensation"


class DamageReport(SQLModel, table=True):
    __tablename__ = "damage_report"

    id: int | None = Field(default=None, primary_key=True)
    equipment: str = Field(max_length=100)
    description: str = Field(max_length=2000)
    misuse: bool
    reported_by: int = Field(foreign_key="staff.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    status: str = Field(default=DamageStatus.reported, max_length=16, index=True)
    decided_by: int | None = Field(default=None, foreign_key="staff.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_channel: str | None = Field(default=None, max_length=16)
    amount_fen: int | None = None
    payer_id: int | None = Field(default=None, foreign_key="staff.id")


def parse_amount(text: str) -> int:
    """"300", "¥300.50", "300元" → fen; zero, negative or absurd amounts are refused (no
    compensation is its own button)."""
    fen = parse_fen(text)
    if fen is None or not 0 < fen <= MAX_AMOUNT_FEN:
        raise Refused("damage_amount_invalid")
    return fen


async def report_damage(
    session: AsyncSession, *, staff: Staff, equipment: str, description: str, misuse: bool,
    photos: list[dict[str, str]], now: datetime, actor: Actor,
) -> DamageReport:
    equipment, description = equipment.strip(), description.strip()
    if not equipment or not description:
        raise Refused("empty_text")
    if not photos:
        raise Refused("damage_photo_missing")
    report = DamageReport(equipment=equipment[:MAX_EQUIPMENT],
                          description=description[:MAX_DESCRIPTION], misuse=misuse,
                          reported_by=id_of(staff), created_at=now)
    session.add(report)
    await session.flush()
    attach(session, owner=OWNER, owner_id=id_of(report), photos=photos,
           staff_id=staff.id, now=now)
    audit.record(session, now=now, actor=actor, action="damage.report", entity=OWNER,
                 entity_id=report.id, after=DamageStatus.reported.value, misuse=misuse,
                 photos=len(photos))
    await session.flush()
    return report


async def get_report(session: AsyncSession, report_id: int) -> DamageReport:
    report = await session.get(DamageReport, report_id)
    if report is None:
        raise Refused("damage_missing")
    return report


async def _already(session: AsyncSession, report: DamageReport) -> Refused:
    who = await session.get(Staff, report.decided_by) if report.decided_by else None
    return Refused("damage_already_decided", name=who.name if who else "?",
                   at=report.decided_at or report.created_at, status=report.status)


async def check_decidable(
    session: AsyncSession, *, report_id: int, supervisor: Staff
) -> DamageReport:
    """Before asking for the amount: a supervisor, a report nobody has decided."""
    require_supervisor(supervisor)
    report = await get_report(session, report_id)
    if report.status != DamageStatus.reported:
        raise await _already(session, report)
    return report


async def payer_candidates(session: AsyncSession, report: DamageReport) -> list[Staff]:
    """Who may be made to pay: the reporter first, then the active floor staff."""
    people = list((await session.exec(
        select(Staff).where(Staff.active == True,  # noqa: E712
                            role_clause(Role.technician) | role_clause(Role.team_leader))
        .order_by(col(Staff.name), col(Staff.id))
    )).all())
    reporter = await session.get(Staff, report.reported_by)
    rest = [p for p in people if p.id != report.reported_by]
    return ([reporter] if reporter is not None and reporter.active else []) + rest


async def decide(
    session: AsyncSession, *, report_id: int, supervisor: Staff, compensate: bool,
    now: datetime, actor: Actor, amount_fen: int | None = None, payer_id: int | None = None,
) -> DamageReport:
    """Compensation (an amount and who pays) or none; the first decision wins."""
    require_supervisor(supervisor)
    report = await get_report(session, report_id)
    if compensate:
        if amount_fen is None or not 0 < amount_fen <= MAX_AMOUNT_FEN:
            raise Refused("damage_amount_invalid")
        payer = await session.get(Staff, payer_id) if payer_id is not None else None
        if payer is None or payer.id not in {
                p.id for p in await payer_candidates(session, report)}:
            raise Refused("damage_bad_payer")
    status = DamageStatus.compensation if compensate else DamageStatus.no_compensation
    result = await session.exec(
        update(DamageReport)
        .where(col(DamageReport.id) == report_id,
               col(DamageReport.status) == DamageStatus.reported.value)
        .values(status=status.value, decided_by=supervisor.id, decided_at=now,
                decided_channel=actor.channel,
                amount_fen=amount_fen if compensate else None,
                payer_id=payer_id if compensate else None))
    await session.refresh(report)
    if result.rowcount != 1:
        raise await _already(session, report)
    audit.record(session, now=now, actor=actor, action="damage.decide", entity=OWNER,
                 entity_id=report_id, before=DamageStatus.reported.value, after=status.value,
                 amount_fen=report.amount_fen, payer_id=report.payer_id)
    await session.flush()
    return report


async def register(session: AsyncSession, *, limit: int = 30) -> list[DamageReport]:
    """The damage register, newest first."""
    return list((await session.exec(
        select(DamageReport).order_by(col(DamageReport.created_at).desc(),
                                      col(DamageReport.id).desc()).limit(limit)
    )).all())


@dataclass(frozen=True)
class DamageSummary:
    reports: int
    misuse: int
    undecided: int
    compensated: int  # reports decided with compensation
    compensation_fen: int  # their total


async def damage_summary(
    session: AsyncSession, *, start: datetime, end: datetime
) -> DamageSummary:
    """Reports made in ``[start, end)`` and what was decided on them."""
    rows = (await session.exec(select(DamageReport).where(
        DamageReport.created_at >= start, DamageReport.created_at < end))).all()
    paid = [r for r in rows if r.status == DamageStatus.compensation]
    return DamageSummary(
        reports=len(rows),
        misuse=sum(1 for r in rows if r.misuse),
        undecided=sum(1 for r in rows if r.status == DamageStatus.reported),
        compensated=len(paid),
        compensation_fen=sum(r.amount_fen or 0 for r in paid),
    )
