"""Several workers on one database (a group of stores, a rolling restart): each due reminder is
claimed by exactly one of them before anything is sent (found by probing: two processes sent
993 of 1,000 reminders twice). Here two complete workers — their own Services, messenger and
Application — share the database and the Bot API and run the reminder job at the same time;
a crashed worker's claim is taken over after its lease."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from sqlmodel import select

import jobs.followup_reminders
import models.claims
from bot.application import build_application
from bot.messenger import Messenger
from bot.services import Services
from models.claims import LEASE, JobClaim, claim
from models.followup import FollowUp
from models.staff import Role
from tests.flows import customer_visit, order_in_progress
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
        claims = (await session.exec(select(JobClaim))).all()
        # Released with the record; only the day's maintenance scheduling is kept (its record).
        assert [c.kind for c in claims] == [jobs.followup_reminders.SCHEDULE]
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


# --- every other job: two workers at the same time, each message once ---------------------


def count(texts: list[str], needle: str) -> int:
    return sum(needle in text for text in texts)


async def test_two_workers_escalate_each_fault_and_extra_item_once(shop: Shop) -> None:
    """W4 and W5 together (``jobs.escalation``): each goes wider once, and the order's own
    advisor is told once that it did."""
    import jobs.escalation
    from tests.test_escalation import a_fault_and_an_extra_item_waiting

    advisor = await shop.hire("Liu Advisor", Role.advisor)
    others = [await shop.hire(f"Advisor {n}", Role.advisor) for n in range(3)]
    tech = await shop.hire("Zhang Tech", Role.technician)
    await a_fault_and_an_extra_item_waiting(shop, advisor, tech)
    before = len(advisor.inbox)
    other = await second_worker(shop)

    escalated = await asyncio.gather(jobs.escalation.run(shop.services, shop.now()),
                                     jobs.escalation.run(other, shop.now()))
    assert sum(escalated) == 2
    for person in others:
        assert count(person.inbox, "⏰ Not acknowledged for 16 minutes") == 1
        assert count(person.inbox, "⏰ Not decided for 16 minutes") == 1
        assert count(person.inbox, "👤 Liu Advisor's customer (the order's advisor)") == 2
    told = advisor.inbox[before:]
    assert count(told, "ℹ️ The fault report on") == 1
    assert count(told, "ℹ️ The extra item \"Replace wiper blades\"") == 1
    assert len(told) == 2
    async with shop.db.session() as session:
        assert (await session.exec(select(JobClaim))).all() == []
    shop.advance(minutes=1)
    assert sum(await asyncio.gather(jobs.escalation.run(shop.services, shop.now()),
                                    jobs.escalation.run(other, shop.now()))) == 0


async def test_two_workers_send_each_duty_reminder_and_miss_once(shop: Shop) -> None:
    import jobs.duty_reminders
    from tests.test_duty import add_area, setup

    leader, tech, _ = await setup(shop)
    for name in ("Bay 2", "Bay 3", "Wash bay"):
        await add_area(leader, name, "Zhang Tech")
    other = await second_worker(shop)
    shop.advance(hours=8, minutes=30)  # Monday 17:30: the evening reminders
    before = len(tech.inbox)

    sent = await asyncio.gather(jobs.duty_reminders.run(shop.services, shop.now()),
                                jobs.duty_reminders.run(other, shop.now()))
    assert sum(sent) == 4
    cards = tech.inbox[before:]
    assert len(cards) == 4 and len(set(cards)) == 4  # one per area
    assert all("Responsible: Zhang Tech" in card for card in cards)

    shop.advance(minutes=30)  # nobody confirmed: the team leader is told, once per reminder
    told = len(leader.inbox)
    missed = await asyncio.gather(jobs.duty_reminders.run(shop.services, shop.now()),
                                  jobs.duty_reminders.run(other, shop.now()))
    assert sum(missed) == 4
    alerts = leader.inbox[told:]
    assert len(alerts) == 4 and len(set(alerts)) == 4
    async with shop.db.session() as session:
        assert (await session.exec(select(JobClaim))).all() == []


async def test_two_workers_send_a_lift_watch_alert_once(shop: Shop) -> None:
    import jobs.lifting_watch
    from tests.test_checklist import lifting_job

    _, tech, _, leader, _ = await lifting_job(shop)
    second_leader = await shop.hire("Qian Leader", Role.team_leader)
    await tech.tap("Wang Tech")
    other = await second_worker(shop)
    shop.advance(minutes=5)
    before = {p.name: len(p.inbox) for p in (tech, leader, second_leader)}

    alerted = await asyncio.gather(jobs.lifting_watch.run(shop.services, shop.now()),
                                   jobs.lifting_watch.run(other, shop.now()))
    assert sum(alerted) == 1
    for person in (leader, second_leader):
        assert count(person.inbox[before[person.name]:], "nobody has confirmed") == 1
    assert count(tech.inbox[before[tech.name]:], "the team leaders have been told") == 1


async def test_two_workers_send_each_kept_message_once_in_order(shop: Shop) -> None:
    """The outbox: what Telegram refused for now goes out later, once, in each chat's order,
    whichever worker drains it."""
    from jobs import outbox as outbox_job
    from models.staff import Staff
    from tests.test_outbox import kept

    people = [await shop.hire(f"Boss {n}", Role.supervisor) for n in range(4)]
    async with shop.db.session() as session:
        for person in people:
            shop.api.limited[person.user_id] = 1  # the first is refused, the rest queue
            staff = await session.get(Staff, person.staff_id)
            assert staff is not None
            for n in range(5):
                render: Any = lambda _, n=n, who=person.name: (f"{who}: note {n}", None)  # noqa: E731
                await shop.services.messenger.send(session, staff, render, now=shop.now())
    assert len(await kept(shop)) == 20
    other = await second_worker(shop)
    shop.advance(seconds=31)

    sent = list(await asyncio.gather(outbox_job.run(shop.services, shop.now()),
                                     outbox_job.run(other, shop.now())))
    # A chat another worker is on waits for the next run: drain until nothing is left.
    for _ in range(10):
        if not await kept(shop):
            break
        shop.advance(seconds=31)
        sent += await asyncio.gather(outbox_job.run(shop.services, shop.now()),
                                     outbox_job.run(other, shop.now()))
    assert sum(sent) == 20 and await kept(shop) == []
    for person in people:
        # (the first try of note 0 was refused: it is in the fake API's record, not the chat)
        notes = [t for t in shop.api.texts_to(person.user_id) if ": note " in t][1:]
        assert notes == [f"{person.name}: note {n}" for n in range(5)]  # once each, in order
    async with shop.db.session() as session:
        assert (await session.exec(select(JobClaim))).all() == []


async def test_a_crashed_workers_escalation_claim_is_taken_over_after_its_lease(
    shop: Shop
) -> None:
    """W4: a worker claimed a fault report and died before sending; nobody escalates it until
    the lease runs out, then it goes wider once."""
    import jobs.fault_escalation
    from tests.test_fault_report import only_report, report

    advisor = await shop.hire("Liu Advisor", Role.advisor)
    chen = await shop.hire("Chen Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await order_in_progress(shop, advisor, tech)
    await report(tech)
    rid = (await only_report(shop)).id
    assert rid is not None
    shop.advance(minutes=11)
    async with shop.db.session() as session:
        assert await claim(session, jobs.fault_escalation.ESCALATE, rid,
                           worker="gone:1:dead", now=shop.now())
    assert await jobs.fault_escalation.run(shop.services, shop.now()) == 0
    assert count(chen.inbox, "⏰ Not acknowledged") == 0
    shop.advance(seconds=LEASE.total_seconds() + 1)
    assert await jobs.fault_escalation.run(shop.services, shop.now()) == 1
    assert count(chen.inbox, "⏰ Not acknowledged for 16 minutes") == 1
    assert (await only_report(shop)).escalated_at is not None


async def test_the_days_maintenance_calls_are_scheduled_once_per_group(shop: Shop) -> None:
    """A once-a-day job: the first worker to claim the day does it and keeps the claim until
    the next day; the other only learns that the day is taken."""
    other = await second_worker(shop)
    go(shop, "12-03 09:00")
    await asyncio.gather(jobs.followup_reminders.run(shop.services, shop.now()),
                         jobs.followup_reminders.run(other, shop.now()))
    day = shop.settings.calendar.local_date(shop.now())
    async with shop.db.session() as session:
        [held] = (await session.exec(select(JobClaim))).all()
    assert (held.kind, held.ref_id) == (jobs.followup_reminders.SCHEDULE, day.toordinal())
    assert held.claimed_until == shop.settings.calendar.end_of_day(day)
    assert held.claimed_by in (shop.services.worker, other.worker)
    shop.advance(minutes=1)
    for services in (shop.services, other):  # by the next run at the latest, both know
        await jobs.followup_reminders.run(services, shop.now())
        assert services.job_state["maintenance_scheduled_on"] == day
    async with shop.db.session() as session:
        assert (await session.exec(select(JobClaim))).all() == [held]


async def test_no_claim_no_escalation_or_kept_message_while_the_database_refuses_writes(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jobs pause and resume: while no claim can be written nothing goes out (each part of the
    escalation job logs and returns; the outbox run stops), and afterwards each goes once."""
    import jobs.escalation
    from jobs import outbox as outbox_job
    from models.staff import Staff
    from tests.test_escalation import a_fault_and_an_extra_item_waiting
    from tests.test_outbox import kept

    advisor = await shop.hire("Liu Advisor", Role.advisor)
    chen = await shop.hire("Chen Advisor", Role.advisor)
    boss = await shop.hire("Boss Ma", Role.supervisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await a_fault_and_an_extra_item_waiting(shop, advisor, tech)
    shop.api.limited[boss.user_id] = 1
    async with shop.db.session() as session:
        staff = await session.get(Staff, boss.staff_id)
        assert staff is not None
        await shop.services.messenger.send(session, staff, lambda _: ("kept note", None),
                                           now=shop.now())
    assert len(await kept(shop)) == 1
    before = len(chen.inbox)

    async def read_only(*args: object, **kwargs: object) -> bool:
        raise PermissionError("attempt to write a readonly database")

    with monkeypatch.context() as patched:
        patched.setattr(models.claims, "claim", read_only)
        patched.setattr(outbox_job, "claim", read_only)
        for _ in range(3):
            shop.advance(seconds=31)
            assert await jobs.escalation.run(shop.services, shop.now()) == 0
            with pytest.raises(PermissionError):
                await outbox_job.run(shop.services, shop.now())
    assert chen.inbox[before:] == []
    assert shop.api.texts_to(boss.user_id) == ["kept note"]  # the refused first try only

    assert await jobs.escalation.run(shop.services, shop.now()) == 2
    assert await outbox_job.run(shop.services, shop.now()) == 1
    assert count(chen.inbox[before:], "⏰ Not acknowledged") == 1
    assert count(chen.inbox[before:], "⏰ Not decided") == 1
    assert shop.api.texts_to(boss.user_id) == ["kept note", "kept note"]
