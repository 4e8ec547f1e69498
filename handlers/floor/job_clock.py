"""The job clock (W3) on the technician's order card: ▶️ start, ⏸ pause, ▶️ resume per open item
(finishing is the item's ✅ done, in :mod:`handlers.floor.orders`). One tap, then the card is
redrawn with the clock's state; a double tap is told the clock already runs (or is already
paused)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import WorkshopContext
from bot.refusals import refuse
from handlers.chat.ui import answer_tap, callback_int
from handlers.floor.cards import CLOCK_PREFIX, technician_card
from handlers.floor.orders import redraw_tapped
from models.db import id_of
from models.job_clock import pause, start
from models.rules import Refused
from models.work_order import items_of


async def clock_tap(update: Update, context: WorkshopContext) -> None:
    """Start/resume or pause the clock of one item, then redraw the card."""
    _ = context._
    query = update.callback_query
    assert query is not None and query.data is not None
    starting = query.data.endswith(":start")
    item_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            order, item = await (start if starting else pause)(
                session, item_id=item_id, technician=context.me, now=context.now(),
                actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            return
        await session.commit()
        items = await items_of(session, id_of(order))
        if starting:
            told = _("⏱ Clock running on {position}. {item}.")
        else:
            told = _("⏸ Clock paused on {position}. {item}.")
        await answer_tap(update, told.format(position=item.position, item=item.description))
        await redraw_tapped(update, context, session, order, *technician_card(_, order, items))


def handlers() -> list[BaseHandler[Update, WorkshopContext, None]]:
    return [CallbackQueryHandler(clock_tap, pattern=rf"^{CLOCK_PREFIX}:\d+:(start|pause)$")]
