"""A6: a complaint the clerk could not answer on the call is researched, escalated, solved, and
the customer told the same day.

:mod:`jobs.complaint_jobs` sends the escalation card (:func:`complaint_card`) to every
supervisor after two days, with "Record solution" and "Assign back". A solution — recorded by
a supervisor from the card, or by the complaint's clerk from /complaints — tells the clerk to
call the customer back today; the first solution wins and every copy of the card says who
found it. /complaints lists the open complaints (a clerk's own, all for a supervisor), each
with its whole history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.i18n import Translator
from bot.messenger import Rendered
from bot.services import Services
from handlers.common import (
    END,
    IN,
    add_refusals,
    answer_tap,
    button,
    callback_int,
    checked_text,
    conversation,
    draft,
    drop_draft,
    keyboard,
    local_time,
    refusal,
    refuse,
    reply,
    wrong_input,
)
from handlers.context import WorkshopContext
from models.absence import Route, absences_on, route
from models.call_log import CallLog
from models.complaint import (
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    assign_back,
    get_complaint,
    history,
    open_complaints,
    record_solution,
)
from models.customer import Customer, Vehicle, get_customer, vehicles_of
from models.followup import FollowUp, FollowUpKind, FollowUpStatus, open_for_customer
from models.rules import Refused
from models.staff import Role, Staff

SOLUTION = 0
BACK_NOTE = 0
DRAFT_SOLVE = "complaint_solution"
DRAFT_BACK = "complaint_back"
TEXT = filters.TEXT & ~filters.COMMAND
CARD = "complaint"  # the supervisors' escalation cards, edited when the complaint moves on
MAX_SOLUTION = 2000
MAX_NOTE = 1000
LIST_LIMIT = 20

add_refusals({
    "complaint_clerks_only": lambda _, p: _(
        "Only tracking clerks and supervisors can do this; nothing was changed."),
    "complaint_not_yours": lambda _, p: _(
        "{name} follows this complaint up; only they, their stand-in or a supervisor can "
        "record its solution.").format(**p),
})


def status_name(_: Translator, status: str) -> str:
    return {
        ComplaintStatus.answered: _("answered on the call"),
        ComplaintStatus.researching: _("being researched"),
        ComplaintStatus.escalated: _("with the supervisor"),
        ComplaintStatus.solved: _("solved, customer not told yet"),
        ComplaintStatus.told: _("customer told"),
    }.get(status, status)


def age(_: Translator, since: datetime, now: datetime) -> str:
    hours = max(0, int((now - since).total_seconds() // 3600))
    if hours < 24:
        return _.ngettext("{count} hour", "{count} hours", hours).format(count=hours)
    days = hours // 24
    return _.ngettext("{count} day", "{count} days", days).format(count=days)


def short(text: str, limit: int = 120) -> str:
    """One line of a list; the card and the history show the whole text."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def phones(customer: Customer) -> str:
    return ", ".join(customer.phone_list) or "—"


# --- what a complaint card shows ------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintFacts:
    """Everything about one complaint a card or a list shows, loaded once and rendered in each
    reader's language."""

    complaint: Complaint
    customer: Customer
    vehicle: Vehicle | None
    call: CallLog | None
    clerk: Staff | None
    solved_by: Staff | None
    events: list[ComplaintEvent]
    names: dict[int, str]  # staff id → name, for the history

    @property
    def assigned_back(self) -> ComplaintEvent | None:
        back = [e for e in self.events if e.action == "assigned_back"]
        return back[-1] if back else None

    def name(self, staff_id: int | None) -> str:
        return self.names.get(staff_id, "?") if staff_id is not None else "—"


async def complaint_facts(session: AsyncSession, complaint: Complaint) -> ComplaintFacts:
    customer = await get_customer(session, complaint.customer_id)
    vehicles = await vehicles_of(session, complaint.customer_id)
    call = (await session.get(CallLog, complaint.call_log_id)
            if complaint.call_log_id is not None else None)
    events = await history(session, complaint.id)  # type: ignore[arg-type]
    names: dict[int, str] = {}
    for staff_id in {complaint.clerk_id, complaint.solved_by,
                     *(e.staff_id for e in events)}:
        if staff_id is not None:
            staff = await session.get(Staff, staff_id)
            names[staff_id] = staff.name if staff else "?"
    clerk = await session.get(Staff, complaint.clerk_id)
    solved_by = (await session.get(Staff, complaint.solved_by)
                 if complaint.solved_by is not None else None)
    return ComplaintFacts(complaint, customer, vehicles[0] if vehicles else None, call, clerk,
                          solved_by, events, names)


def customer_lines(_: Translator, facts: ComplaintFacts) -> list[str]:
    lines = [_("Customer: {name} · {phones}").format(name=facts.customer.name,
                                                     phones=phones(facts.customer))]
    if facts.vehicle is not None:
        lines.append(_("Vehicle: {plate} · {model}").format(
            plate=facts.vehicle.plate, model=facts.vehicle.model or "—"))
    return lines


def call_lines(_: Translator, call: CallLog | None) -> list[str]:
    if call is None:
        return []
    if call.satisfaction is not None:
        head = _("Call notes ({at}, satisfaction {score}/5):").format(
            at=_.time(call.at), score=call.satisfaction)
    else:
        head = _("Call notes ({at}):").format(at=_.time(call.at))
    return ["", head, call.notes or _("(no notes)")]


def complaint_card(_: Translator, facts: ComplaintFacts, *, escalating: bool = False
                   ) -> Rendered:
    """The supervisors' card: the decision buttons while the complaint is with them, then what
    became of it (and its history). ``escalating``: the job is sending it now, before it marks
    it escalated."""
    complaint = facts.complaint
    status = ComplaintStatus(complaint.status)
    lines = [
        _("⚠️ Complaint not solved within 2 days"),
        *customer_lines(_, facts),
        _("Clerk: {name}").format(name=facts.clerk.name if facts.clerk else "—"),
        _("Opened: {at}").format(at=_.time(complaint.opened_at)),
        "",
        _("Complaint: {text}").format(text=complaint.text),
        *call_lines(_, facts.call),
    ]
    if status is ComplaintStatus.escalated or (escalating and
                                               status is ComplaintStatus.researching):
        return "\n".join(lines), keyboard(
            [button(_("✍️ Record solution"), f"cp:{complaint.id}:solve"),
             button(_("↩️ Assign back"), f"cp:{complaint.id}:back")])
    lines.append("")
    if status in (ComplaintStatus.solved, ComplaintStatus.told):
        lines.append(_("✅ Solved by {name} at {at}: {solution}").format(
            name=facts.solved_by.name if facts.solved_by else "?",
            at=local_time(_, complaint.solved_at), solution=complaint.solution))
        if status is ComplaintStatus.told:
            lines.append(_("📞 Customer told at {at}.").format(
                at=local_time(_, complaint.told_at)))
        else:
            lines.append(_("The clerk is to call the customer back today."))
    elif facts.assigned_back is not None:
        back = facts.assigned_back
        lines.append(_("↩️ Assigned back to {clerk} by {name} at {at}.").format(
            clerk=facts.clerk.name if facts.clerk else "—", name=facts.name(back.staff_id),
            at=_.time(back.at)))
    else:
        lines.append(_("Status: {status}").format(status=status_name(_, status)))
    return "\n".join(lines), keyboard([button(_("📜 History"), f"cp:{complaint.id}:hist")])


def standin_note(_: Translator, facts: ComplaintFacts, to: Route) -> list[str]:
    if to.standing_in_for is None:
        return []
    return [_("👥 You stand in for {name}; this is their customer.").format(
        name=facts.name(to.standing_in_for))]


def log_call_button(_: Translator, callback: FollowUp | None) -> InlineKeyboardMarkup | None:
    """The call-log conversation's own button on the callback follow-up."""
    if callback is None or callback.status != FollowUpStatus.open:
        return None
    return keyboard([button(_("📝 Log call"), f"fu:{callback.id}:log")])


def call_back_today(_: Translator, facts: ComplaintFacts, to: Route,
                    callback: FollowUp | None) -> Rendered:
    """To whoever calls the customer: the solution, and call back today."""
    complaint = facts.complaint
    lines = [
        *standin_note(_, facts, to),
        _("✅ {name} found a solution to {customer}'s complaint.").format(
            name=facts.solved_by.name if facts.solved_by else "?",
            customer=facts.customer.name),
        _("Complaint: {text}").format(text=complaint.text),
        _("Solution: {solution}").format(solution=complaint.solution),
        "",
        _("📞 Call the customer back TODAY ({phones}), tell them the solution and log the "
          "call.").format(phones=phones(facts.customer)),
    ]
    return "\n".join(lines), log_call_button(_, callback)


def callback_reminder(_: Translator, facts: ComplaintFacts, to: Route,
                      callback: FollowUp | None) -> Rendered:
    """The 17:00 reminder: the solution is still not told."""
    complaint = facts.complaint
    lines = [
        *standin_note(_, facts, to),
        _("⏰ {customer} has not been told the solution to their complaint yet. Call back "
          "before the day ends ({phones}) and log the call.").format(
              customer=facts.customer.name, phones=phones(facts.customer)),
        _("Complaint: {text}").format(text=complaint.text),
        _("Solution: {solution}").format(solution=complaint.solution),
    ]
    return "\n".join(lines), log_call_button(_, callback)


def callback_late(_: Translator, facts: ComplaintFacts) -> Rendered:
    """To the supervisors the next morning: the same-day call back did not happen."""
    complaint = facts.complaint
    lines = [
        _("⚠️ {customer} was not told the solution to their complaint on the day it was "
          "found.").format(customer=facts.customer.name),
        *customer_lines(_, facts),
        _("Clerk: {name}").format(name=facts.clerk.name if facts.clerk else "—"),
        _("Complaint: {text}").format(text=complaint.text),
        _("Solved by {name} at {at}: {solution}").format(
            name=facts.solved_by.name if facts.solved_by else "?",
            at=local_time(_, complaint.solved_at), solution=complaint.solution),
    ]
    return "\n".join(lines), keyboard([button(_("📜 History"), f"cp:{complaint.id}:hist")])


def escalated_to_supervisor(_: Translator, facts: ComplaintFacts, to: Route) -> Rendered:
    """To the clerk: the two days are up and the supervisor has it now."""
    lines = [
        *standin_note(_, facts, to),
        _("⏫ {customer}'s complaint is still open after 2 days and went to the "
          "supervisor.").format(customer=facts.customer.name),
        _("Complaint: {text}").format(text=facts.complaint.text),
    ]
    return "\n".join(lines), None


def history_text(_: Translator, facts: ComplaintFacts) -> str:
    complaint = facts.complaint
    lines = [
        _("📜 Complaint of {customer}: {text}").format(customer=facts.customer.name,
                                                       text=complaint.text),
        _("Status: {status}").format(status=status_name(_, complaint.status)),
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
            status=status_name(_, complaint.status), age=age(_, complaint.opened_at, now),
            text=short(complaint.text))
        if everyone:
            line += " " + _("(clerk {name})").format(
                name=facts.clerk.name if facts.clerk else "—")
        lines.append(line)
        row = [button(_("📜 {number}").format(number=number), f"cp:{complaint.id}:hist")]
        if complaint.status in (ComplaintStatus.researching, ComplaintStatus.escalated):
            row.insert(0, button(_("✍️ {number}. Record solution").format(number=number),
                                 f"cp:{complaint.id}:solve"))
        if everyone and complaint.status == ComplaintStatus.escalated:
            row.append(button(_("↩️ {number}").format(number=number),
                              f"cp:{complaint.id}:back"))
        rows.append(row)
    if more:
        lines.append(_("… and more; the oldest {count} are shown.").format(count=len(items)))
    return "\n".join(lines), keyboard(*rows)


def moved_text(_: Translator, facts: ComplaintFacts) -> str:
    """Why a second solution (or a late tap) changes nothing."""
    complaint = facts.complaint
    if complaint.status in (ComplaintStatus.solved, ComplaintStatus.told):
        return _("Already solved by {name} at {at}: {solution}").format(
            name=facts.solved_by.name if facts.solved_by else "?",
            at=local_time(_, complaint.solved_at), solution=complaint.solution)
    return _("This complaint is {status} now; nothing was changed.").format(
        status=status_name(_, complaint.status))


# --- who may act -----------------------------------------------------------------------------


def require_after_sales(staff: Staff) -> None:
    if not staff.has(Role.tracking_clerk, Role.supervisor):
        raise Refused("complaint_clerks_only")


async def responsible(session: AsyncSession, complaint: Complaint, day: date) -> Route:
    """Who calls the customer today: the complaint's clerk, or their stand-in."""
    return await route(session, complaint.clerk_id, day)


async def require_may_solve(session: AsyncSession, complaint: Complaint, staff: Staff,
                            day: date) -> None:
    """A supervisor, the clerk who follows it up, their stand-in today, or the customer's
    assigned clerk."""
    require_after_sales(staff)
    if staff.has(Role.supervisor):
        return
    customer = await get_customer(session, complaint.customer_id)
    allowed = {complaint.clerk_id, customer.clerk_id,
               (await responsible(session, complaint, day)).staff_id}
    if staff.id not in allowed:
        clerk = await session.get(Staff, complaint.clerk_id)
        raise Refused("complaint_not_yours", name=clerk.name if clerk else "?")


async def callback_of(session: AsyncSession, complaint: Complaint) -> FollowUp | None:
    """The open "tell the customer" follow-up a solution created."""
    for followup in await open_for_customer(session, complaint.customer_id):
        if followup.kind == FollowUpKind.complaint_callback and \
                followup.complaint_id == complaint.id:
            return followup
    return None


async def tell_clerk(services: Services, session: AsyncSession, complaint: Complaint,
                     render: Callable[..., Rendered], now: datetime) -> tuple[Route, int]:
    """Send to the complaint's clerk, or to their stand-in today; returns who and how many."""
    to = await responsible(session, complaint, services.settings.calendar.local_date(now))
    staff = await session.get(Staff, to.staff_id)
    if staff is None or not staff.active:
        return to, 0
    return to, await services.messenger.send(session, staff, partial(render, to=to), now=now)


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
    solution, problem = checked_text(context, update.message.text, MAX_SOLUTION)
    if problem:
        await reply(update, problem)
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
        await services.messenger.update_cards(session, CARD, complaint_id,
                                              partial(complaint_card, facts=facts))
        to = await responsible(session, complaint, services.settings.calendar.local_date(now))
        caller = await session.get(Staff, to.staff_id)
        if to.staff_id != context.me.id:
            await tell_clerk(services, session, complaint,
                             partial(call_back_today, facts=facts, callback=callback), now)
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
            if not context.me.has(Role.supervisor):
                raise Refused("not_supervisor")
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
                keyboard([button(_("Skip"), f"cp:{complaint_id}:back:skip")]))
    return BACK_NOTE


async def got_back_note(update: Update, context: WorkshopContext) -> int:
    """The note the clerk reads."""
    assert update.message is not None
    note, problem = checked_text(context, update.message.text, MAX_NOTE)
    if problem:
        await reply(update, problem)
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
        await services.messenger.update_cards(session, CARD, complaint_id,
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
                [button(t("✍️ Record solution"), f"cp:{complaint_id}:solve")])

        await tell_clerk(services, session, complaint, render, now)
    drop_draft(context, DRAFT_BACK)
    await reply(update, _("↩️ Assigned back to {clerk}; they have been told.").format(
        clerk=facts.clerk.name if facts.clerk else "—"))
    return END


# --- /complaints and the history ------------------------------------------------------------


async def list_complaints(update: Update, context: WorkshopContext) -> None:
    """A clerk sees their open complaints (and those of clerks they stand in for today); a
    supervisor sees everyone's."""
    _ = context._
    me = context.me
    if (context.user_data or {}).get(IN):  # in the middle of another conversation
        await wrong_input(update, context)
        return
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
            clerk_ids = [me.id] + [a.clerk_id for a in await absences_on(session, today)  # type: ignore[list-item]
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
    if (context.user_data or {}).get(IN):  # in the middle of another conversation
        await wrong_input(update, context)
        return
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
        conversation(
            "complaint_solution",
            draft_key=DRAFT_SOLVE,
            entry_points=[CallbackQueryHandler(start_solution, pattern=r"^cp:\d+:solve$")],
            states={SOLUTION: [MessageHandler(TEXT, got_solution)]},
        ),
        conversation(
            "complaint_back",
            draft_key=DRAFT_BACK,
            entry_points=[CallbackQueryHandler(start_back, pattern=r"^cp:\d+:back$")],
            states={BACK_NOTE: [
                MessageHandler(TEXT, got_back_note),
                CallbackQueryHandler(skipped_back_note, pattern=r"^cp:\d+:back:skip$"),
            ]},
        ),
        CommandHandler("complaints", list_complaints),
        CallbackQueryHandler(show_history, pattern=r"^cp:\d+:hist$"),
    ]
