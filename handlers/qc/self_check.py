"""W7, the technician's self-check: every item done, tested and cleaned up, then "hand over".

"🏁 Self-check and hand over" on the order card opens one message with three toggles per item
(done, tested, cleaned up) and "Hand over"; the boxes live in the database. Handing over sends
the check's card to every team leader (``handlers.qc.checks``) and tells the advisor it waits
for QC."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import WorkshopContext
from bot.i18n import Translator
from bot.messenger import Rendered
from bot.refusals import refuse
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply
from handlers.floor.cards import ORDER_PREFIX, redraw_order
from handlers.qc.checks import send_check_cards
from models.db import id_of
from models.qc import (
    Box,
    SelfCheckSheet,
    self_check_sheet,
    submit_self_check,
    tick,
    tick_all,
)
from models.rules import Refused
from models.staff import Staff

PREFIX = "sck"  # the callback data of this module's buttons: sck:…


def box_name(_: Translator, box: Box) -> str:
    return {Box.done: _("done"), Box.tested: _("tested"), Box.cleaned: _("cleaned up")}[box]


def sheet_message(_: Translator, sheet: SelfCheckSheet) -> Rendered:
    """One message: a line per item with its boxes, three toggles per item, hand over."""
    order = sheet.order
    lines = [_("🏁 Self-check of {number}: for every item tick done, tested and cleaned up, "
               "then hand it to the team leader.").format(number=order.number), ""]
    rows = []
    for item in sheet.items:
        marks = " · ".join(f"{'✅' if sheet.ticked(id_of(item), box) else '⬜'} {box_name(_, box)}"
                           for box in Box)
        lines.append(f"{item.position}. {item.description[:60]}: {marks}")
        rows.append([button(f"{'✅' if sheet.ticked(id_of(item), box) else '⬜'} "
                            f"{item.position}. {box_name(_, box)}",
                            f"{PREFIX}:{item.id}:{box.value}")
                     for box in Box])
    empty = sheet.empty_boxes
    if empty:
        lines += ["", _.ngettext("{count} box to tick.", "{count} boxes to tick.",
                                 empty).format(count=empty)]
        rows.append([button(_("☑️ Tick every box"), f"{ORDER_PREFIX}:{order.id}:tickall")])
    rows.append([button(_("✅ Self-checked — hand over"), f"{ORDER_PREFIX}:{order.id}:checked"),
                 button(_("Not yet"), f"{ORDER_PREFIX}:{order.id}:view")])
    return "\n".join(lines), keyboard(*rows)


async def open_sheet(update: Update, context: WorkshopContext) -> None:
    """The card's "🏁 Self-check and hand over": every item finished, then the checklist."""
    async with context.services.db.session() as session:
        try:
            sheet = await self_check_sheet(session, order_id=callback_int(update),
                                           technician=context.me, now=context.now())
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            return
        await session.commit()
    await answer_tap(update)
    await reply(update, *sheet_message(context._, sheet))


async def toggle(update: Update, context: WorkshopContext) -> None:
    """Flip one box, or all of them, and redraw the checklist."""
    query = update.callback_query
    assert query is not None and query.data is not None
    async with context.services.db.session() as session:
        try:
            if query.data.endswith(":tickall"):
                sheet = await tick_all(session, order_id=callback_int(update),
                                       technician=context.me, now=context.now(),
                                       actor=context.actor)
            else:
                sheet = await tick(session, item_id=callback_int(update),
                                   box=Box(query.data.rsplit(":", 1)[1]),
                                   technician=context.me, now=context.now(),
                                   actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            return
        await session.commit()
    await answer_tap(update)
    await _redraw(update, *sheet_message(context._, sheet))


async def hand_over_to_qc(update: Update, context: WorkshopContext) -> None:
    """Every box ticked: the order is self-checked; the team leaders get the check's card and
    the advisor hears that it waits for QC."""
    _ = context._
    now = context.now()
    messenger = context.services.messenger
    technician = context.me
    async with context.services.db.session() as session:
        try:
            order, check = await submit_self_check(
                session, order_id=callback_int(update), technician=technician, now=now,
                actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            return
        await session.commit()
        await redraw_order(context.services, session, order)
        leaders = await send_check_cards(session, context, check, order)
        advisor = await session.get(Staff, order.advisor_id)
        if advisor is not None:
            await messenger.send(
                session, advisor,
                lambda t: (t("🏁 {number} ({plate}) was self-checked by {name} and waits for "
                             "QC.").format(number=order.number, plate=order.plate,
                                           name=technician.name), None),
                now=now)
    await answer_tap(update)
    if leaders:
        text = _.ngettext(
            "Self-check recorded for {number}. {count} team leader has it for the check; the "
            "advisor has been told.",
            "Self-check recorded for {number}. {count} team leaders have it for the check; the "
            "advisor has been told.", leaders)
    else:
        text = _("Self-check recorded for {number}, but no team leader could be reached; it "
                 "waits in /qc. The advisor has been told.")
    await _redraw(update, text.format(number=order.number, count=leaders), None)


async def _redraw(update: Update, text: str, markup: InlineKeyboardMarkup | None) -> None:
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():  # too old to edit: say it afresh
            await reply(update, text, markup)


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        CallbackQueryHandler(open_sheet, pattern=rf"^{ORDER_PREFIX}:\d+:check$"),
        CallbackQueryHandler(toggle, pattern=rf"^{PREFIX}:\d+:(done|tested|cleaned)$"),
        CallbackQueryHandler(toggle, pattern=rf"^{ORDER_PREFIX}:\d+:tickall$"),
        CallbackQueryHandler(hand_over_to_qc, pattern=rf"^{ORDER_PREFIX}:\d+:checked$"),
    ]
