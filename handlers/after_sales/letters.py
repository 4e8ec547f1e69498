"""A8, A10: letters — the invitation after a campaign call, and any letter registered by hand.

:mod:`jobs.letter_jobs` sends the clerk the letter card (:func:`letter_card`) when a campaign
call creates the letter task, and again, with the supervisors, if it is still unsent when due.
"📮 Record as sent" asks the channel and the day it went out; a letter is registered once.
/letter registers any other letter (a notice, an invitation, a reply): customer → kind →
channel → a summary for the register (跟踪服务信函登记表).
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import WorkshopContext
from bot.i18n import Translator
from bot.refusals import refusal, refuse
from handlers.after_sales.cards.letter import LETTER_PREFIX, LetterFacts, letter_card, letter_facts
from handlers.after_sales.customer_pick import CustomerPick
from handlers.chat.conversation import END, Decides, conversation, draft, drop_draft, read_text
from handlers.chat.deciding import end_other_steps
from handlers.chat.labels import letter_channel_name, letter_kind_name
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply
from models.card import CardKind
from models.customer import Customer
from models.db import id_of
from models.letter import (
    LetterChannel,
    LetterKind,
    get_letter,
    record_sent,
    register_letter,
    unsent_for_customer,
)
from models.rules import Refused
from models.shop_time import parse_day
from models.staff import Staff, require_after_sales

PREFIX = "ltr"  # the callback data of this module's buttons: ltr:…

CHANNEL, SENT_DAY = range(2)
CUSTOMER, KIND, REG_CHANNEL, SUMMARY = range(4)
DRAFT_SENT = "letter_sent"
DRAFT_REGISTER = "letter_register"
TEXT = filters.TEXT & ~filters.COMMAND
MAX_SUMMARY = 500
CHANNELS = "|".join(c.value for c in LetterChannel)
KINDS = "|".join(k.value for k in LetterKind)

def channel_buttons(_: Translator, prefix: str) -> InlineKeyboardMarkup:
    icons = {LetterChannel.post: "✉️", LetterChannel.email: "📧", LetterChannel.wechat: "💬",
             LetterChannel.sms: "📱", LetterChannel.by_hand: "🤝"}
    row = [button(f"{icons[c]} {letter_channel_name(_, c)}", f"{prefix}:{c.value}")
           for c in LetterChannel]
    return keyboard(row[:3], row[3:])


# --- the letter card -------------------------------------------------------------------------


def already_sent(_: Translator, facts: LetterFacts) -> str:
    letter = facts.letter
    return _("Already registered as sent by {name} on {date} ({channel}); nothing was "
             "changed.").format(name=facts.clerk.name if facts.clerk else "?",
                                date=_.day(letter.sent_at),
                                channel=letter_channel_name(_, letter.channel))


# --- 📮 Record as sent ------------------------------------------------------------------------


async def start_sent(update: Update, context: WorkshopContext) -> int:
    """A clerk or a supervisor, a letter not registered yet: how was it sent?"""
    _ = context._
    letter_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            require_after_sales(context.me)
            letter = await get_letter(session, letter_id)
        except Refused as refused:
            await refuse(update, context, refused)
            return END
        facts = await letter_facts(session, letter)
    if letter.sent_at is not None:
        await answer_tap(update, already_sent(_, facts), alert=True)
        return END
    drop_draft(context, DRAFT_SENT)
    draft(context, DRAFT_SENT)["letter_id"] = letter_id
    await answer_tap(update)
    await reply(update, _("How was the {kind} to {customer} sent?").format(
        kind=letter_kind_name(_, letter.kind), customer=facts.customer.name),
        channel_buttons(_, f"{LETTER_PREFIX}:{letter_id}:ch"))
    return CHANNEL


async def got_channel(update: Update, context: WorkshopContext) -> int:
    """Kept; which day did it go out?"""
    _ = context._
    query = update.callback_query
    assert query is not None and query.data is not None
    form = draft(context, DRAFT_SENT)
    if callback_int(update) != form.get("letter_id"):
        await answer_tap(update, _("This button is no longer active."), alert=True)
        return CHANNEL
    form["channel"] = query.data.rsplit(":", 1)[1]
    await answer_tap(update)
    letter_id = form["letter_id"]
    await reply(update, _("On which day did it go out? Tap, or type a date like 2026-12-01."),
                keyboard([button(_("Today"), f"{LETTER_PREFIX}:{letter_id}:d:0"),
                          button(_("Yesterday"), f"{LETTER_PREFIX}:{letter_id}:d:1")]))
    return SENT_DAY


async def got_day_button(update: Update, context: WorkshopContext) -> int:
    """Today or yesterday."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if callback_int(update) != draft(context, DRAFT_SENT).get("letter_id"):
        await answer_tap(update, context._("This button is no longer active."), alert=True)
        return SENT_DAY
    await answer_tap(update)
    today = context.services.settings.calendar.local_date(context.now())
    return await sent_on(update, context, today - timedelta(days=int(query.data[-1])))


async def got_day_text(update: Update, context: WorkshopContext) -> int:
    """A typed date: not in the future."""
    assert update.message is not None
    today = context.services.settings.calendar.local_date(context.now())
    day = parse_day(update.message.text or "", today)
    if day is None:
        await reply(update, refusal(context._, Refused("date_invalid")))
        return SENT_DAY
    return await sent_on(update, context, day)


async def sent_on(update: Update, context: WorkshopContext, day: date) -> int:
    form = draft(context, DRAFT_SENT)
    return await record(update, context, day, letter_id=form["letter_id"],
                        channel=form["channel"], draft_key=DRAFT_SENT)


async def record(update: Update, context: WorkshopContext, day: date, *, letter_id: int,
                 channel: str, draft_key: str) -> int:
    """Register it (once); every copy of the card then says how and when."""
    _ = context._
    services = context.services
    calendar = services.settings.calendar
    now = context.now()
    today = calendar.local_date(now)
    async with services.db.session() as session:
        try:
            letter = await get_letter(session, letter_id)
        except Refused as refused:
            drop_draft(context, draft_key)
            await reply(update, refusal(_, refused))
            return END
        planned = calendar.local_date(letter.created_at)
        if day < planned:
            await reply(update, refusal(_, Refused("letter_before_planned",
                                                   date=_.day(planned))))
            return SENT_DAY
        sent_at = now if day == today else calendar.at(day, time(12, 0))
        try:
            letter = await record_sent(
                session, letter_id=letter_id, channel=LetterChannel(channel),
                sent_at=sent_at, clerk_id=id_of(context.me), now=now,
                actor=context.actor,
            )
        except Refused as refused:
            await session.rollback()
            if refused.code == "time_in_future":
                await reply(update, refusal(_, refused))
                return SENT_DAY
            drop_draft(context, draft_key)
            if refused.code == "letter_already_sent":
                await session.refresh(letter)
                await reply(update, already_sent(_, await letter_facts(session, letter)))
            else:
                await reply(update, refusal(_, refused))
            return END
        await session.commit()
        facts = await letter_facts(session, letter)
        await services.messenger.update_cards(session, CardKind.letter, id_of(letter),
                                              lambda t: letter_card(t, facts))
    await end_other_steps(context, CardKind.letter, id_of(letter))
    drop_draft(context, draft_key)
    await reply(update, _("✅ Registered: {kind} to {customer}, sent by {channel} on {date}.")
                .format(kind=letter_kind_name(_, letter.kind), customer=facts.customer.name,
                        channel=letter_channel_name(_, letter.channel), date=_.day(day)))
    return END


async def sent_still_open(context: WorkshopContext, session: AsyncSession, staff: Staff,
                          form: dict[str, Any], _: Translator) -> str | None:
    """Recording how a letter went out goes on until someone records it (once)."""
    try:
        require_after_sales(staff)
        letter = await get_letter(session, form["letter_id"])
    except Refused as refused:
        return refusal(_, refused)
    if letter.sent_at is None:
        return None
    return already_sent(_, await letter_facts(session, letter))


# --- /letter: register a letter by hand ------------------------------------------------------


async def start_register(update: Update, context: WorkshopContext) -> int:
    """/letter [plate, phone or name]: which customer?"""
    try:
        require_after_sales(context.me)
    except Refused as refused:
        await refuse(update, context, refused)
        return END
    drop_draft(context, DRAFT_REGISTER)
    PICK.begin(context)
    query = " ".join(context.args or [])
    if query:
        return await PICK.search(update, context, query)
    await reply(update, context._("Register a letter. To which customer? Send a plate, a phone "
                                  "number or a name. /cancel stops."))
    return CUSTOMER


async def got_query(update: Update, context: WorkshopContext) -> int:
    """Search by what was typed."""
    assert update.message is not None
    return await PICK.search(update, context, update.message.text or "")


async def picked_customer(update: Update, context: WorkshopContext, customer: Customer) -> int:
    """The customer found or tapped."""
    draft(context, DRAFT_REGISTER)["customer_id"] = customer.id
    return await ask_kind(update, context, customer.name)


PICK = CustomerPick(f"{PREFIX}:cu:{{id}}", picked_customer, state=CUSTOMER,
                    draft_key=DRAFT_REGISTER)


async def ask_kind(update: Update, context: WorkshopContext, name: str) -> int:
    """A new letter's kind — or one of the customer's letter tasks still to send, so a
    campaign invitation is registered against its task rather than twice."""
    _ = context._
    form = draft(context, DRAFT_REGISTER)
    form["customer_name"] = name
    rows = [[button("📢 " + letter_kind_name(_, LetterKind.notice), f"{PREFIX}:k:notice"),
             button("💌 " + letter_kind_name(_, LetterKind.invitation), f"{PREFIX}:k:invitation"),
             button("↩️ " + letter_kind_name(_, LetterKind.reply), f"{PREFIX}:k:reply")]]
    text = _("{customer}: which kind of letter?").format(customer=name)
    async with context.services.db.session() as session:
        tasks = await unsent_for_customer(session, form["customer_id"])
        for task in tasks:
            facts = await letter_facts(session, task)
            what = facts.campaign.title if facts.campaign else task.summary or "—"
            label = _("📮 {kind}: {what}").format(kind=letter_kind_name(_, task.kind), what=what)
            if task.due_at is not None:
                label += " " + _("(by {date})").format(date=_.last_day(task.due_at))
            rows.append([button(label, f"{PREFIX}:task:{task.id}")])
    form["tasks"] = [task.id for task in tasks]
    if tasks:
        text += "\n" + _.ngettext("Or register the letter waiting to be sent:",
                                  "Or register one of the letters waiting to be sent:",
                                  len(tasks))
    await reply(update, text, keyboard(*rows))
    return KIND


async def got_kind(update: Update, context: WorkshopContext) -> int:
    """Kept; how was it sent?"""
    query = update.callback_query
    assert query is not None and query.data is not None
    draft(context, DRAFT_REGISTER)["kind"] = query.data.rsplit(":", 1)[1]
    await answer_tap(update)
    await reply(update, context._("How was it sent?"), channel_buttons(context._, f"{PREFIX}:ch"))
    return REG_CHANNEL


async def got_task(update: Update, context: WorkshopContext) -> int:
    """A letter task offered above: only the channel is still needed."""
    letter_id = callback_int(update, 2)
    form = draft(context, DRAFT_REGISTER)
    if letter_id not in form.get("tasks", []):
        await answer_tap(update, context._("This button is no longer active."), alert=True)
        return KIND
    form["letter_id"] = letter_id
    await answer_tap(update)
    await reply(update, context._("How was it sent?"), channel_buttons(context._, f"{PREFIX}:ch"))
    return REG_CHANNEL


async def got_reg_channel(update: Update, context: WorkshopContext) -> int:
    """Kept; the summary for the register — or, for a letter task, registered as sent today."""
    query = update.callback_query
    assert query is not None and query.data is not None
    form = draft(context, DRAFT_REGISTER)
    form["channel"] = query.data.rsplit(":", 1)[1]
    await answer_tap(update)
    if "letter_id" in form:
        today = context.services.settings.calendar.local_date(context.now())
        return await record(update, context, today, letter_id=form["letter_id"],
                            channel=form["channel"], draft_key=DRAFT_REGISTER)
    await reply(update, context._("What does it say? A short summary for the letter register."))
    return SUMMARY


async def got_summary(update: Update, context: WorkshopContext) -> int:
    """Register it as sent today by this person."""
    _ = context._
    assert update.message is not None
    summary = await read_text(update, context, MAX_SUMMARY)
    if summary is None:
        return SUMMARY
    form = draft(context, DRAFT_REGISTER)
    now = context.now()
    async with context.services.db.session() as session:
        try:
            letter = await register_letter(
                session, customer_id=form["customer_id"], kind=LetterKind(form["kind"]),
                channel=LetterChannel(form["channel"]), summary=summary or "",
                clerk_id=id_of(context.me), sent_at=now, now=now, actor=context.actor,
            )
        except Refused as refused:
            await session.rollback()
            drop_draft(context, DRAFT_REGISTER)
            await reply(update, refusal(_, refused))
            return END
        await session.commit()
    drop_draft(context, DRAFT_REGISTER)
    await reply(update, _("✅ Registered: {kind} to {customer}, sent by {channel} on {date}.")
                .format(kind=letter_kind_name(_, letter.kind), customer=form["customer_name"],
                        channel=letter_channel_name(_, letter.channel),
                        date=_.day(letter.sent_at)))
    return END


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "letter_sent",
            draft_key=DRAFT_SENT,
            decides=Decides(CardKind.letter, "letter_id", sent_still_open),
            entry_points=[CallbackQueryHandler(start_sent, pattern=rf"^{LETTER_PREFIX}:\d+:sent$")],
            states={
                CHANNEL: [CallbackQueryHandler(got_channel,
                                               pattern=rf"^{LETTER_PREFIX}:\d+:ch:({CHANNELS})$")],
                SENT_DAY: [CallbackQueryHandler(got_day_button,
                                                pattern=rf"^{LETTER_PREFIX}:\d+:d:[01]$"),
                           MessageHandler(TEXT, got_day_text)],
            },
        ),
        conversation(
            "letter_register",
            draft_key=DRAFT_REGISTER,
            entry_points=[CommandHandler("letter", start_register)],
            states={
                CUSTOMER: [MessageHandler(TEXT, got_query), PICK.handler()],
                KIND: [CallbackQueryHandler(got_kind, pattern=rf"^{PREFIX}:k:({KINDS})$"),
                       CallbackQueryHandler(got_task, pattern=rf"^{PREFIX}:task:\d+$")],
                REG_CHANNEL: [CallbackQueryHandler(got_reg_channel,
                                                   pattern=rf"^{PREFIX}:ch:({CHANNELS})$")],
                SUMMARY: [MessageHandler(TEXT, got_summary)],
            },
        ),
    ]
