"""A2/A6: ``/consult`` — a customer asked something (at the desk or on the phone): the visit
opens their archive and schedules the first call, as a delivery does.

Steps: the customer (search by plate, phone or name, or a new one: name, phone) → the plate
(their car, another plate, or Skip) → what was asked. The clerk is then told what the archive
still lacks; when the customer belongs to another clerk, that clerk (or today's stand-in) is
told too.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import WorkshopContext
from bot.i18n import N_, Translator
from bot.refusals import refusal
from handlers.after_sales.cards.archive import edit_button, missing_text
from handlers.after_sales.cards.followup import window_text
from handlers.after_sales.customer import new_visit_message
from handlers.after_sales.customer_pick import CustomerPick
from handlers.chat.conversation import END, conversation, draft, drop_draft, read_text, wrong_input
from handlers.chat.ui import answer_tap, button, keyboard, reply
from models import plate as plates
from models.absence import route
from models.customer import (
    Customer,
    find_customers,
    missing_fields,
    normalize_phone,
    vehicles_of,
)
from models.db import id_of
from models.rules import Refused
from models.staff import Staff, require_after_sales
from models.visit_flow import log_consultation

PREFIX = "con"  # the callback data of this module's buttons: con:…

CUSTOMER, NAME, PHONE, PLATE, TOPIC = range(5)
DRAFT = "consultation"
TEXT = filters.TEXT & ~filters.COMMAND
MAX_TOPIC = 1000


async def start(update: Update, context: WorkshopContext) -> int:
    """Clerks and supervisors; ``/consult 京A12345`` searches at once."""
    _ = context._
    try:
        require_after_sales(context.me)
    except Refused as refused:
        await reply(update, refusal(_, refused))
        return END
    drop_draft(context, DRAFT)
    PICK.begin(context)
    if context.args:
        return await PICK.search(update, context, " ".join(context.args))
    await reply(update, _("New consultation. Who is the customer? Send their plate, phone "
                          "number or name — or tap “New customer”. /cancel stops."),
                keyboard(*new_customer_row(_)))
    return CUSTOMER


def new_customer_row(t: Translator) -> list[list[InlineKeyboardButton]]:
    return [[button(t("🆕 New customer"), f"{PREFIX}:new")]]


async def got_search(update: Update, context: WorkshopContext) -> int:
    """A plate, phone or name."""
    assert update.message is not None
    return await PICK.search(update, context, update.message.text or "")


async def chosen(update: Update, context: WorkshopContext, customer: Customer) -> int:
    """An existing customer: which of their cars is it about?"""
    _ = context._
    async with context.services.db.session() as session:
        vehicles = await vehicles_of(session, id_of(customer))
    form = draft(context, DRAFT)
    form.update(customer_id=customer.id, name=customer.name, phone=None)
    await reply(update, _("Consultation for {name}. Which vehicle is it about? Tap its plate, "
                          "send another plate, or tap “Skip”.").format(name=customer.name),
                keyboard(*[[button(v.plate, f"{PREFIX}:p:{v.id}")] for v in vehicles],
                         [button(_("Skip"), f"{PREFIX}:skip")]))
    return PLATE


PICK = CustomerPick(f"{PREFIX}:c:{{id}}", chosen, state=CUSTOMER, draft_key=DRAFT,
                    again=N_("Send another search, or tap “New customer”."),
                    extra=new_customer_row)


async def new_customer(update: Update, context: WorkshopContext) -> int:
    """Someone not on file yet: name and phone first."""
    await answer_tap(update)
    draft(context, DRAFT).update(customer_id=None)
    await reply(update, context._("New customer's name?"))
    return NAME


async def got_name(update: Update, context: WorkshopContext) -> int:
    """The new customer's name."""
    assert update.message is not None
    value = await read_text(update, context, 64)
    if value is None:
        return NAME
    draft(context, DRAFT)["name"] = value
    await reply(update, context._("Their phone number?"))
    return PHONE


async def got_phone(update: Update, context: WorkshopContext) -> int:
    """A mainland mobile or landline number."""
    _ = context._
    assert update.message is not None
    phone = normalize_phone(update.message.text or "")
    if phone is None:
        await reply(update, refusal(_, Refused("phone_invalid")))
        return PHONE
    draft(context, DRAFT)["phone"] = phone
    await reply(update, _("The plate of their vehicle (e.g. 京A12345), or tap “Skip”."),
                keyboard([button(_("Skip"), f"{PREFIX}:skip")]))
    return PLATE


async def got_plate(update: Update, context: WorkshopContext) -> int:
    """A typed plate: a mainland one, and not another customer's car."""
    _ = context._
    assert update.message is not None
    typed = plates.normalize(update.message.text or "")[:20]
    again = "\n" + _("Send another plate, or tap “Skip”.")
    skip = keyboard([button(_("Skip"), f"{PREFIX}:skip")])
    if not plates.is_mainland(typed):
        await reply(update, refusal(_, Refused("plate_invalid", plate=typed)) + again, skip)
        return PLATE
    form = draft(context, DRAFT)
    async with context.services.db.session() as session:
        owners = [c for c in await find_customers(session, typed)
                  if typed in {v.plate for v in await vehicles_of(session, id_of(c))}]
    if owners and owners[0].id != form.get("customer_id"):
        await reply(update, refusal(_, Refused("plate_taken", plate=typed)) + again, skip)
        return PLATE
    form["plate"] = typed
    return await ask_topic(update, context)


async def got_vehicle(update: Update, context: WorkshopContext) -> int:
    """One of the customer's own cars."""
    query = update.callback_query
    assert query is not None and query.data is not None
    form = draft(context, DRAFT)
    vehicle_id = int(query.data.rsplit(":", 1)[1])
    async with context.services.db.session() as session:
        vehicles = await vehicles_of(session, form["customer_id"]) \
            if form.get("customer_id") else []
    vehicle = next((v for v in vehicles if v.id == vehicle_id), None)
    if vehicle is None:
        await wrong_input(update, context)
        return PLATE
    await answer_tap(update)
    form["plate"] = vehicle.plate
    return await ask_topic(update, context)


async def skip_plate(update: Update, context: WorkshopContext) -> int:
    """No car involved (or not known)."""
    await answer_tap(update)
    draft(context, DRAFT)["plate"] = None
    return await ask_topic(update, context)


async def ask_topic(update: Update, context: WorkshopContext) -> int:
    await reply(update, context._("What did the customer ask about?"))
    return TOPIC


async def got_topic(update: Update, context: WorkshopContext) -> int:
    """Save: the archive opens (or grows), the first call is scheduled, the clerk is told."""
    _ = context._
    assert update.message is not None
    topic = await read_text(update, context, MAX_TOPIC)
    if topic is None:
        return TOPIC
    form = draft(context, DRAFT)
    settings = context.services.settings
    calendar = settings.calendar
    now = context.now()
    me = context.me
    async with context.services.db.session() as session:
        try:
            opened, followup = await log_consultation(
                session, clerk=me, customer_name=form.get("name") or "",
                phone=form.get("phone"), plate=form.get("plate"), topic=topic, now=now,
                actor=context.actor, calendar=calendar,
                first_call_window=settings.first_call_window,
                customer_id=form.get("customer_id"),
            )
        except Refused as refused:
            await session.rollback()
            drop_draft(context, DRAFT)
            await reply(update, refusal(_, refused))
            return END
        await session.commit()
        customer = opened.customer
        missing = missing_fields(customer, await vehicles_of(session, id_of(customer)))
        clerk = await session.get(Staff, customer.clerk_id) if customer.clerk_id else None
        told = None
        if clerk is not None:
            way = await route(session, id_of(clerk), calendar.local_date(now))
            told = await session.get(Staff, way.staff_id)
            if told is not None and told.id != me.id:
                standing_in_for = clerk if way.standing_in_for is not None else None
                plate = form.get("plate")
                await context.services.messenger.send(
                    session, told,
                    lambda t: new_visit_message(t, customer, opened.visit, plate, followup,
                                                missing, standing_in_for=standing_in_for),
                    now=now,
                )
    drop_draft(context, DRAFT)
    lines = [_("✅ Consultation logged for {name}.").format(name=customer.name)]
    if form.get("customer_id") is None and not opened.new_customer:
        lines.append(_("That phone number was already on file, so it went into the archive "
                       "of {name}.").format(name=customer.name))
    if followup is not None:
        lines.append(_("First call due {window}.").format(window=window_text(_, followup)))
    if told is not None and told.id != me.id:
        lines.append(_("{clerk} follows up and has been told.").format(clerk=told.name))
    elif told is None:
        lines.append(_("No tracking clerk is assigned to this customer yet; the supervisor "
                       "will be reminded."))
    lines.append(missing_text(_, missing))
    await reply(update, "\n".join(lines),
                edit_button(_, id_of(customer)) if missing else None)
    return END


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "consultation",
            draft_key=DRAFT,
            entry_points=[CommandHandler("consult", start)],
            states={
                CUSTOMER: [
                    MessageHandler(TEXT, got_search),
                    PICK.handler(),
                    CallbackQueryHandler(new_customer, pattern=rf"^{PREFIX}:new$"),
                ],
                NAME: [MessageHandler(TEXT, got_name)],
                PHONE: [MessageHandler(TEXT, got_phone)],
                PLATE: [
                    MessageHandler(TEXT, got_plate),
                    CallbackQueryHandler(got_vehicle, pattern=rf"^{PREFIX}:p:\d+$"),
                    CallbackQueryHandler(skip_plate, pattern=rf"^{PREFIX}:skip$"),
                ],
                TOPIC: [MessageHandler(TEXT, got_topic)],
            },
        )
    ]
