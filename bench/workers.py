"""Benchmark: several real ``workshop-bot run`` processes draining due reminders, with printed
figures (the full size of ``tests/test_worker_processes.py``).

    python bench/workers.py [--reminders 10000] [--processes 1 2 3] [--kills 10]
                            [--database-url URL]

Fills a fresh database (a temporary SQLite file unless ``--database-url`` names an empty
PostgreSQL or SQLite database; the migrations run first) with ``--reminders`` due maintenance
calls for one clerk, starts the processes against a Bot API on 127.0.0.1 that counts what
arrives (one process is the baseline), and prints for each run: how long the drain took,
reminders per second, how many arrived twice and how many never arrived. With ``--kills N``
one more run SIGKILLs one of two processes N times in the middle of the drain (and starts it
again each time). The job runs every second and claims last ``CLAIM_LEASE_SECONDS`` = 15 s,
as in the test.

Between runs the database is emptied and filled again. It is a measurement, not a test:
nothing asserts a timing (the counts of duplicates and misses are what the test asserts).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from sqlmodel import SQLModel

from bot import migrate
from models.db import Database
from tests.test_run import FakeTelegram
from tests.worker_processes import Workers, arrivals, reminded, seed


async def empty(db: Database) -> None:
    tables = [t.name for t in SQLModel.metadata.sorted_tables]
    async with db.engine.begin() as connection:
        if db.engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t}"' for t in tables)
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                await connection.execute(text(f'DELETE FROM "{table}"'))


async def one_run(db: Database, folder: Path, count: int, processes: int, kills: int,
                  seed_random: int = 7) -> dict[str, float]:
    await empty(db)
    ids = await seed(db, count)
    telegram = FakeTelegram()
    telegram.thread.start()
    workers = Workers(db.url, telegram, folder)
    chance = random.Random(seed_random)
    killed = 0
    try:
        for _ in range(processes):
            workers.start()
        deadline = time.monotonic() + 120
        while await reminded(db) == 0:  # every process started and draining
            if time.monotonic() > deadline:
                raise SystemExit("nothing was reminded in 2 minutes:\n" + workers.output())
            await asyncio.sleep(0.1)
        started = time.monotonic()
        victim = len(workers.processes) - 1
        while await reminded(db) < count:
            if killed < kills:
                await asyncio.sleep(chance.uniform(0.5, 3.0))
                if await reminded(db) >= count:
                    break
                workers.kill(victim)
                killed += 1
                victim = workers.start()
            else:
                await asyncio.sleep(0.2)
        took = time.monotonic() - started
        await asyncio.sleep(2)
    finally:
        workers.stop()
        telegram.server.shutdown()
        telegram.server.server_close()
    arrived = arrivals(telegram)
    return {"took": took, "per_second": count / took if took else 0.0, "kills": killed,
            "duplicates": sum(n - 1 for n in arrived.values()),
            "missed": len(set(ids) - set(arrived))}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    url = args.database_url or f"sqlite:///{folder / 'workers.db'}"
    db = Database(url)
    await migrate.upgrade(db)
    print(f"database: {db.engine.dialect.name}; {args.reminders:,} reminders due for one clerk")
    print(f"{'run':<28}{'drain s':>9}{'per s':>8}{'kills':>7}{'twice':>7}{'missed':>8}")
    runs = [(f"{n} processes", n, 0) for n in args.processes]
    if args.kills:
        runs.append(("2 processes, SIGKILLs", 2, args.kills))
    for name, processes, kills in runs:
        figures = await one_run(db, folder, args.reminders, processes, kills)
        print(f"{name:<28}{figures['took']:>9.1f}{figures['per_second']:>8.1f}"
              f"{figures['kills']:>7.0f}{figures['duplicates']:>7.0f}{figures['missed']:>8.0f}",
              flush=True)
    await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
