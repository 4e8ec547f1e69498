"""A2/A6: the advisor hands a finished car back to the customer — where the business
department's follow-up starts.

``/deliver`` lists the advisor's orders that are ready as buttons (``/deliver WO…`` names one);
the advisor card has the same "🚗 Delivered to the customer" button. One more tap confirms. The
delivery opens (or extends) the customer's archive, schedules the first call, and the
customer's clerk — or today's stand-in — is told which archive fields are missing.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import WorkshopContext
from bot.refusals import refusal, refuse
from handlers.after_sales.cards.followup import window_text
from handlers.after_sales.customer import new_visit_message
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply
from handlers.floor.cards import ORDER_PREFIX, redraw_order
from models.absence import route
from models.customer import missing_fields, vehicles_of
from models.db import id_of
from models.rules import Refused
from models.staff import Role, Staff
from models.visit_flow import (
    DELIVERABLE,
    deliver,
    deliverable_orders,
    order_by_number,
)
from models.work_order import OrderStatus, WorkOrder, get_order


def check_deliverable(order: WorkOrder) -> None:
    status = OrderStatus(order.status)
    if status is OrderStatus.delivered:
        raise Refused("already_delivered", number=order.number)
    if status not in DELIVERABLE:
        raise Refused("wrong_status", status=status.value)


async def list_deliverable(update: Update, context: WorkshopContext) -> None:
    """/deliver: the advisor's cars that are ready, or the one named by its order number."""
    _ = context._
    if not context.me.has(Role.advisor):
        await reply(update, refusal(_, Refused("not_advisor")))
        return
    async with context.services.db.session() as session:
        if context.args:
            number = " ".join(context.args)[:40]
            try:
                order = await order_by_number(session, number)
            except Refused:
                await reply(update, _("There is no work order {number}. Send /deliver to see "
                                      "your cars that are ready.").format(number=number))
                return
            try:
                check_deliverable(order)
            except Refused as refused:
                await reply(update, refusal(_, refused))
                return
            await ask(update, context, order)
            return
        orders = await deliverable_orders(session, id_of(context.me))
    if not orders:
        await reply(update, _("None of your orders is ready to hand back yet. A car can be "
                              "delivered once its work has been checked."))
        return
    await reply(update, _("Which car goes back to its customer?"), keyboard(*[
        [button(f"{o.number} · {o.plate} · {o.customer_name}"[:60],
                f"{ORDER_PREFIX}:{o.id}:deliver")]
        for o in orders]))


async def ask(update: Update, context: WorkshopContext, order: WorkOrder) -> None:
    _ = context._
    low, high = context.services.settings.first_call_window
    await reply(
        update,
        _("Hand {number} ({plate}) back to {name}? The customer's tracking clerk will call "
          "{low} to {high} days from today.").format(
              number=order.number, plate=order.plate, name=order.customer_name, low=low,
              high=high),
        keyboard([button(_("✅ Yes, delivered"), f"{ORDER_PREFIX}:{order.id}:delivered"),
                  button(_("Not yet"), f"{ORDER_PREFIX}:{order.id}:view")]),
    )


async def ask_delivery(update: Update, context: WorkshopContext) -> None:
    """The card's or the list's button: advisors only, and only a car that is ready."""
    if not context.me.has(Role.advisor):
        await refuse(update, context, Refused("not_advisor"))
        return
    async with context.services.db.session() as session:
        try:
            order = await get_order(session, callback_int(update))
            check_deliverable(order)
        except Refused as refused:
            await refuse(update, context, refused)
            return
    await answer_tap(update)
    await ask(update, context, order)


async def confirm_delivery(update: Update, context: WorkshopContext) -> None:
    """Deliver once (a second tap is told it was already done), then tell the clerk."""
    _ = context._
    query = update.callback_query
    assert query is not None
    settings = context.services.settings
    calendar = settings.calendar
    now = context.now()
    async with context.services.db.session() as session:
        try:
            order, opened, followup = await deliver(
                session, order_id=callback_int(update), advisor=context.me, now=now,
                actor=context.actor, calendar=calendar,
                first_call_window=settings.first_call_window,
            )
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            return
        await session.commit()
        await redraw_order(context.services, session, order)
        customer = opened.customer
        missing = missing_fields(customer, await vehicles_of(session, id_of(customer)))
        clerk = await session.get(Staff, customer.clerk_id) if customer.clerk_id else None
        told = None
        if clerk is not None:
            way = await route(session, id_of(clerk), calendar.local_date(now))
            told = await session.get(Staff, way.staff_id)
            if told is not None:
                standing_in_for = clerk if way.standing_in_for is not None else None
                await context.services.messenger.send(
                    session, told,
                    lambda t: new_visit_message(
                        t, customer, opened.visit, order.plate, followup, missing,
                        order_number=order.number, standing_in_for=standing_in_for),
                    now=now,
                )
    lines = [_("🚗 {number} delivered to {name}.").format(number=order.number,
                                                         name=customer.name)]
    if told is not None:
        lines.append(_("{clerk} follows up and has been told.").format(clerk=told.name))
    else:
        lines.append(_("No tracking clerk is assigned to this customer yet; the supervisor "
                       "will be reminded."))
    if followup is not None:
        lines.append(_("First call due {window}.").format(window=window_text(_, followup)))
    await answer_tap(update)
    await query.edit_message_text("\n".join(lines))


def handlers() -> list[BaseHandler[Update, WorkshopContext, None]]:
    return [
        CommandHandler("deliver", list_deliverable),
        CallbackQueryHandler(ask_delivery, pattern=rf"^{ORDER_PREFIX}:\d+:deliver$"),
        CallbackQueryHandler(confirm_delivery, pattern=rf"^{ORDER_PREFIX}:\d+:delivered$"),
    ]
