"""Work orders and customers from the dealership's DMS: one validation for the intake API
(``bot.intake``) and the spreadsheet import (``bot.import_cli``).

A file is read whole (CSV or XLSX, the header row names the columns, English or the DMS's
Chinese names), every row is validated, the rows that would clash with each other or with the
database are found, and only then is anything written — in one transaction, so a file either
goes in whole (or, with ``skip_bad``, its good rows) or not at all. Orders already in the
database (same number) and vehicles already on file (same plate) are skipped, so a file can be
imported again safely. Row numbers are the spreadsheet's: the header is row 1.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.dms_columns import Column
from models import audit
from models import plate as plates
from models.audit import Actor
from models.customer import (
    Customer,
    Vehicle,
    least_busy_clerk,
    missing_fields,
    normalize_phone,
)
from models.db import id_of
from models.rules import Refused
from models.shop_time import parse_day
from models.staff import Role, Staff
from models.work_order import MAX_ITEM_LENGTH, MAX_ITEMS, WorkOrder, open_order, parse_items

Progress = Callable[[str, int, int], None]  # ("checking" or "importing", done, total)

# --- what a work order from the DMS must say -----------------------------------------------------

ORDER_NUMBER = r"^[A-Za-z0-9][A-Za-z0-9._/-]*$"
Item = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                        max_length=MAX_ITEM_LENGTH)]


def _plate(value: str) -> str:
    normalized = plates.normalize(value)
    if not (plates.is_mainland(normalized) or plates.is_plausible(normalized)):
        raise ValueError("not a licence plate")
    return normalized


def _phone(value: str) -> str:
    phone = normalize_phone(value)
    if phone is None:
        raise ValueError("not a phone number (e.g. 13812345678 or 010-12345678)")
    return phone


class WorkOrderIn(BaseModel):
    """A work order (任务委托书) as the DMS sends it (``POST /api/work-orders``, or a row)."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")

    order_number: str = Field(min_length=1, max_length=32, pattern=ORDER_NUMBER,
                              description="The DMS's order number; one order per number "
                                          "(a repeat answers with the existing order).",
                              examples=["RO2611300042"])
    plate: str = Field(min_length=2, max_length=16, description="Licence plate, e.g. 京A12345.")
    customer_name: str = Field(min_length=1, max_length=64)
    phone: str = Field(min_length=1, max_length=32,
                       description="Mainland mobile or landline, e.g. 13812345678.")
    vehicle_model: str = Field(min_length=1, max_length=64)
    complaint: str = Field(min_length=1, max_length=2000,
                           description="What the customer says is wrong.")
    items: list[Item] = Field(min_length=1, max_length=MAX_ITEMS,
                              description="The listed repair items, one per entry.")
    advisor_code: str = Field(min_length=1, max_length=32,
                              description="Staff code (工号) of the service advisor.")
    technician_code: str = Field(min_length=1, max_length=32,
                                 description="Staff code (工号) of the technician.")

    @field_validator("order_number")
    @classmethod
    def _number(cls, value: str) -> str:
        return value.upper()

    @field_validator("plate")
    @classmethod
    def _plate(cls, value: str) -> str:
        return _plate(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return _phone(value)


def field_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """(field, message) of each problem; ``items.2`` names the third item."""
    problems = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "body"
        problems.append((name, str(error["msg"]).removeprefix("Value error, ")))
    return problems


class StaffCodes:
    """Staff by code, looked up once (an import checks thousands of rows)."""

    def __init__(self, staff: Iterable[Staff]) -> None:
        self.by_code = {s.code: s for s in staff if s.code}

    @classmethod
    async def load(cls, session: AsyncSession) -> StaffCodes:
        return cls((await session.exec(select(Staff).where(col(Staff.code).is_not(None)))).all())

    def holder(self, code: str, role: Role) -> tuple[Staff | None, str | None]:
        """The active staff member with ``code`` holding ``role``, or why not."""
        staff = self.by_code.get(code)
        if staff is None:
            return None, f"no staff member has the code {code!r}"
        if not staff.active:
            return None, f"{staff.name} ({code}) is deactivated"
        if not staff.has(role):
            return None, f"{staff.name} ({code}) does not have the role {role.value}"
        return staff, None


def staff_problems(order: WorkOrderIn, codes: StaffCodes) -> list[tuple[str, str]]:
    problems = []
    for name, role in (("advisor_code", Role.advisor), ("technician_code", Role.technician)):
        _staff, problem = codes.holder(getattr(order, name), role)
        if problem:
            problems.append((name, problem))
    return problems


async def existing_order(session: AsyncSession, number: str) -> WorkOrder | None:
    return (await session.exec(select(WorkOrder).where(WorkOrder.number == number))).first()


async def create_order(
    session: AsyncSession, order: WorkOrderIn, codes: StaffCodes, *, now: datetime, actor: Actor,
) -> WorkOrder:
    """Open the order under the DMS's number (validated, staff checked). Raises ``Refused``
    if a rule of the floor says no, ``IntegrityError`` if the number was taken meanwhile."""
    advisor, _ = codes.holder(order.advisor_code, Role.advisor)
    technician, _ = codes.holder(order.technician_code, Role.technician)
    assert advisor is not None and technician is not None
    created = await open_order(
        session, plate_text=order.plate, plate_confirmed=True,  # the DMS vouches for it
        customer_name=order.customer_name, customer_phone=order.phone,
        vehicle_model=order.vehicle_model, complaint=order.complaint, items=order.items,
        advisor=advisor, technician=technician, now=now, actor=actor,
        number=order.order_number,
    )
    audit.record(session, now=now, actor=actor, action="order.intake", entity="work_order",
                 entity_id=created.id, after=created.status, number=created.number,
                 source=actor.channel)
    return created


# --- what a customer from the DMS must say -------------------------------------------------------


class CustomerIn(BaseModel):
    """One customer and (optionally) one vehicle: a row of ``import customers``."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")

    name: str = Field(min_length=1, max_length=64)
    phone: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=200)
    plate: str | None = Field(default=None, max_length=16)
    vehicle_model: str | None = Field(default=None, max_length=64)
    vehicle_type: str | None = Field(default=None, max_length=32)
    cycle_months: int | None = Field(default=None, ge=1, le=120)
    cycle_km: int | None = Field(default=None, ge=1, le=200_000)
    last_service_on: date | None = None
    next_maintenance_on: date | None = None
    services_wanted: str | None = Field(default=None, max_length=500)
    clerk_code: str | None = Field(default=None, max_length=32)

    @field_validator("phone")
    @classmethod
    def _phones(cls, value: str | None) -> str | None:
        """Several numbers separated by commas, semicolons or spaces → "138…,010…"."""
        if not value:
            return None
        phones = [_phone(p) for p in re.split(r"[,，;；/\s]+", value) if p]
        return ",".join(dict.fromkeys(phones))[:100] or None

    @field_validator("plate")
    @classmethod
    def _plate(cls, value: str | None) -> str | None:
        return _plate(value) if value else None

    @field_validator("last_service_on", "next_maintenance_on", mode="before")
    @classmethod
    def _day(cls, value: Any, info: ValidationInfo) -> Any:
        """A date cell, or a day typed as in the chat (2026/12/3, 2026年12月3日…); a day
        without its year is of the year of the import (``context["today"]``)."""
        today = info.context.get("today") if info.context else None
        return cell_day(value, today) if today is not None else value


EXCEL_EPOCH = date(1899, 12, 30)  # day 0 of Excel's date serial numbers
EXCEL_SERIALS = range(1, 2_958_466)  # 1900-01-01 … 9999-12-31
_CELL_TIME = re.compile(r"\s+\d{1,2}:\d{2}(?::\d{2})?$")  # Excel's CSV of a date-time cell


def cell_day(value: Any, today: date) -> date:
    """The day in a cell: a date cell, Excel's serial number of a day (a date cell formatted as
    a number), or text as Chinese Excel writes a date to CSV (``2026/6/1``, ``2026/6/1 0:00``,
    ``2026年6月1日``, ``2026-6-1``, ``2026-06-01``). Anything else raises ``ValueError``."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value == int(value) and int(value) in EXCEL_SERIALS:
            return EXCEL_EPOCH + timedelta(days=int(value))
    elif isinstance(value, str):
        day = parse_day(_CELL_TIME.sub("", value.strip()), today)
        if day is not None:
            return day
    raise ValueError(f"not a day: {value!r} (e.g. 2026/6/1, 2026-6-1 or 2026年6月1日)")


# --- reading a file ----------------------------------------------------------------------------


class ImportFailed(Exception):
    """The file cannot be imported at all (not readable, no header, a column missing)."""


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"


@dataclass
class Table:
    """The rows of a file as {field: text}, each with its spreadsheet row number."""

    headers: dict[str, str]  # field → the header as the file spells it
    rows: list[tuple[int, dict[str, Any]]]
    ignored: list[str] = field(default_factory=list)  # headers that name no field


def _key(header: str) -> str:
    return re.sub(r"[\s_\-（）()]+", "", header.strip().lower())


def _cell(value: Any) -> Any:
    """A cell as text (a phone typed as a number stays whole), a date stays a date, blank is
    ``None``."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, date):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _raw_rows(path: Path) -> list[list[Any]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        data = path.read_bytes()
        for encoding in CSV_ENCODINGS:
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ImportFailed(undecodable(data))
        try:
            return [row for row in csv.reader(io.StringIO(text, newline=""))]
        except csv.Error as exc:
            raise ImportFailed(f"not a readable CSV file: {exc}") from None
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise ImportFailed(f"not a readable XLSX file: {exc or type(exc).__name__}") \
                from None
        try:
            return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
        finally:
            book.close()
    raise ImportFailed("the file must end in .csv or .xlsx" + (
        " (save an .xls file as .xlsx)" if suffix == ".xls" else ""))


CSV_ENCODINGS = ("utf-8-sig", "gb18030")  # UTF-8 with or without a BOM; GBK (Excel in China)


def undecodable(data: bytes) -> str:
    """Why a CSV file's bytes are no text we read, and what to do."""
    utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
    tried = "UTF-8, UTF-8 with BOM or GB18030/GBK"
    found = "is UTF-16 text, not " if utf16 else "is not "
    return (f"the CSV file {found}{tried} text (the encodings tried); save it from Excel as "
            "\"CSV UTF-8\" or as .xlsx")


def read_table(path: Path, columns: tuple[Column, ...]) -> Table:
    """Read the file and map its header to ``columns``; blank rows are skipped."""
    raw = _raw_rows(path)
    while raw and not any(_cell(v) is not None for v in raw[0]):
        raw.pop(0)
    if not raw:
        raise ImportFailed("the file is empty: no header row")
    names = {_key(alias): c.name for c in columns for alias in c.headers}
    headers: dict[str, str] = {}
    positions: dict[int, str] = {}
    ignored = []
    for position, header in enumerate(raw[0]):
        text = str(_cell(header) or "")
        name = names.get(_key(text))
        if name is None:
            if text:
                ignored.append(text)
            continue
        if name in headers:
            raise ImportFailed(f"columns {headers[name]!r} and {text!r} both give {name}")
        headers[name] = text
        positions[position] = name
    missing = [c.name for c in columns if c.required and c.name not in headers]
    if missing:
        raise ImportFailed("missing column(s): " + ", ".join(missing))
    rows = []
    for number, values in enumerate(raw[1:], start=2):
        row = {name: _cell(values[p]) if p < len(values) else None
               for p, name in positions.items()}
        if any(v is not None for v in row.values()):
            rows.append((number, row))
    return Table(headers, rows, ignored)


# --- importing ---------------------------------------------------------------------------------


@dataclass
class Report:
    total: int = 0
    imported: int = 0
    existing: int = 0  # already in the database: skipped
    bad: list[RowError] = field(default_factory=list)
    written: bool = False  # False: validation failed (or a dry run): nothing was written

    @property
    def bad_rows(self) -> int:
        return len({e.row for e in self.bad})


def _problems(table: Table, row: int, problems: list[tuple[str, str]]) -> list[RowError]:
    return [RowError(row, table.headers.get(name.split(".")[0], name), message)
            for name, message in problems]


def _tick(progress: Progress | None, phase: str, done: int, total: int) -> None:
    if progress is not None:
        progress(phase, done, total)


async def import_orders(
    session: AsyncSession, table: Table, *, now: datetime, actor: Actor,
    skip_bad: bool = False, dry_run: bool = False, progress: Progress | None = None,
) -> Report:
    """Validate every row, then (all good, or ``skip_bad``) open the new orders."""
    report = Report(total=len(table.rows))
    codes = await StaffCodes.load(session)
    numbers = set((await session.exec(select(WorkOrder.number))).all())
    seen: dict[str, int] = {}
    good: list[WorkOrderIn] = []
    for done, (row, values) in enumerate(table.rows, start=1):
        values = dict(values)
        if isinstance(values.get("items"), str):
            values["items"] = [item for part in re.split(r"[;；]", values["items"])
                               for item in parse_items(part)]
        values = {k: str(v) if isinstance(v, date) else v for k, v in values.items()
                  if v not in (None, [])}  # a blank cell is a missing field
        try:
            order = WorkOrderIn.model_validate(values)
        except ValidationError as exc:
            report.bad += _problems(table, row, field_errors(exc))
            _tick(progress, "checking", done, report.total)
            continue
        problems = staff_problems(order, codes)
        if order.order_number in seen:
            problems.append(("order_number",
                             f"{order.order_number} is also on row {seen[order.order_number]}"))
        if problems:
            report.bad += _problems(table, row, problems)
        elif order.order_number in numbers:
            report.existing += 1
        else:
            good.append(order)
        seen.setdefault(order.order_number, row)
        _tick(progress, "checking", done, report.total)
    if (report.bad and not skip_bad) or dry_run:
        return report
    for done, order in enumerate(good, start=1):
        try:
            await create_order(session, order, codes, now=now, actor=actor)
        except Refused as refused:  # the validation above mirrors the rules; just in case
            raise ImportFailed(f"order {order.order_number}: {refused.code}") from None
        report.imported += 1
        _tick(progress, "importing", done, len(good))
    await session.flush()
    report.written = True
    return report


async def import_customers(
    session: AsyncSession, table: Table, *, now: datetime, actor: Actor,
    skip_bad: bool = False, dry_run: bool = False, progress: Progress | None = None,
) -> Report:
    """Validate every row, then add the customers and their vehicles. A row whose plate is
    already on file is skipped (without a plate: whose phone is); a row whose phone matches a
    customer adds the vehicle to that customer."""
    report = Report(total=len(table.rows))
    codes = await StaffCodes.load(session)
    plates_on_file = set((await session.exec(select(Vehicle.plate))).all())
    phones_on_file = {phone for phones in (await session.exec(select(Customer.phones))).all()
                      for phone in phones.split(",") if phone}
    seen: dict[str, int] = {}
    good: list[tuple[CustomerIn, Staff | None]] = []
    for done, (row, values) in enumerate(table.rows, start=1):
        try:
            customer = CustomerIn.model_validate(
                {k: v for k, v in values.items() if v is not None},
                context={"today": now.date()})
        except ValidationError as exc:
            report.bad += _problems(table, row, field_errors(exc))
            _tick(progress, "checking", done, report.total)
            continue
        problems = []
        clerk = None
        if customer.clerk_code:
            clerk, problem = codes.holder(customer.clerk_code, Role.tracking_clerk)
            if problem:
                problems.append(("clerk_code", problem))
        if not customer.phone and not customer.plate:
            problems.append(("phone", "give a phone number or a plate"))
        if customer.plate and customer.plate in seen:
            problems.append(("plate", f"{customer.plate} is also on row {seen[customer.plate]}"))
        if problems:
            report.bad += _problems(table, row, problems)
        elif (customer.plate in plates_on_file if customer.plate
              else any(p in phones_on_file for p in (customer.phone or "").split(","))):
            report.existing += 1  # the vehicle, or (without a plate) the customer, is on file
        else:
            good.append((customer, clerk))
        if customer.plate:
            seen.setdefault(customer.plate, row)
        _tick(progress, "checking", done, report.total)
    if (report.bad and not skip_bad) or dry_run:
        return report
    for done, (customer, clerk) in enumerate(good, start=1):
        await _add_customer(session, customer, clerk, now=now, actor=actor)
        report.imported += 1
        _tick(progress, "importing", done, len(good))
    await session.flush()
    report.written = True
    return report


async def _add_customer(
    session: AsyncSession, row: CustomerIn, clerk: Staff | None, *, now: datetime,
    actor: Actor,
) -> Customer:
    found = None
    if row.phone:
        first = row.phone.split(",")[0]
        found = (await session.exec(
            select(Customer).where(col(Customer.phones).contains(first))
        )).first()
    customer = found
    if customer is None:
        assigned = clerk or await least_busy_clerk(session)
        customer = Customer(
            name=row.name, phones=row.phone or "", address=row.address,
            services_wanted=row.services_wanted, clerk_id=assigned.id if assigned else None,
            created_at=now, updated_at=now,
        )
        session.add(customer)
        await session.flush()
    if row.plate:
        session.add(Vehicle(
            customer_id=id_of(customer),
            plate=row.plate, model=row.vehicle_model, vehicle_type=row.vehicle_type,
            cycle_months=row.cycle_months, cycle_km=row.cycle_km,
            last_service_on=row.last_service_on, next_maintenance_on=row.next_maintenance_on,
            created_at=now,
        ))
        await session.flush()
    vehicles = list((await session.exec(
        select(Vehicle).where(Vehicle.customer_id == customer.id))).all())
    if customer.archive_completed_at is None and not missing_fields(customer, vehicles):
        customer.archive_completed_at = now
    audit.record(session, now=now, actor=actor, action="customer.import", entity="customer",
                 entity_id=customer.id, after="added" if found is None else "vehicle",
                 plate=row.plate)
    return customer

