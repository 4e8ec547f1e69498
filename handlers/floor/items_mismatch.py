"""W2: "the listed items don't match the fault" — a note from the floor to the front desk."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler

from bot.context import WorkshopContext
from bot.refusals import refusal
from handlers.chat.conversation import (
    END,
    TEXT_OR_VOICE,
    conversation,
    draft,
    drop_draft,
    read_text_or_voice,
)
from handlers.chat.order_step import open_floor_step
from handlers.chat.ui import reply
from handlers.floor.cards import ORDER_PREFIX
from models.attachment import attach, attachments_of
from models.db import id_of
from models.order_note import flag_items_mismatch
from models.rules import Refused
from models.staff import Staff
from models.work_order import OrderStatus

NOTE = 0
DRAFT = "items_mismatch"
MAX_NOTE = 1000
NOTE_OWNER = "order_note"  # the attachments' owner: a voice note sent as the note


async def start(update: Update, context: WorkshopContext) -> int:
    """Ask what does not match."""
    order = await open_floor_step(update, context, OrderStatus.in_progress, DRAFT)
    if order is None:
        return END
    await reply(update, context._("{number}: what does not match between the fault and the "
                                  "listed items? Type it or send a voice note; it goes to "
                                  "the advisor.")
                .format(number=order.number))
    return NOTE


async def got_note(update: Update, context: WorkshopContext) -> int:
    """Save the note and tell the advisor."""
    _ = context._
    assert update.message is not None
    text = await read_text_or_voice(update, context, MAX_NOTE, DRAFT)  # or "🎤 0:12"
    if text is None:
        return NOTE
    order_id = draft(context, DRAFT)["order_id"]
    voices = draft(context, DRAFT).get("photos") or []
    async with context.services.db.session() as session:
        try:
            order, note = await flag_items_mismatch(
                session, order_id=order_id, technician=context.me, text=text or "",
                now=context.now(), actor=context.actor,
            )
        except Refused as refused:
            await session.rollback()
            drop_draft(context, DRAFT)
            await reply(update, refusal(_, refused))
            return END
        if voices:  # kept with the note, and heard by the advisor with it
            attach(session, owner=NOTE_OWNER, owner_id=id_of(note), photos=voices,
                   staff_id=context.me.id, now=context.now())
        await session.commit()
        heard = await attachments_of(session, NOTE_OWNER, id_of(note)) if voices else []
        advisor = await session.get(Staff, order.advisor_id)
        technician = context.me
        if advisor is not None:
            await context.services.messenger.send(
                session, advisor,
                lambda t: (t("⚠️ {number} ({plate}): {name} says the listed items don't match "
                             "the fault:\n{note}").format(number=order.number, plate=order.plate,
                                                          name=technician.name, note=text),
                           None),
                photos=heard,
            )
    drop_draft(context, DRAFT)
    await reply(update, _("Sent to the advisor."))
    return END


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "items_mismatch",
            draft_key=DRAFT,
            entry_points=[CallbackQueryHandler(start, pattern=rf"^{ORDER_PREFIX}:\d+:flag$")],
            states={NOTE: [MessageHandler(TEXT_OR_VOICE, got_note)]},
        )
    ]
