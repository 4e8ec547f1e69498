"""Benchmark: the outbox after a long refusal, with printed figures.

    python bench/outbox.py [--waiting 50000 --chats 2000] [--drain 2000] [--database-url URL]

A big campaign meets an afternoon of WeCom refusing (45009) or Telegram answering
``RetryAfter``: tens of thousands of messages wait in the outbox (``models.outbox``). This fills
a fresh database (a temporary SQLite file unless ``--database-url`` names an empty one) with
``--waiting`` kept messages spread over ``--chats`` chats (some not due yet, a few failed),
then measures and prints:

- ``models.outbox.due`` — the job's select of a page of 200, holding back every chat whose
  oldest message is not due — the median of 7 runs;
- the job (``jobs.outbox.run``) draining ``--drain`` messages: Telegram notifications through
  python-telegram-bot to an in-process recording Bot API, and raw WeCom messages through
  ``WeComRequest`` over real HTTP to the fake WeCom API on 127.0.0.1 (per-member pacing off:
  the messages are spread over the chats); messages sent per second, each sent, then deleted;
- the process's peak memory (``ru_maxrss``).

It is a measurement, not a test: nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

import models  # noqa: E402, F401  (registers every table)
from bot import migrate  # noqa: E402
from bot.application import build_application, build_wecom_application  # noqa: E402
from bot.clock import FrozenClock  # noqa: E402
from bot.messenger import Messenger  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.wecom import request as wecom_request  # noqa: E402
from bot.wecom.request import WeComRequest  # noqa: E402
from jobs import outbox as outbox_job  # noqa: E402
from models import outbox  # noqa: E402
from models.db import Database  # noqa: E402
from models.wecom import WeComUser, wecom_chat_id  # noqa: E402
from tests.fakebotapi import FakeBotApi  # noqa: E402
from tests.fakewecom import FakeWeCom  # noqa: E402

NOW = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
CORP_ID, SECRET = "wwbench0000000000", "bench-secret"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waiting", type=int, default=50_000)
    parser.add_argument("--chats", type=int, default=2_000)
    parser.add_argument("--drain", type=int, default=2_000)
    parser.add_argument("--database-url", default=None)
    return parser.parse_args(argv)


def rows(count: int, chats: int) -> list[dict[str, Any]]:
    """Half Telegram notifications, half raw WeCom texts; one chat in ten not due yet; one
    message in a hundred failed for good."""
    out = []
    for n in range(count):
        chat = n % chats
        wecom = chat % 2 == 0
        created = NOW - timedelta(hours=3) + timedelta(seconds=n % 10_000)
        row = outbox.new_message(
            channel="wecom" if wecom else "telegram",
            chat_id=wecom_chat_id(f"member{chat}") if wecom else 900_000 + chat,
            kind="wecom" if wecom else "message", now=created, error="45009",
            payload={"userid": f"member{chat}", "msgtype": "text",
                     "content": {"content": f"第{n}条：回访提醒 WO-{n:06d}"}, "task_id": None}
            if wecom else {"text": f"Reminder {n}: call customer #{n}", "markup": None,
                           "card": None, "photos": []})
        if chat % 10 == 9:
            row.not_before = NOW + timedelta(minutes=20)
        if n % 100 == 99:
            row.failed_at = NOW - timedelta(minutes=5)
        out.append({c.name: getattr(row, c.name) for c in outbox.OutboxMessage.__table__.columns
                    if c.name != "id"})
    return out


async def bench(args: argparse.Namespace, url: str) -> None:
    db = Database(url)
    await migrate.upgrade(db)
    started = time.perf_counter()
    data = rows(args.waiting, args.chats)
    async with db.engine.begin() as connection:
        for start in range(0, len(data), 5_000):
            await connection.execute(insert(outbox.OutboxMessage), data[start:start + 5_000])
        await connection.execute(insert(WeComUser), [
            {"chat_id": wecom_chat_id(f"member{c}"), "userid": f"member{c}", "seen_at": NOW}
            for c in range(0, args.chats, 2)])
    del data
    async with db.session() as session:
        waiting, failed = await outbox.counts(session)
    print(f"filled in {time.perf_counter() - started:.1f} s: {waiting:,} waiting, "
          f"{failed:,} failed, over {args.chats:,} chats")

    timings = []
    for _ in range(7):
        async with db.session() as session:
            begin = time.perf_counter()
            page = await outbox.due(session, NOW)
            timings.append(time.perf_counter() - begin)
    print(f"outbox.due (a page of 200, chats not due held back): {len(page)} rows in "
          f"{statistics.median(timings) * 1000:.1f} ms (median of 7)")

    fake = FakeWeCom(CORP_ID, SECRET)
    await fake.start()
    settings = Settings(_env_file=None, telegram_bot_token="1:bench", database_url=url,
                        wecom_corp_id=CORP_ID, wecom_agent_id=1000002, wecom_secret=SECRET,
                        wecom_token="benchToken",
                        wecom_aes_key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
                        wecom_api_base=fake.base_url)
    clock = FrozenClock(NOW)
    services = Services(settings=settings, db=db, clock=clock, messenger=Messenger(settings, clock))
    telegram = build_application(services, request=FakeBotApi(), rate_limiter=False,
                                 run_jobs=False)
    wecom_request.MEMBER_LIMITS = ()  # spread over many members: no member is paced
    request = WeComRequest(settings, db, clock)
    wecom = build_wecom_application(services, request=request, rate_limiter=False)
    await telegram.initialize()
    await wecom.initialize()
    begin = time.perf_counter()
    sent = await outbox_job.run(services, NOW, limit=args.drain, budget=3600)
    elapsed = time.perf_counter() - begin
    print(f"jobs.outbox.run drained {sent:,} messages in {elapsed:.2f} s = "
          f"{sent / elapsed:.0f} per second (Telegram in-process, WeCom over HTTP)")
    await wecom.shutdown()
    await telegram.shutdown()
    await fake.stop()
    await db.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (ru_maxrss): {peak:.0f} MiB")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.database_url:
        asyncio.run(bench(args, args.database_url))
        return 0
    with tempfile.TemporaryDirectory(prefix="workshop-bench-") as folder:
        asyncio.run(bench(args, f"sqlite:///{folder}/bench.db"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
