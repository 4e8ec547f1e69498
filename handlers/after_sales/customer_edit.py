"""A2: completing a customer archive, field by field.

"✏️ Edit" on the archive card, or "✏️ Complete the archive" on a new-visit message or a
reminder, opens the form: a button per field (❗ marks what is missing), then the value;
a vehicle's field on a customer with several cars first asks which car. "✅ Done" shows the
card as the archive now stands. Clerks and supervisors only.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import WorkshopContext
from bot.i18n import N_, Translator
from bot.refusals import refusal, refuse
from handlers.after_sales.cards.archive import CUSTOMER_PREFIX, archive_card, missing_text
from handlers.after_sales.customer import load_card
from handlers.chat.conversation import END, conversation, draft, drop_draft, read_text, wrong_input
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply
from models.customer import (
    Customer,
    Vehicle,
    get_customer,
    missing_fields,
    update_archive,
    vehicles_of,
)
from models.rules import Refused
from models.staff import require_after_sales

FIELD, VEHICLE, VALUE = range(3)
DRAFT = "customer_edit"
TEXT = filters.TEXT & ~filters.COMMAND

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
FIELD_DATA = rf"^{CUSTOMER_PREFIX}:\d+:f:(" + "|".join(EDIT_FIELDS) + r")$"


def field_keyboard(t: Translator, customer_id: int, missing: list[str]) -> InlineKeyboardMarkup:
    buttons = []
    for field, label in EDIT_FIELDS.items():
        mark = "❗ " if FILLS.get(field, field) in missing else ""
        buttons.append(button(mark + t(label), f"{CUSTOMER_PREFIX}:{customer_id}:f:{field}"))
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return keyboard(*rows, [button(t("✅ Done"), f"{CUSTOMER_PREFIX}:{customer_id}:done")])


def current_value(customer: Customer, vehicle: Vehicle | None, field: str) -> str | None:
    if field == "name":
        return customer.name
    if field == "phones":
        return ", ".join(customer.phone_list) or None
    if field in ("address", "services_wanted"):
        return getattr(customer, field)
    if vehicle is None or field == "plate":
        return None
    value = {"vehicle_model": vehicle.model, "vehicle_type": vehicle.vehicle_type,
             "cycle_months": vehicle.cycle_months, "cycle_km": vehicle.cycle_km,
             "next_maintenance_on": vehicle.next_maintenance_on}[field]
    return None if value is None else str(value)


async def start_edit(update: Update, context: WorkshopContext) -> int:
    """✏️ Edit on the card or on a reminder: clerks and supervisors, an existing customer."""
    _ = context._
    customer_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            require_after_sales(context.me)
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
                        keyboard(*[[button(v.plate, f"{CUSTOMER_PREFIX}:{customer.id}:v:{v.id}")]
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
    value = await read_text(update, context, LIMITS[field])
    if value is None:
        return VALUE
    try:
        require_after_sales(context.me)
    except Refused as refused:
        drop_draft(context, DRAFT)
        await reply(update, refusal(_, refused))
        return END
    now = context.now()
    async with context.services.db.session() as session:
        try:
            missing = await update_archive(
                session, customer_id=form["customer_id"], field=field, value=value,
                now=now, actor=context.actor, vehicle_id=form.get("vehicle_id"),
                today=context.services.settings.calendar.local_date(now),
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
                + "\n" + missing_text(_, missing) + "\n" + _("Another field, or tap “Done”?"),
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
            entry_points=[CallbackQueryHandler(start_edit,
                                               pattern=rf"^{CUSTOMER_PREFIX}:\d+:edit$")],
            states={
                FIELD: [
                    CallbackQueryHandler(got_field, pattern=FIELD_DATA),
                    CallbackQueryHandler(done, pattern=rf"^{CUSTOMER_PREFIX}:\d+:done$"),
                ],
                VEHICLE: [CallbackQueryHandler(got_vehicle,
                                               pattern=rf"^{CUSTOMER_PREFIX}:\d+:v:\d+$")],
                VALUE: [
                    MessageHandler(TEXT, got_value),
                    CallbackQueryHandler(got_field, pattern=FIELD_DATA),
                    CallbackQueryHandler(done, pattern=rf"^{CUSTOMER_PREFIX}:\d+:done$"),
                ],
            },
        ),
    ]
