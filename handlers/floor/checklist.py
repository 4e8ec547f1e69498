"""N1–N7: the pre-work checklist, one message with toggle buttons, right after the plate check.

First the kinds of job (outside the car, inside it, lift or stands, fuel/oil/water, removed
assemblies), then “Next” shows the boxes those kinds require; “Start work” records the
checklist once every box is ticked and shows the order card again, below it. Until then no
item can be marked done. Every button carries the state it sets (tick / untick), so a double
tap or an old copy of the message changes nothing more; the buttons only name the order, and
the server checks who taps.

``/checklist`` (and ``ord:<id>:list``, for a button on the order card) shows the checklist of
each order at work that still needs it. A lifting job goes on to the watcher (N5,
:mod:`handlers.floor.lifting`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import WorkshopContext
from bot.i18n import Translator
from bot.messenger import Rendered
from bot.refusals import refuse
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply
from handlers.floor import lifting
from handlers.floor.cards import ORDER_PREFIX, box_name, show_advisor_order, show_order
from models.checklist import (
    RULE,
    Box,
    ChecklistState,
    JobType,
    choose_types,
    complete,
    open_checklists_of,
    set_job_type,
    set_tick,
    state_of,
    view,
)
from models.rules import Refused
from models.staff import Role
from models.work_order import WorkOrder

PREFIX = "ckl"  # the callback data of this module's buttons: ckl:…


def job_type_name(_: Translator, job_type: JobType) -> str:
    return {
        JobType.outside: _("Outside the car"),
        JobType.inside: _("Inside the car"),
        JobType.lift: _("Lift or stands"),
        JobType.fluids: _("Opens fuel, oil or water parts"),
        JobType.disassembly: _("Removes assemblies"),
    }[job_type]


TYPE_DATA = rf"^{PREFIX}:\d+:t:(" + "|".join(t.value for t in JobType) + r"):[01]$"
BOX_DATA = rf"^{PREFIX}:\d+:b:(" + "|".join(b.value for b in Box) + r"):[01]$"


def checklist_message(_: Translator, state: ChecklistState) -> Rendered:
    """The checklist as it stands: the job types, then the boxes, then what was recorded."""
    order, checklist = state.order, state.checklist
    order_id = order.id
    lines = [_("📋 Pre-work checklist · {number} · {plate}").format(number=order.number,
                                                                   plate=order.plate)]
    types = [t for t in JobType if t in checklist.types]
    kinds = ", ".join(job_type_name(_, t) for t in types)
    if state.done:
        lines.append(_("Job: {kinds}").format(kinds=kinds))
        lines += [f"☑ {RULE[box]} {box_name(_, box)}" for box in state.required]
        lines += ["", _("✅ Complete at {at}. Work can start: mark the items on the order "
                        "card.").format(at=_.time(order.checklist_done_at))]  # type: ignore[arg-type]
        return "\n".join(lines), None
    if checklist.types_chosen_at is None:
        lines.append(_("What kind of job is this? Tap every kind that applies, then “Next”."))
        rows = [[button(("☑ " if t in checklist.types else "☐ ") + job_type_name(_, t),
                        f"{PREFIX}:{order_id}:t:{t.value}:{0 if t in checklist.types else 1}")]
                for t in JobType]
        rows.append([button(_("➡️ Next"), f"{PREFIX}:{order_id}:next")])
        return "\n".join(lines), keyboard(*rows)
    lines.append(_("Job: {kinds}").format(kinds=kinds))
    lines.append(_("Tick each box when it is done, then “Start work”."))
    rows = [[button(("☑ " if box in state.ticks else "☐ ") + f"{RULE[box]} "
                    + box_name(_, box),
                    f"{PREFIX}:{order_id}:b:{box.value}:{0 if box in state.ticks else 1}")]
            for box in state.required]
    rows.append([button(_("✅ Start work"), f"{PREFIX}:{order_id}:go"),
                 button(_("⬅️ Job types"), f"{PREFIX}:{order_id}:back")])
    return "\n".join(lines), keyboard(*rows)


async def show_checklist(update: Update, session: AsyncSession, _: Translator,
                         order: WorkOrder) -> None:
    """Send the order's checklist as a new message (after the plate check, on request)."""
    await reply(update, *checklist_message(_, await state_of(session, order)))


async def _edit(update: Update, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Redraw the checklist in place; an unchanged one (a double tap) stays as it is."""
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            await reply(update, text, markup)


Change = Callable[[AsyncSession, int], Awaitable[ChecklistState]]


async def _change(
    update: Update, context: WorkshopContext, change: Change
) -> ChecklistState | None:
    """Apply one change to the checklist the button names and redraw it."""
    order_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            state = await change(session, order_id)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            if refused.code == "checklist_already_done":  # an old copy: show what was recorded
                try:
                    state = await view(session, order_id=order_id, staff=context.me)
                except Refused:
                    return None
                await _edit(update, *checklist_message(context._, state))
            return None
        await session.commit()
    await answer_tap(update)
    await _edit(update, *checklist_message(context._, state))
    return state


def _parts(update: Update) -> list[str]:
    assert update.callback_query is not None and update.callback_query.data
    return update.callback_query.data.split(":")


async def toggle_type(update: Update, context: WorkshopContext) -> None:
    """Choose or drop a kind of job."""
    _prefix, _order, _t, code, on = _parts(update)
    await _change(update, context, lambda session, order_id: set_job_type(
        session, order_id=order_id, staff=context.me, job_type=JobType(code), on=on == "1",
        now=context.now(), actor=context.actor))


async def types_chosen(update: Update, context: WorkshopContext) -> None:
    """“Next”: from the kinds of job to the boxes they require."""
    await _change(update, context, lambda session, order_id: choose_types(
        session, order_id=order_id, staff=context.me, now=context.now(), actor=context.actor))


async def back_to_types(update: Update, context: WorkshopContext) -> None:
    """“Job types”: change the kinds of job (ticks they still require are kept)."""
    await _change(update, context, lambda session, order_id: choose_types(
        session, order_id=order_id, staff=context.me, now=context.now(), actor=context.actor,
        chosen=False))


async def toggle_box(update: Update, context: WorkshopContext) -> None:
    """Tick or untick one box; who and when are recorded."""
    _prefix, _order, _b, code, on = _parts(update)
    await _change(update, context, lambda session, order_id: set_tick(
        session, order_id=order_id, staff=context.me, box=Box(code), on=on == "1",
        now=context.now(), actor=context.actor))


async def start_work(update: Update, context: WorkshopContext) -> None:
    """Every box ticked: record the checklist and put the order card (now open for work)
    below it; a lifting job asks for its watcher next."""
    state = await _change(update, context, lambda session, order_id: complete(
        session, order_id=order_id, staff=context.me, now=context.now(), actor=context.actor))
    if state is None:
        return
    async with context.services.db.session() as session:  # the card below the checklist
        await show_order(context.services, session, state.order, fresh=True)
        await show_advisor_order(context.services, session, state.order)
    if JobType.lift in state.checklist.types:
        await lifting.ask_watcher(update, context, state.order)


async def list_open(update: Update, context: WorkshopContext) -> None:
    """/checklist: the checklist of every order at work that still needs one."""
    _ = context._
    if not context.me.has(Role.technician, Role.team_leader):
        await refuse(update, context, Refused("checklist_not_floor"))
        return
    async with context.services.db.session() as session:
        orders = await open_checklists_of(session, context.me)
        for order in orders:
            await show_checklist(update, session, _, order)
    if not orders:
        await reply(update, _("None of your orders at work is waiting for its pre-work "
                              "checklist."))


async def show_one(update: Update, context: WorkshopContext) -> None:
    """A checklist button on an order card: this order's checklist, as a new message."""
    async with context.services.db.session() as session:
        try:
            state = await view(session, order_id=callback_int(update), staff=context.me)
        except Refused as refused:
            await refuse(update, context, refused)
            return
    await answer_tap(update)
    await reply(update, *checklist_message(context._, state))


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        CallbackQueryHandler(toggle_type, pattern=TYPE_DATA),
        CallbackQueryHandler(types_chosen, pattern=rf"^{PREFIX}:\d+:next$"),
        CallbackQueryHandler(back_to_types, pattern=rf"^{PREFIX}:\d+:back$"),
        CallbackQueryHandler(toggle_box, pattern=BOX_DATA),
        CallbackQueryHandler(start_work, pattern=rf"^{PREFIX}:\d+:go$"),
        CallbackQueryHandler(show_one, pattern=rf"^{ORDER_PREFIX}:\d+:list$"),
        CommandHandler("checklist", list_open),
    ]
