"""Benchmark: many follow-up reminders due at once, drained at the platform's pace, with printed
figures (issue 14, sending).

    python bench/sending.py [--reminders 2000] [--clerks 100]
                            [--layout random|blocks|interleaved] [--wecom]
                            [--check-seconds 60] [--max-drain 900] [--probe-every 5]
                            [--database-url URL]

Fills a fresh database (a temporary SQLite file unless ``--database-url`` names an empty
PostgreSQL or SQLite database; the migrations run first) with ``--reminders`` due maintenance
calls (``tests.worker_processes.seed``) spread over ``--clerks`` tracking clerks, each in a chat
of their own, plus one technician. The job takes due reminders in id order; ``--layout random``
(default) gives each customer a clerk at random (fixed seed), as in a real book; ``blocks``
gives each clerk a consecutive run of customers (the job meets each clerk's reminders one after
another: the worst case for a per-chat limit); ``interleaved`` deals them out round-robin (the
best case).

Then one real ``workshop-bot run`` process (``tests.worker_processes.Workers``, production job
cadence ``FOLLOWUP_CHECK_SECONDS`` = ``--check-seconds`` and claim lease 300 s) drains them:

- on Telegram (default) into a Bot API on 127.0.0.1 that enforces Telegram's limits
  (``bench.limited_botapi``: 30 messages/s per bot, 1 message/s per chat, 429 with
  ``retry_after`` beyond);
- with ``--wecom``, on a WeCom-only bot, into the fake WeCom API (``tests.fakewecom``), which
  enforces WeCom's 30 messages per member per minute (and 1,000 per hour) as WeCom does: past
  them a message is answered ok and dropped.

While it drains, the technician sends ``/help`` every ``--probe-every`` seconds (one at a time;
on WeCom a signed callback to the bot's HTTP server) and the time to the bot's answer is taken.

Printed: the parameters; time to drain (first reminder card to last one arriving), messages/s
delivered (reminder cards over that time) and the longest pause between two cards (the
scheduler waiting for the next run after a page); 429 answers (per chat / per bot) — on WeCom,
messages dropped and messages the bot kept in its outbox for later; reminders lost (never
arrived within ``--max-drain`` seconds of the first) and duplicated (arrived more than once);
the technician's reply latency (p50 / max). The default of 2,000 reminders (not the issue's
10,000) keeps a Telegram run at today's pace under about 6 minutes.

It is a measurement, not a test: nothing asserts a timing. The machine is shared: figures are
noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from itertools import count, pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import update
from sqlmodel import col, select

from bench.limited_botapi import LimitedTelegram
from bench.workers import empty
from bot import migrate
from bot.clock import Clock
from bot.wecom.crypto import WeComCrypto
from models.customer import Customer
from models.db import Database, id_of
from models.staff import ChatAccount, Role, Staff, encode_roles
from models.wecom import wecom_chat_id
from tests.fakewecom import FakeWeCom, fake_wecom_in_thread
from tests.test_wecom_run import free_port
from tests.wecom_shop import AGENT_ID, CORP_ID, SECRET, TOKEN, envelope, new_aes_key
from tests.worker_processes import CLERK_CHAT, Workers, reminded, seed

TECH_CHAT = 6001
TECH_USERID = "tech-wang"
CARD = re.compile(r"\[FU-(\d+)\]")


def account(channel: str, n: int | None) -> tuple[str, int]:
    """(user_key, chat_id) of clerk ``n`` (None: the technician) on ``channel``."""
    if channel == "wecom":
        key = TECH_USERID if n is None else f"clerk-{n}"
        return key, wecom_chat_id(key)
    chat = TECH_CHAT if n is None else CLERK_CHAT + n
    return str(chat), chat


async def spread(db: Database, clerks: int, layout: str, channel: str) -> int:
    """Give the seeded customers to ``clerks`` clerks (the seed's one first), each with an
    account on ``channel``, and add a technician; the most customers one clerk got."""
    now = Clock().now()
    async with db.session() as session:
        first = (await session.exec(select(Staff))).one()
        staff = [first]
        for n in range(1, clerks):
            clerk = Staff(name=f"Clerk {n}", roles=encode_roles({Role.tracking_clerk}),
                          locale="en", created_at=now)
            session.add(clerk)
            staff.append(clerk)
        technician = Staff(name="Tech Wang", roles=encode_roles({Role.technician}), locale="en",
                           created_at=now)
        session.add(technician)
        await session.flush()
        seeded = (await session.exec(select(ChatAccount))).one()
        seeded.channel, (seeded.user_key, seeded.chat_id) = channel, account(channel, 0)
        people: list[tuple[int | None, Staff]] = [*enumerate(staff), (None, technician)]
        for number, person in people:
            if number != 0:
                key, chat = account(channel, number)
                session.add(ChatAccount(staff_id=id_of(person), channel=channel, user_key=key,
                                        chat_id=chat, bound_at=now))
        customers = list((await session.exec(
            select(Customer.id).order_by(col(Customer.id)))).all())
        owner: dict[int, list[int]] = {}
        chance = random.Random(7)
        for n, customer_id in enumerate(customers):
            index = (n * clerks // len(customers) if layout == "blocks" else
                     n % clerks if layout == "interleaved" else chance.randrange(clerks))
            owner.setdefault(id_of(staff[index]), []).append(customer_id)  # type: ignore[arg-type]
        for clerk_id, ids in owner.items():
            await session.exec(update(Customer).where(col(Customer.id).in_(ids))
                               .values(clerk_id=clerk_id))
        await session.commit()
    return max(len(ids) for ids in owner.values())


@dataclass
class Cards:
    counts: Counter[int] = field(default_factory=Counter)  # follow-up id -> cards arrived
    first: list[float] = field(default_factory=list)  # when each follow-up's first arrived

    def add(self, text: str, at: float) -> None:
        match = CARD.search(text)
        if match:
            followup = int(match.group(1))
            self.counts[followup] += 1
            if self.counts[followup] == 1:
                self.first.append(at)


class Probe:
    """The technician's /help, one at a time: sent when, answered when."""

    def __init__(self, send: Callable[[], Awaitable[int]],
                 answered: Callable[[int], float | None]) -> None:
        self.send = send
        self.answered = answered  # what send gave -> when it was answered
        self.latencies: list[float] = []
        self.unanswered = 0
        self._pending: tuple[int, float] | None = None
        self._last = float("-inf")

    async def tick(self, every: float) -> None:
        now = time.perf_counter()
        if self._pending is None:
            if now - self._last >= every:
                self._last = now
                self._pending = (await self.send(), now)
            return
        token, sent = self._pending
        at = self.answered(token)
        if at is not None:
            self.latencies.append(at - sent)
            self._pending = None
        elif now - sent > 60:
            self.unanswered += 1
            self._pending = None


@dataclass
class Channel:
    """How a run reads the platform: the reminder cards so far, the probe, what was refused."""

    cards: Callable[[], Cards]
    probe: Probe
    refusals: Callable[[], str]


def telegram_channel(telegram: LimitedTelegram, workers: Workers) -> Channel:
    def cards() -> Cards:
        seen = Cards()
        for message in telegram.delivered_since(0):
            if message.method == "sendMessage":
                seen.add(message.text, message.at)
        return seen

    async def send() -> int:
        seen = len(telegram.delivered_since(0))
        telegram.send_text(TECH_CHAT, "/help")
        return seen

    def answered(seen: int) -> float | None:
        return next((m.at for m in telegram.delivered_since(seen) if m.chat_id == TECH_CHAT),
                    None)

    def refusals() -> str:
        refused = telegram.refusals()
        why = Counter(r.why for r in refused)
        tech = sum(1 for r in refused if r.chat_id == TECH_CHAT)
        kept = workers.output().count("kept for later")
        return (f"429 answered:         {len(refused)} (per chat {why['chat']}, per bot "
                f"{why['bot']}; to the technician {tech}); kept in the outbox by the bot: "
                f"{kept}")

    return Channel(cards, Probe(send, answered), refusals)


def wecom_channel(fake: FakeWeCom, base: str, aes_key: str, workers: Workers) -> Channel:
    crypto = WeComCrypto(TOKEN, aes_key, CORP_ID)
    message_ids = count(1)
    fake.now = time.perf_counter  # the clock its per-member limits count by, and ours

    def cards() -> Cards:
        seen = Cards()
        dropped = {id(body) for body in fake.dropped}
        bodies = [r.body for r in list(fake.records)
                  if r.path == "message/send" and r.ok and id(r.body) not in dropped]
        times = sorted(at for userid, ats in list(fake.delivered.items())
                       if userid != TECH_USERID for at in ats)
        for body in bodies:
            if body.get("touser") != TECH_USERID:
                seen.add(json.dumps(body, ensure_ascii=False), 0.0)
        seen.first = times[:len(seen.first)]  # which card came when is not recorded: in order
        return seen

    async def send() -> int:
        before = len(fake.delivered[TECH_USERID])
        now = int(time.time())
        query, body = envelope(crypto, {
            "ToUserName": CORP_ID, "FromUserName": TECH_USERID, "CreateTime": now,
            "MsgType": "text", "Content": "/help", "MsgId": next(message_ids),
            "AgentID": AGENT_ID}, timestamp=now)
        async with httpx.AsyncClient() as client:
            await client.post(base + "/wecom/callback", params=query, content=body)
        return before

    def answered(before: int) -> float | None:
        times = fake.delivered[TECH_USERID]
        return times[before] if len(times) > before else None

    def refusals() -> str:
        kept = workers.output().count("kept for later")
        return (f"dropped by WeCom:     {len(fake.dropped)} (over 30/min per member); kept in "
                f"the outbox by the bot: {kept}")

    return Channel(cards, Probe(send, answered), refusals)


def summary(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (f"p50 {statistics.median(values) * 1000:,.0f} ms, "
            f"max {max(values) * 1000:,.0f} ms (n={len(values)})")


async def drain(db: Database, channel: Channel, workers: Workers, reminders: int,
                most: int, args: argparse.Namespace) -> None:
    workers.start()
    deadline = time.perf_counter() + 120 + args.check_seconds
    while not channel.cards().first:
        if time.perf_counter() > deadline or workers.processes[0].poll() is not None:
            raise SystemExit("no reminder arrived:\n" + workers.output())
        await asyncio.sleep(0.1)
    started = channel.cards().first[0]
    timed_out = False
    while len(channel.cards().counts) < reminders:
        if time.perf_counter() - started > args.max_drain:
            timed_out = True
            break
        await channel.probe.tick(args.probe_every)
        await asyncio.sleep(0.05)
    await asyncio.sleep(3)  # late duplicates (a kept message sent again by the outbox)
    marked = await reminded(db)
    cards = channel.cards()
    first = cards.first
    took = first[-1] - started if len(first) > 1 else 0.0
    gaps = [(b - a, n + 1) for n, (a, b) in enumerate(pairwise(first))]
    pause, after = max(gaps) if gaps else (0.0, 0)
    # The floor the limits set: the whole at 30/s, the busiest clerk's cards at 1/s (Telegram);
    # the busiest clerk's at 30 a minute (WeCom).
    if args.wecom:
        ideal = f"floor {(-(-most // 30) - 1) * 60:,} s: {most} cards for the busiest clerk"
    else:
        ideal = (f"floor {max(reminders / 30, most - 1):,.1f} s: {reminders:,} at 30/s, "
                 f"{most} at 1/s for the busiest clerk")
    print(f"time to drain:        {took:,.1f} s ({ideal})"
          + (f" — gave up after {args.max_drain:.0f} s" if timed_out else ""))
    print(f"messages/s delivered: {len(first) / took if took else 0.0:,.1f}; longest pause "
          f"between two cards {pause:,.1f} s (after card {after:,})")
    print(channel.refusals())
    missing = reminders - len(cards.counts)
    print((f"not yet delivered:    {missing} (when it gave up: not lost, still due)"
           if timed_out else f"reminders lost:       {missing}")
          + f"; marked reminded in the database: {marked:,}")
    print(f"duplicated:           {sum(n - 1 for n in cards.counts.values())}")
    print(f"technician /help:     {summary(channel.probe.latencies)}; "
          f"unanswered {channel.probe.unanswered}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=2000)
    parser.add_argument("--clerks", type=int, default=100)
    parser.add_argument("--layout", choices=("random", "blocks", "interleaved"),
                        default="random")
    parser.add_argument("--wecom", action="store_true",
                        help="a WeCom-only bot against the fake WeCom API")
    parser.add_argument("--check-seconds", type=int, default=60,
                        help="FOLLOWUP_CHECK_SECONDS of the bot (production default 60)")
    parser.add_argument("--max-drain", type=float, default=900,
                        help="give up this many seconds after the first card arrived")
    parser.add_argument("--probe-every", type=float, default=5)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    if args.clerks < 1 or args.reminders < args.clerks:
        raise SystemExit("need at least one clerk and one reminder per clerk")

    folder = Path(tempfile.mkdtemp(prefix="bench-sending-"))
    db = Database(args.database_url or f"sqlite:///{folder / 'sending.db'}")
    await migrate.upgrade(db)
    await empty(db)
    await seed(db, args.reminders)
    most = await spread(db, args.clerks, args.layout, "wecom" if args.wecom else "telegram")
    limits = ("WeCom: 30/min and 1,000/h per member" if args.wecom else
              "Telegram: 30 msg/s per bot, 1 msg/s per chat")
    print(f"database: {db.engine.dialect.name}; {args.reminders:,} reminders due at once for "
          f"{args.clerks} clerks ({args.layout}); 1 process, FOLLOWUP_CHECK_SECONDS="
          f"{args.check_seconds}; limits {limits}", flush=True)

    telegram = LimitedTelegram()
    workers = Workers(db.url, telegram, folder)
    workers.env.update({"FOLLOWUP_CHECK_SECONDS": str(args.check_seconds),
                        "CLAIM_LEASE_SECONDS": "300",
                        "TELEGRAM_CHAT_INTERVAL_SECONDS": "1"})  # Telegram's, the default
    try:
        if args.wecom:
            with fake_wecom_in_thread(CORP_ID, SECRET) as fake:
                port, aes_key = free_port(), new_aes_key()
                for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL"):
                    workers.env.pop(name, None)
                workers.env.update({
                    "WECOM_CORP_ID": CORP_ID, "WECOM_AGENT_ID": str(AGENT_ID),
                    "WECOM_SECRET": SECRET, "WECOM_TOKEN": TOKEN, "WECOM_AES_KEY": aes_key,
                    "WECOM_API_BASE": fake.base_url, "HTTP_PORT": str(port)})
                channel = wecom_channel(fake, f"http://127.0.0.1:{port}", aes_key, workers)
                try:
                    await drain(db, channel, workers, args.reminders, most, args)
                finally:
                    workers.stop()
        else:
            telegram.thread.start()
            try:
                await drain(db, telegram_channel(telegram, workers), workers, args.reminders, most,
                            args)
            finally:
                workers.stop()
                telegram.server.shutdown()
    finally:
        telegram.server.server_close()
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
