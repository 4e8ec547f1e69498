"""A6: /complaints, the open complaints and their history.

A clerk sees their open complaints (and those of the clerks they stand in for today), a
supervisor everyone's, each with "Record solution" (``handlers.after_sales.complaint_solution``) and
📜 History: opened, escalated, assigned back, solved, customer told — who and when.
"""

from __future__ import annotations

from datetime import datetime

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import WorkshopContext
from bot.i18n import Translator
from bot.messenger import Rendered
from bot.refusals import refuse
from handlers.after_sales.cards.complaint import COMPLAINT_PREFIX, ComplaintFacts, complaint_facts
from handlers.chat.labels import complaint_status_name
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply
from models.absence import absences_on
from models.complaint import ComplaintStatus, get_complaint, open_complaints
from models.db import id_of
from models.rules import Refused
from models.staff import Role, require_after_sales

LIST_LIMIT = 20


def age(_: Translator, since: datetime, now: datetime) -> str:
    hours = max(0, int((now - since).total_seconds() // 3600))
    if hours < 24:
        return _.ngettext("{count} hour", "{count} hours", hours).format(count=hours)
    days = hours // 24
    return _.ngettext("{count} day", "{count} days", days).format(count=days)


def short(text: str, limit: int = 120) -> str:
    """One line of a list; the card and the history show the whole text."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def history_text(_: Translator, facts: ComplaintFacts) -> str:
    complaint = facts.complaint
    lines = [
        _("📜 Complaint of {customer}: {text}").format(customer=facts.customer.name,
                                                       text=complaint.text),
        _("Status: {status}").format(status=complaint_status_name(_, complaint.status)),
        "",
    ]
    for event in facts.events:
        who = facts.name(event.staff_id) if event.staff_id is not None else _("the bot")
        at = _.time(event.at)
        if event.action == "opened":
            if event.note:
                text = _("{at} opened by {name}, answered on the call")
            else:
                text = _("{at} opened by {name}, to be researched")
        elif event.action == "escalated":
            text = _("{at} escalated to the supervisors (open 2 days)")
        elif event.action == "assigned_back":
            text = _("{at} assigned back to the clerk by {name}")
        elif event.action == "solved":
            text = _("{at} solved by {name}")
        elif event.action == "told":
            text = _("{at} customer told by {name}")
        else:
            text = "{at} " + event.action + " · {name}"
        line = text.format(at=at, name=who)
        if event.note and event.action != "opened":
            line += f": {event.note}"
        lines.append(line)
    return "\n".join(lines)


def list_text(_: Translator, items: list[ComplaintFacts], now: datetime, *, everyone: bool,
              more: bool) -> Rendered:
    """/complaints: one line per open complaint, with its buttons."""
    lines = [_.ngettext("{count} open complaint:", "{count} open complaints:",
                        len(items)).format(count=len(items))]
    rows = []
    for number, facts in enumerate(items, 1):
        complaint = facts.complaint
        line = _("{number}. {customer} — {status}, open {age}: {text}").format(
            number=number, customer=facts.customer.name,
            status=complaint_status_name(_, complaint.status), age=age(_, complaint.opened_at, now),
            text=short(complaint.text))
        if everyone:
            line += " " + _("(clerk {name})").format(
                name=facts.clerk.name if facts.clerk else "—")
        lines.append(line)
        row = [button(_("📜 {number}").format(number=number),
                      f"{COMPLAINT_PREFIX}:{complaint.id}:hist")]
        if complaint.status in (ComplaintStatus.researching, ComplaintStatus.escalated):
            row.insert(0, button(_("✍️ {number}. Record solution").format(number=number),
                                 f"{COMPLAINT_PREFIX}:{complaint.id}:solve"))
        if everyone and complaint.status == ComplaintStatus.escalated:
            row.append(button(_("↩️ {number}").format(number=number),
                              f"{COMPLAINT_PREFIX}:{complaint.id}:back"))
        rows.append(row)
    if more:
        lines.append(_("… and more; the oldest {count} are shown.").format(count=len(items)))
    return "\n".join(lines), keyboard(*rows)


# --- /complaints and the history ------------------------------------------------------------


async def list_complaints(update: Update, context: WorkshopContext) -> None:
    """A clerk sees their open complaints (and those of clerks they stand in for today); a
    supervisor sees everyone's."""
    _ = context._
    me = context.me
    try:
        require_after_sales(me)
    except Refused as refused:
        await refuse(update, context, refused)
        return
    now = context.now()
    everyone = me.has(Role.supervisor)
    async with context.services.db.session() as session:
        if everyone:
            clerk_ids = None
        else:
            today = context.services.settings.calendar.local_date(now)
            clerk_ids = [id_of(me)] + [a.clerk_id for a in await absences_on(session, today)
                                       if a.standin_id == me.id]
        complaints = await open_complaints(session, clerk_ids=clerk_ids,
                                           limit=LIST_LIMIT + 1)
        items = [await complaint_facts(session, c) for c in complaints[:LIST_LIMIT]]
    if not items:
        await reply(update, _("No open complaints."))
        return
    await reply(update, *list_text(_, items, now, everyone=everyone,
                                   more=len(complaints) > LIST_LIMIT))


async def show_history(update: Update, context: WorkshopContext) -> None:
    """📜: opened, escalated, assigned back, solved, customer told — who and when."""
    try:
        require_after_sales(context.me)
        async with context.services.db.session() as session:
            complaint = await get_complaint(session, callback_int(update))
            facts = await complaint_facts(session, complaint)
    except Refused as refused:
        await refuse(update, context, refused)
        return
    await answer_tap(update)
    await reply(update, history_text(context._, facts))


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        CommandHandler("complaints", list_complaints),
        CallbackQueryHandler(show_history, pattern=rf"^{COMPLAINT_PREFIX}:\d+:hist$"),
    ]
