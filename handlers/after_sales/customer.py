"""A2: the customer archive (客户档案基本资料表). ``/customer`` finds it by plate, phone or name
and the card shows it; ``handlers.after_sales.customer_edit`` completes it field by field.

Clerks, supervisors and advisors look customers up; only clerks and supervisors edit
(:data:`models.customer.READERS`, :data:`models.customer.EDITORS`). The card carries phones and
the address, so it is never shown to technicians. The delivery and
consultation flows and the archive reminder job (:mod:`jobs.archive_reminders`) reuse the
field names, the new-visit message and the Edit button from here.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import WorkshopContext
from bot.i18n import N_, Translator
from bot.messenger import Rendered
from bot.refusals import refusal, refuse
from handlers.after_sales.cards.archive import (
    CARD_CALLS,
    CUSTOMER_PREFIX,
    ArchiveFacts,
    archive_card,
    archive_facts,
    call_line,
    edit_button,
    field_list,
    standing_in_note,
)
from handlers.after_sales.cards.followup import window_text
from handlers.after_sales.customer_pick import CustomerPick
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply
from models.customer import (
    ARCHIVE_DAYS,
    Customer,
    Visit,
    edits_customers,
    require_reader,
)
from models.db import id_of
from models.followup import FollowUp
from models.rules import Refused
from models.staff import Staff

# --- words shared with delivery, consultation and the reminder job ---------------------------


def new_visit_message(
    t: Translator, customer: Customer, visit: Visit, plate: str | None,
    followup: FollowUp | None, missing: list[str], *, order_number: str | None = None,
    standing_in_for: Staff | None = None,
) -> Rendered:
    """What the customer's clerk is told when a delivery or a consultation opens a visit."""
    lines = standing_in_note(t, standing_in_for)
    if order_number:
        lines.append(t("🚗 New visit: {name} · {plate}, order {number} delivered on {date}.")
                     .format(name=customer.name, plate=plate or "—", number=order_number,
                             date=t.day(visit.visited_at)))
    else:
        lines.append(t("💬 New consultation: {name} · {plate} on {date}.").format(
            name=customer.name, plate=plate or "—", date=t.day(visit.visited_at)))
    if visit.summary:
        lines.append(t("What: {summary}").format(summary=visit.summary))
    if followup is not None:
        lines.append(t("First call due {window}.").format(window=window_text(t, followup)))
    if missing:
        lines.append(t.ngettext(
            "Complete the archive within {count} day — missing: {fields}.",
            "Complete the archive within {count} days — missing: {fields}.", ARCHIVE_DAYS,
        ).format(count=ARCHIVE_DAYS, fields=field_list(t, missing)))
        return "\n".join(lines), edit_button(t, id_of(customer))
    lines.append(t("✅ The archive is complete."))
    return "\n".join(lines), keyboard([button(t("🗂 Archive"),
                                              f"{CUSTOMER_PREFIX}:{customer.id}:view")])


# --- the archive card ------------------------------------------------------------------------


def calls_text(t: Translator, facts: ArchiveFacts) -> str:
    lines = [t("📞 Calls with {name}, newest first:").format(name=facts.customer.name)]
    if not facts.calls:
        lines.append(t("No call is logged yet."))
    lines += [call_line(t, *entry) for entry in facts.calls]
    return "\n".join(lines)


async def load_card(
    context: WorkshopContext, session: AsyncSession, customer_id: int, *, calls: int = CARD_CALLS
) -> ArchiveFacts:
    now = context.now()
    return await archive_facts(session, customer_id, now=now, calls=calls,
                               today=context.services.settings.calendar.local_date(now))


# --- /customer and the card's buttons --------------------------------------------------------


async def find(update: Update, context: WorkshopContext) -> None:
    """/customer QUERY: one match shows the card, several give buttons, none says why."""
    _ = context._
    try:
        require_reader(context.me)
    except Refused as refused:
        await reply(update, refusal(_, refused))
        return
    if not context.args:
        await reply(update, _("Send /customer with a plate, phone number or name, e.g. "
                              "/customer 京A12345."))
        return
    await PICK.search(update, context, " ".join(context.args))


async def show_card(update: Update, context: WorkshopContext, customer: Customer) -> None:
    """The one customer a search found."""
    async with context.services.db.session() as session:
        facts = await load_card(context, session, id_of(customer))
    await reply(update, *archive_card(context._, facts, editable=edits_customers(context.me)))


# The list's buttons are the card's own 🗂 button (``view``), so they work without a
# conversation; ``view`` checks who taps and that the customer still exists.
PICK = CustomerPick(f"{CUSTOMER_PREFIX}:{{id}}:view", show_card,
                    again=N_("Check it and try again, or search by name."))


async def view(update: Update, context: WorkshopContext) -> None:
    """A search result or an Archive button: the card, for those allowed to read it."""
    async with context.services.db.session() as session:
        try:
            require_reader(context.me)
            facts = await load_card(context, session, callback_int(update))
        except Refused as refused:
            await refuse(update, context, refused)
            return
    await answer_tap(update)
    await reply(update, *archive_card(context._, facts, editable=edits_customers(context.me)))


async def show_calls(update: Update, context: WorkshopContext) -> None:
    """📞 Calls: the follow-up history, who called and for whom they stood in."""
    async with context.services.db.session() as session:
        try:
            require_reader(context.me)
            facts = await load_card(context, session, callback_int(update), calls=20)
        except Refused as refused:
            await refuse(update, context, refused)
            return
    await answer_tap(update)
    await reply(update, calls_text(context._, facts))


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        CommandHandler("customer", find),
        CallbackQueryHandler(view, pattern=rf"^{CUSTOMER_PREFIX}:\d+:view$"),
        CallbackQueryHandler(show_calls, pattern=rf"^{CUSTOMER_PREFIX}:\d+:calls$"),
    ]
