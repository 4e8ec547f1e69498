"""The customer archive card (A2) and the archive reminders :mod:`jobs.archive_reminders`
sends."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup

from bot.i18n import N_, Translator
from bot.messenger import Rendered
from handlers.after_sales.cards.followup import window_text
from handlers.chat.labels import followup_kind_name, visit_kind_name
from handlers.chat.ui import button, keyboard
from handlers.floor.cards import decline_name
from models.absence import route
from models.call_log import CallLog, Direction, calls_of
from models.customer import (
    ARCHIVE_DAYS,
    Customer,
    Vehicle,
    Visit,
    get_customer,
    missing_fields,
    vehicles_of,
    visits_of,
)
from models.customer_link import CustomerRecord, customer_decisions_of
from models.db import id_of
from models.extra_item import Decision
from models.followup import FollowUp, is_overdue, open_for_customer
from models.rules import Refused
from models.staff import Staff
from models.work_order import get_order

# The callback data of the buttons these cards draw, one prefix per family; the
# handlers that answer them match on the same constants.
CUSTOMER_PREFIX = "cus"  # a customer's archive: cus:<customer id>:…

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


def field_list(t: Translator, fields: list[str]) -> str:
    return ", ".join(t(FIELD_NAMES[f]) for f in fields)


def missing_text(t: Translator, missing: list[str]) -> str:
    if not missing:
        return t("✅ The archive is complete.")
    return t("Still missing: {fields}.").format(fields=field_list(t, missing))


def edit_button(t: Translator, customer_id: int) -> InlineKeyboardMarkup:
    return keyboard([button(t("✏️ Complete the archive"), f"{CUSTOMER_PREFIX}:{customer_id}:edit")])


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
    # The extra items the customer decided on a link (issue 16), newest first.
    link_decisions: list[CustomerRecord] = field(default_factory=list)


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
        way = await route(session, id_of(clerk), today)
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
                        missing_fields(customer, vehicles), now,
                        await customer_decisions_of(session, customer_id))


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
            last=t.day(vehicle.last_service_on), next=t.day(vehicle.next_maintenance_on)))
    lines += ["", t("Service history:")]
    if not facts.visits:
        lines.append("• " + t("none yet"))
    for visit, number in facts.visits:
        head = f"• {t.day(visit.visited_at)} {visit_kind_name(t, visit.kind)}"
        if number:
            head += f" {number}"
        lines.append(head + (f": {visit.summary}" if visit.summary else ""))
    if facts.link_decisions:
        lines += ["", t("Decided by the customer on their phone:")]
        lines += [link_decision_line(t, entry) for entry in facts.link_decisions]
    if facts.followups:
        lines += ["", t("Open follow-ups:")]
        for followup in facts.followups:
            line = f"• {followup_kind_name(t, followup.kind)} · {window_text(t, followup)}"
            if is_overdue(followup, facts.now):
                line += " " + t("(overdue)")
            lines.append(line)
    lines += ["", t("Calls:")]
    if not facts.calls:
        lines.append("• " + t("none yet"))
    lines += [call_line(t, *entry) for entry in facts.calls]
    lines += ["", missing_text(t, facts.missing)]
    cid = customer.id
    row = [button(t("📞 Calls"), f"{CUSTOMER_PREFIX}:{cid}:calls")]
    if editable:
        row.insert(0, button(t("✏️ Edit"), f"{CUSTOMER_PREFIX}:{cid}:edit"))
    return "\n".join(lines), keyboard(row)


ITEM_SHOWN = 40  # characters of an item's name on the card


def link_decision_line(t: Translator, entry: CustomerRecord) -> str:
    """One item the customer decided on a link: the order, the item, approved or declined
    (and why), the name they signed and when."""
    item = entry.request.description
    if len(item) > ITEM_SHOWN:
        item = item[:ITEM_SHOWN - 1] + "…"
    record = entry.record
    facts = {"number": entry.order.number, "item": item, "name": record.signed_name or "?",
             "at": t.time(record.decided_at)}  # type: ignore[arg-type]
    if record.decision == Decision.approved:
        return "• " + t("{number} {item}: ✅ approved, signed {name}, {at}").format(**facts)
    return "• " + t("{number} {item}: ❌ declined ({why}), signed {name}, {at}").format(
        why=decline_name(t, record.decline_reason), **facts)


# --- the archive reminders (jobs.archive_reminders) -------------------------------------------


def archive_reminder(
    t: Translator, customer: Customer, visit: Visit, missing: list[str], now: datetime, *,
    standing_in_for: Staff | None, unassigned: bool,
) -> Rendered:
    """To the customer's clerk (or today's stand-in; the supervisors when nobody is assigned):
    what is still missing, and by when."""
    lines = standing_in_note(t, standing_in_for)
    if unassigned:
        lines.append(t("⚠️ {name} has no active tracking clerk; assign one with /assign.")
                     .format(name=customer.name))
    lines.append(t("📋 The archive of {name} is incomplete.").format(name=customer.name))
    lines.append(t("Visit on {date}: {summary}").format(
        date=t.day(visit.visited_at), summary=visit.summary or "—"))
    lines.append(t("Missing: {fields}.").format(fields=field_list(t, missing)))
    if visit.archive_due_at > now:
        lines.append(t("Please complete it by {at}.").format(at=t.time(visit.archive_due_at)))
    else:
        lines.append(t("It was due {at}.").format(at=t.time(visit.archive_due_at)))
    return "\n".join(lines), edit_button(t, id_of(customer))


def late_archive_report(
    t: Translator, customer: Customer, visit: Visit, missing: list[str], clerk: Staff | None
) -> Rendered:
    """To the supervisors, once: an archive still incomplete two days after the visit."""
    text = t.ngettext(
        "⚠️ The archive of {name} is still incomplete {count} day after the visit of {date}.",
        "⚠️ The archive of {name} is still incomplete {count} days after the visit of {date}.",
        ARCHIVE_DAYS,
    ).format(name=customer.name, count=ARCHIVE_DAYS, date=t.day(visit.visited_at))
    lines = [text,
             t("Clerk: {name}").format(name=clerk.name if clerk else t("nobody yet")),
             t("Missing: {fields}.").format(fields=field_list(t, missing))]
    return "\n".join(lines), keyboard([button(t("🗂 Archive"),
                                              f"{CUSTOMER_PREFIX}:{customer.id}:view")])
