"""A6: what a complaint looks like to the supervisors and the clerk who calls the customer.

:mod:`jobs.complaint_jobs` sends the escalation card (:func:`complaint_card`) to every
supervisor after two days, with "Record solution" and "Assign back"; the clerk hears that the
supervisor has it (:func:`escalated_to_supervisor`). Once a solution is found
(``handlers.after_sales.complaint_solution``) the clerk, or their stand-in today, is told to
call the customer back today, reminded at 17:00 and, if the call still did not happen, the
supervisors hear the next morning. Who calls today is decided here for every complaint module;
who may act on a complaint, in :mod:`models.complaint` and :mod:`models.staff`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup

from bot.i18n import Translator
from bot.messenger import Rendered
from bot.services import Services
from handlers.after_sales.cards.followup import FOLLOWUP_PREFIX
from handlers.chat.labels import complaint_status_name
from handlers.chat.ui import button, keyboard, local_time
from models.absence import Route, route
from models.call_log import CallLog
from models.complaint import (
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    history,
)
from models.customer import Customer, Vehicle, get_customer, vehicles_of
from models.db import id_of
from models.followup import FollowUp, FollowUpKind, FollowUpStatus, open_for_customer
from models.staff import Staff

# The callback data of the buttons these cards draw, one prefix per family; the
# handlers that answer them match on the same constants.
COMPLAINT_PREFIX = "cp"  # a complaint: cp:<complaint id>:…


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
    events = await history(session, id_of(complaint))
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
            [button(_("✍️ Record solution"), f"{COMPLAINT_PREFIX}:{complaint.id}:solve"),
             button(_("↩️ Assign back"), f"{COMPLAINT_PREFIX}:{complaint.id}:back")])
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
        lines.append(_("Status: {status}").format(status=complaint_status_name(_, status)))
    return "\n".join(lines), keyboard([button(_("📜 History"),
                                              f"{COMPLAINT_PREFIX}:{complaint.id}:hist")])


def standin_note(_: Translator, facts: ComplaintFacts, to: Route) -> list[str]:
    if to.standing_in_for is None:
        return []
    return [_("👥 You stand in for {name}; this is their customer.").format(
        name=facts.name(to.standing_in_for))]


def log_call_button(_: Translator, callback: FollowUp | None) -> InlineKeyboardMarkup | None:
    """The call-log conversation's own button on the callback follow-up."""
    if callback is None or callback.status != FollowUpStatus.open:
        return None
    return keyboard([button(_("📝 Log call"), f"{FOLLOWUP_PREFIX}:{callback.id}:log")])


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
    return "\n".join(lines), keyboard([button(_("📜 History"),
                                              f"{COMPLAINT_PREFIX}:{complaint.id}:hist")])


def escalated_to_supervisor(_: Translator, facts: ComplaintFacts, to: Route) -> Rendered:
    """To the clerk: the two days are up and the supervisor has it now."""
    lines = [
        *standin_note(_, facts, to),
        _("⏫ {customer}'s complaint is still open after 2 days and went to the "
          "supervisor.").format(customer=facts.customer.name),
        _("Complaint: {text}").format(text=facts.complaint.text),
    ]
    return "\n".join(lines), None


def moved_text(_: Translator, facts: ComplaintFacts) -> str:
    """Why a second solution (or a late tap) changes nothing."""
    complaint = facts.complaint
    if complaint.status in (ComplaintStatus.solved, ComplaintStatus.told):
        return _("Already solved by {name} at {at}: {solution}").format(
            name=facts.solved_by.name if facts.solved_by else "?",
            at=local_time(_, complaint.solved_at), solution=complaint.solution)
    return _("This complaint is {status} now; nothing was changed.").format(
        status=complaint_status_name(_, complaint.status))


# --- who calls the customer today -------------------------------------------------------------


async def responsible(session: AsyncSession, complaint: Complaint, day: date) -> Route:
    """Who calls the customer today: the complaint's clerk, or their stand-in."""
    return await route(session, complaint.clerk_id, day)


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
