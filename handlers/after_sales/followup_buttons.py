"""The follow-up reminder card (A3, A6, A7) and its one-tap answers (logged, A9): No answer, Snooze
and Wrong number. (📝 Log call opens the conversation in :mod:`handlers.after_sales.call_log`.)

The card is drawn here and sent by :mod:`jobs.followup_reminders`. Each answer changes the
follow-up through :mod:`models.followup` and redraws every copy of the card to say what was
done, without buttons; the follow-up comes back as a new card when it is due again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import WorkshopContext
from bot.i18n import N_, Translator
from bot.messenger import Rendered
from bot.refusals import refuse
from handlers.after_sales.cards.followup import FOLLOWUP_PREFIX, card_head
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply
from models.card import CardKind
from models.db import id_of
from models.followup import (
    FollowUp,
    explain_closed,
    no_answer,
    open_followup,
    snooze,
    snooze_until,
    wrong_number,
)
from models.rules import Refused
from models.staff import Staff, require_after_sales
from models.talking_points import TalkingPoints, gather

# Snooze choices: callback code → label.
SNOOZES = {
    "1h": N_("1 hour"),
    "3h": N_("3 hours"),
    "tm": N_("Tomorrow morning"),
    "nw": N_("Next week"),
}


def closed_card(t: Translator, points: TalkingPoints,
                outcome: Callable[[Translator], str]) -> Rendered:
    """A copy of the card once answered: who did what, no buttons."""
    return f"{card_head(t, points)}\n{outcome(t)}", None


async def redraw(
    context: WorkshopContext, session: AsyncSession, followup: FollowUp,
    outcome: Callable[[Translator], str],
) -> None:
    """Every copy of the reminder now says what happened, without buttons."""
    points = await gather(session, followup,
                          today=context.services.settings.calendar.local_date(context.now()))
    await context.services.messenger.update_cards(
        session, CardKind.followup, id_of(followup),
        lambda t: closed_card(t, points, outcome))


# --- No answer -----------------------------------------------------------------------------
async def record_no_answer(context: WorkshopContext, followup_id: int) -> FollowUp:
    """Counted; the reminder comes back at the start of the next working day. Shared with the
    log-call flow's "not reached"."""
    me, now = context.me, context.now()
    async with context.services.db.session() as session:
        try:
            require_after_sales(me)
            await open_followup(session, followup_id)
            followup = await no_answer(session, followup_id=followup_id, now=now,
                                       calendar=context.services.settings.calendar,
                                       actor=context.actor)
        except Refused as refused:
            await session.rollback()
            raise await explain_closed(session, followup_id, refused) from None
        await session.commit()
        await redraw(context, session, followup, lambda t: no_answer_outcome(
            t, followup, me, now))
    return followup


async def tap_no_answer(update: Update, context: WorkshopContext) -> None:
    """📵 on the card."""
    try:
        followup = await record_no_answer(context, callback_int(update))
    except Refused as refused:
        await refuse(update, context, refused)
        return
    await answer_tap(update, no_answer_text(context._, followup))


def no_answer_outcome(t: Translator, followup: FollowUp, me: Staff, now: datetime) -> str:
    return t("📵 No answer (attempt {count}), {name} at {at}. It comes back {when}.").format(
        count=followup.attempts, name=me.name, at=t.time(now), when=t.time(followup.remind_at))


def no_answer_text(t: Translator, followup: FollowUp) -> str:
    return t("Counted: attempt {count} without an answer. The call comes back {when}.").format(
        count=followup.attempts, when=t.time(followup.remind_at))


# --- Snooze --------------------------------------------------------------------------------
async def tap_snooze(update: Update, context: WorkshopContext) -> None:
    """Offer the snooze choices under the card."""
    _ = context._
    followup_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            require_after_sales(context.me)
            followup = await open_followup(session, followup_id)
            points = await gather(session, followup, today=context.services.settings
                                  .calendar.local_date(context.now()))
        except Refused as refused:
            await refuse(update, context, refused)
            return
    await answer_tap(update)
    await reply(update, _("Remind me about the call to {name} again in…").format(
        name=points.customer.name),
        keyboard([button(_(SNOOZES[code]), f"{FOLLOWUP_PREFIX}:{followup_id}:sz:{code}")
                  for code in ("1h", "3h")],
                 [button(_(SNOOZES[code]), f"{FOLLOWUP_PREFIX}:{followup_id}:sz:{code}")
                  for code in ("tm", "nw")]))


async def tap_snooze_choice(update: Update, context: WorkshopContext) -> None:
    """Move the reminder; it comes back as a new card at that time."""
    _ = context._
    query = update.callback_query
    assert query is not None and query.data is not None
    followup_id = callback_int(update)
    me, now = context.me, context.now()
    calendar = context.services.settings.calendar
    until = snooze_until(query.data.rsplit(":", 1)[1], now, calendar)
    async with context.services.db.session() as session:
        try:
            require_after_sales(me)
            await open_followup(session, followup_id)
            followup = await snooze(session, followup_id=followup_id, until=until, now=now,
                                    actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, await explain_closed(session, followup_id, refused))
            return
        await session.commit()
        await redraw(context, session, followup, lambda t: t(
            "⏰ Snoozed by {name} until {when}.").format(name=me.name, when=t.time(until)))
    text = _("⏰ Snoozed until {when}.").format(when=_.time(until))
    if until >= followup.due_until:
        text += "\n" + _("That is after the window ends ({at}); it will be reported overdue "
                         "then.").format(at=_.time(followup.due_until))
    await answer_tap(update)
    await query.edit_message_text(text)


# --- Wrong number --------------------------------------------------------------------------
async def tap_wrong_number(update: Update, context: WorkshopContext) -> None:
    """Removing a number from the archive is not undone by a tap: ask first."""
    _ = context._
    followup_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            require_after_sales(context.me)
            followup = await open_followup(session, followup_id)
            points = await gather(session, followup, today=context.services.settings
                                  .calendar.local_date(context.now()))
        except Refused as refused:
            await refuse(update, context, refused)
            return
    phones = points.customer.phone_list
    await answer_tap(update)
    await reply(update, _("Is {phone} the wrong number for {name}? It is removed from the "
                          "archive and the call comes back the next working day.").format(
                    phone=phones[0] if phones else "—", name=points.customer.name),
                keyboard([button(_("✅ Yes, wrong number"),
                                 f"{FOLLOWUP_PREFIX}:{followup_id}:wn:ok"),
                          button(_("↩️ No, keep it"), f"{FOLLOWUP_PREFIX}:{followup_id}:wn:no")]))


async def tap_wrong_number_choice(update: Update, context: WorkshopContext) -> None:
    """Remove the number called, reschedule, and ask the clerk to fix the archive."""
    _ = context._
    query = update.callback_query
    assert query is not None and query.data is not None
    followup_id = callback_int(update)
    if query.data.endswith(":no"):
        try:
            require_after_sales(context.me)
        except Refused as refused:
            await refuse(update, context, refused)
            return
        await answer_tap(update)
        await query.edit_message_text(_("Nothing was changed; the number stays."))
        return
    me, now = context.me, context.now()
    async with context.services.db.session() as session:
        try:
            require_after_sales(me)
            before = await open_followup(session, followup_id)
            points = await gather(session, before, today=context.services.settings
                                  .calendar.local_date(now))
            phones = points.customer.phone_list
            followup = await wrong_number(session, followup_id=followup_id, now=now,
                                          calendar=context.services.settings.calendar,
                                          actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, await explain_closed(session, followup_id, refused))
            return
        await session.commit()
        await redraw(context, session, followup, lambda t: t(
            "☎️ Wrong number, reported by {name} at {at}. It comes back {when}.").format(
                name=me.name, at=t.time(now), when=t.time(followup.remind_at)))
    await answer_tap(update)
    await query.edit_message_text(_(
        "☎️ {phone} was removed from {name}'s archive. Please find the right number and add "
        "it to the archive (/customer {plate}). The call comes back {when}.").format(
            phone=phones[0] if phones else "—", name=points.customer.name,
            plate=points.vehicle.plate if points.vehicle else points.customer.name,
            when=_.time(followup.remind_at)))


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        CallbackQueryHandler(tap_no_answer, pattern=rf"^{FOLLOWUP_PREFIX}:\d+:na$"),
        CallbackQueryHandler(tap_snooze, pattern=rf"^{FOLLOWUP_PREFIX}:\d+:sz$"),
        CallbackQueryHandler(tap_snooze_choice,
                             pattern=rf"^{FOLLOWUP_PREFIX}:\d+:sz:(1h|3h|tm|nw)$"),
        CallbackQueryHandler(tap_wrong_number, pattern=rf"^{FOLLOWUP_PREFIX}:\d+:wn$"),
        CallbackQueryHandler(tap_wrong_number_choice,
                             pattern=rf"^{FOLLOWUP_PREFIX}:\d+:wn:(ok|no)$"),
    ]
