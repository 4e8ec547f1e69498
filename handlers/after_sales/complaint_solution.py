"""A6: a complaint's solution, and a complaint handed back for more research.

"Record solution" — on the supervisors' escalation card, or in /complaints for the
complaint's clerk — asks what was found or decided; the first solution wins, every copy of
the card says who found it, and whoever calls the customer today is told to call back today.
"Assign back" (supervisors) returns an escalated complaint to its clerk, with a note if there
is one. Whoever is in the middle of either when the other happens, or when someone else records
the solution, has their step ended with who did it (:mod:`handlers.chat.deciding`).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import WorkshopContext
from bot.i18n import Translator
from bot.messenger import Rendered
from bot.refusals import refusal, refuse
from handlers.after_sales.cards.complaint import (
    COMPLAINT_PREFIX,
    call_back_today,
    complaint_card,
    complaint_facts,
    moved_text,
    responsible,
    standin_note,
    tell_clerk,
)
from handlers.chat.conversation import END, Decides, conversation, draft, drop_draft, read_text
from handlers.chat.deciding import end_other_steps
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply
from models.absence import Route
from models.card import CardKind
from models.complaint import (
    ComplaintStatus,
    assign_back,
    get_complaint,
    record_solution,
    require_may_solve,
)
from models.rules import Refused
from models.staff import Staff, require_supervisor

SOLUTION = 0
BACK_NOTE = 0
DRAFT_SOLVE = "complaint_solution"
DRAFT_BACK = "complaint_back"
TEXT = filters.TEXT & ~filters.COMMAND
MAX_SOLUTION = 2000
MAX_NOTE = 1000


# --- Record solution -------------------------------------------------------------------------


async def start_solution(update: Update, context: WorkshopContext) -> int:
    """Record solution, from the supervisors' card or /complaints: ask what the solution is."""
    _ = context._
    complaint_id = callback_int(update)
    today = context.services.settings.calendar.local_date(context.now())
    async with context.services.db.session() as session:
        try:
            complaint = await get_complaint(session, complaint_id)
            await require_may_solve(session, complaint, context.me, today)
        except Refused as refused:
            await refuse(update, context, refused)
            return END
        facts = await complaint_facts(session, complaint)
    if complaint.status not in (ComplaintStatus.researching, ComplaintStatus.escalated):
        await answer_tap(update, moved_text(_, facts), alert=True)
        return END
    drop_draft(context, DRAFT_SOLVE)
    draft(context, DRAFT_SOLVE)["complaint_id"] = complaint_id
    await answer_tap(update)
    await reply(update, _("Solution to {customer}'s complaint “{text}”: what was found or "
                          "decided? The clerk tells the customer today. /cancel stops.")
                .format(customer=facts.customer.name, text=complaint.text))
    return SOLUTION


async def got_solution(update: Update, context: WorkshopContext) -> int:
    """Save it (the first solution wins), redraw the cards, send the clerk to the phone."""
    _ = context._
    assert update.message is not None
    solution = await read_text(update, context, MAX_SOLUTION)
    if solution is None:
        return SOLUTION
    complaint_id = draft(context, DRAFT_SOLVE)["complaint_id"]
    services = context.services
    now = context.now()
    async with services.db.session() as session:
        try:
            complaint, callback = await record_solution(
                session, complaint_id=complaint_id, staff=context.me,
                solution=solution or "", now=now, actor=context.actor,
                calendar=services.settings.calendar,
            )
        except Refused as refused:
            await session.rollback()
            drop_draft(context, DRAFT_SOLVE)
            if refused.code == "complaint_moved":
                facts = await complaint_facts(session,
                                              await get_complaint(session, complaint_id))
                await reply(update, moved_text(_, facts))
            else:
                await reply(update, refusal(_, refused))
            return END
        await session.commit()
        facts = await complaint_facts(session, complaint)
        await services.messenger.update_cards(session, CardKind.complaint, complaint_id,
                                              partial(complaint_card, facts=facts))
        to = await responsible(session, complaint, services.settings.calendar.local_date(now))
        caller = await session.get(Staff, to.staff_id)
        if to.staff_id != context.me.id:
            await tell_clerk(services, session, complaint,
                             partial(call_back_today, facts=facts, callback=callback), now)
    await end_other_steps(context, CardKind.complaint, complaint_id)
    drop_draft(context, DRAFT_SOLVE)
    if to.staff_id == context.me.id:
        text, markup = call_back_today(_, facts, to, callback)
        await reply(update, _("✅ Solution saved.") + "\n\n" + text, markup)
    else:
        await reply(update, _("✅ Solution saved. {name} has been told to call {customer} "
                              "back today.").format(name=caller.name if caller else "?",
                                                    customer=facts.customer.name))
    return END


# --- Assign back -----------------------------------------------------------------------------


async def start_back(update: Update, context: WorkshopContext) -> int:
    """Assign back (supervisors): the complaint goes back to the clerk; a note is optional."""
    _ = context._
    complaint_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            require_supervisor(context.me)
            complaint = await get_complaint(session, complaint_id)
        except Refused as refused:
            await refuse(update, context, refused)
            return END
        facts = await complaint_facts(session, complaint)
    if complaint.status != ComplaintStatus.escalated:
        await answer_tap(update, moved_text(_, facts), alert=True)
        return END
    drop_draft(context, DRAFT_BACK)
    draft(context, DRAFT_BACK)["complaint_id"] = complaint_id
    await answer_tap(update)
    await reply(update, _("Assign {customer}'s complaint back to {clerk}. A note for them (what "
                          "to look into)? Or tap Skip.").format(
                              customer=facts.customer.name,
                              clerk=facts.clerk.name if facts.clerk else "—"),
                keyboard([button(_("Skip"), f"{COMPLAINT_PREFIX}:{complaint_id}:back:skip")]))
    return BACK_NOTE


async def got_back_note(update: Update, context: WorkshopContext) -> int:
    """The note the clerk reads."""
    assert update.message is not None
    note = await read_text(update, context, MAX_NOTE)
    if note is None:
        return BACK_NOTE
    return await hand_back(update, context, note)


async def skipped_back_note(update: Update, context: WorkshopContext) -> int:
    """No note; the Skip button must be this complaint's."""
    if callback_int(update) != draft(context, DRAFT_BACK).get("complaint_id"):
        await answer_tap(update, context._("This button is no longer active."), alert=True)
        return BACK_NOTE
    await answer_tap(update)
    return await hand_back(update, context, None)


async def hand_back(update: Update, context: WorkshopContext, note: str | None) -> int:
    """Back to researching; the cards say who, the clerk is told."""
    _ = context._
    complaint_id = draft(context, DRAFT_BACK)["complaint_id"]
    services = context.services
    now = context.now()
    supervisor = context.me
    async with services.db.session() as session:
        try:
            complaint = await assign_back(session, complaint_id=complaint_id,
                                          supervisor=supervisor, note=note, now=now,
                                          actor=context.actor)
        except Refused as refused:
            await session.rollback()
            drop_draft(context, DRAFT_BACK)
            if refused.code == "complaint_moved":
                facts = await complaint_facts(session,
                                              await get_complaint(session, complaint_id))
                await reply(update, moved_text(_, facts))
            else:
                await reply(update, refusal(_, refused))
            return END
        await session.commit()
        facts = await complaint_facts(session, complaint)
        await services.messenger.update_cards(session, CardKind.complaint, complaint_id,
                                              partial(complaint_card, facts=facts))

        def render(t: Translator, to: Route) -> Rendered:
            lines = [
                *standin_note(t, facts, to),
                t("↩️ {name} assigned {customer}'s complaint back to you: keep researching.")
                .format(name=supervisor.name, customer=facts.customer.name),
                t("Complaint: {text}").format(text=complaint.text),
            ]
            if note:
                lines.append(t("Note: {note}").format(note=note))
            lines.append(t("When you have the solution, record it here or with /complaints."))
            return "\n".join(lines), keyboard(
                [button(t("✍️ Record solution"), f"{COMPLAINT_PREFIX}:{complaint_id}:solve")])

        await tell_clerk(services, session, complaint, render, now)
    await end_other_steps(context, CardKind.complaint, complaint_id)
    drop_draft(context, DRAFT_BACK)
    await reply(update, _("↩️ Assigned back to {clerk}; they have been told.").format(
        clerk=facts.clerk.name if facts.clerk else "—"))
    return END


# --- steps someone else's decision ended -----------------------------------------------------


async def solution_still_open(context: WorkshopContext, session: AsyncSession, staff: Staff,
                              form: dict[str, Any], _: Translator) -> str | None:
    """A solution being written goes on while the complaint is still being researched (or
    escalated) and ``staff`` may solve it; else the words why not."""
    today = context.services.settings.calendar.local_date(context.now())
    try:
        complaint = await get_complaint(session, form["complaint_id"])
        await require_may_solve(session, complaint, staff, today)
    except Refused as refused:
        return refusal(_, refused)
    if complaint.status in (ComplaintStatus.researching, ComplaintStatus.escalated):
        return None
    return moved_text(_, await complaint_facts(session, complaint))


async def back_still_open(context: WorkshopContext, session: AsyncSession, staff: Staff,
                          form: dict[str, Any], _: Translator) -> str | None:
    """Assigning back goes on while the complaint is still escalated."""
    try:
        require_supervisor(staff)
        complaint = await get_complaint(session, form["complaint_id"])
    except Refused as refused:
        return refusal(_, refused)
    if complaint.status == ComplaintStatus.escalated:
        return None
    return moved_text(_, await complaint_facts(session, complaint))


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "complaint_solution",
            draft_key=DRAFT_SOLVE,
            decides=Decides(CardKind.complaint, "complaint_id", solution_still_open),
            entry_points=[CallbackQueryHandler(start_solution,
                                               pattern=rf"^{COMPLAINT_PREFIX}:\d+:solve$")],
            states={SOLUTION: [MessageHandler(TEXT, got_solution)]},
        ),
        conversation(
            "complaint_back",
            draft_key=DRAFT_BACK,
            decides=Decides(CardKind.complaint, "complaint_id", back_still_open),
            entry_points=[CallbackQueryHandler(start_back,
                                               pattern=rf"^{COMPLAINT_PREFIX}:\d+:back$")],
            states={BACK_NOTE: [
                MessageHandler(TEXT, got_back_note),
                CallbackQueryHandler(skipped_back_note,
                                     pattern=rf"^{COMPLAINT_PREFIX}:\d+:back:skip$"),
            ]},
        ),
    ]
