"""A2: an archive must be complete within two days of the visit.

Inside working hours, the clerk responsible for an incomplete archive (or today's stand-in,
told whose customer it is) is reminded which fields are missing, again every
``archive_reminder_hours`` until it is complete; one message per customer, however many of
their visits wait. The message sent at the visit itself (delivery, consultation) counts as the
first reminder. An archive still incomplete two days after a visit is reported once to every
active supervisor. A customer without an active clerk is put before the supervisors, who
assign one.

Claim, send, then mark and release (``models.claims``): several workers send each reminder
and each report once; a crash between the send and the mark sends it at most once more, after
the claim's lease.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services import Services
from handlers.after_sales.cards.archive import archive_reminder, late_archive_report
from models.absence import route
from models.claims import claim, claim_row, release
from models.customer import (
    Customer,
    Visit,
    late_archives,
    mark_archive_complete,
    missing_fields,
    vehicles_of,
    visits_needing_archive,
)
from models.db import id_of
from models.staff import Role, Staff, active_with_role

# What a worker claims before it sends (models.claims).
REMIND = "archive.remind"  # a customer: one reminder for all their waiting visits
LATE = "archive.late"  # a visit, reported late to the supervisors


async def _still_missing(session: AsyncSession, customer: Customer, now: datetime) -> list[str]:
    """The missing fields; an archive found complete is marked so, and nobody is bothered."""
    missing = missing_fields(customer, await vehicles_of(session, id_of(customer)))
    if not missing:
        await mark_archive_complete(session, customer, now)
        await session.commit()
    return missing


async def run(services: Services, now: datetime) -> int:
    """One pass; returns how many messages went out. Nothing is sent outside working hours."""
    settings = services.settings
    calendar = settings.calendar
    if not calendar.in_working_hours(now):
        return 0
    messenger = services.messenger
    sent = 0
    today = calendar.local_date(now)
    async with services.db.session() as session:
        repeat = timedelta(hours=settings.archive_reminder_hours)
        by_customer: dict[int, list[Visit]] = {}
        for visit in await visits_needing_archive(session, now=now, repeat=repeat):
            if visit.archive_reminded_at is None and visit.visited_at > now - repeat:
                continue  # the clerk was told at the visit; the first reminder comes later
            by_customer.setdefault(visit.customer_id, []).append(visit)
        supervisors = await active_with_role(session, Role.supervisor)
        for customer_id, selected in by_customer.items():
            if not await claim(session, REMIND, customer_id, worker=services.worker,
                               now=services.clock.now()):
                continue
            # Read again: another worker may have reminded (and released) since.
            for visit in selected:
                await session.refresh(visit)
            waiting = [v for v in selected if v.archive_completed_at is None
                       and (v.archive_reminded_at is None
                            or v.archive_reminded_at <= now - repeat)]
            customer = await session.get(Customer, customer_id)
            missing = await _still_missing(session, customer, now) if customer else []
            if customer is None or not waiting or not missing:
                await release(session, REMIND, customer_id, worker=services.worker)
                await session.commit()
                continue
            recipients, standing_in_for = supervisors, None
            clerk = await session.get(Staff, customer.clerk_id) if customer.clerk_id else None
            if clerk is not None:
                way = await route(session, id_of(clerk), today)
                target = await session.get(Staff, way.staff_id)
                if target is not None and target.active:
                    recipients = [target]
                    standing_in_for = clerk if way.standing_in_for is not None else None
            render = partial(archive_reminder, customer=customer, visit=waiting[0], missing=missing,
                             now=now, standing_in_for=standing_in_for,
                             unassigned=recipients is supervisors)
            for staff in recipients:
                sent += await messenger.send(session, staff, render, now=now)
            for visit in waiting:
                visit.archive_reminded_at = now
            await release(session, REMIND, customer_id, worker=services.worker)
            await session.commit()

        if not supervisors:
            return sent  # the late reports wait until there is someone to read them
        for visit in await late_archives(session, now=now):
            if not await claim_row(session, LATE, visit, worker=services.worker,
                                   now=services.clock.now(),
                                   still_due=lambda row: row.archive_completed_at is None
                                   and row.archive_late_reported_at is None):
                continue
            customer = await session.get(Customer, visit.customer_id)
            missing = await _still_missing(session, customer, now) if customer else []
            if customer is None or not missing:
                await release(session, LATE, id_of(visit), worker=services.worker)
                await session.commit()
                continue
            clerk = await session.get(Staff, customer.clerk_id) if customer.clerk_id else None
            render = partial(late_archive_report, customer=customer, visit=visit, missing=missing,
                             clerk=clerk)
            for supervisor in supervisors:
                sent += await messenger.send(session, supervisor, render, now=now)
            visit.archive_late_reported_at = now
            await release(session, LATE, id_of(visit), worker=services.worker)
            await session.commit()
    return sent
