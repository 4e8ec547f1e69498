"""Several workers on one database (a group of stores, a rolling restart): each due reminder is
claimed by exactly one of them before anything is sent (found by probing: two processes sent
993 of 1,000 reminders twice). Here two complete workers — their own Services, messenger and
Application — share the database and the Bot API and run the reminder job at the same time;
a crashed worker's claim is taken over after its lease."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlmodel import select

import jobs.followup_reminders
import models.claims
from bot.application import build_application
from bot.messenger import Messenger
from bot.services import Services
from models.claims import LEASE, JobClaim, claim
from models.followup import FollowUp
from models.staff import Role
from tests.flows import customer_visit
from tests.shop import Shop
from tests.test_followup_calls import go

DUE = 24


async def second_worker(shop: Shop) -> Services:
    services = Services(settings=shop.settings, db=shop.db, clock=shop.clock,
                        messenger=Messenger(shop.settings, shop.clock))
    app = build_application(services, request=shop.api, rate_limiter=False, run_jobs=False)
    await app.initialize()
    return services


def reminders_per_followup(shop: Shop, chat_id: int) -> Counter[str]:
    return Counter(line.split("[FU-", 1)[1].split("]", 1)[0]
                   for call in shop.api.sent_to(chat_id, "sendMessage")
                   for line in call.text.splitlines() if "[FU-" in line)


async def test_two_workers_send_each_reminder_once(shop: Shop) -> None:
    clerk = await shop.hire("Clerk Li", Role.tracking_clerk)
    assert clerk.staff_id is not None
    for number in range(DUE):
        await customer_visit(shop, clerk.staff_id, name=f"客户{number}",
                             phone=f"1381234{number:04d}", plate=f"京A{number:05d}")
    go(shop, "12-03 09:00")
    other = await second_worker(shop)
    assert other.worker != shop.services.worker

    sent = await asyncio.gather(jobs.followup_reminders.run(shop.services, shop.now()),
                                jobs.followup_reminders.run(other, shop.now()))
    assert sum(sent) == DUE
    per_followup = reminders_per_followup(shop, clerk.user_id)
    assert len(per_followup) == DUE and set(per_followup.values()) == {1}
    async with shop.db.session() as session:
        assert all(f.reminded_at is not None for f in (await session.exec(select(FollowUp))))
        assert (await session.exec(select(JobClaim))).all() == []  # released with the record
    # Nothing is due any more, whoever runs next.
    assert await jobs.followup_reminders.run(other, shop.now()) == 0


async def test_a_crashed_workers_claim_is_taken_over_after_its_lease(shop: Shop) -> None:
    clerk = await shop.hire("Clerk Li", Role.tracking_clerk)
    assert clerk.staff_id is not None
    _customer_id, followup_id = await customer_visit(shop, clerk.staff_id)
    go(shop, "12-03 09:00")
    async with shop.db.session() as session:  # a worker claimed it, then died
        assert await claim(session, jobs.followup_reminders.REMIND, followup_id,
                           worker="gone:1:dead", now=shop.now())
    assert await jobs.followup_reminders.run(shop.services, shop.now()) == 0
    shop.advance(seconds=LEASE.total_seconds() + 1)
    assert await jobs.followup_reminders.run(shop.services, shop.now()) == 1
    assert sum(reminders_per_followup(shop, clerk.user_id).values()) == 1


async def test_no_claim_no_send_when_the_database_refuses_writes(shop: Shop) -> None:
    """claim → send → record: a claim that cannot be written means nothing is sent."""
    clerk = await shop.hire("Clerk Li", Role.tracking_clerk)
    assert clerk.staff_id is not None
    await customer_visit(shop, clerk.staff_id)
    go(shop, "12-03 09:00")
    real = models.claims.claim

    async def read_only(*args: object, **kwargs: object) -> bool:
        raise PermissionError("attempt to write a readonly database")

    models.claims.claim = read_only  # type: ignore[assignment]
    try:
        for _ in range(3):
            try:
                await jobs.followup_reminders.run(shop.services, shop.now())
            except PermissionError:
                pass
            shop.advance(minutes=1)
    finally:
        models.claims.claim = real
    assert reminders_per_followup(shop, clerk.user_id) == Counter()
    assert await jobs.followup_reminders.run(shop.services, shop.now()) == 1


async def test_the_monthly_report_goes_out_once_per_group_not_per_worker(shop: Shop) -> None:
    from jobs import reports
    from tests.test_reports import local, reports_to

    boss = await shop.hire("Boss Ma", Role.supervisor)
    other = await second_worker(shop)
    shop.clock.set(local(12, 1, 8, 0))
    sent = await asyncio.gather(reports.run(shop.services, shop.now()),
                                reports.run(other, shop.now()))
    assert sum(sent) == 1
    assert len(reports_to(shop, boss)) == 1
