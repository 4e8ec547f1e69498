"""Several real ``workshop-bot run`` processes on one database (SQLite, and PostgreSQL when
``TEST_DATABASE_URL`` says so) send every due reminder exactly once, and a worker SIGKILLed in
the middle of the drain loses nothing and repeats at most one reminder per kill (the one it
was sending), taken over after its claim's lease. At CI size; ``bench/workers.py`` runs the
full size (10,000 reminders) and prints the figures kept in the README."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest

from models.db import Database
from tests.test_run import FakeTelegram
from tests.worker_processes import Workers, arrivals, reminded, seed

REMINDERS = 160
DEADLINE = 150.0


async def drained(db: Database, workers: Workers, count: int) -> None:
    deadline = time.monotonic() + DEADLINE
    while await reminded(db) < count:
        assert time.monotonic() < deadline, (
            f"{await reminded(db)} of {count} reminded\n{workers.output()}")
        await asyncio.sleep(0.5)


@pytest.mark.parametrize("processes", [2, 3])
async def test_several_workers_send_each_reminder_once(
    db: Database, telegram: FakeTelegram, tmp_path: Path, processes: int,
) -> None:
    ids = await seed(db, REMINDERS)
    workers = Workers(db.url, telegram, tmp_path)
    try:
        for _ in range(processes):
            workers.start()
        await drained(db, workers, len(ids))
        await asyncio.sleep(1.5)  # a late duplicate would arrive by now
    finally:
        workers.stop()
    arrived = arrivals(telegram)
    assert set(arrived) == set(ids), "missed: " + str(sorted(set(ids) - set(arrived))[:10])
    assert [n for n in arrived.values() if n > 1] == [], workers.output()
    assert "Traceback" not in workers.output(), workers.output()


async def test_a_worker_killed_mid_drain_loses_nothing(
    db: Database, telegram: FakeTelegram, tmp_path: Path,
) -> None:
    ids = await seed(db, REMINDERS * 3)
    workers = Workers(db.url, telegram, tmp_path)
    kills = 0
    chance = random.Random(12)
    try:
        steady = workers.start()
        victim = workers.start()
        deadline = time.monotonic() + DEADLINE
        while await reminded(db) == 0:  # both started and draining
            assert time.monotonic() < deadline, workers.output()
            await asyncio.sleep(0.2)
        for _ in range(10):
            await asyncio.sleep(chance.uniform(0.3, 1.2))
            if await reminded(db) >= len(ids):
                break
            workers.kill(victim)
            kills += 1
            victim = workers.start()
        assert workers.processes[steady].poll() is None
        await drained(db, workers, len(ids))
        await asyncio.sleep(1.5)
    finally:
        workers.stop()
    arrived = arrivals(telegram)
    assert kills >= 3, "the drain ended before the kills; make it longer"
    assert set(arrived) == set(ids), "missed: " + str(sorted(set(ids) - set(arrived))[:10])
    duplicates = sum(n - 1 for n in arrived.values())
    order = [int(t.split("[FU-", 1)[1].split("]", 1)[0])
             for t in telegram.sent_to(5001) if "[FU-" in t]
    twice = sorted(n for n, k in arrived.items() if k > 1)
    assert duplicates <= kills, (duplicates, kills, [
        (n, [i for i, m in enumerate(order) if m == n]) for n in twice[:40]])
