"""``bot.messenger`` with both channels in one process: every bound channel, or the preferred."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import select

from bot.application import build_application
from bot.settings import Settings
from models.db import Database
from models.staff import Role, Staff, bind_account
from tests.conftest import START
from tests.fakebotapi import FakeBotApi
from tests.wecom_shop import WeComPerson, WeComShop


@pytest.fixture
async def shop(db: Database, settings: Settings) -> AsyncIterator[WeComShop]:
    """The WeCom shop with a Telegram application on the same services, as ``run`` has."""
    shop = WeComShop(db, settings.model_copy(update={"default_locale": "en"}), START)
    await shop.start()
    shop.telegram_api = FakeBotApi()  # type: ignore[attr-defined]
    telegram = build_application(shop.services, request=shop.telegram_api,
                                 rate_limiter=False, run_jobs=False,
                                 token=settings.telegram_bot_token)
    await telegram.initialize()
    yield shop
    await telegram.shutdown()
    await shop.stop()
    assert shop.errors == []


async def on_both(shop: WeComShop) -> tuple[WeComPerson, int]:
    person = await shop.hire("Liu Advisor", Role.advisor)
    telegram_id = 880001
    async with shop.db.session() as session:
        staff = await session.get(Staff, person.staff_id)
        assert staff is not None
        await bind_account(session, staff, channel="telegram", user_key=str(telegram_id),
                           chat_id=telegram_id, now=shop.now())
        await session.commit()
    return person, telegram_id


async def notify(shop: WeComShop, person: WeComPerson, text: str) -> int:
    async with shop.db.session() as session:
        staff = (await session.exec(select(Staff).where(Staff.id == person.staff_id))).one()
        render: Any = lambda _: (text, None)  # noqa: E731
        return await shop.services.messenger.send(session, staff, render)


async def test_both_sends_to_every_bound_channel(shop: WeComShop) -> None:
    person, telegram_id = await on_both(shop)
    assert await notify(shop, person, "Fault on WO-1") == 2
    assert person.last.text == "Fault on WO-1"
    assert shop.telegram_api.texts_to(telegram_id) == ["Fault on WO-1"]  # type: ignore[attr-defined]


async def test_preferred_sends_where_the_person_wrote_last(shop: WeComShop) -> None:
    shop.services.messenger.settings = shop.settings.model_copy(
        update={"notify_channels": "preferred"})
    person, telegram_id = await on_both(shop)
    assert await notify(shop, person, "before writing") == 2  # nothing known yet: both
    await person.send("/help")  # writes on WeCom
    assert await notify(shop, person, "after writing on WeCom") == 1
    assert person.last.text == "after writing on WeCom"
    assert shop.telegram_api.texts_to(telegram_id) == ["before writing"]  # type: ignore[attr-defined]
