"""The access gate remembers who an account is for ``STAFF_CACHE_SECONDS`` (models.staff_cache):
a person who wrote a moment ago costs the gate no SQL, yet a change made in this process —
deactivated, roles, language, last channel, unreachable — counts from the very next update,
and one made behind the bot's back (another process: the CLI, another worker) once the entry
has expired."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, update
from sqlmodel import select
from telegram import Update
from telegram.ext import Application, TypeHandler

from bot import cli
from bot.application import build_application
from bot.settings import Settings
from handlers.staff import access
from models.db import Database
from models.staff import ChatAccount, Role, Staff, bind_account, lose_contact
from models.staff_cache import account_key
from tests.conftest import START
from tests.fakebotapi import FakeBotApi
from tests.shop import Shop
from tests.test_staff_admin import open_card
from tests.wecom_shop import WeComShop

DEACTIVATED = "Your access has been deactivated. Ask your service manager if this is a mistake."
TTL = 10.0  # the default STAFF_CACHE_SECONDS


class GateProbe:
    """The SQL statements the gate ran for each update it let through (counted on the engine
    between a handler just before the gate's group and one just after it), and the staff
    member each update was handed."""

    def __init__(self, db: Database, *apps: Application[Any, Any, Any, Any, Any, Any]
                 ) -> None:
        self.engine = db.engine.sync_engine
        self.statements = 0
        self._before = 0
        self.gate: list[int] = []
        self.staff: list[Staff] = []
        event.listen(self.engine, "before_cursor_execute", self._count)
        for app in apps:
            app.add_handler(TypeHandler(Update, self._enter), group=access.GROUP - 1)
            app.add_handler(TypeHandler(Update, self._leave), group=access.GROUP + 1)

    def _count(self, *_args: Any) -> None:
        self.statements += 1

    async def _enter(self, _update: Update, _context: Any) -> None:
        self._before = self.statements

    async def _leave(self, _update: Update, context: Any) -> None:
        self.gate.append(self.statements - self._before)
        self.staff.append(context.staff)

    def remove(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)

    @property
    def last(self) -> int:
        return self.gate[-1]


@pytest.fixture
async def probe(shop: Shop) -> AsyncIterator[GateProbe]:
    found = GateProbe(shop.db, shop.app)
    yield found
    found.remove()


async def row(shop: Shop | WeComShop, staff_id: int | None) -> Staff:
    async with shop.db.session() as session:
        staff = await session.get(Staff, staff_id)
        assert staff is not None
        return staff


async def accounts(shop: Shop | WeComShop, staff_id: int | None) -> list[ChatAccount]:
    async with shop.db.session() as session:
        return list((await session.exec(
            select(ChatAccount).where(ChatAccount.staff_id == staff_id))).all())


async def behind_the_bots_back(shop: Shop | WeComShop, table: Any, where: Any,
                               **values: Any) -> None:
    """Change a row as another process would: SQL on a connection, no session of this one."""
    async with shop.db.engine.begin() as connection:
        await connection.execute(update(table).where(where).values(**values))


async def test_a_second_update_within_the_ttl_asks_the_database_nothing(
    shop: Shop, probe: GateProbe
) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    await tech.send("/help")
    assert probe.last >= 1  # the first sight reads
    await tech.send("/help")
    await tech.send("hello")
    assert probe.gate[1:] == [0, 0]
    shop.advance(seconds=TTL - 1)
    await tech.send("/help")
    assert probe.last == 0
    shop.advance(seconds=1)  # the entry expired: read again, and remembered again
    await tech.send("/help")
    assert probe.last >= 1
    await tech.send("/help")
    assert probe.last == 0
    assert len(shop.services.staff_cache) == 1


async def test_each_update_gets_its_own_copy_of_the_staff_member(
    shop: Shop, probe: GateProbe
) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    await tech.send("/help")
    await tech.send("/help")
    first, second = probe.staff
    assert first is not second and probe.last == 0
    second.name = "Scribbled"  # a handler that changed its context.staff ...
    await tech.send("/help")
    assert probe.staff[-1].name == "Zhang Tech"  # ... changed nobody else's
    assert probe.staff[-1].id == tech.staff_id and probe.staff[-1].has(Role.technician)


async def test_a_cache_of_zero_seconds_reads_every_time(db: Database, settings: Settings
                                                        ) -> None:
    shop = Shop(db, settings.model_copy(update={"staff_cache_seconds": 0}), START)
    await shop.start()
    probe = GateProbe(db, shop.app)
    try:
        tech = await shop.hire("Zhang Tech", Role.technician)
        for _ in range(3):
            await tech.send("/help")
        assert all(n >= 1 for n in probe.gate) and len(probe.gate) == 3
        assert len(shop.services.staff_cache) == 0
    finally:
        probe.remove()
        await shop.stop()


async def test_deactivated_in_chat_takes_effect_on_the_next_update(
    shop: Shop, probe: GateProbe
) -> None:
    boss = await shop.hire("Boss", Role.admin)
    zhao = await shop.hire("Zhao Liu", Role.technician)
    await zhao.send("/help")
    await zhao.send("/help")
    assert probe.last == 0  # remembered
    await open_card(boss, "Zhao Liu")
    await boss.tap("⛔ Deactivate")
    await boss.tap("⛔ Yes, deactivate")
    assert await zhao.send("/orders") == [DEACTIVATED]
    assert await zhao.send("/orders") == [DEACTIVATED]  # an inactive person is not remembered
    await boss.tap("♻️ Reactivate")
    assert "no open work orders" in (await zhao.send("/orders"))[0]


async def run_cli(shop: Shop, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                  *argv: str) -> None:
    """The CLI's own code in this process (on its own loop and engine, as it runs)."""
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("DATABASE_URL", shop.db.url)
    assert await asyncio.to_thread(cli.main, list(argv)) == 0


async def test_the_cli_in_this_process_takes_effect_on_the_next_update(
    shop: Shop, probe: GateProbe, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    if not shop.db.url.startswith("sqlite"):
        pytest.skip("the CLI opens the database by its URL")
    tech = await shop.hire("Zhang Tech", Role.technician)
    await tech.send("/help")
    await tech.send("/help")
    assert probe.last == 0
    await run_cli(shop, monkeypatch, tmp_path, "staff", "set-roles", str(tech.staff_id),
                  "--role", "technician", "--role", "inspector")
    await tech.send("/help")
    assert probe.last >= 1 and probe.staff[-1].has(Role.inspector)
    await tech.send("/help")
    assert probe.last == 0
    await run_cli(shop, monkeypatch, tmp_path, "staff", "deactivate", str(tech.staff_id))
    assert await tech.send("/help") == [DEACTIVATED]


async def test_a_language_change_takes_effect_on_the_next_update(
    shop: Shop, probe: GateProbe
) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    await tech.send("/help")
    await tech.send("/lang")
    assert probe.last == 0
    await tech.tap("中文")
    replies = await tech.send("/help")
    assert probe.staff[-1].locale == "zh_CN"
    assert not replies[0].startswith("Hello")


async def test_a_change_behind_the_bots_back_counts_once_the_entry_expired(
    shop: Shop, probe: GateProbe
) -> None:
    """The CLI in another process, another worker: nothing tells this process; the entry's
    expiry bounds how long the gate goes on with what it read."""
    tech = await shop.hire("Zhang Tech", Role.technician)
    await tech.send("/help")
    await behind_the_bots_back(shop, Staff, Staff.id == tech.staff_id,
                               roles=",technician,inspector,")
    shop.advance(seconds=TTL - 1)
    await tech.send("/help")
    assert probe.last == 0 and not probe.staff[-1].has(Role.inspector)  # not yet
    shop.advance(seconds=1)
    await tech.send("/help")
    assert probe.staff[-1].has(Role.inspector)

    await behind_the_bots_back(shop, Staff, Staff.id == tech.staff_id,
                               active=False)
    await tech.send("/help")
    assert probe.last == 0  # still within the new entry's time
    shop.advance(seconds=TTL)
    assert await tech.send("/help") == [DEACTIVATED]


async def test_an_account_marked_unreachable_is_cleared_when_the_person_writes(
    shop: Shop, probe: GateProbe
) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    await tech.send("/help")
    await tech.send("/help")
    assert probe.last == 0
    # Blocked the bot: a message to them is refused and the messenger marks the account.
    shop.api.fail_chats.add(tech.user_id)
    async with shop.db.session() as session:
        staff = await session.get(Staff, tech.staff_id)
        assert staff is not None
        await shop.services.messenger.send(session, staff, lambda _: ("ping", None),
                                           now=shop.now())
        await session.commit()
    await shop.services.messenger.flush()
    assert [a.unreachable_since for a in await accounts(shop, tech.staff_id)] != [None]
    shop.api.fail_chats.discard(tech.user_id)  # unblocked, and writes
    await tech.send("/help")
    assert probe.last >= 1
    assert [a.unreachable_since for a in await accounts(shop, tech.staff_id)] == [None]
    await tech.send("/help")
    assert probe.last == 0

    # Marked through the model in this process (as bot/messenger.py does): cleared at once.
    async with shop.db.session() as session:
        assert await lose_contact(session, "telegram", tech.user_id, now=shop.now())
        await session.commit()
    await tech.send("/help")
    assert [a.unreachable_since for a in await accounts(shop, tech.staff_id)] == [None]

    # Marked by another process: cleared by the first message after the entry expired.
    await behind_the_bots_back(shop, ChatAccount,
                               ChatAccount.staff_id == tech.staff_id,
                               unreachable_since=shop.now())
    shop.advance(seconds=TTL)
    await tech.send("/help")
    assert [a.unreachable_since for a in await accounts(shop, tech.staff_id)] == [None]


# --- both channels in one process: the last channel written on ----------------------------------

TELEGRAM_ID = 880101
_update_ids = itertools.count(700000)


@pytest.fixture
async def both(db: Database, settings: Settings) -> AsyncIterator[WeComShop]:
    """The WeCom shop with a Telegram application on the same services, as ``run`` has."""
    shop = WeComShop(db, settings.model_copy(update={"default_locale": "en"}), START)
    await shop.start()
    telegram = build_application(shop.services, request=FakeBotApi(),
                                 rate_limiter=False, run_jobs=False,
                                 token=settings.telegram_bot_token)
    await telegram.initialize()
    shop.telegram = telegram  # type: ignore[attr-defined]
    yield shop
    await telegram.shutdown()
    await shop.stop()
    assert shop.errors == []


async def on_telegram(shop: WeComShop, text: str) -> None:
    app: Any = shop.telegram  # type: ignore[attr-defined]
    user = {"id": TELEGRAM_ID, "is_bot": False, "first_name": "Liu", "language_code": "en"}
    message = {"message_id": next(_update_ids), "date": int(time.time()), "text": text,
               "chat": {"id": TELEGRAM_ID, "type": "private", "first_name": "Liu"},
               "from": user, "entities": [{"type": "bot_command", "offset": 0,
                                           "length": len(text.split()[0])}]}
    await app.process_update(Update.de_json(
        {"update_id": next(_update_ids), "message": message}, app.bot))


async def test_the_last_channel_follows_the_person_across_channels(both: WeComShop) -> None:
    shop = both
    probe = GateProbe(shop.db, shop.app, shop.telegram)  # type: ignore[attr-defined]
    try:
        person = await shop.hire("Liu Advisor", Role.advisor)
        async with shop.db.session() as session:
            staff = await session.get(Staff, person.staff_id)
            assert staff is not None
            await bind_account(session, staff, channel="telegram", user_key=str(TELEGRAM_ID),
                               chat_id=TELEGRAM_ID, now=shop.now())
            await session.commit()
        await person.send("/help")
        assert (await row(shop, person.staff_id)).last_channel == "wecom"
        await person.send("/help")
        assert probe.last == 0
        await on_telegram(shop, "/help")  # the cached WeCom entry must not hide this
        assert probe.last >= 1
        assert (await row(shop, person.staff_id)).last_channel == "telegram"
        await on_telegram(shop, "/help")
        assert probe.last == 0
        await person.send("/help")  # back on WeCom, within the WeCom entry's old time
        assert probe.last >= 1
        assert (await row(shop, person.staff_id)).last_channel == "wecom"
        assert probe.staff[-1].last_channel == "wecom"
    finally:
        probe.remove()


def test_a_wecom_userid_is_one_key_whatever_its_case() -> None:
    """WeCom userids compare case-insensitively (models.staff._same_key); so does the cache."""
    assert account_key("wecom", "ZhangSan") == account_key("wecom", "zhangsan")
    assert account_key("telegram", "12") != account_key("wecom", "12")


async def test_a_person_never_seen_is_not_remembered(shop: Shop, probe: GateProbe) -> None:
    stranger = shop.stranger()
    for _ in range(2):
        replies = await stranger.send("/help")
        assert replies and "invite code" in replies[0]
    assert len(shop.services.staff_cache) == 0
    unbound = await shop.hire("Not Yet", Role.technician, bind=False)
    await unbound.send(f"/start {unbound.invite_code}")
    await unbound.send("/help")
    assert probe.staff[-1] is not None and probe.staff[-1].id == unbound.staff_id
