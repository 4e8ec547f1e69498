"""The customer archive card (A2) and the archive reminders' pieces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup

from bot.i18n import N_, Translator
from bot.messenger import Rendered
from handlers.chat.ui import button, keyboard
from models.absence import route
from models.call_log import CallLog, Direction, calls_of
from models.customer import (
    Customer,
    Vehicle,
    Visit,
    VisitKind,
    get_customer,
    missing_fields,
    vehicles_of,
    visits_of,
)
from models.followup import FollowUp, FollowUpKind, is_overdue, open_for_customer
from models.rules import Refused
from models.staff import Staff
from models.work_order import get_order

CARD_VISITS = 10


CARD_CALLS = 3


# The fields of the form, as models.customer.missing_fields names them.
FIELD_NAMES = {
    "name": N_("name"),
    "address": N_("address"),
    "phone": N_("phone"),
    "vehicle_model": N_("vehicle model"),
    "plate": N_("plate"),
    "vehicle_type": N_("vehicle type"),
    "maintenance_cycle": N_("maintenance cycle"),
    "next_maintenance": N_("next maintenance date"),
    "services_wanted": N_("services wanted"),
}


FOLLOWUP_KINDS = {
    FollowUpKind.first_call: N_("First call"),
    FollowUpKind.second_call: N_("Second call"),
    FollowUpKind.maintenance: N_("Maintenance due"),
    FollowUpKind.campaign: N_("Campaign call"),
    FollowUpKind.complaint_callback: N_("Complaint callback"),
}


VISIT_KINDS = {VisitKind.repair: N_("repair"), VisitKind.consultation: N_("consultation")}


def field_list(t: Translator, fields: list[str]) -> str:
    return ", ".join(t(FIELD_NAMES[f]) for f in fields)


def missing_text(t: Translator, missing: list[str]) -> str:
    if not missing:
        return t("✅ The archive is complete.")
    return t("Still missing: {fields}.").format(fields=field_list(t, missing))


def edit_button(t: Translator, customer_id: int) -> InlineKeyboardMarkup:
    return keyboard([button(t("✏️ Complete the archive"), f"cus:{customer_id}:edit")])


def local_day(t: Translator, at: datetime) -> str:
    return at.astimezone(t.tz).date().isoformat()


def window_text(t: Translator, followup: FollowUp) -> str:
    """A follow-up's window as whole local days; its end is exclusive, so the day before."""
    last = followup.due_until.astimezone(t.tz).date() - timedelta(days=1)
    return t("{first} to {last}").format(first=local_day(t, followup.due_from),
                                         last=last.isoformat())


def standing_in_note(t: Translator, clerk: Staff | None) -> list[str]:
    if clerk is None:
        return []
    return [t("👥 You are standing in for {name}: this is their customer.").format(
        name=clerk.name)]


@dataclass(frozen=True)
class ArchiveFacts:
    """What the card shows, loaded once and rendered in each reader's language."""

    customer: Customer
    vehicles: list[Vehicle]
    visits: list[tuple[Visit, str | None]]  # with the work order's number
    clerk: Staff | None
    standin: Staff | None  # who takes the clerk's customers today
    followups: list[FollowUp]
    calls: list[tuple[CallLog, Staff | None, Staff | None]]  # call, who called, for whom
    missing: list[str]
    now: datetime


async def archive_facts(
    session: AsyncSession, customer_id: int, *, now: datetime, today: date | None = None,
    calls: int = CARD_CALLS,
) -> ArchiveFacts:
    """``today`` (the shop's local date) shows the clerk's stand-in when they are away."""
    customer = await get_customer(session, customer_id)
    vehicles = await vehicles_of(session, customer_id)
    visits = []
    for visit in await visits_of(session, customer_id, limit=CARD_VISITS):
        number = None
        if visit.order_id is not None:
            try:
                number = (await get_order(session, visit.order_id)).number
            except Refused:
                number = None
        visits.append((visit, number))
    clerk = await session.get(Staff, customer.clerk_id) if customer.clerk_id else None
    standin = None
    if clerk is not None and today is not None:
        way = await route(session, clerk.id, today)  # type: ignore[arg-type]
        if way.standing_in_for is not None:
            standin = await session.get(Staff, way.staff_id)
    people: dict[int, Staff | None] = {}

    async def person(staff_id: int | None) -> Staff | None:
        if staff_id is None:
            return None
        if staff_id not in people:
            people[staff_id] = await session.get(Staff, staff_id)
        return people[staff_id]

    history = [(call, await person(call.clerk_id), await person(call.on_behalf_of))
               for call in await calls_of(session, customer_id, limit=calls)]
    return ArchiveFacts(customer, vehicles, visits, clerk, standin,
                        await open_for_customer(session, customer_id), history,
                        missing_fields(customer, vehicles), now)


def call_line(t: Translator, call: CallLog, who: Staff | None, behalf: Staff | None) -> str:
    name = who.name if who else "?"
    if behalf is not None:
        name = t("{name} for {clerk}").format(name=name, clerk=behalf.name)
    parts = [t("reached") if call.reached else t("not reached")]
    if call.direction == Direction.inbound:
        parts.insert(0, t("inbound"))
    if call.satisfaction is not None:
        parts.append(t("satisfaction {score}/5").format(score=call.satisfaction))
    line = "• {at} {name}: {outcome}".format(at=t.time(call.at), name=name,
                                             outcome=", ".join(parts))
    if call.notes:
        line += " — " + (call.notes if len(call.notes) <= 80 else call.notes[:79] + "…")
    if call.request:
        line += "\n  " + t("Request: {text}").format(text=call.request)
    return line


def archive_card(t: Translator, facts: ArchiveFacts, *, editable: bool) -> Rendered:
    """客户档案基本资料表 as a message. Only for clerks, advisors and supervisors: it has the
    phones and the address."""
    customer = facts.customer
    dash = "—"
    lines = [
        t("🗂 Customer archive · {name}").format(name=customer.name),
        t("Phones: {phones}").format(phones=", ".join(customer.phone_list) or dash),
        t("Address: {address}").format(address=customer.address or dash),
    ]
    clerk = facts.clerk.name if facts.clerk else t("nobody yet")
    if facts.standin is not None:
        clerk = t("{clerk} (away today; {standin} stands in)").format(
            clerk=clerk, standin=facts.standin.name)
    lines.append(t("Clerk: {name}").format(name=clerk))
    lines.append(t("Services wanted: {text}").format(text=customer.services_wanted or dash))
    lines += ["", t("Vehicles:")]
    if not facts.vehicles:
        lines.append("• " + t("none on file"))
    for vehicle in facts.vehicles:
        lines.append("• " + " · ".join([vehicle.plate, vehicle.model or dash,
                                        vehicle.vehicle_type or dash]))
        cycle = [t("{count} months").format(count=vehicle.cycle_months)
                 if vehicle.cycle_months else None,
                 t("{count} km").format(count=vehicle.cycle_km) if vehicle.cycle_km else None]
        lines.append("  " + t("Cycle: {cycle} · last service: {last} · next maintenance: "
                              "{next}").format(
            cycle=" / ".join(c for c in cycle if c) or dash,
            last=vehicle.last_service_on.isoformat() if vehicle.last_service_on else dash,
            next=vehicle.next_maintenance_on.isoformat() if vehicle.next_maintenance_on
            else dash))
    lines += ["", t("Service history:")]
    if not facts.visits:
        lines.append("• " + t("none yet"))
    for visit, number in facts.visits:
        kind = t(VISIT_KINDS.get(VisitKind(visit.kind), visit.kind))
        head = f"• {local_day(t, visit.visited_at)} {kind}"
        if number:
            head += f" {number}"
        lines.append(head + (f": {visit.summary}" if visit.summary else ""))
    if facts.followups:
        lines += ["", t("Open follow-ups:")]
        for followup in facts.followups:
            label = FOLLOWUP_KINDS.get(FollowUpKind(followup.kind))
            kind = t(label) if label else followup.kind
            line = f"• {kind} · {window_text(t, followup)}"
            if is_overdue(followup, facts.now):
                line += " " + t("(overdue)")
            lines.append(line)
    lines += ["", t("Calls:")]
    if not facts.calls:
        lines.append("• " + t("none yet"))
    lines += [call_line(t, *entry) for entry in facts.calls]
    lines += ["", missing_text(t, facts.missing)]
    cid = customer.id
    row = [button(t("📞 Calls"), f"cus:{cid}:calls")]
    if editable:
        row.insert(0, button(t("✏️ Edit"), f"cus:{cid}:edit"))
    return "\n".join(lines), keyboard(row)
