"""Nobody is left in a step that someone else's decision ended.

A conversation whose steps decide a shared record (``conversation(…, decides=Decides(…))``:
approving an extra item, issuing a part, sending a QC check back …) keeps, while a person is
in it, what it is deciding and the prompts it sent (``user_data[STEP]``, see
:mod:`handlers.chat.conversation`). The first decision wins in ``models/``; this module makes
sure the others then hear it and are let go:

- :func:`end_other_steps` — called by the handler that just decided a record. Every other
  person with an open step on that record whose step can no longer go anywhere (the
  conversation's ``still_open`` says why, in their language: "Already approved by Wang at
  10:42.") gets their step marked ended (persisted with their ``user_data``) and its prompts
  edited at once: the buttons dropped, the reason added.
- :func:`settle_decided_step` — runs on every update before the conversations
  (:data:`GROUP`). A person whose step was marked ended, or whose saved step's record was
  decided meanwhile (by another process, or before this bookkeeping existed), has the step
  ended on their next update of any kind and is told why ("Already approved by Wang at
  10:42."); a command or a tap then goes on as if no step were open (the command works, the
  card's handler answers the tap), a text meant as the step's answer goes no further. Never
  "Finish this step first".
- :func:`someone_on_it` — a flow may ask it before opening its step: when another person is
  already deciding the same record, the tapper is told who and since when, with a button to
  decide it themselves anyway (then both steps are open and the first decision counts; the
  other's step ends as above).

Every application of the process (Telegram and WeCom) is searched: ``Services.applications``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from telegram import Bot, Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop

from bot.context import WorkshopContext
from bot.i18n import Translator
from bot.messenger import clip
from handlers.chat.conversation import IN, STEP, Conversation, drop_draft, forget_step
from handlers.chat.ui import answer_tap, button, keyboard, reply
from models.staff import Staff

log = logging.getLogger(__name__)

# The handler group of :func:`settle_decided_step`: after the access gate
# (``handlers.staff.access.GROUP``), before the conversations (group 0).
GROUP = -50

App = Application[Any, Any, Any, Any, Any, Any]


def ended_line(_: Translator, why: str) -> str:
    """The words a prompt ends with; a why of several lines (who decided, then what the person
    had typed, to copy) keeps its details below."""
    first, newline, details = why.partition("\n")
    return _("⏹ {why} This step has ended; nothing you entered in it was saved.").format(
        why=first) + newline + details


def _applications(context: WorkshopContext) -> list[App]:
    applications: list[App] = list(context.services.applications.values())
    if context.application not in applications:
        applications.append(context.application)
    return applications


def _conversation(application: App, name: object) -> Conversation | None:
    for handlers in application.handlers.values():
        for handler in handlers:
            if isinstance(handler, Conversation) and handler.name == name:
                return handler
    return None


def _steps_on(context: WorkshopContext, kind: str, ref: int
              ) -> list[tuple[App, int, dict[str, Any]]]:
    """(application, user id, user_data) of every open, not ended step on the record."""
    found = []
    for application in _applications(context):
        for user_id, user_data in list(application.user_data.items()):
            step = user_data.get(STEP)
            if (isinstance(step, dict) and not step.get("ended")
                    and step.get("kind") == str(kind) and step.get("ref") == ref
                    and user_data.get(IN) == step.get("conversation")):
                found.append((application, user_id, user_data))
    return found


async def _edit_prompts(bot: Bot, step: dict[str, Any], line: str) -> None:
    """The step's prompts lose their buttons and say why the step ended."""
    for prompt in step.get("prompts", []):
        try:
            await bot.edit_message_text(clip(f"{prompt.get('text', '')}\n\n{line}".strip()),
                                        chat_id=prompt["chat"], message_id=prompt["message"])
        except TelegramError as error:  # gone, or not changed: the step ends all the same
            log.info("could not edit prompt %s in chat %s: %s", prompt.get("message"),
                     prompt.get("chat"), error)


async def end_other_steps(context: WorkshopContext, kind: str, ref: int) -> int:
    """After a decision on the record ``kind``/``ref``: end every other person's step on it
    that can no longer go anywhere; returns how many were ended."""
    ended = 0
    for application, user_id, user_data in _steps_on(context, kind, ref):
        step = user_data[STEP]
        if user_data is context.user_data or step.get("busy"):
            continue  # the decider's own step, or one whose handler hears the outcome itself
        conv = _conversation(application, step.get("conversation"))
        if conv is None or conv.decides is None:
            continue
        form = user_data.get(conv.draft_key) or {}
        if form.get(conv.decides.ref_key) is None:
            continue  # their draft is gone already (their own handler ended the step meanwhile)
        async with context.services.db.session() as session:
            staff = await session.get(Staff, step.get("staff"))
            if staff is None:
                continue
            _ = context.services.translator_for(staff)
            why = await conv.decides.still_open(context, session, staff, form, _)
        if why is None:
            continue  # their step still applies (e.g. declining a part marked out of stock)
        step["ended"] = why
        await _edit_prompts(application.bot, step, ended_line(_, why))
        application.mark_data_for_update_persistence(user_ids=user_id)
        if application is not context.application:  # its own updates may be far off
            await application.update_persistence()
        ended += 1
    return ended


async def settle_decided_step(update: Update, context: WorkshopContext) -> None:
    """Before the conversations see an update: end the person's decision step if it can no
    longer go anywhere, and say why (the words a late decision has always been answered with:
    "Already approved by Wang at 10:42."). A command or a tap then goes on as if no step were
    open; a message meant as the step's answer (a reason, a note) has had its answer."""
    user_data = context.user_data
    if not user_data or context.staff is None:
        return
    name = user_data.get(IN)
    conv = _conversation(context.application, name) if name else None
    if conv is None or conv.decides is None:
        return
    _ = context._
    step = user_data.get(STEP)
    if not isinstance(step, dict) or step.get("conversation") != name:
        step = None
    why = step.get("ended") if step else None
    if not why:
        form = user_data.get(conv.draft_key) or {}
        if form.get(conv.decides.ref_key) is None:
            return  # not deciding any record (yet)
        async with context.services.db.session() as session:
            why = await conv.decides.still_open(context, session, context.me, form, _)
        if why is None:
            return  # the step goes on
        if step:
            await _edit_prompts(context.bot, step, ended_line(_, why))
    chat, user = update.effective_chat, update.effective_user
    if chat is not None and user is not None:
        conv.end_for(chat.id, user.id)
    drop_draft(context, conv.draft_key)
    forget_step(context)
    await reply(update, str(why))
    message = update.effective_message
    if update.callback_query is None and message is not None and user is not None and not (
            message.text or "").startswith("/"):
        # The answer the step was waiting for: nothing else is to make of it. Stopping skips
        # the persistence group, so save the ended step here.
        context.application.mark_data_for_update_persistence(user_ids=user.id)
        await context.application.update_persistence()
        raise ApplicationHandlerStop


async def who_is_on(context: WorkshopContext, kind: str, ref: int) -> tuple[str, datetime] | None:
    """The name of whoever else is deciding the record right now, and since when (the first
    one, if several are)."""
    others = [(datetime.fromisoformat(user_data[STEP]["since"]), user_data[STEP]["staff"])
              for _app, _user, user_data in _steps_on(context, kind, ref)
              if user_data[STEP].get("staff") != context.me.id]
    if not others:
        return None
    since, staff_id = min(others)
    async with context.services.db.session() as session:
        other = await session.get(Staff, staff_id)
    return (other.name if other else "?"), since


def on_it_line(_: Translator, name: str, since: datetime) -> str:
    return _("✋ {name} is on it since {at}.").format(name=name, at=_.time(since))


async def someone_on_it(update: Update, context: WorkshopContext, kind: str, ref: int,
                        anyway: str) -> bool:
    """Before opening a step on the record: when someone else is already deciding it, tell the
    tapper who and since when, with a button (callback data ``anyway``) to decide it
    themselves all the same; True when told."""
    on_it = await who_is_on(context, kind, ref)
    if on_it is None:
        return False
    _ = context._
    label = _("🙋 Decide it myself")
    await answer_tap(update)
    await reply(update, on_it_line(_, *on_it) + " " + _(
        "Leave it to them, so that nobody does it twice — or tap “{button}” to decide it "
        "yourself; the first decision recorded counts.").format(button=label),
                keyboard([button(label, anyway)]))
    return True
