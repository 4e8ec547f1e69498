"""The conversation wrapper every flow uses: one conversation at a time per person, /cancel
always gets out, anything off-step is answered; drafts kept in ``user_data``; text checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram import Message, Update
from telegram.ext import ConversationHandler

from bot.context import WorkshopContext
from handlers.chat.ui import answer_tap, reply

END = ConversationHandler.END


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


def cancel_handler(draft_key: str):
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
