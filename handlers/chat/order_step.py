"""The first move of a step on an order's button (floor and QC): check who and when, then a
fresh draft."""

from __future__ import annotations

from telegram import Update

from bot.context import WorkshopContext
from bot.refusals import refuse
from handlers.chat.conversation import draft, drop_draft
from handlers.chat.ui import answer_tap, callback_int
from models.rules import Refused
from models.work_order import OrderStatus, WorkOrder, floor_order


async def open_floor_step(
    update: Update, context: WorkshopContext, status: OrderStatus, draft_key: str
) -> WorkOrder | None:
    """Start a technician's step on the order a button names: check who and when, then a
    fresh draft with the order id and no photos. ``None`` after telling them why not."""
    order_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            order = await floor_order(session, order_id, context.me, status)
        except Refused as refused:
            await refuse(update, context, refused)
            return None
    drop_draft(context, draft_key)
    draft(context, draft_key).update(order_id=order_id, photos=[])
    await answer_tap(update)
    return order
