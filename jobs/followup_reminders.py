"""A3, A6, A7: follow-up calls pushed to the clerk who makes them.

Every minute, inside the clerks' working hours:

1. each follow-up whose reminder time has come goes to its clerk as one card — or to the
   stand-in on the days of an absence (A11), or to every active supervisor when the customer
   has no clerk. Send first, then mark: a crash between the two sends it at most once more.
   A reminder that fell due at night or while the bot was down goes out at the next run inside
   working hours.
2. a follow-up whose window ended without a logged call is overdue: its clerk gets the card
   again with an overdue line, every active supervisor a notice, once; it stays open.

And once per local day (any hour), the "maintenance due" calls are created (A3); the
follow-up's unique key makes a second run harmless.

Overdue notices wait for working hours too: a window ends at local midnight, and a clerk
told at 00:00 would read it at 09:00 anyway.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime
from functools import partial

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services import Services
from handlers.after_sales.cards.followup import overdue_notice, reminder_card
from models.absence import route
from models.campaign import Campaign, upcoming
from models.card import CardKind
from models.claims import claim, claim_row, held_until, hold, release
from models.customer import clerks_of, get_customer
from models.db import id_of
from models.followup import (
    FollowUp,
    FollowUpStatus,
    Rounds,
    due_reminders,
    is_overdue,
    mark_overdue_notified,
    mark_reminded,
    overdue_unnotified,
    page_end,
)
from models.staff import Role, Staff, active_with_role, reachable_anywhere
from models.talking_points import UPCOMING_DAYS, gather
from models.visit_flow import schedule_maintenance_calls

log = logging.getLogger(__name__)

# What a worker claims before it sends (models.claims).
REMIND = "followup.remind"
OVERDUE = "followup.overdue"
SCHEDULE = "maintenance.schedule"  # the day (its ordinal): once per group of stores


Recipient = tuple[Staff, Staff | None]  # who gets the card, and for whom they stand in

PAGE = 500  # due reminders read at a time
AT_ONCE = 8  # reminders in hand at once, each in its own session, never two for one clerk
# A pass stops taking reminders this long before the next is due: the ones in hand still
# wait for their turn to be sent (bot.pacing), and a pass still running when the next is due
# would make the scheduler skip that one.
BUDGET_MARGIN = 2


async def run(services: Services, now: datetime) -> int:
    """One pass; returns how many messages went out."""
    settings = services.settings
    calendar = settings.calendar
    today = calendar.local_date(now)
    async with services.db.session() as session:
        # Once per local day per group of stores: the first worker to claim the day schedules
        # (the follow-up's unique key keeps a rerun harmless); its claim, kept until the next
        # day, is the record. The others only remember that the day is taken.
        if services.job_state.get("maintenance_scheduled_on") != today:
            day = today.toordinal()
            if await claim(session, SCHEDULE, day, worker=services.worker,
                           now=services.clock.now()):
                created = await schedule_maintenance_calls(
                    session, today=today, days_before=settings.maintenance_notice_days,
                    now=now, calendar=calendar)
                await hold(session, SCHEDULE, day, worker=services.worker,
                           until=calendar.end_of_day(today))
                await session.commit()
                services.job_state["maintenance_scheduled_on"] = today
                if created:
                    log.info("%d maintenance call(s) scheduled", created)
            elif await held_until(session, SCHEDULE, day) == calendar.end_of_day(today):
                services.job_state["maintenance_scheduled_on"] = today  # another worker did
        if not calendar.in_working_hours(now):
            return 0
        run_ = _Run(services, session, now, today)
        await run_.prepare()
        sent = await run_.remind_all()
        for followup in await overdue_unnotified(session, now=now):
            sent += await run_.tell_overdue(followup)
    return sent


class _Run:
    """What one pass looks up once: supervisors, upcoming events, each clerk's route today."""

    def __init__(self, services: Services, session: AsyncSession, now: datetime,
                 today: date) -> None:
        self.services = services
        self.session = session
        self.now = now
        self.today = today
        self.supervisors: list[Staff] = []
        self.campaigns: list[Campaign] = []
        self.routes: dict[int, Recipient | None] = {}
        self.overdue_carded: set[int] = set()  # reminded this pass with the overdue line

    async def prepare(self) -> None:
        self.supervisors = await active_with_role(self.session, Role.supervisor)
        self.campaigns = await upcoming(self.session, today=self.today, days=UPCOMING_DAYS)

    async def remind_all(self) -> int:
        """Every reminder due, page after page until none is left or the pass has used most of
        its interval (checked before each reminder, so the next pass starts on time and goes
        on). ``AT_ONCE`` reminders in hand at a time, each in a session of its own, dealt out
        clerk by clerk across pages (``models.followup.Rounds``), so the cards go out at the
        platforms' pace (``bot.pacing``) and no clerk waits behind another's hundred."""
        services = self.services
        interval = services.settings.followup_check_seconds
        budget_ends = services.clock.monotonic() + max(interval - BUDGET_MARGIN,
                                                       interval * 0.75)
        rounds = Rounds()
        more = True  # pages may be left to read
        after: tuple[datetime, int] | None = None
        reading = asyncio.Lock()
        changed = asyncio.Condition()  # a reminder finished: a clerk is free again
        sent = 0

        async def read_ahead() -> None:
            nonlocal more, after
            async with reading:
                if not more or len(rounds) >= PAGE // 2:
                    return
                page = await due_reminders(self.session, now=self.now, limit=PAGE, after=after)
                more = len(page) == PAGE
                if page:
                    after = page_end(page)
                    rounds.add(page, await clerks_of(self.session,
                                                     {f.customer_id for f in page}))

        async def hand() -> None:
            nonlocal sent
            while services.clock.monotonic() < budget_ends:
                await read_ahead()
                taken = rounds.take()
                if taken is None:
                    if not len(rounds) and not more:
                        return  # nothing left (the others finish theirs)
                    async with changed:  # every waiting clerk has one in hand: wait for one
                        await changed.wait()
                    continue
                followup, clerk = taken
                try:
                    async with services.db.session() as session:
                        # the page's row, in this session as read (no second SELECT)
                        cards = await self.remind(session, await session.merge(followup,
                                                                               load=False))
                    sent += cards  # not ``sent += await …``: that reads ``sent`` before
                finally:
                    rounds.done(clerk)
                    async with changed:
                        changed.notify_all()

        await asyncio.gather(*(hand() for _ in range(AT_ONCE)))
        return sent

    async def claimed(self, kind: str, followup: FollowUp,
                      session: AsyncSession | None = None) -> bool:
        """This worker's, and still to do (another may have done it since it was selected)."""
        def still_due(row: FollowUp) -> bool:
            if row.status != FollowUpStatus.open:
                return False
            return (row.reminded_at if kind == REMIND else row.overdue_notified_at) is None

        # The lease runs from now, not from the start of the pass: a pass over thousands of
        # reminders outlasts the lease, and a worker that started since must not take the row.
        return await claim_row(session or self.session, kind, followup,
                               worker=self.services.worker, now=self.services.clock.now(),
                               still_due=still_due)

    async def responsible(self, followup: FollowUp,
                          session: AsyncSession | None = None) -> list[Recipient]:
        """The clerk today (or the stand-in); without an active, reachable one, every
        supervisor."""
        session = session or self.session
        customer = await get_customer(session, followup.customer_id)
        clerk_id = customer.clerk_id
        if clerk_id is not None:
            if clerk_id not in self.routes:
                today = await route(session, clerk_id, self.today)
                staff = await session.get(Staff, today.staff_id)
                for_whom = (await session.get(Staff, today.standing_in_for)
                            if today.standing_in_for else None)
                # Nobody to reach (inactive, or every account refused: Forbidden) → supervisors.
                self.routes[clerk_id] = (staff, for_whom) if staff and staff.active and \
                    await reachable_anywhere(session, id_of(staff)) else None
            recipient = self.routes[clerk_id]
            if recipient is not None:
                return [recipient]
        return [(supervisor, None) for supervisor in self.supervisors]

    async def remind(self, session: AsyncSession, followup: FollowUp) -> int:
        followup_id = id_of(followup)
        if not await self.claimed(REMIND, followup, session):
            return 0
        recipients = await self.responsible(followup, session)
        if not recipients:
            log.warning("follow-up %s has nobody to go to (no clerk, no supervisor)",
                        followup_id)
            return 0
        points = await gather(session, followup, today=self.today, campaigns=self.campaigns)
        overdue = is_overdue(followup, self.now)
        sent = 0
        for staff, for_whom in recipients:
            delivered = await self.services.messenger.send(
                session, staff,
                partial(reminder_card, points=points, standing_in_for=for_whom, overdue=overdue),
                card=(CardKind.followup, followup_id), now=self.now)
            sent += delivered > 0
        await session.commit()  # the cards first: a crash before the mark resends once
        await mark_reminded(session, followup_id=followup_id,
                            staff_id=id_of(recipients[0][0]), now=self.now)
        await release(session, REMIND, followup_id, worker=self.services.worker)
        await session.commit()
        if overdue:
            self.overdue_carded.add(followup_id)
        return sent

    async def tell_overdue(self, followup: FollowUp) -> int:
        followup_id = id_of(followup)
        if not await self.claimed(OVERDUE, followup):
            return 0
        recipients = await self.responsible(followup)
        points = await gather(self.session, followup, today=self.today,
                              campaigns=self.campaigns)
        messenger = self.services.messenger
        sent = 0
        told = {staff.id for staff, _ in recipients}
        if followup_id not in self.overdue_carded:
            for staff, for_whom in recipients:
                delivered = await messenger.send(
                    self.session, staff,
                    partial(reminder_card, points=points, standing_in_for=for_whom, overdue=True),
                    card=(CardKind.followup, followup_id), now=self.now)
                sent += delivered > 0
        clerk_id = points.customer.clerk_id
        routed = self.routes.get(clerk_id) if clerk_id is not None else None
        clerk = routed[0] if routed else None
        for supervisor in self.supervisors:
            if supervisor.id in told:
                continue
            delivered = await messenger.send(
                self.session, supervisor, lambda t: overdue_notice(t, points, clerk))
            sent += delivered > 0
        await self.session.commit()
        await mark_overdue_notified(self.session, followup_id=followup_id, now=self.now)
        await release(self.session, OVERDUE, followup_id, worker=self.services.worker)
        await self.session.commit()
        return sent
