"""W8–W10: duty reminders at their shop times, misses to the team leaders, a weekly summary.

Every minute:

1. today's reminders whose time has come are created, one row per kind, day and area (a
   unique key: a second run or a restart creates nothing twice);
2. each of today's unsent reminders goes to the area's responsible person as a card with Done
   buttons — to the team leaders when nobody is responsible — then is marked sent. Send first,
   mark after: a crash in between sends it at most once more (after the claim's lease);
3. a reminder still unconfirmed ``DUTY_MISSED_MINUTES`` after it was sent goes to the team
   leaders (the supervisors when no other team leader is there to tell), once;
4. from ``DUTY_SUMMARY_DAY_TIME`` to the end of the week, each supervisor who has not had it
   gets the week's compliance summary (an audit event per supervisor and week records it).

Several workers on one database: each reminder, miss and summary is claimed before it is sent
and released with its record (``models.claims``), so it goes out once per group of stores.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services import Services
from handlers.duty.cards import reminder_card as card
from handlers.duty.cards import reminder_facts, weekly_summary
from models.card import CardKind, recipients_of
from models.claims import claim, claim_row, release
from models.db import id_of
from models.duty import (
    DutyReminder,
    create_due,
    due_missed,
    duty_summary,
    mark_missed,
    mark_sent,
    record_summary,
    summary_due,
    summary_sent,
    unsent,
    week_of,
)
from models.equipment import damage_summary
from models.staff import Role, Staff, active_with_role

log = logging.getLogger(__name__)

# What a worker claims before it sends (models.claims).
REMIND = "duty.remind"
MISSED = "duty.missed"
SUMMARY = "duty.summary"  # with the week's label: "duty.summary:2026-W49", per supervisor


async def run(services: Services, now: datetime) -> int:
    """One pass; returns how many messages went out."""
    settings = services.settings
    calendar = settings.calendar
    schedule = settings.duty_schedule
    sent = 0
    async with services.db.session() as session:
        created = await create_due(session, now=now, calendar=calendar, schedule=schedule)
        await session.commit()
        if created:
            log.info("%d duty reminder(s) due", created)
        for reminder in await unsent(session, today=calendar.local_date(now)):
            sent += await _remind(services, session, reminder, now)
        delay = timedelta(minutes=settings.duty_missed_minutes)
        for reminder in await due_missed(session, now=now, delay=delay):
            sent += await _tell_missed(services, session, reminder, now)
        if summary_due(calendar, schedule, now):
            sent += await _weekly(services, session, now)
    return sent


async def _leaders(session: AsyncSession) -> list[Staff]:
    """Team leaders; the supervisors when the shop has none."""
    return (await active_with_role(session, Role.team_leader)
            or await active_with_role(session, Role.supervisor))


async def _remind(services: Services, session: AsyncSession, reminder: DutyReminder,
                  now: datetime) -> int:
    reminder_id = id_of(reminder)
    if not await claim_row(session, REMIND, reminder, worker=services.worker,
                           now=services.clock.now(),
                           still_due=lambda row: row.sent_at is None):
        return 0
    facts = await reminder_facts(session, reminder)
    if facts.responsible is not None and facts.responsible.active:
        recipients = [facts.responsible]
    else:
        recipients = await _leaders(session)
    # a half-finished earlier run
    holders = await recipients_of(session, CardKind.duty_reminder, reminder_id)
    sent = 0
    for person in recipients:
        if person.id in holders:
            continue
        delivered = await services.messenger.send(session, person, partial(card, facts=facts),
                                                  card=(CardKind.duty_reminder, reminder_id),
                                                  now=now)
        sent += delivered > 0
    await session.commit()  # the cards first: a crash before the mark resends once
    await mark_sent(session, reminder_id=reminder_id, now=now)
    await release(session, REMIND, reminder_id, worker=services.worker)
    await session.commit()
    return sent


async def _tell_missed(services: Services, session: AsyncSession, reminder: DutyReminder,
                       now: datetime) -> int:
    reminder_id = id_of(reminder)
    if not await claim_row(session, MISSED, reminder, worker=services.worker,
                           now=services.clock.now(),
                           still_due=lambda row: row.missed_notified_at is None
                           and row.done_at is None):
        return 0
    facts = await reminder_facts(session, reminder)
    waited = int((now - (reminder.sent_at or now)).total_seconds() // 60)
    holders = await recipients_of(session, CardKind.duty_reminder, reminder_id)
    # The team leaders who do not hold the card already (the responsible person may be one);
    # when that leaves nobody, the supervisors.
    told = [p for p in await active_with_role(session, Role.team_leader) if p.id not in holders]
    if not told:
        told = [p for p in await active_with_role(session, Role.supervisor)
                if p.id not in holders]
    sent = 0
    for person in told:
        delivered = await services.messenger.send(
            session, person, partial(card, facts=facts, missed_minutes=waited),
            card=(CardKind.duty_reminder, reminder_id), now=now)
        sent += delivered > 0
    await session.commit()
    if not await mark_missed(session, reminder_id=reminder_id, now=now):
        await session.refresh(reminder)  # confirmed meanwhile: no Done button on the copies
        done = await reminder_facts(session, reminder)
        await services.messenger.update_cards(session, CardKind.duty_reminder, reminder_id,
                                              partial(card, facts=done))
    await release(session, MISSED, reminder_id, worker=services.worker)
    await session.commit()
    return sent


async def _weekly(services: Services, session: AsyncSession, now: datetime) -> int:
    label, start, end = week_of(services.settings.calendar, now)
    waiting = [s for s in await active_with_role(session, Role.supervisor)
               if not await summary_sent(session, label=label,
                                         staff_id=id_of(s))]
    if not waiting:
        return 0
    summary = await duty_summary(session, start=start, end=end)
    damage = await damage_summary(session, start=start, end=end)
    sent = 0
    kind = f"{SUMMARY}:{label}"
    for supervisor in waiting:
        # Once per group of stores, not once per worker: claim, then check again.
        if not await claim(session, kind, id_of(supervisor), worker=services.worker,
                           now=services.clock.now()):
            continue
        if await summary_sent(session, label=label, staff_id=id_of(supervisor)):
            await release(session, kind, id_of(supervisor), worker=services.worker)
            await session.commit()
            continue
        delivered = await services.messenger.send(
            session, supervisor,
            lambda t: weekly_summary(t, label, start, end, summary, damage), now=now)
        record_summary(session, label=label, staff_id=id_of(supervisor),
                       now=now, delivered=delivered)
        await release(session, kind, id_of(supervisor), worker=services.worker)
        await session.commit()
        sent += delivered > 0
    return sent
