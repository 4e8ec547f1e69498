"""Logging a follow-up call (跟踪记录表, A4, A6, A9).

Three ways in:

- 📝 Log call on a reminder card (``fu:<id>:log``): reached? → topics → satisfaction →
  notes → any request or complaint? → its text → answered on the call?
- a reply to a reminder card with text: the text is the first part of the notes and the call
  counts as reached; the flow then asks the topics, satisfaction, more notes (or Done) and the
  complaint questions, like the full flow.
- ``/logcall`` for an inbound call: find the customer (plate, phone or name) first. If the
  customer has an open follow-up whose window has begun, the clerk may log the call as that
  follow-up; otherwise it is an inbound call of its own.

Nothing is written until the last answer; then :func:`models.call_log.log_call` closes the
follow-up (the first log wins), schedules what comes next and opens the complaint, and every
copy of the reminder card says who logged it. A follow-up logged meanwhile (a colleague, a
double reply) is refused with who and when, and the notes are shown back so nothing typed is
lost.
"""

from __future__ import annotations

import re
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Message, Update
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
from handlers.after_sales.cards.followup import FOLLOWUP_PREFIX, clip, window_text
from handlers.after_sales.customer_pick import CustomerPick
from handlers.after_sales.followup_buttons import no_answer_text, record_no_answer, redraw
from handlers.chat.conversation import (
    END,
    TEXT_OR_VOICE,
    Decides,
    checked_text,
    conversation,
    draft,
    drop_draft,
    keep_voice,
    read_text,
    wrong_input,
)
from handlers.chat.deciding import end_other_steps
from handlers.chat.labels import followup_kind_name, topic_name, topic_names
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply, toggle_tick
from models.attachment import attach
from models.call_log import MAX_NOTES, CallLogged, Direction, Topic, log_call
from models.card import CardKind, card_at
from models.complaint import ESCALATE_AFTER, ComplaintStatus
from models.customer import Customer, get_customer
from models.db import id_of
from models.followup import explain_closed, open_followup, open_for_customer
from models.letter import Letter
from models.rules import Refused
from models.staff import Staff, require_after_sales

PREFIX = "cl"  # the callback data of this module's buttons: cl:…

(SEARCH, PICKING, ATTACH, REACHED, TOPICS, SATISFACTION, NOTES, REQUEST, REQUEST_TEXT,
 ANSWERED) = range(10)
DRAFT = "call_log"
VOICE_OWNER = "call_log"  # the owner of a call's voice notes (models.attachment)
TEXT = filters.TEXT & ~filters.COMMAND
MAX_REQUEST = 2000
TOPIC_DATA = "|".join(t.value for t in Topic)


class _ReplyToReminder(filters.MessageFilter):
    """A reply to one of our follow-up cards (they carry ``[FU-n]`` on their first line).

    Only a cheap look at the text: which follow-up it is comes from the card table
    (:func:`models.card.card_at`), never from the text.
    """

    def filter(self, message: Message) -> bool:
        replied = message.reply_to_message
        return bool(replied is not None and replied.from_user is not None
                    and replied.from_user.is_bot and replied.text
                    and re.search(r"\[FU-\d+\]", replied.text))


REPLY_TO_REMINDER = _ReplyToReminder()


async def settle(update: Update, answer: str) -> None:
    """Show the answer under the question and take its buttons away (no stale taps)."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    await show_answer(update, answer)


async def show_answer(update: Update, answer: str) -> None:
    """Settle a question whose tap was already answered."""
    query = update.callback_query
    text = getattr(query.message, "text", None) if query is not None else None
    if query is not None and text:
        await query.edit_message_text(f"{text}\n→ {answer}")


# --- ways in -----------------------------------------------------------------------------
async def start_from_card(update: Update, context: WorkshopContext) -> int:
    """📝 on a reminder: an open follow-up, a clerk or supervisor."""
    _ = context._
    followup_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            require_after_sales(context.me)
            followup = await open_followup(session, followup_id)
            customer = await get_customer(session, followup.customer_id)
        except Refused as refused:
            await refuse(update, context, refused)
            return END
    drop_draft(context, DRAFT)
    draft(context, DRAFT).update(followup_id=followup_id, customer_id=customer.id,
                                 name=customer.name, direction=Direction.outbound.value,
                                 topics=[], notes=[])
    await answer_tap(update)
    await reply(update, _("Logging the call to {name} ({kind}). Did you reach them? /cancel "
                          "stops at any step; nothing is saved until the end.").format(
                    kind=followup_kind_name(_, followup.kind), name=customer.name),
                keyboard([button(_("✅ Reached"), f"{PREFIX}:reached:yes"),
                          button(_("📵 No answer"), f"{PREFIX}:reached:no")]))
    return REACHED


async def start_from_reply(update: Update, context: WorkshopContext) -> int:
    """A text reply to a reminder: the text is the notes, the call was reached."""
    _ = context._
    message = update.message
    assert message is not None and message.reply_to_message is not None
    notes, problem = checked_text(context, message.text, MAX_NOTES)
    async with context.services.db.session() as session:
        try:
            require_after_sales(context.me)
            card = await card_at(session, context.channel, message.chat_id,
                                 message.reply_to_message.message_id)
            if card is None or card.kind != CardKind.followup:
                await reply(update, _("That message is not a follow-up reminder. Reply to a "
                                      "reminder card, or send /logcall."))
                return END
            followup = await open_followup(session, card.ref_id)
            customer = await get_customer(session, followup.customer_id)
        except Refused as refused:
            await refuse(update, context, refused)
            return END
    if problem:
        await reply(update, problem)
        return END
    drop_draft(context, DRAFT)
    draft(context, DRAFT).update(followup_id=followup.id, customer_id=customer.id,
                                 name=customer.name, direction=Direction.outbound.value,
                                 topics=[], notes=[notes])
    await reply(update, _("Logging the call to {name} ({kind}) as reached, with your text as "
                          "the notes. A few questions to finish; /cancel stops and saves "
                          "nothing.").format(kind=followup_kind_name(_, followup.kind),
                                             name=customer.name))
    return await ask_topics(update, context)


async def start_inbound(update: Update, context: WorkshopContext) -> int:
    """/logcall: a customer called in; find them first (or /logcall 京A12345)."""
    _ = context._
    try:
        require_after_sales(context.me)
    except Refused as refused:
        await refuse(update, context, refused)
        return END
    drop_draft(context, DRAFT)
    PICK.begin(context)
    draft(context, DRAFT).update(direction=Direction.inbound.value, topics=[], notes=[])
    if context.args:
        return await PICK.search(update, context, " ".join(context.args))
    await reply(update, _("Inbound call: who is calling? Send the plate, a phone number or "
                          "the name. /cancel stops."))
    return SEARCH


# --- /logcall: find the customer -----------------------------------------------------------
async def got_search(update: Update, context: WorkshopContext) -> int:
    """Plate, phone or part of the name."""
    assert update.message is not None
    return await PICK.search(update, context, update.message.text or "")


async def chosen(update: Update, context: WorkshopContext, customer: Customer) -> int:
    """The caller is known; offer an open follow-up that is due, else go on to the topics."""
    _ = context._
    form = draft(context, DRAFT)
    await show_answer(update, customer.name)  # a tapped list shows who was chosen
    form.update(customer_id=customer.id, name=customer.name)
    now = context.now()
    async with context.services.db.session() as session:
        due = [f for f in await open_for_customer(session, id_of(customer))
               if f.due_from <= now]
    if not due:
        await reply(update, _("Inbound call from {name}.").format(name=customer.name))
        return await ask_topics(update, context)
    followup = due[0]
    form["attachable"] = followup.id
    await reply(update, _("{name} has an open follow-up: {kind}, {window}. Log this call as "
                          "that follow-up?").format(name=customer.name,
                                                    kind=followup_kind_name(_, followup.kind),
                                                    window=window_text(_, followup)),
                keyboard([button(_("✅ Yes, as that follow-up"), f"{PREFIX}:attach:{followup.id}")],
                         [button(_("➕ No, a separate call"), f"{PREFIX}:attach:no")]))
    return ATTACH


PICK = CustomerPick(f"{PREFIX}:cust:{{id}}", chosen, state=SEARCH, pick_state=PICKING,
                    draft_key=DRAFT)


async def got_attach(update: Update, context: WorkshopContext) -> int:
    """Close the open follow-up with this call, or keep them apart."""
    _ = context._
    query = update.callback_query
    assert query is not None and query.data is not None
    form = draft(context, DRAFT)
    choice = query.data.rsplit(":", 1)[1]
    if choice == "no":
        await settle(update, _("a separate call"))
    elif choice.isdigit() and int(choice) == form.get("attachable"):
        form["followup_id"] = int(choice)
        await settle(update, _("logged as the follow-up"))
    else:
        await wrong_input(update, context)
        return ATTACH
    return await ask_topics(update, context)


# --- reached? ------------------------------------------------------------------------------
async def got_reached(update: Update, context: WorkshopContext) -> int:
    """Reached: on to the content. No answer: counted, like the 📵 button; the flow ends."""
    _ = context._
    query = update.callback_query
    assert query is not None and query.data is not None
    if query.data.endswith(":yes"):
        await settle(update, _("reached"))
        return await ask_topics(update, context)
    try:
        followup = await record_no_answer(context, draft(context, DRAFT)["followup_id"])
    except Refused as refused:
        drop_draft(context, DRAFT)
        await answer_tap(update)
        await query.edit_message_text(refusal(_, refused))
        return END
    drop_draft(context, DRAFT)
    await answer_tap(update)
    await query.edit_message_text(no_answer_text(_, followup))
    return END


# --- topics (A4) ---------------------------------------------------------------------------
def topics_keyboard(t: Translator, chosen: list[str]) -> InlineKeyboardMarkup:
    rows = [[button(("✅ " if topic.value in chosen else "⬜ ") + topic_name(t, topic),
                    f"{PREFIX}:topic:{topic.value}")] for topic in Topic]
    rows.append([button(t("➡️ Done"), f"{PREFIX}:topics:done")])
    return keyboard(*rows)


async def ask_topics(update: Update, context: WorkshopContext) -> int:
    _ = context._
    await reply(update, _("Which topics did the call cover? Tap to tick, then Done."),
                topics_keyboard(_, draft(context, DRAFT).get("topics", [])))
    return TOPICS


async def toggle_topic(update: Update, context: WorkshopContext) -> int:
    """Tick or untick one topic; the buttons show the ticks."""
    query = update.callback_query
    assert query is not None and query.data is not None
    topics: list[str] = draft(context, DRAFT).setdefault("topics", [])
    await toggle_tick(update, topics, query.data.rsplit(":", 1)[1],
                      lambda: topics_keyboard(context._, topics))
    return TOPICS


async def topics_done(update: Update, context: WorkshopContext) -> int:
    """At least one topic; then satisfaction."""
    _ = context._
    topics = draft(context, DRAFT).get("topics", [])
    if not topics:
        await answer_tap(update, _("Tick at least one topic first."), alert=True)
        return TOPICS
    await settle(update, topic_names(_, topics))
    await reply(update, _("How satisfied is the customer? 1 = very unhappy, 5 = very happy."),
                keyboard([button(str(n), f"{PREFIX}:sat:{n}") for n in range(1, 6)],
                         [button(_("Not asked"), f"{PREFIX}:sat:skip")]))
    return SATISFACTION


# --- satisfaction --------------------------------------------------------------------------
async def got_satisfaction_tap(update: Update, context: WorkshopContext) -> int:
    """1–5, or not asked."""
    query = update.callback_query
    assert query is not None and query.data is not None
    value = query.data.rsplit(":", 1)[1]
    draft(context, DRAFT)["satisfaction"] = None if value == "skip" else int(value)
    await settle(update, context._("not asked") if value == "skip" else f"{value}/5")
    return await ask_notes(update, context)


async def got_satisfaction_text(update: Update, context: WorkshopContext) -> int:
    """A typed digit works too; anything else is asked again."""
    assert update.message is not None
    text = (update.message.text or "").strip()
    if text not in {"1", "2", "3", "4", "5"}:
        await reply(update, context._("Please tap a number from 1 to 5 (or “Not asked”)."))
        return SATISFACTION
    draft(context, DRAFT)["satisfaction"] = int(text)
    return await ask_notes(update, context)


# --- notes ---------------------------------------------------------------------------------
def notes_done_button(t: Translator) -> InlineKeyboardMarkup:
    return keyboard([button(t("➡️ Done"), f"{PREFIX}:notes:done")])


async def ask_notes(update: Update, context: WorkshopContext) -> int:
    _ = context._
    notes = draft(context, DRAFT).get("notes", [])
    if notes:
        text = _("Notes so far: “{notes}”. Send more if you like, or tap Done.").format(
            notes=clip("\n".join(notes), 300))
    else:
        text = _("What did the customer say? Write the key points, above all any request or "
                 "complaint. Several messages are fine; tap Done when finished.")
    await reply(update, text, notes_done_button(_))
    return NOTES


async def got_notes(update: Update, context: WorkshopContext) -> int:
    """One more part of the notes (words, or a voice note); the whole must stay within the
    limit."""
    _ = context._
    assert update.message is not None
    notes: list[str] = draft(context, DRAFT).setdefault("notes", [])
    text, problem = checked_text(context, update.message.text, MAX_NOTES)
    if update.message.voice is not None and len("\n".join(notes)) < MAX_NOTES - 10:
        text, problem = keep_voice(context, DRAFT, update.message), None
    if problem:
        await reply(update, problem, notes_done_button(_))
        return NOTES
    assert text is not None
    length = len("\n".join([*notes, text]))
    if length > MAX_NOTES:
        await reply(update, _("With this message the notes would be {length} characters; at "
                              "most {limit}. It was not added — send a shorter one, or tap "
                              "Done.").format(length=length, limit=MAX_NOTES),
                    notes_done_button(_))
        return NOTES
    notes.append(text)
    await reply(update, _.ngettext("Noted ({count} message). Send more, or tap Done.",
                                   "Noted ({count} messages). Send more, or tap Done.",
                                   len(notes)).format(count=len(notes)),
                notes_done_button(_))
    return NOTES


async def notes_done(update: Update, context: WorkshopContext) -> int:
    """Notes are required: the key points are what the register is for (A6, A9)."""
    _ = context._
    if not draft(context, DRAFT).get("notes"):
        await answer_tap(update, _("Please write at least a line of notes first."),
                         alert=True)
        return NOTES
    await settle(update, _("done"))
    await reply(update, _("Did the customer have any request or complaint?"),
                keyboard([button(_("Yes"), f"{PREFIX}:req:yes"),
                          button(_("No"), f"{PREFIX}:req:no")]))
    return REQUEST


# --- request or complaint (A6) ---------------------------------------------------------------
async def got_request_choice(update: Update, context: WorkshopContext) -> int:
    """No: save. Yes: what was it?"""
    _ = context._
    query = update.callback_query
    assert query is not None and query.data is not None
    if query.data.endswith(":no"):
        await settle(update, _("No"))
        draft(context, DRAFT)["request"] = None
        return await save(update, context)
    await settle(update, _("Yes"))
    await reply(update, _("What did they ask for or complain about? In a few words."))
    return REQUEST_TEXT


async def got_request_text(update: Update, context: WorkshopContext) -> int:
    """The request as the complaint record will carry it."""
    _ = context._
    assert update.message is not None
    text = await read_text(update, context, MAX_REQUEST)
    if text is None:
        return REQUEST_TEXT
    draft(context, DRAFT)["request"] = text
    await reply(update, _("Was it answered on the call?"),
                keyboard([button(_("✅ Yes, answered"), f"{PREFIX}:ans:yes")],
                         [button(_("🔎 No, it needs research"), f"{PREFIX}:ans:no")]))
    return ANSWERED


async def got_answered(update: Update, context: WorkshopContext) -> int:
    """Answered closes it; not answered opens a complaint under research."""
    _ = context._
    query = update.callback_query
    assert query is not None and query.data is not None
    answered = query.data.endswith(":yes")
    draft(context, DRAFT)["answered"] = answered
    await settle(update, _("answered on the call") if answered else _("needs research"))
    return await save(update, context)


# --- saving ----------------------------------------------------------------------------------
async def save(update: Update, context: WorkshopContext) -> int:
    """Write the call; the first log of a follow-up wins."""
    _ = context._
    form = draft(context, DRAFT)
    settings = context.services.settings
    me, now = context.me, context.now()
    followup_id = form.get("followup_id")
    notes = "\n".join(form.get("notes", []))
    async with context.services.db.session() as session:
        try:
            require_after_sales(me)
            logged = await log_call(
                session, clerk=me, customer_id=form["customer_id"], followup_id=followup_id,
                reached=True, topics=[Topic(t) for t in form.get("topics", [])],
                satisfaction=form.get("satisfaction"), notes=notes,
                request=form.get("request"), answered_on_call=bool(form.get("answered")),
                now=now, actor=context.actor, calendar=settings.calendar,
                second_call_window=settings.second_call_window,
                letter_within_days=settings.letter_within_days,
                direction=Direction(form["direction"]),
            )
            attach(session, owner=VOICE_OWNER, owner_id=id_of(logged.call),
                   photos=form.get("photos", []), staff_id=me.id, now=now)
        except Refused as refused:
            await session.rollback()
            if followup_id is not None:
                refused = await explain_closed(session, followup_id, refused)
            drop_draft(context, DRAFT)
            await reply(update, refusal(_, refused) + "\n" + _(
                "Nothing was saved. Your notes, to copy if you need them:\n{notes}").format(
                    notes=notes))
            return END
        await session.commit()
        letter = await session.get(Letter, logged.letter_id) if logged.letter_id else None
        if logged.followup is not None:
            await redraw(context, session, logged.followup, lambda t: t(
                "✅ Logged by {name} at {at}.").format(name=me.name, at=t.time(now)))
    if logged.followup is not None:  # a colleague logging the same call is told who did
        await end_other_steps(context, CardKind.followup, id_of(logged.followup))
    drop_draft(context, DRAFT)
    await reply(update, confirmation(_, form["name"], logged, letter))
    return END


def confirmation(_: Translator, name: str, logged: CallLogged, letter: Letter | None) -> str:
    """What was saved, and what comes next."""
    call = logged.call
    if call.direction == Direction.inbound:
        head = _("✅ Inbound call from {name} logged.").format(name=name)
    else:
        head = _("✅ Call with {name} logged.").format(name=name)
    lines = [
        head,
        _("Topics: {topics}").format(topics=topic_names(_, call.topic_list)),
        _("Satisfaction: {value}").format(
            value=f"{call.satisfaction}/5" if call.satisfaction else _("not asked")),
        _("Notes: {notes}").format(notes=clip(call.notes, 300)),
    ]
    nexts = []
    if logged.next_followup is not None:
        nexts.append(_("Second call due {window}; you will be reminded.").format(
            window=window_text(_, logged.next_followup)))
    complaint = logged.complaint
    if complaint is not None:
        if complaint.status == ComplaintStatus.answered:
            nexts.append(_("Request recorded as answered on the call: {text}").format(
                text=clip(complaint.text)))
        else:
            nexts.append(_("Complaint being researched: {text}. If it is still open at {at}, "
                           "it goes to the supervisor.").format(
                text=clip(complaint.text), at=_.time(complaint.opened_at + ESCALATE_AFTER)))
    if letter is not None and letter.due_at is not None:
        nexts.append(_("Invitation letter due by {day}; register it with /letter when "
                       "sent.").format(day=_.last_day(letter.due_at)))
    followup = logged.followup
    if followup is not None and followup.kind == "complaint_callback":
        nexts.append(_("The customer has been told the solution; the complaint is closed."))
    if nexts:
        lines += ["", _("Next:")] + [f"• {line}" for line in nexts]
    return "\n".join(lines)


async def still_open(context: WorkshopContext, session: AsyncSession, staff: Staff,
                     form: dict[str, Any], _: Translator) -> str | None:
    """Logging a follow-up's call goes on while the follow-up is open (an inbound call of its
    own always may); else who logged it, and the notes typed so far, to copy."""
    followup_id = form.get("followup_id")
    if followup_id is None:
        return None
    try:
        await open_followup(session, followup_id)
    except Refused as refused:
        why = refusal(_, refused)
        notes = "\n".join(form.get("notes", []))
        if notes:
            why += "\n" + _("Your notes, to copy if you need them:\n{notes}").format(notes=notes)
        return why
    return None


def handlers() -> list[BaseHandler]:
    return [
        conversation(
            "call_log",
            draft_key=DRAFT,
            decides=Decides(CardKind.followup, "followup_id", still_open),
            entry_points=[
                CallbackQueryHandler(start_from_card, pattern=rf"^{FOLLOWUP_PREFIX}:\d+:log$"),
                CommandHandler("logcall", start_inbound),
                MessageHandler(TEXT & REPLY_TO_REMINDER, start_from_reply),
            ],
            states={
                SEARCH: [MessageHandler(TEXT, got_search)],
                PICKING: [PICK.handler(), MessageHandler(TEXT, got_search)],
                ATTACH: [
                    CallbackQueryHandler(got_attach, pattern=rf"^{PREFIX}:attach:(\d+|no)$")],
                REACHED: [
                    CallbackQueryHandler(got_reached, pattern=rf"^{PREFIX}:reached:(yes|no)$")],
                TOPICS: [
                    CallbackQueryHandler(toggle_topic, pattern=rf"^{PREFIX}:topic:({TOPIC_DATA})$"),
                    CallbackQueryHandler(topics_done, pattern=rf"^{PREFIX}:topics:done$"),
                ],
                SATISFACTION: [
                    CallbackQueryHandler(got_satisfaction_tap,
                                         pattern=rf"^{PREFIX}:sat:([1-5]|skip)$"),
                    MessageHandler(TEXT, got_satisfaction_text),
                ],
                NOTES: [
                    MessageHandler(TEXT_OR_VOICE, got_notes),
                    CallbackQueryHandler(notes_done, pattern=rf"^{PREFIX}:notes:done$"),
                ],
                REQUEST: [CallbackQueryHandler(got_request_choice,
                                               pattern=rf"^{PREFIX}:req:(yes|no)$")],
                REQUEST_TEXT: [MessageHandler(TEXT, got_request_text)],
                ANSWERED: [CallbackQueryHandler(got_answered, pattern=rf"^{PREFIX}:ans:(yes|no)$")],
            },
        )
    ]
