"""The playground's demo shop and clock (issue 15): seeded with the model functions the bot uses,
then the real application over the fake Bot API, moved forward in time."""

from __future__ import annotations

import pkgutil
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta

import pytest
from sqlmodel import col, func, select

import jobs
from bot.clock import Clock, FrozenClock, ShiftedClock
from bot.messenger import Messenger
from bot.playground.demo_shop import DemoPerson, DemoShop, ShopNotEmpty, people, seed
from bot.playground.demo_words import EN, WORDS
from bot.playground.time_travel import JOBS, advance, advance_to_next, job_name
from bot.services import Services
from bot.settings import Settings
from models import plate
from models.approvals import waiting_for
from models.campaign import upcoming
from models.checklist import Box, state_of
from models.complaint import ComplaintStatus, due_for_escalation, get_complaint
from models.customer import Customer, Vehicle, Visit
from models.db import Database
from models.duty import DutyReminder, areas
from models.extra_item import Decision, pending_for_order
from models.followup import FollowUp, FollowUpKind, due_reminders, get_followup
from models.qc import waiting_checks
from models.staff import Role, Staff, accounts_of
from models.work_order import OrderStatus, get_order, orders_of_advisor
from tests.conftest import START
from tests.shop import Person, Shop

NOW = START + timedelta(days=7, hours=1)  # Monday 7 December, 10:00 in Shanghai
CREW = Counter({Role.advisor: 1, Role.technician: 3, Role.team_leader: 1, Role.inspector: 1,
                Role.parts_clerk: 1, Role.tracking_clerk: 2, Role.supervisor: 1, Role.admin: 1})


# --- the clock -------------------------------------------------------------------------------


def test_shifted_clock_adds_an_offset_that_only_grows() -> None:
    base = FrozenClock(NOW)
    clock = ShiftedClock(base)
    assert (clock.now(), clock.offset) == (NOW, timedelta(0))
    clock.advance(timedelta(hours=3))
    assert (clock.now(), clock.offset) == (NOW + timedelta(hours=3), timedelta(hours=3))
    assert clock.monotonic() == base.monotonic() + 3 * 3600  # caches expire as time moves
    base.advance(timedelta(minutes=1))  # the clock underneath goes on
    assert clock.now() == NOW + timedelta(hours=3, minutes=1)
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))
    assert clock.offset == timedelta(hours=3)


def test_shifted_clock_runs_on_the_machine_clock_by_default() -> None:
    clock = ShiftedClock()
    clock.advance(timedelta(days=2))
    ahead = clock.now() - Clock().now()
    assert timedelta(days=2) - timedelta(minutes=1) < ahead <= timedelta(days=2)


# --- the demo shop, through the model functions ---------------------------------------------


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
async def test_the_demo_shop_is_seeded(db: Database, settings: Settings, lang: str) -> None:
    shop = await seed(db, settings, NOW, lang=lang)
    words = WORDS[lang]
    calendar = settings.calendar
    today = calendar.local_date(NOW)

    assert [p.user_id for p in shop.people] == list(range(9_100_001, 9_100_012))
    assert Counter(role for p in shop.people for role in p.roles) == CREW
    assert {p.locale for p in shop.people} == {lang}
    advisor = shop.person(Role.advisor)
    assert advisor.name == words.advisor
    assert advisor.role_labels == {"zh_CN": "服务顾问", "en": "Service advisor"}[lang]
    assert [p.name for p in shop.people if Role.tracking_clerk in p.roles] == list(words.clerks)

    async with db.session() as session:
        for person in shop.people:
            staff = await session.get(Staff, person.staff_id)
            assert staff is not None and staff.locale == lang and staff.name == person.name
            [account] = await accounts_of(session, person.staff_id)
            assert (account.channel, account.chat_id, account.user_key) == (
                "telegram", person.user_id, str(person.user_id))
        me = await session.get(Staff, advisor.staff_id)
        assert me is not None
        orders = await orders_of_advisor(session, advisor.staff_id)
        assert [o.id for o in orders] == sorted([shop.new_order, shop.order_at_work,
                                                 shop.extra_item_order, shop.qc_order])
        assert (await get_order(session, shop.new_order)).status == OrderStatus.open

        at_work = await get_order(session, shop.order_at_work)
        assert at_work.status == OrderStatus.in_progress
        checklist = await state_of(session, at_work)
        assert set(checklist.ticks) == {Box.ppe, Box.cover}
        assert checklist.missing == [Box.seat_cover, Box.floor_mat, Box.wheel_cover]
        assert not checklist.done

        [request] = await pending_for_order(session, shop.extra_item_order)
        assert (request.id, request.description, request.status) == (
            shop.extra_item, words.extra_item, Decision.pending)
        assert [r.id for r in await waiting_for(session, me)] == [shop.extra_item]

        assert (await get_order(session, shop.qc_order)).status == OrderStatus.self_checked
        leader = await session.get(Staff, shop.person(Role.team_leader).staff_id)
        assert leader is not None
        assert [c.id for c, _order in await waiting_checks(session, leader)] == [shop.qc_check]

        plates = set((await session.exec(select(Vehicle.plate))).all())
        assert plates == {plate.normalize(c.plate) for c in (words.ma, words.he, words.guo,
                                                             words.lin)}
        assert plate.is_mainland("粤BD12345") and "粤BD12345" in plates  # green, new energy
        assert (await session.exec(select(func.count()).select_from(Customer))).one() == 4
        assert (await session.exec(select(func.count()).select_from(Visit))).one() == 4

        first_today = await get_followup(session, shop.followup_today)
        first_later = await get_followup(session, shop.followup_in_3_days)
        assert first_today.due_from == calendar.start_of_day(today)
        assert first_later.due_from == calendar.start_of_day(today + timedelta(days=3))
        due_now = [f.id for f in await due_reminders(session, now=NOW)]
        assert shop.followup_today in due_now and shop.followup_in_3_days not in due_now

        complaint = await get_complaint(session, shop.complaint)
        assert (complaint.status, complaint.text) == (ComplaintStatus.researching,
                                                      words.complaint)
        assert await due_for_escalation(session, now=NOW + timedelta(days=1)) == []
        assert [c.id for c in await due_for_escalation(
            session, now=NOW + timedelta(days=2))] == [shop.complaint]

        assert [c.id for c in await upcoming(session, today=today)] == [shop.campaign]
        calls = (await session.exec(select(FollowUp).where(
            FollowUp.kind == FollowUpKind.campaign))).all()
        assert len(calls) == 4
        assert [a.name for a in await areas(session)] == sorted(words.duty_areas)


async def test_seeding_twice_is_refused_and_changes_nothing(
        db: Database, settings: Settings) -> None:
    shop = await seed(db, settings, NOW)
    with pytest.raises(ShopNotEmpty):
        await seed(db, settings, NOW + timedelta(days=1), lang="en")
    assert await people(db, settings, NOW) == shop.people
    async with db.session() as session:
        assert (await session.exec(select(func.count()).select_from(Staff))).one() == 11


async def test_an_unknown_language_is_refused(db: Database, settings: Settings) -> None:
    with pytest.raises(ValueError):
        await seed(db, settings, NOW, lang="fr")


# --- the real application on the playground's clock ------------------------------------------


class Playground(Shop):
    """The test shop on the playground's clock (a frozen one underneath, so the test knows the
    day), its people the demo shop's."""

    def __init__(self, db: Database, settings: Settings) -> None:
        super().__init__(db, settings, NOW)
        self.shifted = ShiftedClock(self.clock)
        self.services = Services(settings=settings, db=db, clock=self.shifted,
                                 messenger=Messenger(settings, self.shifted))

    def now(self) -> datetime:
        return self.shifted.now()

    def person(self, demo: DemoPerson) -> Person:
        return Person(self, demo.user_id, demo.name, demo.staff_id, None)


@pytest.fixture
async def playground(db: Database, settings: Settings
                     ) -> AsyncIterator[tuple[Playground, DemoShop]]:
    demo = await seed(db, settings, NOW, lang="en")
    shop = Playground(db, settings)
    await shop.start()
    yield shop, demo
    await shop.stop()
    assert shop.errors == [], f"handlers raised: {shop.errors!r}"


async def test_the_advisor_finds_the_extra_item_waiting(
        playground: tuple[Playground, DemoShop]) -> None:
    shop, demo = playground
    advisor = shop.person(demo.person(Role.advisor))
    replies = "\n".join(await advisor.send("/approvals"))
    assert "1 item waits for an advisor's decision" in replies
    assert EN.extra_item in replies
    card, data = advisor.find_button("Approve")
    assert data.endswith(f":{demo.extra_item}:ok") and EN.extra_reason in card.text


async def test_three_days_on_the_clerk_is_reminded_of_the_call_due(
        playground: tuple[Playground, DemoShop]) -> None:
    shop, demo = playground
    helen, amy = (shop.person(demo.person(Role.tracking_clerk, i)) for i in (0, 1))
    travel = await advance(shop.services, timedelta(days=3))
    assert (travel.start, travel.end, travel.passes) == (NOW, NOW + timedelta(days=3), 72)
    assert set(travel.counts) == {job_name(module) for module in JOBS}
    assert travel.counts["after_sales"] > 0 and travel.counts["workshop"] > 0
    # Lily Lin's first call fell due on Thursday: Helen, her clerk, had the card at 09:00.
    assert any(EN.lin.name in text and "First call" in text for text in helen.inbox)
    # Jenny He's, due today, went to Amy on the first pass, and once.
    assert sum(EN.he.name in text and "First call" in text for text in amy.inbox) == 1
    async with shop.db.session() as session:
        later = await get_followup(session, demo.followup_in_3_days)
        today = await get_followup(session, demo.followup_today)
        reminders = (await session.exec(select(DutyReminder).order_by(
            col(DutyReminder.due_at)))).all()
    calendar = shop.settings.calendar
    thursday = calendar.local_date(NOW) + timedelta(days=3)
    assert later.reminded_at == calendar.at(thursday, time(9, 0))
    assert today.reminded_at == NOW + timedelta(hours=1)
    # The duty reminders of the days the jump crossed went out, each once: Monday's evening,
    # Tuesday's and Wednesday's two, Thursday's morning, for each of the two areas.
    assert len(reminders) == 2 * 6 and all(r.sent_at is not None for r in reminders)
    assert len({r.key for r in reminders}) == len(reminders)


async def test_two_days_on_the_complaint_goes_to_the_supervisor(
        playground: tuple[Playground, DemoShop]) -> None:
    shop, demo = playground
    supervisor = shop.person(demo.person(Role.supervisor))
    await advance(shop.services, timedelta(days=1))
    async with shop.db.session() as session:
        assert (await get_complaint(session, demo.complaint)).status == \
            ComplaintStatus.researching
    assert not any(EN.complaint in text for text in supervisor.inbox)
    await advance(shop.services, timedelta(days=1))
    async with shop.db.session() as session:
        complaint = await get_complaint(session, demo.complaint)
    assert complaint.status == ComplaintStatus.escalated
    # Opened at 09:00 on Monday, escalated at the first pass two days after.
    assert complaint.escalated_at == NOW - timedelta(hours=1) + timedelta(days=2)
    assert sum(EN.complaint in text for text in supervisor.inbox) == 1


async def test_to_the_next_morning(playground: tuple[Playground, DemoShop]) -> None:
    shop, demo = playground
    advisor = shop.person(demo.person(Role.advisor))
    travel = await advance_to_next(shop.services, time(9, 0))
    calendar = shop.settings.calendar
    tuesday = calendar.local_date(NOW) + timedelta(days=1)
    assert travel.end == calendar.at(tuesday, time(9, 0)) and travel.passes == 23
    assert shop.shifted.offset == timedelta(hours=23)
    # The extra item nobody decided went to the on-duty advisors after 15 minutes.
    assert any(EN.extra_item in text for text in advisor.inbox)
    assert travel.counts["escalation"] == 1
    again = await advance_to_next(shop.services, time(9, 0))
    assert again.end == calendar.at(tuesday + timedelta(days=1), time(9, 0))


async def test_the_clock_moves_forward_only(playground: tuple[Playground, DemoShop]) -> None:
    shop, _demo = playground
    with pytest.raises(ValueError):
        await advance(shop.services, timedelta(0))
    with pytest.raises(TypeError):
        await advance(Services(settings=shop.settings, db=shop.db, clock=FrozenClock(NOW),
                               messenger=Messenger(shop.settings, FrozenClock(NOW))),
                      timedelta(hours=1))


async def test_a_jump_runs_every_job_the_application_schedules(
        playground: tuple[Playground, DemoShop]) -> None:
    shop, _demo = playground
    scheduled = {job.name.split(":")[0] for job in shop.app.job_queue.jobs()}
    assert scheduled == {job_name(module) for module in JOBS}  # no BACKUP_DIR here
    reached = {module.__name__ for module in JOBS} | {"jobs.backups"}
    reached |= {part.__name__ for module in JOBS for part in getattr(module, "PARTS", ())}
    every = {f"jobs.{info.name}" for info in pkgutil.iter_modules(jobs.__path__)}
    assert reached == every
