"""Keeping the bot running: ``/readyz``, ``workshop-bot doctor``, ``backup`` and ``restore``,
and the daily backup — against the fake Bot API and the fake WeCom API over real HTTP."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from bot import cli, migrate, ops_cli, plate_reader
from bot.clock import Clock, FrozenClock
from bot.http import build_http_app
from bot.messenger import Messenger
from bot.services import Services
from bot.settings import Settings
from jobs import backups as daily_backups
from models.db import Database
from models.staff import Role, Staff
from models.work_order import WorkOrder
from tests.conftest import START
from tests.fakewecom import FakeWeCom, fake_wecom_in_thread, start_server, stop_server
from tests.flows import open_order
from tests.shop import Shop
from tests.test_run import TOKEN, FakeTelegram
from tests.wecom_shop import AGENT_ID, CORP_ID, SECRET, new_aes_key
from tests.wecom_shop import TOKEN as WECOM_TOKEN

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 20.0


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No ``.env`` and no channel settings from outside the test."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("TELEGRAM_", "WECOM_", "HTTP_", "BACKUP_", "DATABASE_URL")):
            monkeypatch.delenv(name)
    return tmp_path


@pytest.fixture
def migrated(sqlite_template: Path, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = clean_env / "workshop.db"
    shutil.copy(sqlite_template, path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    return path


@pytest.fixture
def wecom() -> Iterator[FakeWeCom]:
    with fake_wecom_in_thread(CORP_ID, SECRET) as fake:
        yield fake


def both_channels(monkeypatch: pytest.MonkeyPatch, telegram: FakeTelegram,
                  wecom: FakeWeCom) -> None:
    values = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": telegram.base_url,
              "WECOM_CORP_ID": CORP_ID, "WECOM_AGENT_ID": str(AGENT_ID), "WECOM_SECRET": SECRET,
              "WECOM_TOKEN": WECOM_TOKEN, "WECOM_AES_KEY": new_aes_key(),
              "WECOM_API_BASE": wecom.base_url}
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def lines_of(output: str) -> dict[str, tuple[str, str]]:
    """doctor's lines by check name: (state, detail)."""
    checks = {}
    for line in output.strip().splitlines()[:-1]:
        state, name, detail = line.split(maxsplit=2)
        checks[name] = (state, detail)
    return checks


# --- /readyz ----------------------------------------------------------------------------------


async def test_readyz_says_what_is_not_ready(
    shop: Shop, settings: Settings, tmp_path: Path
) -> None:
    app = build_http_app(settings, db=shop.db, channels={"telegram": shop.app})
    server, task, port = await start_server(app)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            # initialised, not yet started: no update would be handled
            answer = await client.get("/readyz")
            assert answer.status_code == 503
            assert answer.json() == {"ready": False, "database": "ok",
                                     "schema": migrate.head_revision(),
                                     "channels": {"telegram": "not running"}}
            await shop.app.start()
            try:
                answer = await client.get("/readyz")
            finally:
                await shop.app.stop()
            assert answer.status_code == 200
            body = answer.json()
            assert body["ready"] is True and body["channels"] == {"telegram": "running"}
            assert body["database"] == "ok" and body["schema"] != "none"
    finally:
        await stop_server(server, task)

    empty = Database(f"sqlite:///{tmp_path / 'empty.db'}")  # no schema yet
    gone = Database("postgresql://nobody@127.0.0.1:1/none")  # nothing listens on port 1
    try:
        for db, expected in ((empty, {"database": "ok", "schema": "none"}),
                             (gone, {"database": "unreachable"})):
            server, task, port = await start_server(build_http_app(settings, db=db))
            try:
                async with httpx.AsyncClient() as client:
                    answer = await client.get(f"http://127.0.0.1:{port}/readyz")
            finally:
                await stop_server(server, task)
            assert answer.status_code == 503
            body = answer.json()
            assert body["ready"] is False and expected.items() <= body.items(), body
    finally:
        await empty.dispose()
        await gone.dispose()


# --- doctor -----------------------------------------------------------------------------------


def test_doctor_is_green_when_everything_answers(
    migrated: Path, telegram: FakeTelegram, wecom: FakeWeCom,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    both_channels(monkeypatch, telegram, wecom)
    assert cli.main(["doctor"]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    checks = lines_of(out)
    assert list(checks) == ["settings", "database", "schema", "telegram", "wecom", "timezone",
                            "font", "catalogs", "disk", "clock", "plate-ocr"]
    # The plate OCR is an extra: without it the line says so and nothing fails.
    assert checks.pop("plate-ocr")[0] == ("ok" if plate_reader.available() else "skip"), out
    assert {state for state, _ in checks.values()} == {"ok"}, out
    assert out.strip().splitlines()[-1] == "All checks passed."
    assert checks["telegram"][1] == "getMe: @workshop_fake_bot"
    assert "getMe" in telegram.methods() and wecom.calls("gettoken")
    assert checks["settings"][1].startswith("loaded; channels: WeCom (agent 1000002), Telegram")
    assert "draws Chinese" in checks["font"][1]
    assert checks["clock"][1].endswith("clock") and int(checks["clock"][1].split()[0]) <= 2

    monkeypatch.setattr(ops_cli, "LOW_DISK", 1 << 60)  # a warning alone is no failure
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert lines_of(out)["disk"][0] == "warn"
    assert out.strip().splitlines()[-1] == "All checks passed (1 warning(s): disk)."


def test_doctor_names_every_problem_on_its_line(
    clean_env: Path, telegram: FakeTelegram, wecom: FakeWeCom,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    sqlite3.connect(clean_env / "empty.db").close()  # a database with no schema
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{clean_env / 'empty.db'}")
    both_channels(monkeypatch, telegram, wecom)
    monkeypatch.setenv("WECOM_SECRET", "not-the-secret")
    telegram.rejected_tokens.add(TOKEN)
    hour_late = FrozenClock(Clock().now() - timedelta(hours=1))
    monkeypatch.setattr(ops_cli, "Clock", lambda: hour_late)

    assert cli.main(["doctor"]) == 1
    out = capsys.readouterr().out
    checks = lines_of(out)
    assert checks["database"][0] == "ok"
    assert checks["schema"] == ("FAIL", "the database has no schema yet; run `workshop-bot db "
                                        "upgrade` first")
    assert checks["telegram"] == ("FAIL", "the Bot API rejected TELEGRAM_BOT_TOKEN; check it "
                                          "with @BotFather")
    assert checks["wecom"] == ("FAIL", "gettoken refused WECOM_CORP_ID/WECOM_SECRET: 40001 "
                                       "invalid credential")
    state, detail = checks["clock"]
    assert state == "FAIL" and detail.startswith(("3599 s behind", "3600 s behind",
                                                  "3601 s behind")), detail
    assert out.strip().splitlines()[-1] == "4 problem(s): schema, telegram, wecom, clock"
    assert "Traceback" not in out and "not-the-secret" not in out


def test_doctor_when_nothing_answers(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:1/bot")
    assert cli.main(["doctor"]) == 1
    checks = lines_of(capsys.readouterr().out)
    assert checks["database"][0] == "FAIL" and "does not answer" in checks["database"][1]
    assert checks["schema"] == ("skip", "the database did not answer")
    assert checks["telegram"][0] == "FAIL" and checks["telegram"][1].startswith(
        "cannot reach the Bot API at http://127.0.0.1:1/bot")
    assert checks["wecom"][0] == "skip" and checks["clock"][0] == "skip"

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{clean_env / 'nowhere' / 'w.db'}")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    assert cli.main(["doctor"]) == 1
    checks = lines_of(capsys.readouterr().out)
    assert checks["settings"][0] == "FAIL" and checks["telegram"][0] == "skip"
    assert checks["database"][1] == (f"there is no database at {clean_env / 'nowhere' / 'w.db'}"
                                     "; run `workshop-bot db upgrade`")
    assert not (clean_env / "nowhere").exists()  # doctor makes nothing


# --- backup and restore -----------------------------------------------------------------------


async def orders_in(path: Path) -> list[int]:
    db = Database(f"sqlite:///{path}")
    try:
        async with db.session() as session:
            return [o.id for o in (await session.exec(
                select(WorkOrder).order_by(col(WorkOrder.id)))).all() if o.id is not None]
    finally:
        await db.dispose()


async def test_backup_while_messages_are_handled_then_restore(
    shop: Shop, clean_env: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not shop.db.url.startswith("sqlite"):
        pytest.skip("an online backup and a restore are SQLite's; PostgreSQL's are pg_dump's")
    monkeypatch.setenv("DATABASE_URL", shop.db.url)
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    done = asyncio.Event()
    taken: list[Path] = []
    opened: list[int] = []

    async def keep_opening_orders() -> None:
        while not done.is_set():
            opened.append(await open_order(shop, advisor, tech, plate=f"京A1234{len(opened)}"))

    async def back_up_meanwhile() -> None:
        try:  # copies one after another until four orders were opened meanwhile
            while len(opened) < 4:
                target = clean_env / f"during-{len(taken)}.db"
                assert await asyncio.to_thread(cli.main, ["backup", str(target)]) == 0
                taken.append(target)
        finally:
            done.set()

    await asyncio.gather(keep_opening_orders(), back_up_meanwhile())
    counts = [len(await orders_in(t)) for t in taken]
    assert counts[0] < counts[-1]  # the copies were taken while orders were being opened
    # Each copy taken meanwhile is one consistent moment: the orders opened up to then.
    for target in taken:
        orders = await orders_in(target)
        assert orders == opened[:len(orders)]
    assert await asyncio.to_thread(cli.main, ["backup", str(clean_env)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == len(taken) + 1 and all(line.startswith("Backed up ") for line in out)
    [final] = await asyncio.to_thread(lambda: list(clean_env.glob("workshop-*.db")))
    assert f"to {final} (" in out[-1]

    restored = clean_env / "restored" / "workshop.db"
    restored.parent.mkdir()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{restored}")
    assert await asyncio.to_thread(cli.main, ["restore", str(final)]) == 0
    assert capsys.readouterr().out.startswith(f"Restored {final} into {restored}")
    assert await orders_in(restored) == opened
    db = Database(f"sqlite:///{restored}")
    try:
        async with db.session() as session:
            names = {s.name for s in (await session.exec(select(Staff))).all()}
    finally:
        await db.dispose()
    assert names == {"Liu Advisor", "Zhang Tech"}


def test_backup_to_a_path_that_cannot_be_written(
    migrated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (migrated.parent / "a-file").write_text("not a folder")
    assert cli.main(["backup", str(migrated.parent / "a-file" / "backup.db")]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("workshop-bot: cannot write ") and "a-file" in line
    assert cli.main(["backup", str(migrated.parent / "missing" / "backup.db")]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "the folder" in line and "does not exist" in line
    assert not list(migrated.parent.glob(".*part"))  # nothing half-written left


def test_restore_refuses_a_file_that_is_no_database(
    migrated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = migrated.parent / "junk.db"
    junk.write_bytes(b"this is not SQLite" * 100)
    before = migrated.read_bytes()
    assert cli.main(["restore", str(junk)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "is not a SQLite database" in line
    assert migrated.read_bytes() == before


def test_postgresql_backup_needs_pg_dump(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://shop:s3cret@db.local:5432/workshop")
    monkeypatch.setenv("PATH", str(clean_env))  # no pg_dump on it
    assert cli.main(["backup", "out.dump"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == ("workshop-bot: pg_dump is not installed; run: PGPASSWORD=… pg_dump "
                    "--format=custom --no-owner --file=out.dump "
                    "--dbname=postgresql://shop@db.local:5432/workshop")
    assert cli.main(["restore", "out.dump"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "pg_restore" in line and "s3cret" not in line


def test_restore_onto_a_running_bot_is_refused(
    migrated: Path, telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    backup = migrated.parent / "backup.db"
    assert cli.main(["backup", str(backup)]) == 0
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": telegram.base_url,
           "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    log = migrated.parent / "bot.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=migrated.parent,
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + DEADLINE
        while "getUpdates" not in telegram.methods():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        capsys.readouterr()
        assert cli.main(["restore", str(backup)]) == 2
        [line] = capsys.readouterr().err.strip().splitlines()
        assert line == (f"workshop-bot: a bot is running on {migrated} (it holds "
                        f"{migrated}.lock); stop it first")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=DEADLINE) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=DEADLINE)
    assert cli.main(["restore", str(backup)]) == 0  # stopped: the restore goes ahead
    assert "Restored" in capsys.readouterr().out


# --- the daily backup -------------------------------------------------------------------------


async def test_the_daily_backup_runs_once_per_group_and_keeps_the_newest(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    if not db.url.startswith("sqlite"):
        pytest.skip("the files are SQLite copies; pg_dump is tested through the CLI")
    folder = tmp_path / "backups"
    daily = settings.model_copy(update={"database_url": db.url, "backup_dir": str(folder),
                                        "backup_keep": 2, "backup_time": "10:00"})
    shop = Shop(db, daily, START)  # Monday 09:00 in Shanghai
    await shop.start()
    try:
        assert shop.app.job_queue.get_jobs_by_name("backups:telegram")
        other: Any = Services(settings=daily, db=db, clock=shop.clock,
                              messenger=Messenger(daily, shop.clock))  # a second worker
        assert await daily_backups.run(shop.services, shop.now()) is None  # before 10:00
        shop.advance(hours=1, minutes=5)
        written = await daily_backups.run(other, shop.now())
        assert written == folder / "workshop-2026-11-30.db"
        assert await daily_backups.run(shop.services, shop.now()) is None  # the group's done
        assert await daily_backups.run(other, shop.now()) is None
        for _day in range(3):
            shop.advance(days=1)
            assert await daily_backups.run(shop.services, shop.now()) is not None
        assert sorted(p.name for p in folder.iterdir()) == [
            "workshop-2026-12-02.db", "workshop-2026-12-03.db"]
        assert await orders_in(folder / "workshop-2026-12-03.db") == []
    finally:
        await shop.stop()

    plain = Shop(db, settings.model_copy(update={"database_url": db.url}), START)
    await plain.start()
    try:
        assert not plain.app.job_queue.get_jobs_by_name("backups:telegram")  # off by default
    finally:
        await plain.stop()


def test_daily_backup_settings_are_checked(clean_env: Path) -> None:
    with pytest.raises(ValueError):
        Settings(_env_file=None, backup_time="3 am")  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        Settings(_env_file=None, backup_keep=0)  # type: ignore[call-arg]
    assert Settings(_env_file=None).backup_dir is None  # type: ignore[call-arg]

