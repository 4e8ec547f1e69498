"""The register of plate photos read by OCR (W1, issue 17): each photo's verdict and what the
technician then did, so a shop sees how often OCR and people agree.

``action`` stays empty until the technician answers the verdict: ``confirmed`` (the order's
plate, one tap), ``different_car`` (confirmed the mismatch OCR saw), ``retake`` (another photo)
or ``typed`` (typed the plate instead). ``final`` is the plate then recorded by the check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import and_, func
from sqlmodel import Field, SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import UTCDateTime, select_columns
from models.plate import Verdict


class Action(StrEnum):
    CONFIRMED = "confirmed"
    DIFFERENT_CAR = "different_car"
    RETAKE = "retake"
    TYPED = "typed"


class PlateReading(SQLModel, table=True):
    __tablename__ = "plate_reading"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="work_order.id", index=True)
    staff_id: int = Field(foreign_key="staff.id")
    verdict: str = Field(max_length=16)  # a models.plate.Verdict
    read: str | None = Field(default=None, max_length=16)  # the plate read, normalised
    problem: str | None = Field(default=None, max_length=16)  # undecodable, timeout, failed
    milliseconds: int
    at: datetime = Field(sa_type=UTCDateTime)
    action: str | None = Field(default=None, max_length=16)  # an Action, once answered
    final: str | None = Field(default=None, max_length=16)  # the plate the check recorded
    check_id: int | None = Field(default=None, foreign_key="plate_check.id")


async def settle(session: AsyncSession, reading_id: int, action: Action, *,
                 final: str | None = None, check_id: int | None = None) -> None:
    """What the technician did with a verdict; a reading already answered keeps its answer."""
    reading = await session.get(PlateReading, reading_id)
    if reading is None or reading.action is not None:
        return
    reading.action = action.value
    reading.final = final
    reading.check_id = check_id
    await session.flush()


@dataclass(frozen=True)
class PlateReadingSummary:
    """Plate photos read in the period, the verdicts by kind, and whether the plate the
    technician then recorded was the one OCR read (confirmed) or another (corrected)."""

    photos_read: int
    verdict_match: int
    verdict_unsure: int
    verdict_mismatch: int
    verdict_no_plate: int
    ocr_confirmed: int
    ocr_corrected: int

    @property
    def ocr_agreement_rate(self) -> float | None:
        settled = self.ocr_confirmed + self.ocr_corrected
        return self.ocr_confirmed / settled if settled else None


async def plate_reading_summary(session: AsyncSession, *, start: datetime, end: datetime
                                ) -> PlateReadingSummary:
    verdict = col(PlateReading.verdict)
    final = col(PlateReading.final)
    read = col(PlateReading.read)
    in_period = and_(col(PlateReading.at) >= start, col(PlateReading.at) < end)
    row = (await session.exec(
        select_columns(
            func.count(),
            *(func.count().filter(verdict == kind.value) for kind in Verdict),
            func.count().filter(and_(final.is_not(None), final == read)),
            func.count().filter(and_(final.is_not(None), read.is_not(None), final != read)),
        ).select_from(PlateReading).where(in_period))).one()
    photos, match, unsure, mismatch, no_plate, confirmed, corrected = (int(n or 0) for n in row)
    return PlateReadingSummary(photos, match, unsure, mismatch, no_plate, confirmed, corrected)
