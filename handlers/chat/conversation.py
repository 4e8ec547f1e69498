"""The conversation wrapper every flow uses: one conversation at a time per person, /cancel
always gets out, anything off-step is answered; drafts kept in ``user_data``; text checks."""

from __future__ import annotations

from collections import UserDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Message, Update
from telegram.ext import ConversationHandler, filters

from bot.context import WorkshopContext
from bot.i18n import Translator
from handlers.chat.ui import SENT, answer_tap, reply
from models.attachment import PHOTO, VOICE, voice_marker
from models.staff import Staff

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


# A step that takes free text takes a voice note as well (greasy hands): ``read_text_or_voice``.
TEXT_OR_VOICE = (filters.TEXT & ~filters.COMMAND) | filters.VOICE


async def read_text_or_voice(update: Update, context: WorkshopContext, limit: int,
                             draft_key: str) -> str | None:
    """Like ``read_text``; a voice note is the answer too: it is kept in the draft with the
    photos (``keep_voice``, saved with the record and sent with its card) and the text is its
    marker ("🎤 0:12"), so wherever the record's text shows, something shows."""
    assert update.message is not None
    if update.message.voice is not None:
        return keep_voice(context, draft_key, update.message)
    return await read_text(update, context, limit)


def keep_voice(context: WorkshopContext, draft_key: str, message: Message) -> str:
    """Add a message's voice note to the draft; returns its marker ("🎤 0:12")."""
    assert message.voice is not None
    voice = message.voice
    seconds = int(voice.to_dict().get("duration") or 0)  # seconds, whatever PTB's type
    draft(context, draft_key).setdefault("photos", []).append(
        {"channel": context.channel, "file_id": voice.file_id,
         "file_unique_id": voice.file_unique_id, "kind": VOICE, "duration": seconds})
    return voice_marker(seconds)


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
    count = sum(1 for photo in photos if photo.get("kind", PHOTO) == PHOTO)  # not voice notes
    if count >= limit:
        return 0
    largest = message.photo[-1]
    photos.append({"channel": context.channel, "file_id": largest.file_id,
                   "file_unique_id": largest.file_unique_id})
    return count + 1


# --- conversations -------------------------------------------------------------------------
# A person is in at most one conversation at a time. ``user_data[IN]`` names it; entry points
# of the others refuse while it is set, and each conversation's catch-all fallbacks answer
# anything that is not part of the current step. /cancel always gets out.
IN = "_conversation"
# A conversation whose steps decide a shared record (an extra item, a part request …) keeps,
# while it is open, what it is deciding and the prompts it sent, in ``user_data[STEP]``:
# {"conversation", "kind", "ref", "staff", "since", "state", "prompts": [{"chat", "message",
# "text", "buttons"}], "busy" while one of its handlers runs, and "ended" (the words why) once
# someone else's decision ended it}.
# ``handlers.chat.deciding`` ends the step when another person decides the record first.
STEP = "_deciding"
MAX_PROMPTS = 4  # the prompts of a step that are kept (each one with buttons, and the newest)

# Whether a step on a record can still go anywhere, for ``staff``, with the conversation's
# draft; None when it can, else the words why not, in the translator's language. The context
# is the current update's (the shop's clock and settings), not necessarily ``staff``'s.
StillOpen = Callable[[WorkshopContext, AsyncSession, Staff, dict[str, Any], Translator],
                     Awaitable[str | None]]


@dataclass(frozen=True)
class Decides:
    """What a conversation's steps decide: a record of ``kind`` (a CardKind) whose id is the
    draft's ``ref_key``, and how to tell whether such a step can still go anywhere."""

    kind: str
    ref_key: str
    still_open: StillOpen


class Conversation(ConversationHandler[WorkshopContext]):
    """A persistent ConversationHandler that knows its draft and, for a decision, what its
    steps decide."""

    __slots__ = ("decides", "draft_key")

    def __init__(self, *, draft_key: str, decides: Decides | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.draft_key = draft_key
        self.decides = decides

    def end_for(self, chat_id: int, user_id: int) -> None:
        """End one person's conversation from outside its own steps (when someone else's
        decision left it nothing to do). python-telegram-bot has no public way to do this;
        this is its own bookkeeping (``_update_state``), and the change is persisted like
        any other."""
        self._update_state(self.END, (chat_id, user_id))

    def adopt(self, chat_id: int, user_id: int, state: object | None) -> None:
        """Take the state another process saved for this person (several workers share chats:
        ``bot.application``'s loading step). It is already in the database, so it is set
        without marking it changed (python-telegram-bot's ``TrackingDict`` underneath)."""
        conversations = self._conversations
        data = conversations.data if isinstance(conversations, UserDict) else conversations
        if state is None:
            data.pop((chat_id, user_id), None)
        else:
            data[(chat_id, user_id)] = state


def _prompt(message: Message) -> dict[str, Any]:
    return {"chat": message.chat_id, "message": message.message_id, "text": message.text or "",
            "buttons": message.reply_markup is not None
            and bool(message.reply_markup.inline_keyboard)}


def _note_step(context: WorkshopContext, name: str, conv: Conversation, state: object,
               sent: list[Message]) -> None:
    """Remember what a decision step is deciding and the prompts it sent: each prompt that has
    buttons, and the newest question. A reply that keeps the step where it was (a text that
    was too long …) is not a prompt."""
    decides = conv.decides
    user_data = context.user_data
    if decides is None or user_data is None:
        return
    step = user_data.get(STEP)
    if not isinstance(step, dict) or step.get("conversation") != name:
        ref = (user_data.get(conv.draft_key) or {}).get(decides.ref_key)
        if ref is None or context.staff is None:
            return
        step = user_data[STEP] = {
            "conversation": name, "kind": str(decides.kind), "ref": ref,
            "staff": context.staff.id, "since": context.now().isoformat(), "state": None,
            "prompts": [],
        }
    if not sent or (state == step.get("state") and not any(_prompt(m)["buttons"]
                                                            for m in sent)):
        step["state"] = state
        return
    kept = [p for p in step.get("prompts", []) if p.get("buttons")]
    step["prompts"] = (kept + [_prompt(m) for m in sent])[-MAX_PROMPTS:]
    step["state"] = state


def forget_step(context: WorkshopContext) -> None:
    """The person is in no conversation any more."""
    if context.user_data is not None:
        context.user_data.pop(IN, None)
        context.user_data.pop(STEP, None)


def _wrap_entry(name: str, conv: Conversation,
                callback: Callable[..., Any]) -> Callable[..., Any]:
    async def entry(update: Update, context: WorkshopContext) -> object:
        current = (context.user_data or {}).get(IN)
        if current not in (None, name):
            await wrong_input(update, context)
            return END
        sent: list[Message] = []
        token = SENT.set(sent)
        try:
            result = await callback(update, context)
        finally:
            SENT.reset(token)
        if result is not None and result != END and context.user_data is not None:
            context.user_data[IN] = name
            context.user_data.pop(STEP, None)
            _note_step(context, name, conv, result, sent)
        return result

    entry.__doc__ = callback.__doc__
    return entry


def _wrap_step(name: str, conv: Conversation,
               callback: Callable[..., Any]) -> Callable[..., Any]:
    async def step(update: Update, context: WorkshopContext) -> object:
        sent: list[Message] = []
        token = SENT.set(sent)
        # While the step's own handler runs (it may be deciding right now), another decision
        # leaves it alone: the handler hears the outcome itself.
        busy = (context.user_data or {}).get(STEP)
        if isinstance(busy, dict):
            busy["busy"] = True
        try:
            result = await callback(update, context)
        finally:
            SENT.reset(token)
            if isinstance(busy, dict):
                busy.pop("busy", None)
        if result == END:
            forget_step(context)
        elif result is not None:
            _note_step(context, name, conv, result, sent)
        return result

    step.__doc__ = callback.__doc__
    return step


def conversation(
    name: str,
    *,
    entry_points: list[Any],
    states: dict[object, list[Any]],
    draft_key: str | None = None,
    decides: Decides | None = None,
) -> Conversation:
    """A persistent conversation with /cancel and catch-alls for anything off-step. With
    ``decides``, its steps decide a shared record: ``handlers.chat.deciding`` ends a person's
    step there when someone else decides the record first."""
    from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

    fallbacks: list[Any] = [
        CommandHandler("cancel", cancel_handler(draft_key or name)),
        MessageHandler(filters.ALL, wrong_input),
        CallbackQueryHandler(wrong_input),
    ]
    conv = Conversation(
        draft_key=draft_key or name,
        decides=decides,
        entry_points=entry_points,
        states=states,
        fallbacks=fallbacks,
        name=name,
        persistent=True,
        allow_reentry=False,
    )
    for handler in entry_points:
        handler.callback = _wrap_entry(name, conv, handler.callback)
    for step_handlers in states.values():
        for handler in step_handlers:
            handler.callback = _wrap_step(name, conv, handler.callback)
    fallbacks[0].callback = _wrap_step(name, conv, fallbacks[0].callback)
    return conv


async def nothing_to_cancel(update: Update, context: WorkshopContext) -> None:
    """/cancel outside any conversation: say so, and clear a stale marker if there is one."""
    forget_step(context)
    await reply(update, context._("There is nothing to cancel."))


async def stale_button(update: Update, context: WorkshopContext) -> None:
    """A button no handler knows any more (an old card, a finished step)."""
    await answer_tap(update, context._("This button is no longer active."), alert=True)
