"""The register of plate checks (W1): every attempt, matched or not, with its photo if any."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.db import UTCDateTime


class PlateCheck(SQLModel, table=True):
    __tablename__ = "plate_check"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="work_order.id", index=True)
    staff_id: int = Field(foreign_key="staff.id")
    typed: str = Field(max_length=16)
    matched: bool
    at: datetime = Field(sa_type=UTCDateTime)
