"""Fixtures: a migrated database (SQLite, and PostgreSQL when ``TEST_DATABASE_URL`` says so),
and a ``Shop``: the real Application behind a fake Bot API, with people who chat with it."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

import models  # noqa: F401
from bot import migrate
from bot.settings import Settings
from models.db import Database
from tests.button_words import ButtonWords
from tests.shop import Shop


def _database_of_this_worker(url: str) -> str:
    """Under pytest-xdist each worker gets a PostgreSQL database of its own (``test_gw0`` …),
    made on the server of ``TEST_DATABASE_URL``; the URL is set back into the environment so
    every test module reads the worker's own."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not url.startswith("postgres") or not worker:
        return url
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database or 'test'}_{worker}"

    async def create() -> None:
        import asyncpg

        connection = await asyncpg.connect(
            host=base.host, port=base.port or 5432, user=base.username,
            password=base.password, database=base.database)
        try:
            if not await connection.fetchval(
                    "SELECT 1 FROM pg_database WHERE datname = $1", name):
                await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())
    worker_url = base.set(database=name).render_as_string(hide_password=False)
    os.environ["TEST_DATABASE_URL"] = worker_url
    return worker_url


PG_URL = _database_of_this_worker(os.environ.get("TEST_DATABASE_URL", ""))
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL.startswith("postgres") else [])
START = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


def _run_aside(coroutine: Any) -> None:
    """Run set-up on its own loop in a thread (a test's loop may already be running)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def build() -> None:
        db = Database(f"sqlite:///{path}")
        await migrate.upgrade(db)
        async with db.engine.connect() as connection:
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        await db.dispose()

    _run_aside(build())
    return path


@pytest.fixture(scope="session")
def pg_migrated() -> str:
    async def build() -> None:
        db = Database(PG_URL)
        async with db.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await migrate.upgrade(db)
        await db.dispose()

    _run_aside(build())
    return PG_URL


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "workshop.db"
        shutil.copy(template, path)
        database = Database(f"sqlite:///{path}")
    else:
        url = request.getfixturevalue("pg_migrated")
        database = Database(url)
        tables = ", ".join(
            f'"{t.name}"' for t in SQLModel.metadata.sorted_tables
        )
        async with database.engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield database
    await database.dispose()


@pytest.fixture
def settings() -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token="123456:TEST-TOKEN",
        telegram_api_base_url="http://127.0.0.1:1/bot",
        database_url="sqlite://",
        timezone="Asia/Shanghai",
        default_locale="zh_CN",
    )


# The WeCom channel drives the same scenarios (tests/wecom_shop.py). A test, or a whole module
# with ``pytestmark = pytest.mark.both_channels``, opts in; everything else stays on Telegram.
# TEST_ALL_CHANNELS=1 runs every test that uses ``shop`` on both (to see what WeCom lacks).
CHANNELS = ["telegram", "wecom"]
ALL_CHANNELS = os.environ.get("TEST_ALL_CHANNELS", "") == "1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_channels: run this test's shop on Telegram and on WeCom")
    config.addinivalue_line(
        "markers", "telegram_only: keep this test on Telegram in a both_channels module")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marked = ALL_CHANNELS or metafunc.definition.get_closest_marker("both_channels")
    if (marked and "shop_channel" in metafunc.fixturenames
            and not metafunc.definition.get_closest_marker("telegram_only")):
        metafunc.parametrize("shop_channel", CHANNELS, indirect=True)


@pytest.fixture
def shop_channel(request: pytest.FixtureRequest) -> str:
    """The channel the ``shop`` fixture talks on: telegram unless the test opted in."""
    return str(getattr(request, "param", "telegram"))


@pytest.fixture
async def shop(db: Database, settings: Settings, shop_channel: str) -> AsyncIterator[Shop]:
    if shop_channel == "wecom":
        from tests.wecom_shop import WeComShop

        shop: Any = WeComShop(db, settings, START, paced=False)
    else:
        shop = Shop(db, settings, START)
    await shop.start()
    # A prompt that names a button comes with it (tests/button_words.py).
    words = shop.button_words = ButtonWords(shop)
    words.install()
    yield shop
    words.check()
    await shop.stop()
    assert shop.errors == [], f"handlers raised: {shop.errors!r}"
    assert words.problems == [], "wording names a button that is not there:\n" + "\n".join(
        words.problems)


@pytest.fixture
def telegram() -> Iterator[Any]:
    """A Bot API on 127.0.0.1 over real HTTP (``tests/test_run.FakeTelegram``), for the bot
    started as a process or with python-telegram-bot's own HTTP client."""
    from tests.test_run import FakeTelegram

    fake = FakeTelegram()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
