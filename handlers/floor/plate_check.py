"""W1: before any work the technician types the plate on the vehicle (a photo may go first).

With a plate reader (the ``ocr`` extra, ``Services.plate_reader``) a photo of the plate is read
offline and compared with the order (:mod:`handlers.floor.plate_photo` shows the verdict): a
match is confirmed with one tap, an unsure reading is confirmed, retaken or typed, a photo
without a plate asks for a closer one and then for typing, and a mismatch alerts nobody until
the technician confirms it really is a different car. Every reading and what the technician did
with it is kept (``models.plate_reading``). Without a reader, plates are typed.

A match starts the work and shows the pre-work checklist (N1–N7, :mod:`handlers.floor.checklist`)
and the complaint and items (W2); a mismatch alerts the advisor with both plates (and the
photos), and three in a row lock the order until the advisor clears it.
"""

from __future__ import annotations

from dataclasses import asdict

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import WorkshopContext
from bot.plate_reader import PlateReader, ReadProblem
from bot.plate_reader import PlateReading as Reading
from bot.refusals import refusal
from handlers.chat.conversation import END, conversation, draft, drop_draft, keep_photo
from handlers.chat.order_step import open_floor_step
from handlers.chat.ui import answer_tap, callback_int, reply
from handlers.floor.cards import (
    ORDER_PREFIX,
    living_card,
    mismatch_alert,
    mismatch_facts,
    show_advisor_order,
    show_order,
)
from handlers.floor.checklist import show_checklist
from handlers.floor.plate_photo import MISSES, PLATE_PREFIX, missed, verdict_message
from models.attachment import attachments_of
from models.card import CardKind
from models.db import id_of
from models.plate import Verdict, best_verdict
from models.plate_reading import Action, PlateReading, settle
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
    if context.services.plate_reader is None:
        text = context._("{number}: type the plate number you see on the vehicle. "
                         "You may send a photo of the plate first.")
    else:
        text = context._("{number}: send a photo of the plate (or of the car's front or back) "
                         "and the bot reads it, or type the plate number you see on the "
                         "vehicle.")
    await reply(update, text.format(number=order.number))
    return TYPING


async def got_photo(update: Update, context: WorkshopContext) -> int:
    """Keep the photo as evidence for this check; with a plate reader, read the plate off it."""
    _ = context._
    message = update.message
    assert message is not None and message.photo
    form = draft(context, DRAFT)
    reader = context.services.plate_reader
    if not keep_photo(context, DRAFT, message, MAX_PHOTOS):
        await reply(update, _("That is enough photos. Now type the plate."))
        return TYPING
    if reader is None or form.get("misses", 0) >= MISSES:
        await reply(update, _("Photo kept. Now type the plate."))
        return TYPING
    reading = await _read(context, reader, message.photo[-1].file_id)
    async with context.services.db.session() as session:
        order = await get_order(session, form["order_id"])
        verdict = best_verdict(reading.candidates, order.plate)
        if form.get("reading_id"):  # a new photo while a verdict stood: a retake
            await settle(session, form["reading_id"], Action.RETAKE)
        row = PlateReading(
            order_id=form["order_id"], staff_id=id_of(context.me), verdict=verdict.kind.value,
            read=verdict.read, problem=reading.problem, at=context.now(),
            milliseconds=round(reading.seconds * 1000))
        session.add(row)
        await session.flush()
        await session.commit()
        form["reading_id"] = id_of(row)
    form["verdict"] = asdict(verdict) | {"differs": list(verdict.differs)}
    if verdict.kind is Verdict.NO_PLATE:
        form["misses"] = form.get("misses", 0) + 1
        await reply(update, missed(_, reading.problem, form["misses"]))
        return TYPING
    await reply(update, *verdict_message(_, form["verdict"], form["reading_id"]))
    return TYPING


async def _read(context: WorkshopContext, reader: PlateReader, file_id: str) -> Reading:
    """The photo's largest size downloaded through the channel's bot (Telegram's getFile,
    WeCom's media), read off the event loop by ``reader``."""
    try:
        data = bytes(await (await context.bot.get_file(file_id)).download_as_bytearray())
    except TelegramError:
        return Reading((), (), 0.0, ReadProblem.FAILED)
    return await reader.read(data)


async def answered(update: Update, context: WorkshopContext) -> int:
    """A button under a verdict: confirm it, retake the photo, type the plate, or confirm the
    mismatch OCR saw (only then is the advisor told)."""
    _ = context._
    assert update.callback_query is not None and update.callback_query.data
    form = draft(context, DRAFT)
    reading_id = callback_int(update)
    action = update.callback_query.data.rsplit(":", 1)[1]
    verdict = form.get("verdict") or {}
    kind = verdict.get("kind")
    if reading_id != form.get("reading_id") or (action == "ok" and kind not in (
            Verdict.MATCH, Verdict.UNSURE)) or (action == "other" and kind != Verdict.MISMATCH):
        await answer_tap(update, _("This button is no longer active."), alert=True)
        return TYPING
    await answer_tap(update)
    if action == "ok":
        return await record(update, context, verdict["expected"], Action.CONFIRMED)
    if action == "other":
        return await record(update, context, verdict["read"], Action.DIFFERENT_CAR)
    if action == "retake":
        async with context.services.db.session() as session:
            await settle(session, reading_id, Action.RETAKE)
            await session.commit()
        form.pop("reading_id", None)
        await reply(update, _("Send another photo of the plate, closer and straight on, or "
                              "type the plate."))
        return TYPING
    await reply(update, _("Type the plate number you see on the vehicle."))
    return TYPING


async def got_plate(update: Update, context: WorkshopContext) -> int:
    """The typed plate: compare with the order; start the work or alert the advisor."""
    assert update.message is not None
    return await record(update, context, update.message.text or "", Action.TYPED)


async def record(update: Update, context: WorkshopContext, plate: str, action: Action) -> int:
    """Record the check of ``plate`` (typed, or read and confirmed: ``action``), with the
    photos; start the work or alert the advisor."""
    _ = context._
    form = draft(context, DRAFT)
    settings = context.services.settings
    messenger = context.services.messenger
    async with context.services.db.session() as session:
        try:
            result = await confirm_plate(
                session, order_id=form["order_id"], typed=plate,
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
        if form.get("reading_id"):
            await settle(session, form["reading_id"], action, final=result.typed,
                         check_id=result.check_id)
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
        photos = await attachments_of(session, "plate_check", result.check_id)
        await living_card(context.services, session, advisor, CardKind.plate_mismatch,
                          id_of(order), lambda t: mismatch_alert(t, facts), fresh=True,
                          photos=photos)
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
                    CallbackQueryHandler(
                        answered, pattern=rf"^{PLATE_PREFIX}:\d+:(?:ok|retake|type|other)$"),
                ]
            },
        )
    ]
