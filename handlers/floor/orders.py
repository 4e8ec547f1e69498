"""Order cards and the one-tap actions on them (W3; the parts button of W6): /orders, item done,
clearing a plate lock. The card is what a technician keeps coming back to; its job-clock buttons
are handled in :mod:`handlers.floor.job_clock`, its self-check and next-process buttons in
:mod:`handlers.qc.self_check` and :mod:`handlers.qc.next_process`."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import WorkshopContext
from bot.refusals import refuse
from handlers.chat.ui import answer_tap, callback_int, reply
from handlers.floor.cards import (
    ITEM_PREFIX,
    ORDER_PREFIX,
    advisor_card,
    send_technician_card,
    technician_card,
)
from models.db import id_of
from models.job_clock import finish_item
from models.rules import Refused
from models.staff import Role, Staff
from models.work_order import (
    clear_lock,
    get_order,
    items_of,
    orders_of_advisor,
    orders_of_technician,
)


async def list_orders(update: Update, context: WorkshopContext) -> None:
    """A technician's open orders as cards; an advisor's orders with their state."""
    _ = context._
    me = context.me
    if not me.has(Role.technician, Role.team_leader, Role.advisor):
        await refuse(update, context, Refused("orders_not_floor"))
        return
    sent = 0
    async with context.services.db.session() as session:
        if me.has(Role.technician, Role.team_leader):
            for order in await orders_of_technician(session, id_of(me)):
                items = await items_of(session, id_of(order))
                await reply(update, *technician_card(_, order, items))
                sent += 1
        if me.has(Role.advisor):
            for order in await orders_of_advisor(session, id_of(me)):
                items = await items_of(session, id_of(order))
                technician = await session.get(Staff, order.technician_id)
                await reply(update, *advisor_card(_, order, items, technician))
                sent += 1
    if not sent:
        await reply(update, _("You have no open work orders."))


async def view_order(update: Update, context: WorkshopContext) -> None:
    """Redraw the card with the current state (the 🔄 button)."""
    order_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            order = await get_order(session, order_id)
        except Refused as refused:
            await refuse(update, context, refused)
            return
        items = await items_of(session, order_id)
        if context.me.id == order.technician_id or context.me.has(Role.team_leader):
            text, markup = technician_card(context._, order, items)
        elif context.me.has(Role.advisor):
            technician = await session.get(Staff, order.technician_id)
            text, markup = advisor_card(context._, order, items, technician)
        else:
            await refuse(update, context, Refused("not_your_order", number=order.number))
            return
    await answer_tap(update)
    await _edit(update, text, markup)


async def _edit(update: Update, text: str, markup: InlineKeyboardMarkup | None) -> None:
    query = update.callback_query
    assert query is not None
    if isinstance(query.message, Message) and query.message.text == text and markup is None:
        return
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except Exception:
        await reply(update, text, markup)


async def item_done(update: Update, context: WorkshopContext) -> None:
    """W3: mark one item done and redraw the card."""
    item_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            order, item = await finish_item(  # the item's clock stops with it
                session, item_id=item_id, technician=context.me, now=context.now(),
                actor=context.actor,
            )
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            return
        await session.commit()
        items = await items_of(session, id_of(order))
    await answer_tap(update, context._("Done: {item}").format(item=item.description))
    await _edit(update, *technician_card(context._, order, items))


async def unlock(update: Update, context: WorkshopContext) -> None:
    """The advisor clears a plate lock; the technician may check the plate again."""
    order_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            order = await clear_lock(session, order_id=order_id, advisor=context.me,
                                     now=context.now(), actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            return
        await session.commit()
        await send_technician_card(context.services, session, order)
    await answer_tap(update)
    query = update.callback_query
    assert query is not None
    await query.edit_message_text(
        context._("Lock cleared on {number}. The technician can check the plate again.")
        .format(number=order.number)
    )


def handlers() -> list[BaseHandler[Update, WorkshopContext, None]]:
    return [
        CommandHandler("orders", list_orders),
        CallbackQueryHandler(view_order, pattern=rf"^{ORDER_PREFIX}:\d+:view$"),
        CallbackQueryHandler(item_done, pattern=rf"^{ITEM_PREFIX}:\d+:done$"),
        CallbackQueryHandler(unlock, pattern=rf"^{ORDER_PREFIX}:\d+:unlock$"),
    ]
