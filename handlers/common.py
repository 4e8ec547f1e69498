"""What every conversation shares: replying, refusals in words, /cancel, input checks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import ConversationHandler

from bot.i18n import Translator
from bot.messenger import clip
from handlers.context import WorkshopContext
from models.rules import Refused
from models.work_order import OrderStatus, WorkOrder, floor_order

log = logging.getLogger(__name__)

END = ConversationHandler.END


async def reply(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Answer in the chat the update came from, whether a message or a button tap."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await chat.send_message(clip(text), reply_markup=markup)


async def answer_tap(update: Update, text: str | None = None, alert: bool = False) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=alert)


def button(text: str, data: str) -> InlineKeyboardButton:
    assert len(data.encode()) <= 64, data
    return InlineKeyboardButton(text, callback_data=data)


def keyboard(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([row for row in rows if row])


def callback_int(update: Update, position: int = 1) -> int:
    """The record id in callback data such as ``ord:12:plate`` (position 1)."""
    assert update.callback_query is not None and update.callback_query.data
    return int(update.callback_query.data.split(":")[position])


_REFUSALS: dict[str, Callable[[Translator, dict[str, Any]], str]] = {
    "wrong_status": lambda _, p: _("This cannot be done now: the order is {status}.").format(
        status=status_name(_, p["status"])
    ),
    "order_missing": lambda _, p: _("That order or item no longer exists."),
    "order_closed": lambda _, p: _("Order {number} is closed; nothing was changed.").format(**p),
    "order_locked": lambda _, p: _(
        "Order {number} is locked after repeated plate mismatches. The advisor must clear it."
    ).format(**p),
    "not_your_order": lambda _, p: _(
        "Order {number} is not assigned to you; nothing was changed."
    ).format(**p),
    "not_advisor": lambda _, p: _("Only advisors can do this; nothing was changed."),
    "not_technician": lambda _, p: _("{name} is not an active technician.").format(**p),
    "plate_invalid": lambda _, p: _(
        "“{plate}” is not a mainland plate. Please check it and send it again."
    ).format(**p),
    "plate_typo": lambda _, p: _(
        "“{plate}” does not look like a plate. Please type the plate on the vehicle again."
    ).format(**p),
    "not_locked": lambda _, p: _("Order {number} is not locked.").format(**p),
    "no_items": lambda _, p: _("Please list at least one item, one per line."),
    "too_many_items": lambda _, p: _("At most {limit} items, please.").format(**p),
    "item_pending": lambda _, p: _(
        "“{item}” is waiting for the advisor's approval and cannot be marked done yet."
    ).format(**p),
    "item_rejected": lambda _, p: _(
        "“{item}” was rejected by the advisor and must not be done."
    ).format(**p),
    "item_already_done": lambda _, p: _("“{item}” is already done.").format(**p),
    "items_open": lambda _, p: _.ngettext(
        "{count} item is still open; finish it before the self-check.",
        "{count} items are still open; finish them before the self-check.",
        p["count"],
    ).format(**p),
    "empty_text": lambda _, p: _("Please send some text."),
    "already_acknowledged": lambda _, p: _("Already acknowledged by {name} at {at}.").format(
        name=p["name"], at=_.time(p["at"])
    ),
    "already_decided": lambda _, p: _("Already {decision} by {name} at {at}.").format(
        decision=decision_name(_, p["decision"]), name=p["name"], at=_.time(p["at"])
    ),
    "estimate_invalid": lambda _, p: _(
        "Please send the estimate as one or two amounts in yuan, parts then labour, "
        "e.g. “300 150”."
    ),
    "consent_missing": lambda _, p: _("Please choose how the customer consented."),
    "consent_note_missing": lambda _, p: _("Please describe how the customer consented."),
    "reason_missing": lambda _, p: _("Please give a reason."),
    # After-sales (A1–A13)
    "already_delivered": lambda _, p: _("Order {number} was already delivered.").format(**p),
    "customer_missing": lambda _, p: _("That customer no longer exists."),
    "followup_missing": lambda _, p: _("That follow-up no longer exists."),
    "followup_closed": lambda _, p: _("This follow-up is already closed; nothing was "
                                      "changed."),
    "not_clerk": lambda _, p: _("{name} is not an active tracking clerk.").format(**p),
    "not_supervisor": lambda _, p: _("Only supervisors can do this; nothing was changed."),
    "date_invalid": lambda _, p: _("Please send a date like 2026-12-01."),
    "date_in_past": lambda _, p: _("That date has passed; please choose a later one."),
    "time_in_past": lambda _, p: _("That time has passed; please choose a later one."),
    "time_in_future": lambda _, p: _("That is in the future; please give the day it "
                                     "happened."),
    "phone_invalid": lambda _, p: _("That does not look like a phone number (e.g. "
                                    "13812345678 or 010-12345678). Please send it again."),
    "plate_taken": lambda _, p: _("Plate {plate} belongs to another customer's "
                                  "vehicle.").format(**p),
    "no_vehicle": lambda _, p: _("This customer has no vehicle yet; add its plate first."),
    "number_invalid": lambda _, p: _("Please send a whole number in a sensible range."),
    "field_unknown": lambda _, p: _("That field cannot be edited."),
    "absence_dates": lambda _, p: _("The absence must start today or later and end on or "
                                    "after its start."),
    "standin_is_clerk": lambda _, p: _("The stand-in must be someone other than the absent "
                                       "clerk."),
    "absence_overlaps": lambda _, p: _("That clerk is already away from {starts_on} to "
                                       "{ends_on}.").format(**p),
    "complaint_missing": lambda _, p: _("That complaint no longer exists."),
    "complaint_moved": lambda _, p: _("This complaint has moved on (now: {status}); "
                                      "nothing was changed.").format(**p),
    "audience_value_missing": lambda _, p: _("Please name the vehicle model."),
    "no_customers": lambda _, p: _("No customer matches; nothing was created."),
    "letter_missing": lambda _, p: _("That letter no longer exists."),
    "letter_already_sent": lambda _, p: _("This letter was already registered as sent."),
    "satisfaction_invalid": lambda _, p: _("Satisfaction is a number from 1 to 5."),
    "too_long": lambda _, p: _("That is too long; at most {limit} characters.").format(**p),
}


def add_refusals(texts: dict[str, Callable[[Translator, dict[str, Any]], str]]) -> None:
    """A flow module adds the sentences for the refusal codes its rules raise."""
    duplicates = set(texts) & set(_REFUSALS)
    assert not duplicates, f"refusal codes defined twice: {duplicates}"
    _REFUSALS.update(texts)


def refusal(_: Translator, refused: Refused) -> str:
    render = _REFUSALS.get(refused.code)
    if render is None:
        return _("This cannot be done; nothing was changed.")
    return render(_, refused.params)


def status_name(_: Translator, status: str) -> str:
    names = {
        "open": _("waiting for the plate check"),
        "locked": _("locked (plate mismatches)"),
        "in_progress": _("in progress"),
        "self_checked": _("self-checked, waiting for QC"),
        "leader_passed": _("passed by the team leader"),
        "inspected": _("inspected, ready for delivery"),
        "delivered": _("delivered"),
        "cancelled": _("cancelled"),
    }
    return names.get(status, status)


def decision_name(_: Translator, decision: str) -> str:
    return {"approved": _("approved"), "rejected": _("rejected"), "pending": _("pending")}.get(
        decision, decision
    )


async def refuse(update: Update, context: WorkshopContext, refused: Refused) -> None:
    """Tell the person why not: as a tap alert for buttons, as a message otherwise."""
    log.info("refused %s on %s for staff %s: %s", refused.code, context.channel,
             context.staff.id if context.staff else None,
             update.callback_query.data if update.callback_query else "message")
    text = refusal(context._, refused)
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await reply(update, text)


def checked_text(
    context: WorkshopContext, text: str | None, limit: int
) -> tuple[str | None, str | None]:
    """(the text, None) when usable, else (None, what to tell the person)."""
    _ = context._
    value = (text or "").strip()
    if not value:
        return None, _("Please send some text.")
    if len(value) > limit:
        return None, _(
            "That is {length} characters; at most {limit}, please. Nothing was lost — "
            "send a shorter text."
        ).format(length=len(value), limit=limit)
    return value, None


async def read_text(update: Update, context: WorkshopContext, limit: int) -> str | None:
    """The text the person just sent, trimmed, when it is usable; else None, after telling
    them what is wrong (the step stays where it is and nothing typed before is lost)."""
    assert update.message is not None
    value, problem = checked_text(context, update.message.text, limit)
    if problem is not None or value is None:
        await reply(update, problem or "")
        return None
    return value


def draft(context: WorkshopContext, key: str) -> dict[str, Any]:
    """The half-finished form of one conversation, kept in persisted ``user_data``."""
    assert context.user_data is not None
    return context.user_data.setdefault(key, {})


def drop_draft(context: WorkshopContext, key: str) -> None:
    if context.user_data is not None:
        context.user_data.pop(key, None)


def cancel_handler(draft_key: str):  # type: ignore[no-untyped-def]
    """A ``/cancel`` fallback that forgets the draft and ends the conversation."""

    async def cancel(update: Update, context: WorkshopContext) -> int:
        """Leave the conversation; nothing half-written is saved."""
        drop_draft(context, draft_key)
        await answer_tap(update)
        await reply(update, context._("Cancelled. Nothing was saved."))
        return END

    return cancel


async def wrong_input(update: Update, context: WorkshopContext) -> None:
    """Something other than what the step asked for; the step stays where it was."""
    _ = context._
    if update.callback_query is not None:
        await update.callback_query.answer(
            _("That button is not part of this step. Finish the step or send /cancel."),
            show_alert=True,
        )
        return
    message = update.effective_message
    if message is not None and message.text and message.text.startswith("/"):
        text = _("Finish this step first, or send /cancel to stop. Nothing was lost.")
    else:
        text = _("That is not what this step needs. Please answer the question above, "
                 "or send /cancel.")
    await reply(update, text)


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


def keep_photo(context: WorkshopContext, draft_key: str, message: Message, limit: int) -> int:
    """Add the largest size of a message's photo to the draft; returns how many are kept,
    or 0 when the draft already holds ``limit`` (this one is not kept)."""
    photos = draft(context, draft_key).setdefault("photos", [])
    if len(photos) >= limit:
        return 0
    largest = message.photo[-1]
    photos.append({"channel": context.channel, "file_id": largest.file_id,
                   "file_unique_id": largest.file_unique_id})
    return len(photos)


async def toggle_tick(update: Update, ticked: list[Any], value: Any,
                      redraw: Callable[[], InlineKeyboardMarkup]) -> None:
    """A tick-box button was tapped: tick ``value`` (or untick it) in ``ticked`` and redraw the
    buttons, which show the ticks."""
    query = update.callback_query
    assert query is not None
    if value in ticked:
        ticked.remove(value)
    else:
        ticked.append(value)
    await query.answer()
    await query.edit_message_reply_markup(redraw())


def local_time(_: Translator, at: datetime | None) -> str:
    return _.time(at) if at else "—"


# --- conversations -------------------------------------------------------------------------
# A person is in at most one conversation at a time. ``user_data[IN]`` names it; entry points
# of the others refuse while it is set, and each conversation's catch-all fallbacks answer
# anything that is not part of the current step. /cancel always gets out.
IN = "_conversation"


def _wrap_entry(name: str, callback: Callable[..., Any]) -> Callable[..., Any]:
    async def entry(update: Update, context: WorkshopContext) -> object:
        current = (context.user_data or {}).get(IN)
        if current not in (None, name):
            await wrong_input(update, context)
            return END
        result = await callback(update, context)
        if result is not None and result != END and context.user_data is not None:
            context.user_data[IN] = name
        return result

    entry.__doc__ = callback.__doc__
    return entry


def _wrap_step(callback: Callable[..., Any]) -> Callable[..., Any]:
    async def step(update: Update, context: WorkshopContext) -> object:
        result = await callback(update, context)
        if result == END and context.user_data is not None:
            context.user_data.pop(IN, None)
        return result

    step.__doc__ = callback.__doc__
    return step


def conversation(
    name: str,
    *,
    entry_points: list[Any],
    states: dict[object, list[Any]],
    draft_key: str | None = None,
) -> ConversationHandler[WorkshopContext]:
    """A persistent conversation with /cancel and catch-alls for anything off-step."""
    from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

    for handler in entry_points:
        handler.callback = _wrap_entry(name, handler.callback)
    for step_handlers in states.values():
        for handler in step_handlers:
            handler.callback = _wrap_step(handler.callback)
    fallbacks = [
        CommandHandler("cancel", _wrap_step(cancel_handler(draft_key or name))),
        MessageHandler(filters.ALL, wrong_input),
        CallbackQueryHandler(wrong_input),
    ]
    return ConversationHandler(
        entry_points=entry_points,
        states=states,
        fallbacks=fallbacks,
        name=name,
        persistent=True,
        allow_reentry=False,
    )


async def nothing_to_cancel(update: Update, context: WorkshopContext) -> None:
    """/cancel outside any conversation: say so, and clear a stale marker if there is one."""
    if context.user_data is not None:
        context.user_data.pop(IN, None)
    await reply(update, context._("There is nothing to cancel."))


async def stale_button(update: Update, context: WorkshopContext) -> None:
    """A button no handler knows any more (an old card, a finished step)."""
    await answer_tap(update, context._("This button is no longer active."), alert=True)
