"""Anything sent outside a step — a plain message, a voice note, a photo, a sticker, a command
the bot does not know — gets one line back: what waits for the person, the commands that show
it, and /help ("2 open orders, 1 approval waiting — /orders, /approvals, /help"), not silence.

``bot.application`` registers it last, after every conversation and every command (just before
the stale-button answer), so it never takes what a step is waiting for, nor a reply to a
follow-up reminder (that reply is the call log's way in, a conversation's entry point)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import MessageHandler, filters

from bot.context import WorkshopContext
from bot.i18n import Translator
from handlers.chat.ui import reply
from handlers.staff.menus import sees
from models.open_items import OpenItems, open_items
from models.staff import Staff


def pointer_text(_: Translator, staff: Staff, items: OpenItems) -> str:
    """One line: the open items, counted, then the commands that list them and /help."""
    counted: list[tuple[str, str]] = []  # (words, the command that lists them)
    if items.orders:
        counted.append((_.ngettext("{count} open order", "{count} open orders", items.orders)
                        .format(count=items.orders), "orders"))
    if items.approvals:
        counted.append((_.ngettext("{count} approval waiting", "{count} approvals waiting",
                                   items.approvals).format(count=items.approvals),
                        "approvals" if sees(staff, "approvals") else "orders"))
    if items.deliveries:
        counted.append((_.ngettext("{count} car ready to hand back",
                                   "{count} cars ready to hand back", items.deliveries)
                        .format(count=items.deliveries), "deliver"))
    if items.checks:
        counted.append((_.ngettext("{count} check waiting", "{count} checks waiting",
                                   items.checks).format(count=items.checks), "qc"))
    if items.parts:
        counted.append((_.ngettext("{count} part request open", "{count} part requests open",
                                   items.parts).format(count=items.parts), "parts"))
    if items.calls:
        counted.append((_.ngettext("{count} call to make today", "{count} calls to make today",
                                   items.calls).format(count=items.calls), "today"))
    if items.complaints:
        counted.append((_.ngettext("{count} open complaint", "{count} open complaints",
                                   items.complaints).format(count=items.complaints),
                        "complaints"))
    if not counted:
        return _("Nothing is waiting for you right now — /help shows what you can do.")
    commands = [name for _words, name in counted if sees(staff, name)] + ["help"]
    separator = _(", ")
    return _("{items} — {commands}").format(
        items=separator.join(words for words, _name in counted),
        commands=separator.join(f"/{name}" for name in dict.fromkeys(commands)))


async def point(update: Update, context: WorkshopContext) -> None:
    """A message no step and no command took: what waits, and where to look."""
    _ = context._
    message = update.message
    assert message is not None
    async with context.services.db.session() as session:
        items = await open_items(session, context.me, now=context.now(),
                                 calendar=context.services.settings.calendar)
    line = pointer_text(_, context.me, items)
    text = message.text or ""
    if text.startswith("/"):
        command = text.split()[0][1:].split("@")[0][:32]
        line = _("There is no command /{command}.").format(command=command) + " " + line
    await reply(update, line)


def handler() -> MessageHandler[WorkshopContext, None]:
    """Every new message (not an edit, not a service message); the application puts it after
    everything else."""
    return MessageHandler(filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL, point)
