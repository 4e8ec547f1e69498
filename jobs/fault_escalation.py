"""W4: a fault report nobody acknowledged in time goes to every advisor on duty.

Claim, send, then mark and release (``models.claims``): several workers escalate each report
once; a crash between the send and the mark sends the card at most once more (after the
claim's lease), never loses it. Advisors who already hold the card (the order's advisor, a
half-finished earlier run) are skipped, so a rerun does not repeat it to them. The escalated
card says how long it waited and whose customer it is; the order's own advisor is told once
that it went wider.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from bot.services import Services
from handlers.floor.cards import fault_card, fault_facts, fault_went_wider
from models.card import CardKind, recipients_of
from models.claims import claim_row, release
from models.db import id_of
from models.fault_report import FaultStatus, due_for_escalation, mark_escalated
from models.staff import Role, Staff, active_with_role

ESCALATE = "fault.escalate"  # what a worker claims before it sends (models.claims)


async def run(services: Services, now: datetime) -> int:
    """One pass; returns how many reports were escalated."""
    minutes = services.settings.fault_escalation_minutes
    messenger = services.messenger
    escalated = 0
    async with services.db.session() as session:
        reports = await due_for_escalation(session, now=now, delay=timedelta(minutes=minutes))
        if not reports:
            return 0
        advisors = await active_with_role(session, Role.advisor, on_duty_only=True)
        for report in reports:
            report_id = id_of(report)
            if not await claim_row(session, ESCALATE, report, worker=services.worker,
                                   now=services.clock.now(),
                                   still_due=lambda row: row.escalated_at is None
                                   and row.status == FaultStatus.reported):
                continue
            facts = await fault_facts(session, report)
            holders = await recipients_of(session, CardKind.fault_report, report_id)
            waited = int((now - report.created_at).total_seconds() // 60)
            own = await session.get(Staff, facts.order.advisor_id)
            sent_to: set[int | None] = set()
            for advisor in advisors:
                if advisor.id in holders:
                    continue
                await messenger.send(
                    session, advisor,
                    partial(fault_card, facts=facts, overdue_minutes=waited, advisor=own),
                    card=(CardKind.fault_report, report_id), photos=facts.photos, now=now,
                )
                sent_to.add(advisor.id)
            if sent_to and own is not None and own.active and own.id not in sent_to:
                await messenger.send(session, own,
                                     partial(fault_went_wider, facts=facts, minutes=waited),
                                     now=now)
            await session.commit()  # the cards first: a crash before the mark resends once
            if await mark_escalated(session, report_id=report_id, now=now):
                escalated += 1
            else:  # acknowledged meanwhile: the copies just sent must not keep the button
                await session.refresh(report)
                done = await fault_facts(session, report)
                await messenger.update_cards(session, CardKind.fault_report, report_id,
                                             partial(fault_card, facts=done))
            await release(session, ESCALATE, report_id, worker=services.worker)
            await session.commit()
    return escalated
