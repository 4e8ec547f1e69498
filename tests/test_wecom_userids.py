"""WeCom userids are case-insensitive (found by probing: binding ``zhangsan`` for a member WeCom
calls ``ZhangSan`` made a stranger of them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.settings import Settings
from models.db import Database
from models.staff import Role, accounts_of, add_staff, bind_account, staff_for_account
from models.wecom import wecom_chat_id
from tests.conftest import START
from tests.wecom_shop import WeComShop


@pytest.fixture
async def shop(db: Database, settings: Settings) -> AsyncIterator[WeComShop]:
    shop = WeComShop(db, settings.model_copy(update={"default_locale": "en"}), START)
    await shop.start()
    yield shop
    await shop.stop()


async def test_a_member_is_found_whatever_case_wecom_writes_their_userid(
        shop: WeComShop) -> None:
    async with shop.db.session() as session:
        staff, _invite = await add_staff(session, name="Zhang Tech", roles={Role.technician},
                                         now=shop.now(), invite_ttl=timedelta(days=7))
        await bind_account(session, staff, channel="wecom", user_key="zhangsan",
                           chat_id=wecom_chat_id("zhangsan"), now=shop.now())
        await session.commit()
        assert await staff_for_account(session, "wecom", "ZHANGSAN") is not None
        assert await staff_for_account(session, "telegram", "ZHANGSAN") is None
    person = shop._person("ZhangSan", "Zhang Tech", staff.id, None)
    assert "no open work orders" in (await person.send("/orders"))[-1]
    # Binding again in another case replaces the binding, it does not add a second one.
    async with shop.db.session() as session:
        await bind_account(session, staff, channel="wecom", user_key="ZhangSan",
                           chat_id=wecom_chat_id("ZhangSan"), now=shop.now())
        await session.commit()
        assert len(await accounts_of(session, staff.id)) == 1  # type: ignore[arg-type]
