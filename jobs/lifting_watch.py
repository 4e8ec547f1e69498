"""N5: a lift request nobody confirmed in ``LIFT_WATCH_MINUTES`` goes to the team leaders, once.

Claim, send, then mark and release (``models.claims``): several workers alert once; a crash
between the send and the mark alerts at most once more (after the claim's lease), never loses
it.
People who already hold the card (the watcher, a half-finished earlier run) are skipped, so a
rerun does not repeat it to them. Without a team leader the supervisors are told. The
technician learns that the team leaders were told.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from bot.i18n import Translator
from bot.messenger import Rendered
from bot.services import Services
from handlers.floor.cards import watch_card, watch_facts
from models.card import CardKind, recipients_of
from models.claims import claim_row, release
from models.db import id_of
from models.lifting import WatchStatus, due_for_alert, mark_alerted
from models.staff import Role, active_with_role
from models.work_order import OrderStatus

log = logging.getLogger(__name__)

ALERT = "lift.alert"  # what a worker claims before it sends (models.claims)


async def run(services: Services, now: datetime) -> int:
    """One pass; returns how many lift requests went to the team leaders."""
    minutes = services.settings.lift_watch_minutes
    messenger = services.messenger
    alerted = 0
    async with services.db.session() as session:
        watches = await due_for_alert(session, now=now, delay=timedelta(minutes=minutes))
        if not watches:
            return 0
        leaders = await active_with_role(session, Role.team_leader)
        supervisors = await active_with_role(session, Role.supervisor)
        for watch in watches:
            watch_id = id_of(watch)
            if not await claim_row(session, ALERT, watch, worker=services.worker,
                                   now=services.clock.now(),
                                   still_due=lambda row: row.alerted_at is None
                                   and row.status == WatchStatus.requested):
                continue
            facts = await watch_facts(session, watch)
            if facts.order.status != OrderStatus.in_progress:
                await release(session, ALERT, watch_id, worker=services.worker)
                await session.commit()
                continue  # the order moved on; nobody lifts on it any more
            involved = {watch.technician_id, watch.watcher_id}
            recipients = [s for s in leaders if s.id not in involved] or [
                s for s in supervisors if s.id not in involved]
            if not recipients:
                log.warning("lift request %s: no team leader or supervisor to alert", watch_id)
            holders = await recipients_of(session, CardKind.lift_watch, watch_id)
            waited = int((now - watch.requested_at).total_seconds() // 60)
            for person in recipients:
                if person.id in holders:
                    continue
                await messenger.send(session, person,
                                     partial(watch_card, facts=facts, overdue_minutes=waited),
                                     card=(CardKind.lift_watch, watch_id), now=now)
            if facts.technician is not None:
                watcher = facts.watcher.name if facts.watcher else "?"
                await messenger.send(session, facts.technician, partial(
                    technician_told, watcher=watcher, number=facts.order.number,
                    minutes=waited))
            await session.commit()  # the cards first: a crash before the mark resends once
            if await mark_alerted(session, watch_id=watch_id, now=now):
                alerted += 1
            else:  # confirmed meanwhile: the copies just sent must not keep the button
                await session.refresh(watch)
                done = await watch_facts(session, watch)
                await messenger.update_cards(session, CardKind.lift_watch, watch_id,
                                             partial(watch_card, facts=done))
            await release(session, ALERT, watch_id, worker=services.worker)
            await session.commit()
    return alerted


def technician_told(_: Translator, *, watcher: str, number: str, minutes: int) -> Rendered:
    return _.ngettext(
        "⏰ {name} has not confirmed watching the lift on {number} for {count} minute; the "
        "team leaders have been told. Do not raise the vehicle until someone confirms.",
        "⏰ {name} has not confirmed watching the lift on {number} for {count} minutes; the "
        "team leaders have been told. Do not raise the vehicle until someone confirms.",
        minutes).format(name=watcher, number=number, count=minutes), None
