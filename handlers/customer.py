"""A2: the customer archive (客户档案基本资料表). ``/customer`` finds it by plate, phone or name,
the card shows it, and a short conversation completes it field by field.

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
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.i18n import N_, Translator
from bot.messenger import Rendered
from handlers.common import (
    END,
    IN,
    add_refusals,
    answer_tap,
    button,
    callback_int,
    checked_text,
    conversation,
    draft,
    drop_draft,
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
    update_archive,
    vehicles_of,
    visits_of,
)
from models.followup import FollowUp, FollowUpKind, is_overdue, open_for_customer
from models.rules import Refused
from models.staff import Role, Staff
from models.work_order import get_order

FIELD, VEHICLE, VALUE = range(3)
DRAFT = "customer_edit"
TEXT = filters.TEXT & ~filters.COMMAND

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

# What the edit conversation offers (models.customer.update_archive's fields), in form order.
EDIT_FIELDS = {
    "name": N_("Name"),
    "phones": N_("Phones"),
    "address": N_("Address"),
    "plate": N_("Add a vehicle (plate)"),
    "vehicle_model": N_("Vehicle model"),
    "vehicle_type": N_("Vehicle type"),
    "cycle_months": N_("Cycle (months)"),
    "cycle_km": N_("Cycle (km)"),
    "next_maintenance_on": N_("Next maintenance date"),
    "services_wanted": N_("Services wanted"),
}
PROMPTS = {
    "name": N_("Send the customer's name."),
    "phones": N_("Send the phone numbers, separated by commas (e.g. 13812345678, "
                 "010-12345678). They replace the ones on file."),
    "address": N_("Send the customer's address."),
    "plate": N_("Send the plate of the customer's vehicle (e.g. 京A12345). A new plate adds a "
                "vehicle."),
    "vehicle_model": N_("Send the vehicle model (e.g. Toyota Camry)."),
    "vehicle_type": N_("Send the vehicle type (e.g. sedan, SUV, van)."),
    "cycle_months": N_("Send the maintenance cycle in months (e.g. 6)."),
    "cycle_km": N_("Send the maintenance cycle in kilometres (e.g. 5000)."),
    "next_maintenance_on": N_("Send the next maintenance date, like 2027-05-30."),
    "services_wanted": N_("Send the services the customer wants."),
}
# Which missing field an edit fills in (for the ❗ marks on the buttons).
FILLS = {"phones": "phone", "cycle_months": "maintenance_cycle",
         "cycle_km": "maintenance_cycle", "next_maintenance_on": "next_maintenance"}
VEHICLE_FIELDS = frozenset({"vehicle_model", "vehicle_type", "cycle_months", "cycle_km",
                            "next_maintenance_on"})
LIMITS = {"name": 64, "phones": 100, "address": 200, "plate": 20, "vehicle_model": 64,
          "vehicle_type": 32, "cycle_months": 10, "cycle_km": 10, "next_maintenance_on": 20,
          "services_wanted": 500}
FIELD_DATA = r"^cus:\d+:f:(" + "|".join(EDIT_FIELDS) + r")$"

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


# --- editing the archive ---------------------------------------------------------------------


def field_keyboard(t: Translator, customer_id: int, missing: list[str]) -> InlineKeyboardMarkup:
    buttons = []
    for field, label in EDIT_FIELDS.items():
        mark = "❗ " if FILLS.get(field, field) in missing else ""
        buttons.append(button(mark + t(label), f"cus:{customer_id}:f:{field}"))
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return keyboard(*rows, [button(t("✅ Done"), f"cus:{customer_id}:done")])


def current_value(customer: Customer, vehicle: Vehicle | None, field: str) -> str | None:
    if field == "name":
        return customer.name
    if field == "phones":
        return ", ".join(customer.phone_list) or None
    if field in ("address", "services_wanted"):
        return getattr(customer, field)  # type: ignore[no-any-return]
    if vehicle is None or field == "plate":
        return None
    value = {"vehicle_model": vehicle.model, "vehicle_type": vehicle.vehicle_type,
             "cycle_months": vehicle.cycle_months, "cycle_km": vehicle.cycle_km,
             "next_maintenance_on": vehicle.next_maintenance_on}[field]
    return None if value is None else str(value)


async def start_edit(update: Update, context: WorkshopContext) -> int:
    """✏️ Edit on the card or on a reminder: clerks and supervisors, an existing customer."""
    _ = context._
    if not context.me.has(*EDITORS):
        await refuse(update, context, Refused("archive_clerks_only"))
        return END
    customer_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            customer = await get_customer(session, customer_id)
        except Refused as refused:
            await refuse(update, context, refused)
            return END
        missing = missing_fields(customer, await vehicles_of(session, customer_id))
    drop_draft(context, DRAFT)
    draft(context, DRAFT)["customer_id"] = customer_id
    await answer_tap(update)
    await reply(update, _("✏️ Archive of {name}. Which field? ❗ marks what is missing. Tap "
                          "“Done” when finished; /cancel stops.").format(name=customer.name)
                + "\n" + missing_text(_, missing), field_keyboard(_, customer_id, missing))
    return FIELD


def _same_customer(update: Update, context: WorkshopContext) -> bool:
    return callback_int(update) == draft(context, DRAFT).get("customer_id")


async def got_field(update: Update, context: WorkshopContext) -> int:
    """A field to change; a vehicle's field on a customer with several cars asks which car."""
    _ = context._
    query = update.callback_query
    assert query is not None and query.data is not None
    form = draft(context, DRAFT)
    if not _same_customer(update, context):
        await wrong_input(update, context)  # the buttons of another archive
        return VALUE if "field" in form else FIELD
    field = query.data.rsplit(":", 1)[1]
    async with context.services.db.session() as session:
        try:
            customer = await get_customer(session, form["customer_id"])
        except Refused as refused:
            drop_draft(context, DRAFT)
            await refuse(update, context, refused)
            return END
        vehicles = await vehicles_of(session, form["customer_id"])
    await answer_tap(update)
    form.update(field=field, vehicle_id=None)
    if field in VEHICLE_FIELDS:
        if not vehicles:
            form.pop("field")
            await reply(update, refusal(_, Refused("no_vehicle")),
                        field_keyboard(_, form["customer_id"],
                                       missing_fields(customer, vehicles)))
            return FIELD
        if len(vehicles) > 1:
            await reply(update, _("{field}: of which vehicle?").format(field=_(EDIT_FIELDS[field])),
                        keyboard(*[[button(v.plate, f"cus:{customer.id}:v:{v.id}")]
                                   for v in vehicles]))
            return VEHICLE
        form["vehicle_id"] = vehicles[0].id
    await ask_value(update, context, customer, vehicles)
    return VALUE


async def got_vehicle(update: Update, context: WorkshopContext) -> int:
    """The car whose field changes."""
    query = update.callback_query
    assert query is not None and query.data is not None
    form = draft(context, DRAFT)
    vehicle_id = int(query.data.rsplit(":", 1)[1])
    async with context.services.db.session() as session:
        try:
            customer = await get_customer(session, form["customer_id"])
        except Refused as refused:
            drop_draft(context, DRAFT)
            await refuse(update, context, refused)
            return END
        vehicles = await vehicles_of(session, form["customer_id"])
    if not _same_customer(update, context) or vehicle_id not in {v.id for v in vehicles}:
        await wrong_input(update, context)
        return VEHICLE
    await answer_tap(update)
    form["vehicle_id"] = vehicle_id
    await ask_value(update, context, customer, vehicles)
    return VALUE


async def ask_value(update: Update, context: WorkshopContext, customer: Customer,
                    vehicles: list[Vehicle]) -> None:
    _ = context._
    form = draft(context, DRAFT)
    field = form["field"]
    vehicle = next((v for v in vehicles if v.id == form.get("vehicle_id")), None)
    text = _(PROMPTS[field])
    if vehicle is not None:
        text = vehicle.plate + ": " + text
    now = current_value(customer, vehicle, field)
    if now:
        text += "\n" + _("Now: {value}").format(value=now)
    await reply(update, text)


async def got_value(update: Update, context: WorkshopContext) -> int:
    """Check and save the value; the form says what is still missing."""
    _ = context._
    assert update.message is not None
    form = draft(context, DRAFT)
    field = form["field"]
    value, problem = checked_text(context, update.message.text, LIMITS[field])
    if problem or value is None:
        await reply(update, problem or "")
        return VALUE
    if not context.me.has(*EDITORS):
        drop_draft(context, DRAFT)
        await reply(update, refusal(_, Refused("archive_clerks_only")))
        return END
    async with context.services.db.session() as session:
        try:
            missing = await update_archive(
                session, customer_id=form["customer_id"], field=field, value=value,
                now=context.now(), actor=context.actor, vehicle_id=form.get("vehicle_id"),
            )
        except Refused as refused:
            await session.rollback()
            await reply(update, refusal(_, refused))
            if refused.code == "customer_missing":
                drop_draft(context, DRAFT)
                return END
            return VALUE
        await session.commit()
    form.pop("field", None)
    form.pop("vehicle_id", None)
    await reply(update, _("Saved — {field}: {value}").format(field=_(EDIT_FIELDS[field]),
                                                             value=value)
                + "\n" + missing_text(_, missing) + "\n" + _("Another field, or “Done”?"),
                field_keyboard(_, form["customer_id"], missing))
    return FIELD


async def done(update: Update, context: WorkshopContext) -> int:
    """Leave the form; the card shows the archive as it now stands."""
    if not _same_customer(update, context):
        await wrong_input(update, context)
        return VALUE if "field" in draft(context, DRAFT) else FIELD
    customer_id = draft(context, DRAFT)["customer_id"]
    drop_draft(context, DRAFT)
    await answer_tap(update)
    async with context.services.db.session() as session:
        try:
            facts = await load_card(context, session, customer_id)
        except Refused as refused:
            await reply(update, refusal(context._, refused))
            return END
    await reply(update, *archive_card(context._, facts, editable=True))
    return END


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "customer_edit",
            draft_key=DRAFT,
            entry_points=[CallbackQueryHandler(start_edit, pattern=r"^cus:\d+:edit$")],
            states={
                FIELD: [
                    CallbackQueryHandler(got_field, pattern=FIELD_DATA),
                    CallbackQueryHandler(done, pattern=r"^cus:\d+:done$"),
                ],
                VEHICLE: [CallbackQueryHandler(got_vehicle, pattern=r"^cus:\d+:v:\d+$")],
                VALUE: [
                    MessageHandler(TEXT, got_value),
                    CallbackQueryHandler(got_field, pattern=FIELD_DATA),
                    CallbackQueryHandler(done, pattern=r"^cus:\d+:done$"),
                ],
            },
        ),
        CommandHandler("customer", find),
        CallbackQueryHandler(view, pattern=r"^cus:\d+:view$"),
        CallbackQueryHandler(show_calls, pattern=r"^cus:\d+:calls$"),
    ]
