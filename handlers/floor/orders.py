"""Order cards and the one-tap actions on them (W3; the parts button of W6): /orders, item done,
clearing a plate lock. The card is what a technician keeps coming back to; its job-clock buttons
are handled in :mod:`handlers.floor.job_clock`, its self-check and next-process buttons in
:mod:`handlers.qc.self_check` and :mod:`handlers.qc.next_process`."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import WorkshopContext
from bot.refusals import refuse
from handlers.chat.ui import answer_tap, callback_int, reply
from handlers.floor.cards import (
    ITEM_PREFIX,
    ORDER_PREFIX,
    advisor_view,
    customer_links_on,
    mismatch_alert,
    mismatch_facts,
    redraw_order,
    send_technician_card,
    show_advisor_order,
    show_order,
    stale_copy,
    technician_card,
)
from models.card import CardKind, card_at
from models.db import id_of
from models.job_clock import finish_item
from models.rules import Refused
from models.staff import Role
from models.work_order import (
    WorkOrder,
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
    services = context.services
    async with services.db.session() as session:  # each card anew, older copies stripped
        if me.has(Role.technician, Role.team_leader):
            for order in await orders_of_technician(session, id_of(me)):
                await show_order(services, session, order, fresh=True)
                sent += 1
        if me.has(Role.advisor):
            for order in await orders_of_advisor(session, id_of(me)):
                await show_advisor_order(services, session, order, fresh=True)
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
            text, markup = (await advisor_view(
                session, order, ask_customer=customer_links_on(context.services.settings)))(
                    context._)
        else:
            await refuse(update, context, Refused("not_your_order", number=order.number))
            return
        await answer_tap(update)
        await redraw_tapped(update, context, session, order, text, markup)


async def redraw_tapped(update: Update, context: WorkshopContext, session: AsyncSession,
                        order: WorkOrder, text: str, markup: InlineKeyboardMarkup | None
                        ) -> None:
    """After a tap on an order card: the order's living cards follow it; the tapped message
    is edited itself when it is not one of them (a copy from before they were kept, or a team
    leader's view)."""
    query = update.callback_query
    assert query is not None
    tapped = query.message
    card = None if tapped is None else await card_at(
        session, context.channel, tapped.chat.id, tapped.message_id)
    services = context.services
    if card is not None and card.ref_id == order.id and card.kind in (
            CardKind.order_technician, CardKind.order_advisor):
        await redraw_order(services, session, order)
        return
    me = context.me.id
    if me not in (order.technician_id, order.advisor_id):  # a team leader's look
        await _edit(update, text, markup)
        await redraw_order(services, session, order)
        return
    # A copy that is no longer (or never was) the current one: it says so, and the current
    # card goes out anew below.
    await _edit(update, *stale_copy(context._, (text, markup)))
    if me == order.technician_id:
        await show_order(services, session, order, fresh=True)
    else:
        await show_order(services, session, order)
    if me == order.advisor_id:
        await show_advisor_order(services, session, order, fresh=True)
    else:
        await show_advisor_order(services, session, order)


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
        await redraw_tapped(update, context, session, order,
                            *technician_card(context._, order, items))


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
        told = context._("Lock cleared on {number}. The technician can check the plate "
                         "again.").format(number=order.number)
        await answer_tap(update, told)
        now = context.now()
        facts = await mismatch_facts(session, order, context.services.settings.plate_lock_after)
        await context.services.messenger.update_cards(  # the alerts are answered
            session, CardKind.plate_mismatch, id_of(order),
            lambda t: mismatch_alert(t, facts, cleared_at=now))
        query = update.callback_query
        assert query is not None
        tapped = query.message
        card = None if tapped is None else await card_at(
            session, context.channel, tapped.chat.id, tapped.message_id)
        if card is None:  # an alert from before alerts were kept
            await query.edit_message_text(told)
        await send_technician_card(context.services, session, order)  # anew: they can go on


def handlers() -> list[BaseHandler[Update, WorkshopContext, None]]:
    return [
        CommandHandler("orders", list_orders),
        CallbackQueryHandler(view_order, pattern=rf"^{ORDER_PREFIX}:\d+:view$"),
        CallbackQueryHandler(item_done, pattern=rf"^{ITEM_PREFIX}:\d+:done$"),
        CallbackQueryHandler(unlock, pattern=rf"^{ORDER_PREFIX}:\d+:unlock$"),
    ]
