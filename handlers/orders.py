"""Order cards and the one-tap actions on them: /orders, item done (W3), clearing a plate lock.
The card is what a technician keeps coming back to; its job-clock buttons are handled in
:mod:`handlers.job_clock`, its self-check and next-process buttons in
:mod:`handlers.self_check` and :mod:`handlers.next_process`."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.i18n import Translator
from handlers.common import (
    answer_tap,
    button,
    callback_int,
    keyboard,
    local_time,
    refuse,
    reply,
    status_name,
)
from handlers.context import WorkshopContext
from models.job_clock import ClockState, clock_state, finish_item
from models.rules import Refused
from models.staff import Role, Staff
from models.visit_flow import DELIVERABLE
from models.work_order import (
    ItemKind,
    ItemStatus,
    OrderItem,
    OrderStatus,
    WorkOrder,
    clear_lock,
    get_order,
    items_of,
    orders_of_advisor,
    orders_of_technician,
)

ITEM_MARK = {
    ItemStatus.open: "⬜",
    ItemStatus.done: "✅",
    ItemStatus.pending: "⏳",
    ItemStatus.rejected: "❌",
}


def item_line(_: Translator, item: OrderItem) -> str:
    status = ItemStatus(item.status)
    text = f"{ITEM_MARK[status]} {item.position}. "
    if item.kind == ItemKind.extra:
        text += _("[extra] ")
    text += item.description
    if status is ItemStatus.done:
        text += " " + _("(done {at})").format(at=local_time(_, item.done_at))
    elif status is ItemStatus.pending:
        text += " " + _("(waiting for approval)")
    elif status is ItemStatus.rejected:
        text += " " + _("(rejected — do not do)")
    return text


def technician_card(
    _: Translator, order: WorkOrder, items: list[OrderItem]
) -> tuple[str, InlineKeyboardMarkup | None]:
    """What the technician sees. The plate stays hidden until they have checked it (W1)."""
    status = OrderStatus(order.status)
    lines = [_("Work order {number}").format(number=order.number),
             _("Vehicle: {model}").format(model=order.vehicle_model)]
    if status is OrderStatus.open:
        lines += [_("Status: {status}").format(status=status_name(_, status)), "",
                  _("Check the plate on the vehicle before any work: tap the button and type "
                    "it.")]
        return "\n".join(lines), keyboard([button(_("🔎 Confirm plate"),
                                                  f"ord:{order.id}:plate")])
    lines.insert(1, _("Plate: {plate}").format(plate=order.plate))
    if status is OrderStatus.locked:
        lines += [_("Status: {status}").format(status=status_name(_, status)), "",
                  _("Locked after {count} plate mismatches. The advisor must clear it.").format(
                      count=order.plate_mismatches)]
        return "\n".join(lines), None
    lines += [_("Status: {status}").format(status=status_name(_, status)),
              _("Complaint: {complaint}").format(complaint=order.complaint), "",
              _("Items:")]
    lines += [" ".join(filter(None, (item_line(_, item), clock_note(_, item))))
              for item in items]
    if status is not OrderStatus.in_progress:
        return "\n".join(lines), None
    if order.checklist_done_at is None:  # N1–N7 come before any work on the items
        rows = [[button(_("📋 Pre-work checklist"), f"ord:{order.id}:list")]]
    else:
        rows = [[clock_button(_, item),
                 button(_("✅ Done: {position}. {item}").format(
                     position=item.position, item=item.description[:24]),
                     f"itm:{item.id}:done")]
                for item in items if item.status == ItemStatus.open]
    rows += [
        [button(_("⚠️ Items don't match the fault"), f"ord:{order.id}:flag")],
        [button(_("🔧 Report unlisted fault"), f"ord:{order.id}:fault")],
        [button(_("➕ Request extra item"), f"ord:{order.id}:extra")],
        [button(_("🔩 Request part"), f"ord:{order.id}:part")],
        [button(_("➡️ Hand on to the next process"), f"ord:{order.id}:next")],
        [button(_("🏁 Self-check and hand over"), f"ord:{order.id}:check"),
         button(_("🔄 Refresh"), f"ord:{order.id}:view")],
    ]
    return "\n".join(lines), keyboard(*rows)


def hours_text(seconds: float) -> str:
    return f"{seconds / 3600:.1f}"


def clock_note(_: Translator, item: OrderItem) -> str:
    """The job clock on the item's line: running since, hours clocked, the standard time."""
    notes = []
    if item.clock_started_at is not None:
        notes.append(_("running since {at}").format(at=local_time(_, item.clock_started_at)))
    if item.clock_seconds:
        notes.append(_("{hours} h clocked").format(hours=hours_text(item.clock_seconds)))
    if item.standard_minutes:
        notes.append(_("standard {hours} h").format(
            hours=f"{item.standard_minutes / 60:.2f}".rstrip("0").rstrip(".")))
    return "⏱ " + ", ".join(notes) if notes else ""


def clock_button(_: Translator, item: OrderItem) -> InlineKeyboardButton:
    """▶️ start, ⏸ pause or ▶️ resume: handled in :mod:`handlers.job_clock`."""
    state = clock_state(item)
    if state is ClockState.running:
        return button(_("⏸ Pause {position}.").format(position=item.position),
                      f"clk:{item.id}:pause")
    if state is ClockState.paused:
        return button(_("▶️ Resume {position}.").format(position=item.position),
                      f"clk:{item.id}:start")
    return button(_("▶️ Start {position}.").format(position=item.position),
                  f"clk:{item.id}:start")


def advisor_card(
    _: Translator, order: WorkOrder, items: list[OrderItem], technician: Staff | None
) -> tuple[str, InlineKeyboardMarkup | None]:
    lines = [
        _("Work order {number} · {plate}").format(number=order.number, plate=order.plate),
        _("Customer: {name} {phone}").format(name=order.customer_name,
                                             phone=order.customer_phone),
        _("Vehicle: {model}").format(model=order.vehicle_model),
        _("Technician: {name}").format(name=technician.name if technician else "—"),
        _("Status: {status}").format(status=status_name(_, order.status)),
        _("Complaint: {complaint}").format(complaint=order.complaint),
        _("Items:"),
        *[item_line(_, item) for item in items],
    ]
    markup = None
    if order.status == OrderStatus.locked:
        markup = keyboard([button(_("🔓 Clear the plate lock"), f"ord:{order.id}:unlock")])
    elif order.status in DELIVERABLE:  # handlers.delivery asks to confirm, then delivers
        markup = keyboard([button(_("🚗 Delivered to the customer"), f"ord:{order.id}:deliver")])
    return "\n".join(lines), markup


async def send_technician_card(
    context: WorkshopContext, session: AsyncSession, order: WorkOrder
) -> None:
    """Push the current card to the order's technician wherever they are bound."""
    items = await items_of(session, order.id)  # type: ignore[arg-type]
    technician = await session.get(Staff, order.technician_id)
    if technician is not None:
        await context.services.messenger.send(
            session, technician, lambda _: technician_card(_, order, items)
        )


async def list_orders(update: Update, context: WorkshopContext) -> None:
    """A technician's open orders as cards; an advisor's orders with their state."""
    _ = context._
    me = context.me
    sent = 0
    async with context.services.db.session() as session:
        if me.has(Role.technician, Role.team_leader):
            for order in await orders_of_technician(session, me.id):  # type: ignore[arg-type]
                items = await items_of(session, order.id)  # type: ignore[arg-type]
                await reply(update, *technician_card(_, order, items))
                sent += 1
        if me.has(Role.advisor):
            for order in await orders_of_advisor(session, me.id):  # type: ignore[arg-type]
                items = await items_of(session, order.id)  # type: ignore[arg-type]
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
    if query.message is not None and query.message.text == text and markup is None:
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
        items = await items_of(session, order.id)  # type: ignore[arg-type]
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
        await send_technician_card(context, session, order)
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
        CallbackQueryHandler(view_order, pattern=r"^ord:\d+:view$"),
        CallbackQueryHandler(item_done, pattern=r"^itm:\d+:done$"),
        CallbackQueryHandler(unlock, pattern=r"^ord:\d+:unlock$"),
    ]
