"""A6: complaints on the clock.

1. Researched for 2 days and still open → every supervisor gets the escalation card (with
   the call notes, "Record solution" and "Assign back"), the clerk is told, then it is marked
   escalated. Inside working hours, so a complaint that comes due at night waits for the
   morning. With no active supervisor it waits, rather than being marked sent to nobody.
2. A solution recorded today before ``callback_reminder_time`` (17:00 shop time) whose
   customer is not told by then → the clerk (or their stand-in) is reminded once. Not tied to
   working hours: "the same day" is the rule, as for the callback follow-up itself.
3. From the opening of the next working day, a customer still not told → every supervisor is
   told once.

Claim, send, then mark and release (``models.claims``): several workers send each message
once; a crash between the send and the mark sends it at most once more (after the claim's
lease), never loses it. Supervisors who already hold an escalation card are skipped on a rerun.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time
from functools import partial

from bot.services import Services
from handlers.after_sales.cards.complaint import (
    callback_late,
    callback_of,
    callback_reminder,
    complaint_card,
    complaint_facts,
    escalated_to_supervisor,
    tell_clerk,
)
from models.card import CardKind, recipients_of
from models.claims import claim_row, release
from models.complaint import (
    Complaint,
    ComplaintStatus,
    callbacks_not_logged,
    due_for_escalation,
    mark_escalated,
)
from models.db import id_of
from models.staff import Role, active_with_role

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# What a worker claims before it sends (models.claims).
ESCALATE = "complaint.escalate"
CALLBACK = "complaint.callback"
LATE = "complaint.callback_late"


async def run(services: Services, now: datetime) -> int:
    """One pass; returns how many messages went out."""
    return (await escalate(services, now) + await remind_callbacks(services, now)
            + await report_late_callbacks(services, now))


async def escalate(services: Services, now: datetime) -> int:
    if not services.settings.calendar.in_working_hours(now):
        return 0
    sent = 0
    async with services.db.session() as session:
        due = await due_for_escalation(session, now=now)
        if not due:
            return 0
        supervisors = await active_with_role(session, Role.supervisor)
        if not supervisors:
            log.warning("%d complaint(s) due for escalation but no active supervisor", len(due))
            return 0
        for complaint in due:
            complaint_id = id_of(complaint)
            if not await claim_row(session, ESCALATE, complaint, worker=services.worker,
                                   now=services.clock.now(),
                                   still_due=lambda row: row.escalated_at is None
                                   and row.status == ComplaintStatus.researching):
                continue
            facts = await complaint_facts(session, complaint)
            holders = await recipients_of(session, CardKind.complaint, complaint_id)
            for supervisor in supervisors:
                if supervisor.id in holders:
                    continue
                sent += await services.messenger.send(
                    session, supervisor, partial(complaint_card, facts=facts, escalating=True),
                    card=(CardKind.complaint, complaint_id), now=now,
                )
            await session.commit()  # where the cards went, before anything else can fail
            if await mark_escalated(session, complaint_id=complaint_id, now=now):
                _, told = await tell_clerk(
                    services, session, complaint,
                    partial(escalated_to_supervisor, facts=facts), now)
                sent += told
            else:  # solved meanwhile: the copies just sent must not keep their buttons
                await session.refresh(complaint)
                moved = await complaint_facts(session, complaint)
                await services.messenger.update_cards(session, CardKind.complaint, complaint_id,
                                                      partial(complaint_card, facts=moved))
            await release(session, ESCALATE, complaint_id, worker=services.worker)
            await session.commit()
    return sent


async def remind_callbacks(services: Services, now: datetime) -> int:
    settings = services.settings
    calendar = settings.calendar
    today = calendar.local_date(now)
    reminder_at = calendar.at(today, time.fromisoformat(settings.callback_reminder_time))
    if now < reminder_at:
        return 0
    sent = 0
    async with services.db.session() as session:
        for complaint in await callbacks_not_logged(
                session, since=calendar.start_of_day(today), until=reminder_at):
            if complaint.callback_reminded_at is not None:
                continue
            if not await claim_row(session, CALLBACK, complaint, worker=services.worker,
                                   now=services.clock.now(), still_due=_callback_due):
                continue
            facts = await complaint_facts(session, complaint)
            callback = await callback_of(session, complaint)
            _, told = await tell_clerk(
                services, session, complaint,
                partial(callback_reminder, facts=facts, callback=callback), now)
            sent += told
            complaint.callback_reminded_at = now
            await release(session, CALLBACK, id_of(complaint), worker=services.worker)
            await session.commit()
    return sent


async def report_late_callbacks(services: Services, now: datetime) -> int:
    calendar = services.settings.calendar
    if not calendar.in_working_hours(now):
        return 0
    sent = 0
    async with services.db.session() as session:
        late = [
            complaint for complaint in await callbacks_not_logged(
                session, since=EPOCH, until=calendar.start_of_day(calendar.local_date(now)))
            if complaint.callback_late_reported_at is None and complaint.solved_at is not None
            and calendar.next_working_day_start(complaint.solved_at) <= now
        ]
        if not late:
            return 0
        supervisors = await active_with_role(session, Role.supervisor)
        for complaint in late:
            if not await claim_row(session, LATE, complaint, worker=services.worker,
                                   now=services.clock.now(),
                                   still_due=lambda row: _callback_due(row, late=True)):
                continue
            facts = await complaint_facts(session, complaint)
            for supervisor in supervisors:
                sent += await services.messenger.send(
                    session, supervisor, partial(callback_late, facts=facts), now=now)
            complaint.callback_late_reported_at = now
            await release(session, LATE, id_of(complaint), worker=services.worker)
            await session.commit()
    return sent


def _callback_due(complaint: Complaint, *, late: bool = False) -> bool:
    """Still solved with the customer not told, and not yet reminded (or reported late): what
    the selection found, for a complaint read again after its claim."""
    if complaint.status != ComplaintStatus.solved:
        return False
    return (complaint.callback_late_reported_at if late
            else complaint.callback_reminded_at) is None
