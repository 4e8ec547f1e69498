"""N5: lifting needs a dedicated watcher (专人监护), who confirms in chat before the lift starts.

When the pre-work checklist says the job uses a lift, the technician names a watcher from the
people on shift. The watcher gets a card with “I am watching”; their tap records the lift as
started and tells the technician. Naming someone else withdraws the earlier request (its card
says so). A request nobody confirms in ``LIFT_WATCH_MINUTES`` goes to the team leaders
(:mod:`jobs.lifting_watch`, which renders it with :func:`watch_card`); a team leader may take
the watch over from that card. The first confirmation wins; a second tap learns who and when.
"""

from __future__ import annotations

from functools import partial

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import WorkshopContext
from bot.refusals import refuse
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply
from handlers.floor.cards import WATCH_PREFIX, watch_card, watch_facts
from models.card import CardKind
from models.db import commit_writes, id_of
from models.lifting import (
    confirm_watch,
    lift_order,
    request_watch,
    watch_candidates,
)
from models.rules import Refused
from models.work_order import WorkOrder

PREFIX = "lft"  # the callback data of this module's buttons: lft:…

# --- the technician names a watcher --------------------------------------------------------


async def ask_watcher(update: Update, context: WorkshopContext, order: WorkOrder) -> None:
    """Buttons of the people on shift; nobody there is said plainly, with a Refresh."""
    _ = context._
    async with context.services.db.session() as session:
        people = await watch_candidates(session, context.me)
    if not people:
        await reply(update, _("{number} uses a lift, but nobody else is on shift to watch it "
                              "(N5). Do not lift alone: ask your team leader, then tap "
                              "Refresh.").format(number=order.number),
                    keyboard([button(_("🔄 Refresh"), f"{PREFIX}:{order.id}:ask")]))
        return
    buttons = [button(p.name, f"{PREFIX}:{order.id}:w:{p.id}") for p in people]
    await reply(update, _("{number} uses a lift. Who watches it (N5)? They confirm in chat "
                          "before you raise the vehicle.").format(number=order.number),
                keyboard(*[buttons[i : i + 2] for i in range(0, len(buttons), 2)]))


async def ask_again(update: Update, context: WorkshopContext) -> None:
    """Refresh, or “Name someone else”: the watcher buttons again."""
    async with context.services.db.session() as session:
        try:
            order = await lift_order(session, order_id=callback_int(update), staff=context.me)
        except Refused as refused:
            await refuse(update, context, refused)
            return
    await answer_tap(update)
    await ask_watcher(update, context, order)


async def name_watcher(update: Update, context: WorkshopContext) -> None:
    """Record the request, send the watcher the card, withdraw an earlier request."""
    _ = context._
    order_id, watcher_id = callback_int(update), callback_int(update, 3)
    now = context.now()
    messenger = context.services.messenger
    async with context.services.db.session() as session:
        try:
            order, watch, withdrawn = await request_watch(
                session, order_id=order_id, technician=context.me, watcher_id=watcher_id,
                now=now, actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            return
        await session.commit()
        for old in withdrawn:
            facts = await watch_facts(session, old)
            await messenger.update_cards(session, CardKind.lift_watch, id_of(old),
                                         partial(watch_card, facts=facts))
        facts = await watch_facts(session, watch)
        delivered = 0
        if facts.watcher is not None:
            delivered = await messenger.send(session, facts.watcher,
                                             lambda t: watch_card(t, facts),
                                             card=(CardKind.lift_watch, id_of(watch)), now=now)
            await commit_writes(session)
    name = facts.watcher.name if facts.watcher else "?"
    minutes = context.services.settings.lift_watch_minutes
    if delivered:
        text = _.ngettext(
            "Waiting for {name} to confirm watching the lift on {number}. Do not raise the "
            "vehicle until they do. Without a confirmation in {count} minute the team leaders "
            "are told.",
            "Waiting for {name} to confirm watching the lift on {number}. Do not raise the "
            "vehicle until they do. Without a confirmation in {count} minutes the team leaders "
            "are told.", minutes)
    else:
        text = _.ngettext(
            "{name} could not be reached; name someone else, or the team leaders are told in "
            "{count} minute. Do not raise the vehicle on {number} yet.",
            "{name} could not be reached; name someone else, or the team leaders are told in "
            "{count} minutes. Do not raise the vehicle on {number} yet.", minutes)
    await answer_tap(update)
    query = update.callback_query
    assert query is not None
    text = text.format(name=name, number=order.number, count=minutes)
    markup = keyboard([button(_("👥 Name someone else"), f"{PREFIX}:{order_id}:ask")])
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest:
        await reply(update, text, markup)


# --- the watcher's card --------------------------------------------------------------------


async def confirmed(update: Update, context: WorkshopContext) -> None:
    """The watcher (or a team leader taking over) confirms: the lift is recorded as started,
    every copy of the card says so, and the technician is told."""
    watch_id = callback_int(update)
    assert update.callback_query is not None and update.callback_query.data
    take_over = update.callback_query.data.endswith(":take")
    messenger = context.services.messenger
    async with context.services.db.session() as session:
        try:
            order, watch = await confirm_watch(session, watch_id=watch_id, staff=context.me,
                                               now=context.now(), actor=context.actor,
                                               take_over=take_over)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            return
        await session.commit()
        facts = await watch_facts(session, watch)
        await messenger.update_cards(session, CardKind.lift_watch, watch_id,
                                     lambda t: watch_card(t, facts))
        watcher = context.me
        if facts.technician is not None:
            await messenger.send(
                session, facts.technician,
                lambda t: (t("✅ {name} is watching: the lift on {number} is recorded as "
                             "started at {at}. You may raise the vehicle.").format(
                                 name=watcher.name, number=order.number,
                                 at=t.time(watch.confirmed_at)), None))  # type: ignore[arg-type]
    await answer_tap(update, context._("Confirmed: you are watching the lift on {number}.")
                     .format(number=order.number))


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        CallbackQueryHandler(ask_again, pattern=rf"^{PREFIX}:\d+:ask$"),
        CallbackQueryHandler(name_watcher, pattern=rf"^{PREFIX}:\d+:w:\d+$"),
        CallbackQueryHandler(confirmed, pattern=rf"^{WATCH_PREFIX}:\d+:(ok|take)$"),
    ]
