"""WeCom under load: a member's limits (30 a minute, 1,000 an hour) are never crossed and
nothing is lost at their edge, also across a restart and between workers; a burst of DMS
orders for one technician is answered at once; a callback answered 200 is handled even when
the database failed right after, and only once.

The fake WeCom API counts each member's deliveries in a sliding window by the shop's clock
and, past a limit, answers ok and drops the message as WeCom does (``FakeWeCom.dropped``;
``WeComShop.stop`` fails a test that had one dropped)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import col, select
from starlette.applications import Starlette

from bot.intake import EXAMPLE, PATH, IntakeEndpoint, routes
from bot.services import Services
from bot.settings import Settings
from bot.wecom import inbound
from bot.wecom.request import WeComRequest
from jobs import outbox as outbox_job
from models.db import Database
from models.outbox import OutboxMessage
from models.staff import Role, Staff
from models.wecom import HANDLING_LEASE, WeComInbound, WeComSend, member_wait
from tests.conftest import START
from tests.fakewecom import start_server, stop_server
from tests.wecom_shop import CORP_ID, WeComPerson, WeComShop

KEY = "s3cret-intake-key-0123456789"


@pytest.fixture
async def shop(db: Database, settings: Settings) -> AsyncIterator[WeComShop]:
    shop = WeComShop(db, settings.model_copy(update={"default_locale": "en"}), START)
    await shop.start()
    yield shop
    await shop.stop()
    assert shop.errors == [], f"handlers raised: {shop.errors!r}"


def texts(shop: WeComShop, person: WeComPerson) -> list[str]:
    return [b["text"]["content"] for b in shop.fake.sent(person.userid)
            if b["msgtype"] == "text"]


async def drain(shop: WeComShop) -> int:
    """One run of the outbox job, with what the WeCom transport kept written first."""
    assert shop.request is not None
    await shop.request.store.close()
    return await outbox_job.run(shop.services, shop.now())


async def waiting(shop: WeComShop) -> int:
    assert shop.request is not None
    await shop.request.store.close()
    async with shop.db.session() as session:
        return len((await session.exec(select(OutboxMessage))).all())


def within_limits(shop: WeComShop, person: WeComPerson) -> None:
    assert shop.fake.dropped == []
    assert shop.fake.most_within(person.userid, 60) <= 30
    assert shop.fake.most_within(person.userid, 3600) <= 1000


# --- the limits ----------------------------------------------------------------------------


def test_both_limits_count_with_a_margin() -> None:
    now = START
    assert member_wait([now - timedelta(seconds=10)] * 27, now) == timedelta(0)
    # the 29th within a minute waits until the oldest of the 28 newest leaves the minute
    minute = [now - timedelta(seconds=s) for s in range(10, 38)]
    assert member_wait(minute, now) == timedelta(seconds=23)
    # 950 within the hour but none in the last minute: the hour holds it back
    hour = [now - timedelta(minutes=59) + timedelta(seconds=3 * n) for n in range(950)]
    assert hour[-1] < now - timedelta(minutes=1)
    assert member_wait(hour, now) == timedelta(minutes=1)
    assert member_wait(hour[1:], now) == timedelta(0)


async def test_31_messages_in_a_minute_none_lost_none_over_the_limit(shop: WeComShop) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    other = await shop.hire("Wang Tech", Role.technician)
    for n in range(40):
        await shop.app.bot.send_message(tech.user_id, f"message {n}")
    await shop.app.bot.send_message(other.user_id, "not held up")
    assert len(texts(shop, tech)) == 28 and texts(shop, other) == ["not held up"]
    assert shop.sleeps == []  # nobody waited for the minute: the rest is in the outbox
    assert await waiting(shop) == 12
    assert await drain(shop) == 0
    shop.advance(seconds=30)
    assert await drain(shop) == 0  # still the same minute
    shop.advance(seconds=31)
    assert await drain(shop) == 12
    assert texts(shop, tech) == [f"message {n}" for n in range(40)]  # all, in order
    assert await waiting(shop) == 0
    within_limits(shop, tech)


async def test_a_send_counts_from_when_it_completed(shop: WeComShop) -> None:
    """The first message takes 5 s to reach WeCom: the minute counts from then, so one more
    message 60.5 s after it was started waits (WeCom's minute is not over)."""
    tech = await shop.hire("Zhang Tech", Role.technician)
    latency = deque([5.0])
    shop.fake.before_delivery = lambda: shop.advance(seconds=latency.popleft()) \
        if latency else None
    for n in range(28):
        await shop.app.bot.send_message(tech.user_id, f"message {n}")
    shop.advance(seconds=55.5)  # 60.5 s after the first was started, 55.5 s after it arrived
    await shop.app.bot.send_message(tech.user_id, "one more")
    assert len(texts(shop, tech)) == 28
    shop.advance(seconds=5)
    assert await drain(shop) == 1
    assert texts(shop, tech)[-1] == "one more"
    within_limits(shop, tech)


async def test_the_hour_limit_holds_messages_for_the_outbox(shop: WeComShop) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    async with shop.db.session() as session:  # 950 messages in the last hour, spread out
        session.add_all(WeComSend(key=f"k{n}", userid=tech.userid,
                                  sent_at=shop.now() - timedelta(minutes=58, seconds=-3 * n))
                        for n in range(950))
        await session.commit()
    await shop.app.bot.send_message(tech.user_id, "over the hour")
    assert texts(shop, tech) == [] and await waiting(shop) == 1
    shop.advance(minutes=2)
    assert await drain(shop) == 1
    assert texts(shop, tech) == ["over the hour"]
    within_limits(shop, tech)


async def test_a_restart_or_another_worker_does_not_reset_the_pacing(shop: WeComShop) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    for n in range(28):
        await shop.app.bot.send_message(tech.user_id, f"message {n}")
    await shop.restart()  # a new Application on the same database, in the same minute
    await shop.app.bot.send_message(tech.user_id, "after the restart")
    assert len(texts(shop, tech)) == 28 and await waiting(shop) == 1
    # A second worker on the same database counts the same sends.
    second = WeComRequest(shop.settings, shop.db, shop.clock)
    assert await second.member_busy(tech.userid)
    shop.advance(seconds=61)
    assert not await second.member_busy(tech.userid)
    assert await drain(shop) == 1
    assert texts(shop, tech)[-1] == "after the restart"
    within_limits(shop, tech)
    # Sends no limit counts any more are forgotten.
    shop.advance(hours=1)
    await shop.app.bot.send_message(tech.user_id, "an hour later")
    assert shop.request is not None
    await shop.request.shutdown()  # writes the last send (and forgets the old ones)
    async with shop.db.session() as session:
        rows = (await session.exec(select(WeComSend).where(
            col(WeComSend.userid) == tech.userid))).all()
    assert len(rows) == 1


# --- a burst of DMS orders -----------------------------------------------------------------


async def with_code(shop: WeComShop, person: WeComPerson, code: str) -> None:
    async with shop.db.session() as session:
        staff = await session.get(Staff, person.staff_id)
        assert staff is not None
        staff.code = code
        await session.commit()


@pytest.fixture
async def small_pool_shop(db: Database, settings: Settings) -> AsyncIterator[WeComShop]:
    """A shop whose database has five connections and gives up waiting for one after 10 s
    (the default pool would only hide a session held across sends for longer)."""
    small = Database(db.url, pool_size=5, max_overflow=0, pool_timeout=10)
    shop = WeComShop(small, settings.model_copy(update={"default_locale": "en"}), START)
    await shop.start()
    yield shop
    await shop.stop()
    await small.dispose()
    assert shop.errors == [], f"handlers raised: {shop.errors!r}"


async def test_twenty_orders_at_once_for_one_technician(small_pool_shop: WeComShop) -> None:
    shop = small_pool_shop
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await with_code(shop, advisor, str(EXAMPLE["advisor_code"]))
    await with_code(shop, tech, str(EXAMPLE["technician_code"]))
    services = Services(settings=shop.settings.model_copy(update={"intake_api_key": KEY}),
                        db=shop.db, clock=shop.clock, messenger=shop.services.messenger)
    endpoint = IntakeEndpoint(services)
    server, task, port = await start_server(Starlette(routes=routes(services, endpoint)))
    numbers = [f"RO26120600{n:02d}" for n in range(20)]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                     timeout=30) as client:
            async def post(number: str) -> tuple[int, float]:
                began = time.monotonic()
                response = await client.post(PATH, json={**EXAMPLE, "order_number": number},
                                             headers={"Authorization": f"Bearer {KEY}"})
                return response.status_code, time.monotonic() - began

            answers = await asyncio.gather(*(post(number) for number in numbers))
    finally:
        await stop_server(server, task)
    assert [status for status, _ in answers] == [201] * 20
    assert max(seconds for _, seconds in answers) < 10, answers  # no wait on the sends
    await endpoint.idle()
    for _ in range(5):  # the outbox sends the rest as the technician's minutes open
        shop.advance(seconds=61)
        await drain(shop)
    assert await waiting(shop) == 0
    for number in numbers:
        assert sum(f"Work order {number}" in text for text in tech.inbox) == 1, number
        assert sum(f"Work order {number} came in" in text for text in advisor.inbox) == 1
    within_limits(shop, tech)


# --- callbacks answered 200 are handled, once ------------------------------------------------


async def handled_rows(shop: WeComShop) -> list[WeComInbound]:
    async with shop.db.session() as session:
        return list((await session.exec(select(WeComInbound))).all())


async def test_a_callback_whose_handling_fails_after_the_200_is_handled_later_once(
    shop: WeComShop, monkeypatch: pytest.MonkeyPatch,
) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    real = inbound.start_handling
    failures = deque([PoolTimeout("QueuePool limit of size 5 overflow 10 reached")])

    async def pool_gone(*args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.popleft()
        return await real(*args, **kwargs)

    monkeypatch.setattr(inbound, "start_handling", pool_gone)
    assert await tech.send("/help") == []  # WeCom got its 200; the handling failed
    [row] = await handled_rows(shop)
    assert row.handled_at is None and row.fields and row.fields["Content"] == "/help"
    assert await shop.dispatcher.retry() == 0  # maybe still on its way: not yet
    shop.advance(seconds=31)
    assert await shop.dispatcher.retry() == 1
    await shop.dispatcher.idle()
    assert len(tech.inbox) == 1  # the answer to /help
    assert await shop.dispatcher.retry() == 0
    shop.advance(minutes=5)
    assert await shop.dispatcher.retry() == 0
    await shop.restart()  # and a restarted process does not handle it again
    shop.advance(minutes=5)
    assert await shop.dispatcher.retry() == 0
    assert len(tech.inbox) == 1


async def test_a_worker_that_fails_while_on_a_callback_leaves_it_for_after_its_lease(
    shop: WeComShop, monkeypatch: pytest.MonkeyPatch,
) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    real = inbound.remember_user
    failures = deque([PoolTimeout("QueuePool limit of size 5 overflow 10 reached")])

    async def pool_gone(*args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.popleft()
        return await real(*args, **kwargs)

    monkeypatch.setattr(inbound, "remember_user", pool_gone)
    assert await tech.send("/help") == []
    shop.advance(seconds=31)
    assert await shop.dispatcher.retry() == 0  # taken by a worker: its lease runs
    shop.advance(seconds=HANDLING_LEASE.total_seconds())
    await shop.restart()  # the retry at start of another process
    assert await shop.dispatcher.retry() == 1
    await shop.dispatcher.idle()
    assert len(tech.inbox) == 1
    [row] = await handled_rows(shop)
    assert row.handled_at is not None


async def test_a_callback_that_cannot_be_recorded_is_not_acknowledged(
    shop: WeComShop, monkeypatch: pytest.MonkeyPatch,
) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    real = inbound.take_in

    async def pool_gone(*args: Any, **kwargs: Any) -> bool:
        raise PoolTimeout("QueuePool limit of size 5 overflow 10 reached")

    monkeypatch.setattr(inbound, "take_in", pool_gone)
    query, body = shop.envelope({
        "ToUserName": CORP_ID, "FromUserName": tech.userid, "MsgType": "text",
        "Content": "/help", "MsgId": 990001, "CreateTime": int(shop.now().timestamp())})
    response = await shop.post(query, body)
    assert response.status_code == 503  # WeCom sends it again
    assert await handled_rows(shop) == [] and tech.inbox == []
    monkeypatch.setattr(inbound, "take_in", real)
    assert (await shop.post(query, body)).status_code == 200  # WeCom's second try
    assert (await shop.post(query, body)).status_code == 200  # a third: dropped
    assert len(tech.inbox) == 1
