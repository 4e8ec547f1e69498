"""W1: before any work the technician types the plate on the vehicle (a photo may go first).

A match starts the work and shows the pre-work checklist (N1–N7, :mod:`handlers.floor.checklist`)
and the complaint and items (W2); a mismatch alerts the advisor with both plates, and three in
a row lock the order until the advisor clears it.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import WorkshopContext
from bot.refusals import refusal
from handlers.chat.conversation import END, conversation, draft, drop_draft, keep_photo
from handlers.chat.order_step import open_floor_step
from handlers.chat.ui import reply
from handlers.floor.cards import (
    ORDER_PREFIX,
    living_card,
    mismatch_alert,
    mismatch_facts,
    show_advisor_order,
    show_order,
)
from handlers.floor.checklist import show_checklist
from models.card import CardKind
from models.db import id_of
from models.rules import Refused
from models.staff import Staff
from models.work_order import (
    OrderStatus,
    confirm_plate,
    get_order,
)

TYPING = 0
DRAFT = "plate_check"
MAX_PHOTOS = 5


async def start(update: Update, context: WorkshopContext) -> int:
    """The order's technician, an order still waiting for its plate check."""
    order = await open_floor_step(update, context, OrderStatus.open, DRAFT)
    if order is None:
        return END
    await reply(update, context._("{number}: type the plate number you see on the vehicle. "
                                  "You may send a photo of the plate first.")
                .format(number=order.number))
    return TYPING


async def got_photo(update: Update, context: WorkshopContext) -> int:
    """Keep the photo as evidence for this check."""
    message = update.message
    assert message is not None and message.photo
    if not keep_photo(context, DRAFT, message, MAX_PHOTOS):
        await reply(update, context._("That is enough photos. Now type the plate."))
        return TYPING
    await reply(update, context._("Photo kept. Now type the plate."))
    return TYPING


async def got_plate(update: Update, context: WorkshopContext) -> int:
    """Compare with the order; start the work or alert the advisor."""
    _ = context._
    assert update.message is not None
    form = draft(context, DRAFT)
    settings = context.services.settings
    messenger = context.services.messenger
    async with context.services.db.session() as session:
        try:
            result = await confirm_plate(
                session, order_id=form["order_id"], typed=update.message.text or "",
                technician=context.me, now=context.now(), actor=context.actor,
                lock_after=settings.plate_lock_after, photos=form.get("photos", []),
            )
        except Refused as refused:
            await session.rollback()
            await reply(update, refusal(_, refused))
            if refused.code == "plate_typo":
                return TYPING
            drop_draft(context, DRAFT)
            return END
        await session.commit()
        order = await get_order(session, form["order_id"])
        drop_draft(context, DRAFT)
        facts = await mismatch_facts(session, order, settings.plate_lock_after)
        if result.matched:  # N1–N7: the checklist comes before any work
            now = context.now()
            await messenger.update_cards(  # the advisor's alerts are answered
                session, CardKind.plate_mismatch, id_of(order),
                lambda t: mismatch_alert(t, facts, confirmed_at=now))
            await reply(update, _("✅ Plate confirmed. Tick the pre-work checklist before "
                                  "starting work on {number}.").format(number=order.number))
            await show_checklist(update, session, _, order)
            await show_order(context.services, session, order, fresh=True)
            await show_advisor_order(context.services, session, order)
            return END
        advisor = await session.get(Staff, order.advisor_id)
        await living_card(context.services, session, advisor, CardKind.plate_mismatch,
                          id_of(order), lambda t: mismatch_alert(t, facts), fresh=True)
        if result.locked:
            await reply(update, _("❌ {typed} does not match the order. {number} is now locked; "
                                  "the advisor has been told and must clear it.")
                        .format(typed=result.typed, number=order.number))
            # Both cards say it is locked; the technician's keeps no button that leads nowhere.
            await show_order(context.services, session, order)
            await show_advisor_order(context.services, session, order)
            return END
        await reply(update, _("❌ {typed} does not match the order. The advisor has been told. "
                              "Do not start work; check the vehicle and try again "
                              "({count} of {limit}).")
                    .format(typed=result.typed, count=result.mismatches,
                            limit=settings.plate_lock_after))
        # The retry is the card's own button, anew below: one live "Confirm plate", which a
        # confirmed plate (or a lock) then takes away.
        await show_order(context.services, session, order, fresh=True)
    return END


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "plate_check",
            draft_key=DRAFT,
            entry_points=[CallbackQueryHandler(start, pattern=rf"^{ORDER_PREFIX}:\d+:plate$")],
            states={
                TYPING: [
                    MessageHandler(filters.PHOTO, got_photo),
                    MessageHandler(filters.TEXT & ~filters.COMMAND, got_plate),
                ]
            },
        )
    ]
