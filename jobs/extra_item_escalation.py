"""W5: an extra item nobody decided on within ``extra_item_escalation_minutes`` goes to the
other advisors, as the same approve/reject card; the first decision still wins.

Who counts as "every other advisor": the active advisors who are on duty (``/onduty``),
the same as W4's "on-duty advisors" — an advisor who is off duty cannot ring the customer now,
and a card they read tomorrow only adds noise. The order's own advisor keeps their card either
way, and is told once that it went wider; the escalated card says how long it waited and
whose customer it is.

Claim, send, then mark and release (``models.claims``): several workers escalate each request
once; a crash between the send and the mark sends it at most once more, after the claim's
lease.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services import Services
from handlers.floor.cards import customer_links_on, extra_item_card, extra_item_went_wider
from models.attachment import attachments_of
from models.card import CardKind, recipients_of
from models.claims import claim_row, release
from models.db import id_of
from models.extra_item import Decision, ExtraItemRequest, due_for_escalation, mark_escalated
from models.staff import Role, Staff, active_with_role
from models.work_order import OrderStatus, get_order

ESCALATE = "extra.escalate"  # what a worker claims before it sends (models.claims)


async def run(services: Services, now: datetime) -> int:
    """One pass; returns how many requests went wider. Safe to run twice: who already has the
    card is recorded, and a request is marked once sent."""
    delay = timedelta(minutes=services.settings.extra_item_escalation_minutes)
    escalated = 0
    async with services.db.session() as session:
        for request in await due_for_escalation(session, now=now, delay=delay):
            if not await claim_row(session, ESCALATE, request, worker=services.worker,
                                   now=services.clock.now(),
                                   still_due=lambda row: row.escalated_at is None
                                   and row.status == Decision.pending):
                continue
            sent = await _send_wider(services, session, request, now)
            await session.commit()  # the cards first: a crash before the mark resends once
            marked = await mark_escalated(session, request_id=id_of(request),
                                          now=now)
            await release(session, ESCALATE, id_of(request), worker=services.worker)
            await session.commit()
            if sent and marked:
                escalated += 1
    return escalated


async def _send_wider(
    services: Services, session: AsyncSession, request: ExtraItemRequest, now: datetime
) -> bool:
    """False when nobody could decide it any more (the order was cancelled): it is marked all
    the same, so it stops coming back every minute."""
    order = await get_order(session, request.order_id)
    if order.status != OrderStatus.in_progress:
        return False
    technician = await session.get(Staff, request.requested_by)
    photos = await attachments_of(session, CardKind.extra_item, id_of(request))
    have_it = await recipients_of(session, CardKind.extra_item, id_of(request))
    own = await session.get(Staff, order.advisor_id)
    waited = int((now - request.created_at).total_seconds() // 60)
    sent_to: set[int | None] = set()
    ask = customer_links_on(services.settings)
    for advisor in await active_with_role(session, Role.advisor, on_duty_only=True):
        if advisor.id in have_it:
            continue
        await services.messenger.send(
            session, advisor,
            lambda t: extra_item_card(t, order, request, technician, overdue_minutes=waited,
                                      advisor=own, ask_customer=ask),
            card=(CardKind.extra_item, id_of(request)), photos=photos, now=now,
        )
        sent_to.add(advisor.id)
    if sent_to and own is not None and own.active and own.id not in sent_to:
        await services.messenger.send(
            session, own, lambda t: extra_item_went_wider(t, order, request, minutes=waited),
            now=now)
    return True
