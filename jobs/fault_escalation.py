"""W4: a fault report nobody acknowledged in time goes to every advisor on duty.

Send first, mark after: a crash between the two sends the card at most once more, never loses
it. Advisors who already hold the card (the order's advisor, a half-finished earlier run) are
skipped, so a rerun does not repeat it to them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from bot.services import Services
from handlers.floor.cards import fault_card, fault_facts
from models.card import CardKind, recipients_of
from models.db import id_of
from models.fault_report import due_for_escalation, mark_escalated
from models.staff import Role, active_with_role


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
            facts = await fault_facts(session, report)
            holders = await recipients_of(session, CardKind.fault_report, report_id)
            waited = int((now - report.created_at).total_seconds() // 60)
            for advisor in advisors:
                if advisor.id in holders:
                    continue
                await messenger.send(
                    session, advisor,
                    partial(fault_card, facts=facts, overdue_minutes=waited),
                    card=(CardKind.fault_report, report_id), photos=facts.photos, now=now,
                )
            if await mark_escalated(session, report_id=report_id, now=now):
                escalated += 1
            else:  # acknowledged meanwhile: the copies just sent must not keep the button
                await session.refresh(report)
                done = await fault_facts(session, report)
                await messenger.update_cards(session, CardKind.fault_report, report_id,
                                             partial(fault_card, facts=done))
            await session.commit()
    return escalated
