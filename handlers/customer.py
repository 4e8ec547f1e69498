"""A2: the customer archive (客户档案基本资料表). ``/customer`` finds it by plate, phone or name
and the card shows it; ``handlers.customer_edit`` completes it field by field.

Clerks, supervisors and advisors look customers up; only clerks and supervisors edit. The card
carries phones and the address, so it is never shown to technicians. The delivery and
consultation flows and the archive reminder job (:mod:`jobs.archive_reminders`) reuse the
field names, the new-visit message and the Edit button from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.i18n import N_, Translator
from bot.messenger import Rendered
from handlers.common import (
    IN,
    add_refusals,
    answer_tap,
    button,
    callback_int,
    keyboard,
    refusal,
    refuse,
    reply,
    wrong_input,
)
from handlers.context import WorkshopContext
from handlers.customer_pick import PHONE_READERS, CustomerPick
from models.absence import route
from models.call_log import CallLog, Direction, calls_of
from models.customer import (
    ARCHIVE_DAYS,
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
from models.staff import Role, Staff
from models.work_order import get_order

VIEWERS = PHONE_READERS  # the card carries the phones
EDITORS = (Role.tracking_clerk, Role.supervisor)
CARD_VISITS = 10
CARD_CALLS = 3

add_refusals({
    "archive_viewers_only": lambda _, p: _(
        "Only tracking clerks, supervisors and advisors can look up customers."),
    "archive_clerks_only": lambda _, p: _(
        "Only tracking clerks and supervisors can do this; nothing was changed."),
})

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


# --- words shared with delivery, consultation and the reminder job ---------------------------


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


def new_visit_message(
    t: Translator, customer: Customer, visit: Visit, plate: str | None,
    followup: FollowUp | None, missing: list[str], *, order_number: str | None = None,
    standing_in_for: Staff | None = None,
) -> Rendered:
    """What the customer's clerk is told when a delivery or a consultation opens a visit."""
    lines = standing_in_note(t, standing_in_for)
    if order_number:
        lines.append(t("🚗 New visit: {name} · {plate}, order {number} delivered on {date}.")
                     .format(name=customer.name, plate=plate or "—", number=order_number,
                             date=local_day(t, visit.visited_at)))
    else:
        lines.append(t("💬 New consultation: {name} · {plate} on {date}.").format(
            name=customer.name, plate=plate or "—", date=local_day(t, visit.visited_at)))
    if visit.summary:
        lines.append(t("What: {summary}").format(summary=visit.summary))
    if followup is not None:
        lines.append(t("First call due {window}.").format(window=window_text(t, followup)))
    if missing:
        lines.append(t.ngettext(
            "Complete the archive within {count} day — missing: {fields}.",
            "Complete the archive within {count} days — missing: {fields}.", ARCHIVE_DAYS,
        ).format(count=ARCHIVE_DAYS, fields=field_list(t, missing)))
        return "\n".join(lines), edit_button(t, customer.id)  # type: ignore[arg-type]
    lines.append(t("✅ The archive is complete."))
    return "\n".join(lines), keyboard([button(t("🗂 Archive"), f"cus:{customer.id}:view")])


# --- the archive card ------------------------------------------------------------------------


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


def calls_text(t: Translator, facts: ArchiveFacts) -> str:
    lines = [t("📞 Calls with {name}, newest first:").format(name=facts.customer.name)]
    if not facts.calls:
        lines.append(t("No call is logged yet."))
    lines += [call_line(t, *entry) for entry in facts.calls]
    return "\n".join(lines)


async def load_card(
    context: WorkshopContext, session: AsyncSession, customer_id: int, *, calls: int = CARD_CALLS
) -> ArchiveFacts:
    now = context.now()
    return await archive_facts(session, customer_id, now=now, calls=calls,
                               today=context.services.settings.calendar.local_date(now))


# --- /customer and the card's buttons --------------------------------------------------------


async def busy(update: Update, context: WorkshopContext) -> bool:
    """In the middle of a conversation: a plain command or button waits, as entry points do.

    The one-shot handlers here are registered before some conversations, so they say it
    themselves rather than answer over the open step.
    """
    if (context.user_data or {}).get(IN) is None:
        return False
    await wrong_input(update, context)
    return True


async def find(update: Update, context: WorkshopContext) -> None:
    """/customer QUERY: one match shows the card, several give buttons, none says why."""
    _ = context._
    if await busy(update, context):
        return
    if not context.me.has(*VIEWERS):
        await reply(update, refusal(_, Refused("archive_viewers_only")))
        return
    if not context.args:
        await reply(update, _("Send /customer with a plate, phone number or name, e.g. "
                              "/customer 京A12345."))
        return
    await PICK.search(update, context, " ".join(context.args))


async def show_card(update: Update, context: WorkshopContext, customer: Customer) -> None:
    """The one customer a search found."""
    async with context.services.db.session() as session:
        facts = await load_card(context, session, customer.id)  # type: ignore[arg-type]
    await reply(update, *archive_card(context._, facts, editable=context.me.has(*EDITORS)))


# The list's buttons are the card's own 🗂 button (``view``), so they work without a
# conversation; ``view`` checks who taps and that the customer still exists.
PICK = CustomerPick("cus:{id}:view", show_card,
                    again=N_("Check it and try again, or search by name."))


async def view(update: Update, context: WorkshopContext) -> None:
    """A search result or an Archive button: the card, for those allowed to read it."""
    if await busy(update, context):
        return
    if not context.me.has(*VIEWERS):
        await refuse(update, context, Refused("archive_viewers_only"))
        return
    async with context.services.db.session() as session:
        try:
            facts = await load_card(context, session, callback_int(update))
        except Refused as refused:
            await refuse(update, context, refused)
            return
    await answer_tap(update)
    await reply(update, *archive_card(context._, facts, editable=context.me.has(*EDITORS)))


async def show_calls(update: Update, context: WorkshopContext) -> None:
    """📞 Calls: the follow-up history, who called and for whom they stood in."""
    if await busy(update, context):
        return
    if not context.me.has(*VIEWERS):
        await refuse(update, context, Refused("archive_viewers_only"))
        return
    async with context.services.db.session() as session:
        try:
            facts = await load_card(context, session, callback_int(update), calls=20)
        except Refused as refused:
            await refuse(update, context, refused)
            return
    await answer_tap(update)
    await reply(update, calls_text(context._, facts))


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        CommandHandler("customer", find),
        CallbackQueryHandler(view, pattern=r"^cus:\d+:view$"),
        CallbackQueryHandler(show_calls, pattern=r"^cus:\d+:calls$"),
    ]
