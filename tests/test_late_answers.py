"""Telegram answering late: the message was delivered, and the bot must not send it a second
time from the outbox. Only a send that really failed is sent again (once). Over real HTTP to a
Bot API on 127.0.0.1 that answers ``sendMessage`` after 6 s (python-telegram-bot's own read
timeout is 5 s)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

import jobs.outbox
from bot.application import build_application
from bot.clock import FrozenClock
from bot.messenger import Messenger
from bot.services import Services
from bot.settings import Settings
from models.db import Database
from models.outbox import OutboxMessage
from models.staff import Role, Staff, add_staff, bind_account
from tests.conftest import START
from tests.test_run import TOKEN, FakeTelegram

CHAT = 6001


async def services_for(db: Database, settings: Settings, telegram: FakeTelegram
                       ) -> tuple[Services, Any, Staff]:
    settings = settings.model_copy(update={"telegram_api_base_url": telegram.base_url,
                                           "telegram_bot_token": TOKEN})
    clock = FrozenClock(START)
    services = Services(settings=settings, db=db, clock=clock,
                        messenger=Messenger(settings, clock))
    app = build_application(services, rate_limiter=False, run_jobs=False)
    await app.initialize()
    async with db.session() as session:
        staff, _ = await add_staff(session, name="Liu Advisor", roles={Role.advisor},
                                   now=START, invite_ttl=timedelta(days=7))
        await bind_account(session, staff, channel="telegram", user_key=str(CHAT),
                           chat_id=CHAT, now=START)
        await session.commit()
    return services, app, staff


async def send(services: Services, staff: Staff, text: str) -> int:
    async with services.db.session() as session:
        return await services.messenger.send(session, staff, lambda _: (text, None))


async def kept(db: Database) -> list[OutboxMessage]:
    async with db.session() as session:
        return list((await session.exec(select(OutboxMessage))).all())


async def test_a_late_answer_is_waited_for_not_sent_again(
    db: Database, settings: Settings, telegram: FakeTelegram,
) -> None:
    services, app, staff = await services_for(db, settings, telegram)
    try:
        telegram.slow["sendMessage"] = 6.0
        assert await send(services, staff, "Fault on WO-1") == 1
        await services.messenger.flush()
        assert await kept(db) == []
        assert await jobs.outbox.run(services, services.clock.now()) == 0
        assert telegram.sent_to(CHAT) == ["Fault on WO-1"]
    finally:
        await app.shutdown()


async def test_a_send_that_really_failed_goes_once_more(
    db: Database, settings: Settings, telegram: FakeTelegram,
) -> None:
    services, app, staff = await services_for(db, settings, telegram)
    try:
        telegram.gateway_errors["sendMessage"] = 1
        assert await send(services, staff, "Fault on WO-2") == 1  # kept: it will arrive
        await services.messenger.flush()
        assert len(await kept(db)) == 1
        services.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
        assert await jobs.outbox.run(services, services.clock.now()) == 1
        assert telegram.sent_to(CHAT) == ["Fault on WO-2"]
    finally:
        await app.shutdown()
