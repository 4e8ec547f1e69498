"""Customer archives (客户档案基本资料表, A2) and their clerk (A5): customers, their vehicles
and their visits.

An archive opens by itself at a visit (a delivered work order, a consultation); the assigned
tracking clerk completes it within two days of the visit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, or_
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import audit
from models.audit import Actor
from models.db import UTCDateTime, id_of
from models.rules import Refused
from models.shop_time import parse_day
from models.staff import AFTER_SALES, Role, Staff, role_clause

ARCHIVE_DAYS = 2


class Customer(SQLModel, table=True):
    __tablename__ = "customer"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, index=True)
    address: str | None = Field(default=None, max_length=200)
    phones: str = Field(default="", max_length=100, index=True)  # "138…,010…"
    services_wanted: str | None = Field(default=None, max_length=500)
    clerk_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    archive_completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def phone_list(self) -> list[str]:
        return [p for p in self.phones.split(",") if p]


class Vehicle(SQLModel, table=True):
    __tablename__ = "vehicle"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    plate: str = Field(max_length=16, unique=True)
    model: str | None = Field(default=None, max_length=64)
    vehicle_type: str | None = Field(default=None, max_length=32)  # 车种: 轿车, SUV, 客车 …
    cycle_months: int | None = None
    cycle_km: int | None = None
    last_service_on: date | None = None
    next_maintenance_on: date | None = Field(default=None, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


class VisitKind(StrEnum):
    repair = "repair"
    consultation = "consultation"


class Visit(SQLModel, table=True):
    """A repair (a delivered work order) or a consultation: what starts the follow-up."""

    __tablename__ = "visit"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    vehicle_id: int | None = Field(default=None, foreign_key="vehicle.id", index=True)
    kind: str = Field(max_length=16)
    order_id: int | None = Field(default=None, foreign_key="work_order.id", unique=True)
    summary: str = Field(default="", max_length=2000)  # the service items, or the topic
    visited_at: datetime = Field(sa_type=UTCDateTime, index=True)
    clerk_id: int | None = Field(default=None, foreign_key="staff.id")
    archive_due_at: datetime = Field(sa_type=UTCDateTime)
    archive_completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    archive_reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    archive_late_reported_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# --- who reads and who changes a customer (A2) -------------------------------------------------
# The archive carries the phones and the address: the after-sales staff and the advisors read
# it (and see a phone's last digits in a search), technicians never (their order card has no
# phone either). Only the after-sales staff change it (models.staff.require_after_sales).
READERS = (*AFTER_SALES, Role.advisor)
EDITORS = AFTER_SALES


def reads_customers(staff: Staff) -> bool:
    return staff.has(*READERS)


def edits_customers(staff: Staff) -> bool:
    return staff.has(*EDITORS)


def require_reader(staff: Staff) -> None:
    if not reads_customers(staff):
        raise Refused("archive_viewers_only")


# The fields of the form that a clerk fills in (the rest comes from the visits).
ARCHIVE_FIELDS = ("name", "address", "phone", "vehicle_model", "plate", "vehicle_type",
                  "maintenance_cycle", "next_maintenance", "services_wanted")


def missing_fields(customer: Customer, vehicles: list[Vehicle]) -> list[str]:
    missing = []
    if not customer.name.strip():
        missing.append("name")
    if not (customer.address or "").strip():
        missing.append("address")
    if not customer.phone_list:
        missing.append("phone")
    if not vehicles:
        missing += ["plate", "vehicle_model", "vehicle_type", "maintenance_cycle",
                    "next_maintenance"]
    else:
        if not any(v.model for v in vehicles):
            missing.append("vehicle_model")
        if not any(v.vehicle_type for v in vehicles):
            missing.append("vehicle_type")
        if not any(v.cycle_months or v.cycle_km for v in vehicles):
            missing.append("maintenance_cycle")
        if not any(v.next_maintenance_on for v in vehicles):
            missing.append("next_maintenance")
    if not (customer.services_wanted or "").strip():
        missing.append("services_wanted")
    return [f for f in ARCHIVE_FIELDS if f in missing]


PHONE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9}|0\d{2,3}\d{7,8}|\d{7,8})$")


def normalize_phone(text: str) -> str | None:
    """A mainland mobile or landline number without separators, or ``None``."""
    digits = re.sub(r"[\s\-()（）]", "", text)
    match = PHONE.match(digits)
    return match.group(1) if match else None


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


async def vehicles_of(session: AsyncSession, customer_id: int) -> list[Vehicle]:
    return list((await session.exec(
        select(Vehicle).where(Vehicle.customer_id == customer_id).order_by(col(Vehicle.id))
    )).all())


async def get_customer(session: AsyncSession, customer_id: int) -> Customer:
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise Refused("customer_missing")
    return customer


async def clerks_of(session: AsyncSession, customer_ids: set[int]) -> dict[int, int | None]:
    """Each customer's tracking clerk (None: none assigned), in one query."""
    if not customer_ids:
        return {}
    rows = await session.exec(select(Customer.id, Customer.clerk_id).where(
        col(Customer.id).in_(customer_ids)))
    return {customer_id: clerk_id for customer_id, clerk_id in rows.all()
            if customer_id is not None}


async def least_busy_clerk(session: AsyncSession) -> Staff | None:
    """New customers go to the active clerk with the fewest customers until reassigned."""
    load = (
        select(Customer.clerk_id, func.count().label("n"))
        .group_by(col(Customer.clerk_id))
        .subquery()
    )
    row = (await session.exec(
        select(Staff)
        .outerjoin(load, load.c.clerk_id == col(Staff.id))
        .where(Staff.active == True, role_clause(Role.tracking_clerk))  # noqa: E712
        .order_by(func.coalesce(load.c.n, 0), col(Staff.id))
    )).first()
    return row


async def find_customers(session: AsyncSession, query: str, limit: int = 10) -> list[Customer]:
    """By plate, phone or name: exact plate/phone first, then names containing the text."""
    from models import plate as plates

    text = query.strip()
    if not text:
        return []
    phone = normalize_phone(text)
    if phone:
        rows = (await session.exec(
            select(Customer).where(col(Customer.phones).contains(phone)).limit(limit)
        )).all()
        if rows:
            return list(rows)
    normalized = plates.normalize(text)
    vehicle = (await session.exec(select(Vehicle).where(Vehicle.plate == normalized))).first()
    if vehicle is not None:
        return [await get_customer(session, vehicle.customer_id)]
    rows = (await session.exec(
        select(Customer).where(col(Customer.name).contains(text))
        .order_by(col(Customer.name), col(Customer.id)).limit(limit)
    )).all()
    return list(rows)


@dataclass(frozen=True)
class VisitOpened:
    customer: Customer
    vehicle: Vehicle | None
    visit: Visit
    new_customer: bool


async def open_visit(
    session: AsyncSession,
    *,
    kind: VisitKind,
    now: datetime,
    actor: Actor,
    customer_name: str,
    phone: str | None,
    plate: str | None = None,
    vehicle_model: str | None = None,
    summary: str = "",
    order_id: int | None = None,
    customer_id: int | None = None,
    clerk: Staff | None = None,
    today: date | None = None,
) -> VisitOpened:
    """Find or open the customer's archive and record the visit (A2).

    The customer is found by ``customer_id``, else by the plate's vehicle, else by phone; a new
    one is assigned to ``clerk`` or the least busy tracking clerk. ``today`` is the visit's
    date in the shop's time zone (defaults to the UTC date of ``now``).
    """
    today = today or now.date()
    customer: Customer | None = None
    vehicle: Vehicle | None = None
    if plate:
        vehicle = (await session.exec(select(Vehicle).where(Vehicle.plate == plate))).first()
    if customer_id is not None:
        customer = await get_customer(session, customer_id)
    elif vehicle is not None:
        customer = await get_customer(session, vehicle.customer_id)
    elif phone:
        customer = (await session.exec(
            select(Customer).where(col(Customer.phones).contains(phone))
        )).first()
    new_customer = customer is None
    if customer is None:
        assigned = clerk if clerk is not None else await least_busy_clerk(session)
        customer = Customer(
            name=customer_name.strip(), phones=phone or "", created_at=now, updated_at=now,
            clerk_id=assigned.id if assigned else None,
        )
        session.add(customer)
        await session.flush()
        audit.record(session, now=now, actor=actor, action="customer.open",
                     entity="customer", entity_id=customer.id,
                     clerk_id=customer.clerk_id)
    elif phone and phone not in customer.phone_list:
        customer.phones = ",".join([*customer.phone_list, phone])[:100]
        customer.updated_at = now
    if plate and vehicle is None:
        vehicle = Vehicle(customer_id=id_of(customer), plate=plate,
                          model=vehicle_model, created_at=now)
        session.add(vehicle)
    elif vehicle is not None and vehicle_model and not vehicle.model:
        vehicle.model = vehicle_model
    if vehicle is not None and kind is VisitKind.repair:
        vehicle.last_service_on = today
        if vehicle.cycle_months:
            vehicle.next_maintenance_on = add_months(today, vehicle.cycle_months)
    await session.flush()
    visit = Visit(
        customer_id=id_of(customer),
        vehicle_id=vehicle.id if vehicle else None,
        kind=kind, order_id=order_id, summary=summary[:2000], visited_at=now,
        clerk_id=customer.clerk_id, archive_due_at=now + timedelta(days=ARCHIVE_DAYS),
    )
    session.add(visit)
    await session.flush()
    vehicles = await vehicles_of(session, id_of(customer))
    if not missing_fields(customer, vehicles):
        visit.archive_completed_at = now
        customer.archive_completed_at = customer.archive_completed_at or now
    audit.record(session, now=now, actor=actor, action="visit.open", entity="visit",
                 entity_id=visit.id, after=kind.value, customer_id=customer.id)
    await session.flush()
    return VisitOpened(customer, vehicle, visit, new_customer)


EDITABLE = ("name", "address", "phones", "services_wanted", "vehicle_model", "vehicle_type",
            "cycle_months", "cycle_km", "next_maintenance_on", "plate")


async def update_archive(
    session: AsyncSession, *, customer_id: int, field: str, value: str, now: datetime,
    actor: Actor, vehicle_id: int | None = None, today: date | None = None,
) -> list[str]:
    """Set one field from what the clerk typed; returns the fields still missing.

    When the archive becomes complete, every open visit of the customer is marked complete.
    ``today`` (in the shop's time zone; defaults to the UTC date of ``now``) gives a typed day
    without a year its year.
    """
    from models import plate as plates

    customer = await get_customer(session, customer_id)
    vehicles = await vehicles_of(session, customer_id)
    vehicle = next((v for v in vehicles if v.id == vehicle_id), vehicles[0] if vehicles
                   else None)
    text = value.strip()
    if not text:
        raise Refused("empty_text")
    if field == "name":
        customer.name = text[:64]
    elif field == "address":
        customer.address = text[:200]
    elif field == "services_wanted":
        customer.services_wanted = text[:500]
    elif field == "phones":
        phones = [normalize_phone(p) for p in re.split(r"[,，;；\s]+", text) if p]
        if not phones or None in phones:
            raise Refused("phone_invalid")
        customer.phones = ",".join(dict.fromkeys(p for p in phones if p))[:100]
    elif field == "plate":
        normalized = plates.normalize(text)
        if not plates.is_mainland(normalized):
            raise Refused("plate_invalid", plate=normalized)
        taken = (await session.exec(select(Vehicle).where(Vehicle.plate == normalized))).first()
        if taken is not None and taken.customer_id != customer_id:
            raise Refused("plate_taken", plate=normalized)
        if taken is None:
            vehicle = Vehicle(customer_id=customer_id, plate=normalized, created_at=now)
            session.add(vehicle)
    elif field in ("vehicle_model", "vehicle_type", "cycle_months", "cycle_km",
                   "next_maintenance_on"):
        if vehicle is None:
            raise Refused("no_vehicle")
        if field == "vehicle_model":
            vehicle.model = text[:64]
        elif field == "vehicle_type":
            vehicle.vehicle_type = text[:32]
        elif field in ("cycle_months", "cycle_km"):
            if not text.isdigit() or not (0 < int(text) <= (120 if field == "cycle_months"
                                                             else 200_000)):
                raise Refused("number_invalid")
            setattr(vehicle, field, int(text))
            if field == "cycle_months" and vehicle.last_service_on:
                vehicle.next_maintenance_on = add_months(vehicle.last_service_on, int(text))
        else:
            day = parse_day(text, today or now.date())
            if day is None:
                raise Refused("date_invalid")
            vehicle.next_maintenance_on = day
    else:
        raise Refused("field_unknown")
    customer.updated_at = now
    audit.record(session, now=now, actor=actor, action="customer.edit", entity="customer",
                 entity_id=customer_id, field=field)
    await session.flush()
    missing = missing_fields(customer, await vehicles_of(session, customer_id))
    if not missing:
        await mark_archive_complete(session, customer, now)
    return missing


async def mark_archive_complete(session: AsyncSession, customer: Customer, now: datetime) -> None:
    if customer.archive_completed_at is None:
        customer.archive_completed_at = now
    for visit in (await session.exec(
        select(Visit).where(Visit.customer_id == customer.id,
                            col(Visit.archive_completed_at).is_(None))
    )).all():
        visit.archive_completed_at = now
    await session.flush()


async def visits_needing_archive(
    session: AsyncSession, *, now: datetime, repeat: timedelta
) -> list[Visit]:
    """Visits whose archive is incomplete and whose clerk has not been reminded lately."""
    return list((await session.exec(
        select(Visit).where(
            col(Visit.archive_completed_at).is_(None),
            or_(col(Visit.archive_reminded_at).is_(None),
                col(Visit.archive_reminded_at) <= now - repeat),
        ).order_by(col(Visit.id))
    )).all())


async def late_archives(session: AsyncSession, *, now: datetime) -> list[Visit]:
    """Incomplete two days after the visit and not yet reported to the supervisor."""
    return list((await session.exec(
        select(Visit).where(
            col(Visit.archive_completed_at).is_(None),
            col(Visit.archive_late_reported_at).is_(None),
            col(Visit.archive_due_at) <= now,
        ).order_by(col(Visit.id))
    )).all())


async def assign_customer(
    session: AsyncSession, *, customer_id: int, clerk: Staff, now: datetime, actor: Actor
) -> Customer:
    if not clerk.active or not clerk.has(Role.tracking_clerk):
        raise Refused("not_clerk", name=clerk.name)
    customer = await get_customer(session, customer_id)
    before = customer.clerk_id
    customer.clerk_id = clerk.id
    customer.updated_at = now
    audit.record(session, now=now, actor=actor, action="customer.assign", entity="customer",
                 entity_id=customer_id, before=str(before), after=str(clerk.id))
    await session.flush()
    return customer


async def reassign_all(
    session: AsyncSession, *, from_clerk: Staff, to_clerk: Staff, now: datetime, actor: Actor
) -> int:
    """Move every customer of one clerk to another (a clerk leaves, or a load is balanced)."""
    if not to_clerk.active or not to_clerk.has(Role.tracking_clerk):
        raise Refused("not_clerk", name=to_clerk.name)
    rows = (await session.exec(
        select(Customer).where(Customer.clerk_id == from_clerk.id)
    )).all()
    for customer in rows:
        customer.clerk_id = to_clerk.id
        customer.updated_at = now
    audit.record(session, now=now, actor=actor, action="customer.assign_all",
                 entity="staff", entity_id=from_clerk.id, before=str(from_clerk.id),
                 after=str(to_clerk.id), count=len(rows))
    await session.flush()
    return len(rows)


async def visits_of(session: AsyncSession, customer_id: int, limit: int = 20) -> list[Visit]:
    """The service history on the archive card, newest first."""
    return list((await session.exec(
        select(Visit).where(Visit.customer_id == customer_id)
        .order_by(col(Visit.visited_at).desc(), col(Visit.id).desc()).limit(limit)
    )).all())


async def customers_per_clerk(session: AsyncSession) -> dict[int, int]:
    """How many customers each clerk holds (``/assign`` moves all of one clerk's)."""
    rows = (await session.exec(
        select(Customer.clerk_id, func.count()).where(col(Customer.clerk_id).is_not(None))
        .group_by(col(Customer.clerk_id))
    )).all()
    return {clerk_id: count for clerk_id, count in rows if clerk_id is not None}
