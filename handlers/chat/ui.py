"""Replying, buttons and taps: the small pieces every handler uses."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.i18n import Translator
from bot.messenger import clip

# The messages :func:`reply` sent while a conversation step ran: the conversation wrapper
# (``handlers.chat.conversation``) sets a list here around each step, to know a step's prompts.
SENT: ContextVar[list[Message] | None] = ContextVar("sent_by_this_step", default=None)


async def reply(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Answer in the chat the update came from, whether a message or a button tap."""
    chat = update.effective_chat
    if chat is None:
        return None
    message = await chat.send_message(clip(text), reply_markup=markup)
    sent = SENT.get()
    if sent is not None:
        sent.append(message)
    return message


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
