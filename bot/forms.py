"""The four forms of A13 as spreadsheets: 客户档案基本资料表, 跟踪记录表, 跟踪登记表 and
跟踪服务信函登记表.

Column names and sheet titles are the paper forms' own Chinese words for a zh_CN reader (they
are the forms' names, not a translation, so they do not wait on the catalog); any other reader
gets the English names through the translator. Values (directions, topics, statuses) go through
the translator as usual.

Rows are read a page at a time (keyset pagination on date and id: no cursor held open between
pages, so it behaves the same on SQLite and PostgreSQL) and written with openpyxl's write-only
mode, so a year of a big shop stays within a steady amount of memory.

Which rows a period holds: the archive — one row per visit in the period (a customer who came
twice has two rows, each with its own date and work; 维修保养记录 lists all their visits up to
the period's end), then the customers added in the period who did not come in it (imported
from the DMS, say), a row per vehicle with no visit date; the call log and the register — one
row per call logged in the period; the letters — one row per letter sent in the period.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import and_, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import N_, Translator
from handlers.chat.labels import (
    complaint_status_name,
    followup_kind_name,
    letter_channel_name,
    letter_kind_name,
    topic_name,
    visit_kind_name,
)
from handlers.floor.cards import consent_name, decline_name, reject_reason_text
from models.call_log import CallLog, Direction
from models.campaign import Campaign
from models.complaint import Complaint, ComplaintStatus
from models.customer import Customer, Vehicle, Visit
from models.customer_link import CustomerLinkItem
from models.db import select_columns
from models.extra_item import Decision, ExtraItemRequest
from models.followup import FollowUp
from models.letter import Letter
from models.staff import Staff

PAGE = 500
HISTORY_VISITS = 30  # the newest visits listed in 维修保养记录
CELL_LIMIT = 32_000  # Excel holds at most 32,767 characters in a cell
ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class Form(StrEnum):
    archive = "archive"  # 客户档案基本资料表
    call_log = "call-log"  # 跟踪记录表
    call_register = "call-register"  # 跟踪登记表
    letters = "letters"  # 跟踪服务信函登记表


@dataclass(frozen=True)
class Name:
    """A form's own Chinese word and the English one (a msgid)."""

    zh: str
    en: str


TITLES: dict[Form, Name] = {
    Form.archive: Name("客户档案基本资料表", N_("Customer archive")),
    Form.call_log: Name("跟踪记录表", N_("Follow-up call log")),
    Form.call_register: Name("跟踪登记表", N_("Follow-up register")),
    Form.letters: Name("跟踪服务信函登记表", N_("Service letter register")),
}

COLUMNS: dict[Form, list[tuple[Name, int]]] = {  # (name, column width)
    Form.archive: [
        (Name("客户名称", N_("Customer name")), 14),
        (Name("地址", N_("Address")), 28),
        (Name("电话", N_("Phone")), 16),
        (Name("送修或来访日期", N_("Repair or visit date")), 16),
        (Name("来访类型", N_("Visit type")), 10),
        (Name("车型", N_("Vehicle model")), 16),
        (Name("车号", N_("Plate")), 11),
        (Name("车种", N_("Vehicle type")), 8),
        (Name("维修养护项目", N_("Service items")), 32),
        (Name("保养周期", N_("Maintenance cycle")), 16),
        (Name("下一次保养期", N_("Next maintenance")), 13),
        (Name("客户希望得到的服务", N_("Services the customer wants")), 28),
        (Name("维修保养记录", N_("Service history")), 48),
        (Name("跟踪业务员", N_("Tracking clerk")), 12),
        (Name("档案完成日期", N_("Archive completed")), 16),
    ],
    Form.call_log: [
        (Name("日期", N_("Date")), 16),
        (Name("客户名称", N_("Customer name")), 14),
        (Name("电话", N_("Phone")), 16),
        (Name("车号", N_("Plate")), 11),
        (Name("跟踪业务员", N_("Tracking clerk")), 16),
        (Name("跟踪方式", N_("Direction")), 10),
        (Name("是否接通", N_("Reached")), 8),
        (Name("跟踪内容", N_("Topics covered")), 36),
        (Name("满意度", N_("Satisfaction")), 8),
        (Name("记录要点", N_("Notes")), 48),
        (Name("客户要求或投诉", N_("Request or complaint")), 32),
        (Name("处理情况", N_("How it was handled")), 40),
    ],
    Form.call_register: [
        (Name("序号", N_("No.")), 6),
        (Name("日期", N_("Date")), 16),
        (Name("客户名称", N_("Customer name")), 14),
        (Name("车号", N_("Plate")), 11),
        (Name("跟踪类型", N_("Follow-up type")), 14),
        (Name("跟踪方式", N_("Direction")), 10),
        (Name("跟踪结果", N_("Result")), 10),
        (Name("满意度", N_("Satisfaction")), 8),
        (Name("投诉处理", N_("Complaint")), 14),
        (Name("跟踪业务员", N_("Tracking clerk")), 16),
    ],
    Form.letters: [
        (Name("序号", N_("No.")), 6),
        (Name("发出日期", N_("Date sent")), 12),
        (Name("客户名称", N_("Customer name")), 14),
        (Name("地址", N_("Address")), 28),
        (Name("信函类型", N_("Letter type")), 10),
        (Name("内容摘要", N_("Content summary")), 48),
        (Name("发送方式", N_("Channel")), 10),
        (Name("跟踪业务员", N_("Tracking clerk")), 12),
    ],
}


def _form_word(t: Translator, name: Name) -> str:
    return name.zh if t.locale == "zh_CN" else t(name.en)


def title(form: Form, t: Translator) -> str:
    return _form_word(t, TITLES[form])


def headers(form: Form, t: Translator) -> list[str]:
    return [_form_word(t, name) for name, _width in COLUMNS[form]]


def filename(form: Form, t: Translator, first_day: date, last_day: date) -> str:
    return f"{title(form, t)} {first_day.isoformat()}_{last_day.isoformat()}.xlsx"


# --- values in the reader's language ---------------------------------------------------------


def direction_name(t: Translator, direction: str) -> str:
    names: dict[str, str] = {Direction.outbound: t("outbound call"),
                             Direction.inbound: t("inbound call")}
    return names.get(direction, direction)


def call_kind_name(t: Translator, kind: str | None, direction: str) -> str:
    """The follow-up a call answered; a call that answered none, by its direction."""
    if kind is None:
        return t("inbound call") if direction == Direction.inbound else t("other call")
    return followup_kind_name(t, kind)


def yes_no(t: Translator, value: bool) -> str:
    return t("yes") if value else t("no")


def clerk_label(t: Translator, name: str | None, for_name: str | None) -> str:
    if for_name:
        return t("{name} (for {clerk})").format(name=name or "—", clerk=for_name)
    return name or ""


def cycle_text(t: Translator, months: int | None, km: int | None) -> str:
    parts = []
    if months:
        parts.append(t.ngettext("{count} month", "{count} months", months).format(count=months))
    if km:
        parts.append(t("{km} km").format(km=f"{km:,}"))
    return " / ".join(parts)


# --- the workbook ----------------------------------------------------------------------------


class Sheet:
    """A write-only sheet that turns our values into safe cells."""

    def __init__(self, sheet: WriteOnlyWorksheet, t: Translator) -> None:
        self.sheet = sheet
        self.t = t
        self._wrap = Alignment(wrap_text=True, vertical="top")

    def header(self, names: Sequence[str], widths: Sequence[int]) -> None:
        for index, width in enumerate(widths, start=1):
            # (types-openpyxl leaves out the column_dimensions a write-only sheet has)
            self.sheet.column_dimensions[get_column_letter(index)].width = width  # type: ignore[attr-defined]
        self.sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        cells = []
        for name in names:
            cell = WriteOnlyCell(self.sheet, value=name)
            cell.font = bold
            cells.append(cell)
        self.sheet.append(cells)

    def rows(self, rows: Sequence[Sequence[Any]]) -> None:
        for values in rows:
            self.sheet.append([self._cell(v) for v in values])

    def _cell(self, value: Any) -> Any:
        """Plain values as they are; dates with a format; text that must stay text, as text."""
        if isinstance(value, str):
            text = ILLEGAL.sub("", value)[:CELL_LIMIT] if len(value) > 200 or \
                ILLEGAL.search(value) else value
            if not text.startswith("=") and "\n" not in text:
                return text
            cell = WriteOnlyCell(self.sheet, value=text)
            cell.data_type = "s"  # "=…" from a customer is text, never a formula
            if "\n" in text:
                cell.alignment = self._wrap
            return cell
        if isinstance(value, datetime):
            local = value.astimezone(self.t.tz).replace(tzinfo=None, microsecond=0)
            cell = WriteOnlyCell(self.sheet, value=local)
            cell.number_format = "yyyy-mm-dd hh:mm"
            return cell
        if isinstance(value, date):
            # (types-openpyxl types a write-only cell's value without date, which openpyxl takes)
            cell = WriteOnlyCell(self.sheet, value=value)  # type: ignore[arg-type]
            cell.number_format = "yyyy-mm-dd"
            return cell
        return value


async def write_form(
    form: Form, session: AsyncSession, start: datetime, end: datetime, translator: Translator,
    target: IO[bytes],
) -> int:
    """Write the form for ``[start, end)`` into ``target``; returns how many rows.

    The database is read on the event loop a page at a time; the spreadsheet is written in a
    worker thread, page by page, so a big export does not hold up the bot's other chats.
    Every moment in it carries its year (a spreadsheet is kept and read later).
    """
    translator = Translator(translator.locale, translator.tz)  # no "current year"
    workbook = Workbook(write_only=True)
    sheet = Sheet(workbook.create_sheet(title(form, translator)[:31]), translator)
    sheet.header(headers(form, translator), [width for _name, width in COLUMNS[form]])
    pages = {
        Form.archive: _archive_rows,
        Form.call_log: _call_log_rows,
        Form.call_register: _call_register_rows,
        Form.letters: _letter_rows,
    }[form]
    count = 0
    async for page in pages(session, start, end, translator):
        await asyncio.to_thread(sheet.rows, page)
        count += len(page)
    workbook.properties.title = title(form, translator)
    await asyncio.to_thread(workbook.save, target)
    return count


async def export(
    form: Form | str, session: AsyncSession, start: datetime, end: datetime,
    translator: Translator,
) -> bytes:
    """The form for ``[start, end)`` as an XLSX file."""
    buffer = io.BytesIO()
    await write_form(Form(form), session, start, end, translator, buffer)
    return buffer.getvalue()


async def _pages(session: AsyncSession, query: Any, at: Any, key: Any
                 ) -> AsyncIterator[Sequence[Any]]:
    """Rows of ``query`` ordered by (at, key), a page at a time; the first two columns of each
    row must be those two."""
    last: tuple[Any, Any] | None = None
    while True:
        page_query = query
        if last is not None:
            page_query = page_query.where(or_(at > last[0], and_(at == last[0], key > last[1])))
        rows = (await session.exec(page_query.order_by(at, key).limit(PAGE))).all()
        if not rows:
            return
        yield rows
        if len(rows) < PAGE:
            return
        last = (rows[-1][0], rows[-1][1])


# --- 客户档案基本资料表 -------------------------------------------------------------------------


async def _archive_rows(session: AsyncSession, start: datetime, end: datetime, t: Translator
                        ) -> AsyncIterator[list[list[Any]]]:
    clerk = aliased(Staff)
    query = (
        select_columns(
            col(Visit.visited_at), col(Visit.id), col(Visit.kind), col(Visit.summary),
            col(Visit.archive_completed_at), col(Customer.id), col(Customer.name),
            col(Customer.address), col(Customer.phones), col(Customer.services_wanted),
            col(Vehicle.model), col(Vehicle.plate), col(Vehicle.vehicle_type),
            col(Vehicle.cycle_months), col(Vehicle.cycle_km), col(Vehicle.next_maintenance_on),
            col(clerk.name), col(Visit.order_id),
        )
        .join(Customer, col(Customer.id) == col(Visit.customer_id))
        .outerjoin(Vehicle, col(Vehicle.id) == col(Visit.vehicle_id))
        .outerjoin(clerk, col(clerk.id) == col(Customer.clerk_id))
        .where(col(Visit.visited_at) >= start, col(Visit.visited_at) < end)
    )
    async for rows in _pages(session, query, col(Visit.visited_at), col(Visit.id)):
        history = await _histories(session, {row[5] for row in rows}, end, t)
        extras = await _extra_items(session, {row[-1] for row in rows if row[-1]}, t)
        yield [
            [name, address, phones.replace(",", ", "), visited_at, visit_kind_name(t, kind),
             model, plate, vehicle_type,
             "\n".join(filter(None, (summary, extras.get(order_id)))) or None,
             cycle_text(t, months, km) or None, next_on,
             wanted, history.get(customer_id), clerk_name, completed_at]
            for (visited_at, _id, kind, summary, completed_at, customer_id, name, address,
                 phones, wanted, model, plate, vehicle_type, months, km, next_on, clerk_name,
                 order_id)
            in rows
        ]
    async for page in _customers_without_a_visit(session, start, end, t):
        yield page


async def _customers_without_a_visit(session: AsyncSession, start: datetime, end: datetime,
                                     t: Translator) -> AsyncIterator[list[list[Any]]]:
    """The customers added in the period (imported from the DMS, or taken on in a chat) who
    did not come in it: a row per vehicle (one without a vehicle), with no visit date."""
    clerk = aliased(Staff)
    came = (select(col(Visit.id)).where(col(Visit.customer_id) == col(Customer.id),
                                        col(Visit.visited_at) >= start,
                                        col(Visit.visited_at) < end))
    query = (
        select_columns(
            col(Customer.created_at), col(Customer.id), col(Customer.name),
            col(Customer.address), col(Customer.phones), col(Customer.services_wanted),
            col(Customer.archive_completed_at), col(clerk.name),
        )
        .outerjoin(clerk, col(clerk.id) == col(Customer.clerk_id))
        .where(col(Customer.created_at) >= start, col(Customer.created_at) < end,
               ~came.exists())
    )
    async for rows in _pages(session, query, col(Customer.created_at), col(Customer.id)):
        ids = {row[1] for row in rows}
        vehicles: dict[int, list[Vehicle]] = defaultdict(list)
        for found in (await session.exec(
                select(Vehicle).where(col(Vehicle.customer_id).in_(ids))
                .order_by(col(Vehicle.customer_id), col(Vehicle.id)))).all():
            vehicles[found.customer_id].append(found)
        history = await _histories(session, ids, end, t)
        page: list[list[Any]] = []
        for (_created, customer_id, name, address, phones, wanted, completed_at,
             clerk_name) in rows:
            owned: list[Vehicle | None] = [*vehicles.get(customer_id, [])]
            for vehicle in owned or [None]:
                page.append([
                    name, address, phones.replace(",", ", ") or None, None, None,
                    vehicle and vehicle.model, vehicle and vehicle.plate,
                    vehicle and vehicle.vehicle_type, None,
                    cycle_text(t, vehicle.cycle_months, vehicle.cycle_km) or None
                    if vehicle else None,
                    vehicle and vehicle.next_maintenance_on, wanted,
                    history.get(customer_id), clerk_name, completed_at])
        yield page


async def _histories(session: AsyncSession, customer_ids: set[int], end: datetime,
                     t: Translator) -> dict[int, str]:
    """维修保养记录: every visit of these customers up to ``end``, newest first, one query."""
    rows = (await session.exec(
        select_columns(col(Visit.customer_id), col(Visit.visited_at), col(Visit.kind),
                       col(Visit.summary), col(Vehicle.plate))
        .outerjoin(Vehicle, col(Vehicle.id) == col(Visit.vehicle_id))
        .where(col(Visit.customer_id).in_(customer_ids), col(Visit.visited_at) < end)
        .order_by(col(Visit.customer_id), col(Visit.visited_at).desc(), col(Visit.id).desc())
    )).all()
    lines: dict[int, list[str]] = defaultdict(list)
    for customer_id, visited_at, kind, summary, plate in rows:
        if len(lines[customer_id]) >= HISTORY_VISITS:
            continue
        day = t.day(visited_at)
        parts = [day, visit_kind_name(t, kind)]
        if plate:
            parts.append(plate)
        if summary:
            parts.append(summary)
        lines[customer_id].append(" ".join(parts))
    return {customer_id: "\n".join(text) for customer_id, text in lines.items()}


async def _extra_items(session: AsyncSession, order_ids: set[int], t: Translator
                       ) -> dict[int, str]:
    """维修养护项目, after the order's own items: each extra item of these orders and how the
    customer consented (phone, in person, WeChat, other, or on their phone with the name they
    signed), or why it was declined — a line each, one query."""
    if not order_ids:
        return {}
    rows = (await session.exec(
        select(ExtraItemRequest, CustomerLinkItem)
        .outerjoin(CustomerLinkItem, and_(
            col(CustomerLinkItem.request_id) == col(ExtraItemRequest.id),
            col(CustomerLinkItem.decided_at).is_not(None)))
        .where(col(ExtraItemRequest.order_id).in_(order_ids))
        .order_by(col(ExtraItemRequest.order_id), col(ExtraItemRequest.id)))).all()
    lines: dict[int, list[str]] = defaultdict(list)
    for request, record in rows:
        lines[request.order_id].append(extra_item_consent(t, request, record))
    return {order_id: "\n".join(text) for order_id, text in lines.items()}


def extra_item_consent(t: Translator, request: ExtraItemRequest,
                       record: CustomerLinkItem | None) -> str:
    facts = {"item": request.description, "at": t.time(request.decided_at or request.created_at)}
    if request.status == Decision.pending:
        return t("Extra item {item}: waiting for a decision").format(**facts)
    if record is not None:  # the customer on their phone (a customer link)
        facts["name"] = record.signed_name or "?"
        if request.status == Decision.approved:
            return t("Extra item {item}: approved by the customer on their phone, signed "
                     "{name}, {at}").format(**facts)
        return t("Extra item {item}: declined by the customer on their phone, signed {name}, "
                 "{at} ({why})").format(why=decline_name(t, record.decline_reason), **facts)
    if request.status == Decision.approved:
        return t("Extra item {item}: approved {at}, consent: {consent}").format(
            consent=consent_name(t, request.consent_method)
            + (f" — {request.consent_note}" if request.consent_note else ""), **facts)
    return t("Extra item {item}: rejected {at} ({why})").format(
        why=reject_reason_text(t, request.reject_reason), **facts)


# --- 跟踪记录表 and 跟踪登记表 ----------------------------------------------------------------


def _call_query(start: datetime, end: datetime) -> Any:
    clerk = aliased(Staff)
    for_clerk = aliased(Staff)
    call_vehicle = aliased(Vehicle)
    first_plate = (
        select(col(Vehicle.plate)).where(col(Vehicle.customer_id) == col(Customer.id))
        .order_by(col(Vehicle.id)).limit(1).scalar_subquery()
    )
    return (
        select_columns(
            col(CallLog.at), col(CallLog.id), col(CallLog.direction), col(CallLog.reached),
            col(CallLog.topics), col(CallLog.satisfaction), col(CallLog.notes),
            col(CallLog.request), col(Customer.name), col(Customer.phones),
            func.coalesce(col(call_vehicle.plate), first_plate), col(clerk.name),
            col(for_clerk.name), col(FollowUp.kind), col(Complaint.status),
            col(Complaint.solution), col(Complaint.told_at),
        )
        .join(Customer, col(Customer.id) == col(CallLog.customer_id))
        .outerjoin(clerk, col(clerk.id) == col(CallLog.clerk_id))
        .outerjoin(for_clerk, col(for_clerk.id) == col(CallLog.on_behalf_of))
        .outerjoin(FollowUp, col(FollowUp.id) == col(CallLog.followup_id))
        .outerjoin(call_vehicle, col(call_vehicle.id) == col(FollowUp.vehicle_id))
        .outerjoin(Complaint, col(Complaint.call_log_id) == col(CallLog.id))
        .where(col(CallLog.at) >= start, col(CallLog.at) < end)
    )


def _handled(t: Translator, status: str | None, solution: str | None,
             told_at: datetime | None) -> str | None:
    if status is None:
        return None
    text = complaint_status_name(t, status)
    if solution:
        text += "\n" + t("Solution: {solution}").format(solution=solution)
    if told_at is not None and status == ComplaintStatus.told:
        text += "\n" + t("Customer told at {at}").format(at=t.time(told_at))
    return text


async def _call_log_rows(session: AsyncSession, start: datetime, end: datetime, t: Translator
                         ) -> AsyncIterator[list[list[Any]]]:
    async for rows in _pages(session, _call_query(start, end), col(CallLog.at),
                             col(CallLog.id)):
        yield [
            [at, name, phones.replace(",", ", "), plate, clerk_label(t, clerk_name, for_name),
             direction_name(t, direction), yes_no(t, reached),
             "; ".join(topic_name(t, topic) for topic in topics.split(",") if topic) or None,
             satisfaction, notes or None, request, _handled(t, status, solution, told_at)]
            for (at, _id, direction, reached, topics, satisfaction, notes, request, name, phones,
                 plate, clerk_name, for_name, _kind, status, solution, told_at) in rows
        ]


async def _call_register_rows(session: AsyncSession, start: datetime, end: datetime,
                              t: Translator) -> AsyncIterator[list[list[Any]]]:
    number = 0
    async for rows in _pages(session, _call_query(start, end), col(CallLog.at),
                             col(CallLog.id)):
        yield [
            [number + index, at, name, plate, call_kind_name(t, kind, direction),
             direction_name(t, direction), t("reached") if reached else t("not reached"),
             satisfaction, complaint_status_name(t, status) if status else None,
             clerk_label(t, clerk_name, for_name)]
            for index, (at, _id, direction, reached, _topics, satisfaction, _notes, _request,
                        name, _phones, plate, clerk_name, for_name, kind, status, _solution,
                        _told) in enumerate(rows, start=1)
        ]
        number += len(rows)


# --- 跟踪服务信函登记表 ------------------------------------------------------------------------


async def _letter_rows(session: AsyncSession, start: datetime, end: datetime, t: Translator
                       ) -> AsyncIterator[list[list[Any]]]:
    clerk = aliased(Staff)
    query = (
        select_columns(
            col(Letter.sent_at), col(Letter.id), col(Letter.kind), col(Letter.summary),
            col(Letter.channel), col(Customer.name), col(Customer.address), col(clerk.name),
            col(Campaign.title),
        )
        .join(Customer, col(Customer.id) == col(Letter.customer_id))
        .outerjoin(clerk, col(clerk.id) == col(Letter.clerk_id))
        .outerjoin(Campaign, col(Campaign.id) == col(Letter.campaign_id))
        .where(col(Letter.sent_at) >= start, col(Letter.sent_at) < end)
    )
    number = 0
    async for rows in _pages(session, query, col(Letter.sent_at), col(Letter.id)):
        yield [
            [number + index, sent_at.astimezone(t.tz).date(), name, address,
             letter_kind_name(t, kind), summary or campaign,
             letter_channel_name(t, channel) if channel else "", clerk_name]
            for index, (sent_at, _id, kind, summary, channel, name, address, clerk_name,
                        campaign) in enumerate(rows, start=1)
        ]
        number += len(rows)

