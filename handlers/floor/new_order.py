"""/neworder: the advisor opens a work order (任务委托书) step by step and assigns a technician.

Steps: plate → (confirm an unusual plate) → customer → phone → vehicle model → complaint →
items, one per line → technician. The technician gets the card at once.
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import WorkshopContext
from bot.refusals import refusal
from handlers.chat.conversation import END, conversation, draft, drop_draft, read_text
from handlers.chat.ui import answer_tap, button, keyboard, reply
from handlers.floor.cards import advisor_card, show_order
from models import plate
from models.card import CardKind
from models.customer import normalize_phone
from models.db import commit_writes, id_of
from models.rules import Refused
from models.staff import Role, Staff, active_with_role
from models.work_order import MAX_ITEM_LENGTH, MAX_ITEMS, items_of, open_order, parse_items

PREFIX = "no"  # the callback data of this module's buttons: no:…

PLATE, PLATE_CONFIRM, CUSTOMER, PHONE, MODEL, COMPLAINT, ITEMS, TECHNICIAN = range(8)
DRAFT = "new_order"
TEXT = filters.TEXT & ~filters.COMMAND
async def start(update: Update, context: WorkshopContext) -> int:
    """Only advisors open orders; a fresh draft each time."""
    _ = context._
    if not context.me.has(Role.advisor):
        await reply(update, refusal(_, Refused("not_advisor")))
        return END
    drop_draft(context, DRAFT)
    draft(context, DRAFT)
    await reply(update, _("New work order. Send the vehicle's plate number (e.g. 京A12345). "
                          "/cancel stops at any step."))
    return PLATE


async def got_plate(update: Update, context: WorkshopContext) -> int:
    """Mainland plates go straight on; anything else needs an explicit confirm."""
    _ = context._
    assert update.message is not None
    typed = plate.normalize(update.message.text or "")
    if plate.is_mainland(typed):
        draft(context, DRAFT).update(plate=typed, plate_confirmed=False)
        await reply(update, _("Plate {plate}. Customer's name?").format(plate=typed))
        return CUSTOMER
    if not plate.is_plausible(typed):
        await reply(update, _("“{plate}” is not a plate number. Please send the plate again.")
                    .format(plate=typed[:20]))
        return PLATE
    draft(context, DRAFT)["unusual_plate"] = typed
    await reply(
        update,
        _("“{plate}” is not a mainland plate format. Use it anyway?").format(plate=typed),
        keyboard([button(_("Yes, use {plate}").format(plate=typed), f"{PREFIX}:plate:yes"),
                  button(_("No, type again"), f"{PREFIX}:plate:no")]),
    )
    return PLATE_CONFIRM


async def confirm_plate(update: Update, context: WorkshopContext) -> int:
    """The advisor vouches for an unusual plate, or types it again."""
    _ = context._
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    form = draft(context, DRAFT)
    if query.data.endswith(":yes") and form.get("unusual_plate"):
        form.update(plate=form.pop("unusual_plate"), plate_confirmed=True)
        await query.edit_message_text(
            _("Plate {plate} (confirmed). Customer's name?").format(plate=form["plate"]))
        return CUSTOMER
    form.pop("unusual_plate", None)
    await query.edit_message_text(_("Send the plate number again."))
    return PLATE


async def got_customer(update: Update, context: WorkshopContext) -> int:
    """Customer name."""
    assert update.message is not None
    value = await read_text(update, context, 64)
    if value is None:
        return CUSTOMER
    draft(context, DRAFT)["customer_name"] = value
    await reply(update, context._("Customer's phone number?"))
    return PHONE


async def got_phone(update: Update, context: WorkshopContext) -> int:
    """A mainland mobile or landline number."""
    assert update.message is not None
    phone = normalize_phone(update.message.text or "")
    if phone is None:
        await reply(update, context._("That does not look like a phone number (e.g. "
                                      "13812345678 or 010-12345678). Please send it again."))
        return PHONE
    draft(context, DRAFT)["customer_phone"] = phone
    await reply(update, context._("Vehicle model?"))
    return MODEL


async def got_model(update: Update, context: WorkshopContext) -> int:
    """Vehicle model."""
    assert update.message is not None
    value = await read_text(update, context, 64)
    if value is None:
        return MODEL
    draft(context, DRAFT)["vehicle_model"] = value
    await reply(update, context._("What does the customer say is wrong (the complaint)?"))
    return COMPLAINT


async def got_complaint(update: Update, context: WorkshopContext) -> int:
    """The customer's complaint in their words."""
    assert update.message is not None
    value = await read_text(update, context, 1000)
    if value is None:
        return COMPLAINT
    draft(context, DRAFT)["complaint"] = value
    await reply(update, context._("The repair items, one per line:"))
    return ITEMS


async def got_items(update: Update, context: WorkshopContext) -> int:
    """Listed items, one per line; then choose the technician."""
    _ = context._
    assert update.message is not None
    items = parse_items(update.message.text or "")
    if not items:
        await reply(update, _("Please list at least one item, one per line."))
        return ITEMS
    if len(items) > MAX_ITEMS:
        await reply(update, _("At most {limit} items, please.").format(limit=MAX_ITEMS))
        return ITEMS
    too_long = [item for item in items if len(item) > MAX_ITEM_LENGTH]
    if too_long:
        await reply(update, _("Each item at most {limit} characters, please; this one is "
                              "longer: {item}").format(limit=MAX_ITEM_LENGTH,
                                                       item=too_long[0][:40] + "…"))
        return ITEMS
    draft(context, DRAFT)["items"] = items
    await ask_technician(update, context)
    return TECHNICIAN


async def ask_technician(update: Update, context: WorkshopContext) -> None:
    _ = context._
    async with context.services.db.session() as session:
        technicians = await active_with_role(session, Role.technician)
    if not technicians:
        await reply(update, _("There is no active technician to assign. Add one, then tap "
                              "Refresh. Your order is kept."),
                    keyboard([button(_("🔄 Refresh"), f"{PREFIX}:tech:refresh")]))
        return
    buttons = [button(t.name, f"{PREFIX}:tech:{t.id}") for t in technicians]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    await reply(update, _("Assign to which technician?"), keyboard(*rows))


async def got_technician(update: Update, context: WorkshopContext) -> int:
    """Open the order and hand the card to the technician."""
    _ = context._
    query = update.callback_query
    assert query is not None and query.data is not None
    choice = query.data.rsplit(":", 1)[1]
    if choice == "refresh":
        await query.answer()
        await ask_technician(update, context)
        return TECHNICIAN
    form = draft(context, DRAFT)
    async with context.services.db.session() as session:
        technician = await session.get(Staff, int(choice))
        try:
            if technician is None:
                raise Refused("not_technician", name="?")
            order = await open_order(
                session,
                plate_text=form["plate"],
                plate_confirmed=form.get("plate_confirmed", False),
                customer_name=form["customer_name"],
                customer_phone=form["customer_phone"],
                vehicle_model=form["vehicle_model"],
                complaint=form["complaint"],
                items=form["items"],
                advisor=context.me,
                technician=technician,
                now=context.now(),
                actor=context.actor,
                calendar=context.services.settings.calendar,
            )
        except Refused as refused:
            await session.rollback()
            await query.answer(refusal(_, refused), show_alert=True)
            await ask_technician(update, context)
            return TECHNICIAN
        await session.commit()
        drop_draft(context, DRAFT)
        await answer_tap(update)
        await show_order(context.services, session, order)
        items = await items_of(session, id_of(order))
        text, markup = advisor_card(_, order, items, technician)
        edited = await query.edit_message_text(
            _("✅ Work order {number} opened and sent to {name}.").format(
                number=order.number, name=technician.name) + "\n\n" + text,
            reply_markup=markup,
        )
        if isinstance(edited, Message):  # the advisor's card for the order from now on
            context.services.messenger.remember(session, (CardKind.order_advisor, id_of(order)),
                                                id_of(context.me), context.channel, edited)
            await commit_writes(session)
    return END


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "new_order",
            draft_key=DRAFT,
            entry_points=[CommandHandler("neworder", start)],
            states={
                PLATE: [MessageHandler(TEXT, got_plate)],
                PLATE_CONFIRM: [CallbackQueryHandler(confirm_plate,
                                                     pattern=rf"^{PREFIX}:plate:(yes|no)$")],
                CUSTOMER: [MessageHandler(TEXT, got_customer)],
                PHONE: [MessageHandler(TEXT, got_phone)],
                MODEL: [MessageHandler(TEXT, got_model)],
                COMPLAINT: [MessageHandler(TEXT, got_complaint)],
                ITEMS: [MessageHandler(TEXT, got_items)],
                TECHNICIAN: [CallbackQueryHandler(got_technician,
                                                  pattern=rf"^{PREFIX}:tech:(\d+|refresh)$")],
            },
        )
    ]
