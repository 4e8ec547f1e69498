"""Benchmark: the W5 extra-item round trip beside a bare python-telegram-bot echo, with printed
figures and the database work of every step.

    python bench/approval.py [--database-url URL] [--rounds 31] [--trips 10] [--echo 1000]
                             [--extras-per-order 5] [--statements]

Two ``Application`` objects in one process, each over its own ``tests.fakebotapi.FakeBotApi``
(the in-process fake Bot API the tests use):

(a) a bare python-telegram-bot ``Application`` with one ``MessageHandler`` that echoes text;
(b) the bot itself, built as the tests build it (``tests.shop.Shop``: ``build_application``,
    persistence in the database, no rate limiter), doing the whole W5 extra-item round trip:
    the technician taps "request an extra item", sends the description and the reason, skips
    the photos and sends the estimate (``tests.test_extra_item.ask_for_extra``); the advisor
    taps Approve, then answers how the customer consented (phone). Seven updates.

Each round runs ``--echo`` updates through (a), then ``--trips`` round trips through (b); the
first round is a warm-up and is not counted. Orders in progress for (b) are opened through
chat between the timed updates (``tests.flows.order_in_progress``), one per
``--extras-per-order`` round trips. The database is a temporary SQLite file unless
``--database-url`` names one (e.g. ``postgresql://postgres@127.0.0.1:5432/bench``): the
migrations run first, then every table of the bot is emptied.

Printed: updates/s of (a) and (b) (updates over the time spent in them, from the update's
JSON to ``process_update``'s return), the ratio (b)/(a) (and its range over the rounds),
p50/p99 ms per update, then per step of the round trip p50/p99 ms and the SQL statements,
commits and sessions (pool checkouts) it costs, counted with SQLAlchemy's engine events on
the bot's engine (``bench/sqlcount.py``) and split by who paid: the access gate
(``handlers/staff/access.py``), the other handlers that run before the areas' handlers
(update log id, commit watch, settled decision steps), the step's own handler, and the
conversation persistence written after every update (``bot/application.py``,
``bot/persistence.py``). ``--statements`` also prints the SQL of the last round trip.

It is a measurement, not a test: nothing asserts a timing. The machine is shared and small:
compare figures from one run, not across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlmodel import col, func, select  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import Application, ContextTypes, MessageHandler, TypeHandler, filters  # noqa: E402

from bench.sqlcount import KINDS, SqlCount  # noqa: E402
from bench.workers import empty  # noqa: E402
from bot import migrate  # noqa: E402
from bot.application import PERSIST_GROUP  # noqa: E402
from bot.settings import Settings  # noqa: E402
from handlers.staff import access  # noqa: E402
from models.db import Database  # noqa: E402
from models.extra_item import ExtraItemRequest  # noqa: E402
from models.staff import Role  # noqa: E402
from tests.conftest import START  # noqa: E402
from tests.fakebotapi import FakeBotApi  # noqa: E402
from tests.flows import order_in_progress  # noqa: E402
from tests.shop import Person, Shop  # noqa: E402
from tests.test_extra_item import ask_for_extra  # noqa: E402

STEPS = ("tech: tap extra item", "tech: description", "tech: reason", "tech: skip photos",
         "tech: estimate", "advisor: Approve", "advisor: consent")
PHASES = ("gate", "before", "handler", "persistence")
PHASE_NOTES = {
    "gate": "access gate (handlers/staff/access.py:identify)",
    "before": "other early groups (bot/logs, bot/errors.watch, handlers/chat/deciding)",
    "handler": "the step's handlers (conversations, buttons)",
    "persistence": "persistence (bot/application.py:_save_conversations → "
                   "bot/persistence.py:DatabasePersistence._save)",
}
TOKEN = "123456:TEST-TOKEN"
_update_ids = itertools.count(1)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None,
                        help="a database of the bench's own: its tables are emptied "
                             "(default: a temporary SQLite file)")
    parser.add_argument("--rounds", type=int, default=31,
                        help="rounds of (a) then (b); the first is a warm-up")
    parser.add_argument("--trips", type=int, default=10, help="W5 round trips per round")
    parser.add_argument("--echo", type=int, default=1000, help="echo updates per round")
    parser.add_argument("--extras-per-order", type=int, default=5,
                        help="round trips on one order before a new one is opened")
    parser.add_argument("--statements", action="store_true",
                        help="print the SQL of the last round trip, step by step")
    args = parser.parse_args(argv)
    if args.rounds < 2 or args.trips < 1 or args.echo < 1 or args.extras_per_order < 1:
        parser.error("--rounds must be at least 2; --trips, --echo and --extras-per-order "
                     "at least 1")
    return args


def settings() -> Settings:
    """What tests/conftest.py's ``settings`` fixture gives."""
    return Settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        telegram_api_base_url="http://127.0.0.1:1/bot",
        database_url="sqlite://",
        timezone="Asia/Shanghai",
        default_locale="zh_CN",
    )


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class Timed:
    """Times each update from its JSON to ``process_update``'s return while ``timing``."""

    def __init__(self) -> None:
        self.timing = False
        self.seconds: list[float] = []

    async def timed(self, work: Awaitable[None]) -> None:
        if not self.timing:
            await work
            return
        start = time.perf_counter()
        await work
        self.seconds.append(time.perf_counter() - start)


class EchoShop(Timed):
    """(a): a bare ``Application`` with one echo handler, over its own fake Bot API; people
    talk to it through ``tests.shop.Person`` as they do to the bot."""

    def __init__(self) -> None:
        super().__init__()
        self.api = FakeBotApi()
        self.app: Any = None

    async def start(self) -> None:
        async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
            message = update.effective_message
            assert message is not None and message.text is not None
            await message.reply_text(message.text)

        self.app = (Application.builder().token(TOKEN).request(self.api)
                    .get_updates_request(self.api).build())
        self.app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
        await self.app.initialize()

    async def stop(self) -> None:
        await self.app.shutdown()

    async def _process(self, data: dict[str, Any]) -> None:
        update = Update.de_json({"update_id": next(_update_ids), **data}, self.app.bot)
        await self.app.process_update(update)

    async def process(self, data: dict[str, Any]) -> None:
        await self.timed(self._process(data))


class BenchShop(Timed, Shop):
    """(b): the test shop, with every update timed and its database work counted by phase."""

    def __init__(self, db: Database) -> None:
        Timed.__init__(self)
        Shop.__init__(self, db, settings(), START)
        self.count = SqlCount(db.engine)
        self.step_counts: list[Counter[tuple[str, str]]] = []

    async def start(self) -> None:
        await super().start()
        for group, handlers in self.app.handlers.items():
            if group >= 0 and group != PERSIST_GROUP:
                continue
            phase = ("gate" if group == access.GROUP else
                     "persistence" if group == PERSIST_GROUP else "before")
            for handler in handlers:
                if isinstance(handler, TypeHandler):
                    handler.callback = self._in_phase(phase, handler.callback)

    def _in_phase(self, phase: str, callback: Callable[[Any, Any], Coroutine[Any, Any, Any]]
                  ) -> Callable[[Any, Any], Coroutine[Any, Any, Any]]:
        count = self.count

        async def wrapped(update: Any, context: Any) -> Any:
            count.phase = phase
            try:
                return await callback(update, context)
            finally:
                count.phase = "handler"

        return wrapped

    async def process(self, data: dict[str, Any]) -> None:
        self.count.take()  # whatever ran between updates (none expected) is not the step's
        self.count.texts = []
        self.count.phase = "handler"
        await self.timed(super().process(data))
        self.count.phase = "outside"
        if self.timing:
            self.step_counts.append(self.count.take())
            if self.count.keep_text:
                print(f"-- {STEPS[(len(self.step_counts) - 1) % len(STEPS)]}")
                for phase, text, where in self.count.texts:
                    print(f"   [{phase}] {' '.join(text.split())[:90]}\n      from {where}")
                self.count.texts = []


async def round_trip(shop: BenchShop, advisor: Person, tech: Person, order_id: int) -> None:
    await ask_for_extra(tech, order_id)
    await advisor.tap("Approve")
    await advisor.tap("phone")


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-approval-") as folder:
        await measure(args, args.database_url or f"sqlite:///{Path(folder) / 'approval.db'}")


async def measure(args: argparse.Namespace, url: str) -> None:
    db = Database(url)
    await migrate.upgrade(db)
    await empty(db)
    echo = EchoShop()
    await echo.start()
    shop = BenchShop(db)
    await shop.start()
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    typist = Person(echo, 4001, "Typist", None, None)  # type: ignore[arg-type]

    kind = "temporary file" if args.database_url is None else "--database-url"
    print(f"database: {db.engine.dialect.name} ({kind}); {args.rounds} rounds of "
          f"{args.echo} echo updates (a) then {args.trips} W5 round trips of {len(STEPS)} "
          f"updates (b); round 1 is a warm-up", flush=True)
    began = time.perf_counter()
    order_id, on_order, trips_done = 0, args.extras_per_order, 0
    ratios: list[float] = []
    echo_seconds: list[float] = []
    bot_seconds: list[float] = []
    step_seconds: list[list[float]] = [[] for _ in STEPS]
    step_counts: list[list[Counter[tuple[str, str]]]] = [[] for _ in STEPS]
    for round_number in range(args.rounds):
        counted = round_number > 0
        echo.seconds, echo.timing = [], True
        for i in range(args.echo):
            await typist.send(f"echo {i}")
        echo.timing = False
        shop.seconds, shop.step_counts = [], []
        for _ in range(args.trips):
            if on_order >= args.extras_per_order:  # a fresh order, not timed
                order_id, on_order = await order_in_progress(shop, advisor, tech), 0
            shop.timing = True
            await round_trip(shop, advisor, tech, order_id)
            shop.timing = False
            on_order += 1
            trips_done += 1
            if shop.errors:
                raise SystemExit(f"the bot's handlers raised: {shop.errors!r}")
        if len(shop.seconds) != args.trips * len(STEPS):
            raise SystemExit(f"expected {len(STEPS)} updates per round trip, timed "
                             f"{len(shop.seconds)} for {args.trips}")
        if not counted:
            continue
        echo_seconds += echo.seconds
        bot_seconds += shop.seconds
        ratios.append((len(shop.seconds) / sum(shop.seconds))
                      / (len(echo.seconds) / sum(echo.seconds)))
        for i, (seconds, counts) in enumerate(zip(shop.seconds, shop.step_counts,
                                                  strict=True)):
            step_seconds[i % len(STEPS)].append(seconds)
            step_counts[i % len(STEPS)].append(counts)
    took = time.perf_counter() - began

    async with db.session() as session:
        approved = (await session.exec(select(func.count()).select_from(ExtraItemRequest).where(
            col(ExtraItemRequest.status) == "approved"))).one()
    if approved != trips_done:
        raise SystemExit(f"{trips_done} round trips but {approved} extra items approved")
    report(echo_seconds, bot_seconds, ratios, step_seconds, step_counts)
    print(f"\n{trips_done} round trips ({trips_done - args.trips} counted) and "
          f"{args.rounds * args.echo} echoes in {took:.0f} s, every extra item approved.")
    if args.statements:
        print("\nthe SQL of one more round trip, by step ([phase] statement):")
        shop.count.keep_text = shop.timing = True
        await round_trip(shop, advisor, tech, order_id)
    shop.count.remove()
    await shop.stop()
    await echo.stop()
    await db.dispose()


def report(echo_seconds: list[float], bot_seconds: list[float], ratios: list[float],
           step_seconds: list[list[float]],
           step_counts: list[list[Counter[tuple[str, str]]]]) -> None:
    def ms(values: Sequence[float], share: float) -> str:
        return f"{percentile(values, share) * 1000:8.2f}"

    echo_rate = len(echo_seconds) / sum(echo_seconds)
    bot_rate = len(bot_seconds) / sum(bot_seconds)
    print(f"\n{'':34}{'updates':>8}{'upd/s':>10}{'p50 ms':>8}{'p99 ms':>8}")
    for name, seconds, rate in (("(a) bare PTB echo", echo_seconds, echo_rate),
                                ("(b) W5 round trip", bot_seconds, bot_rate)):
        print(f"{name:34}{len(seconds):>8}{rate:>10.1f}{ms(seconds, .5)}{ms(seconds, .99)}")
    print(f"(b)/(a): {bot_rate / echo_rate:.2%} (rounds: {min(ratios):.2%}–{max(ratios):.2%}); "
          f"round trips/s: {bot_rate / len(STEPS):.1f}")

    def cell(counts: list[Counter[tuple[str, str]]], phase: str | None,
             per: int | None = None) -> str:
        """Statements/commits/sessions of ``phase`` (None: all) over ``per`` (default: each
        update of ``counts``)."""
        phases = PHASES if phase is None else (phase,)
        figures = [sum(c[(p, kind)] for c in counts for p in phases) / (per or len(counts))
                   for kind in KINDS]
        return "/".join(f"{f:.0f}" if f == int(f) else f"{f:.1f}" for f in figures)

    print("\nper step of (b): ms, and SQL statements/commits/sessions (mean per update)")
    print(f"{'step':24}{'p50 ms':>8}{'p99 ms':>8}{'total':>12}"
          + "".join(f"{p:>13}" for p in PHASES))
    all_counts = [c for counts in step_counts for c in counts]
    for name, seconds, counts in zip(STEPS, step_seconds, step_counts, strict=True):
        print(f"{name:24}{ms(seconds, .5)}{ms(seconds, .99)}{cell(counts, None):>12}"
              + "".join(f"{cell(counts, p):>13}" for p in PHASES))
    trips = len(step_counts[0])
    print(f"{'round trip (sum)':40}{cell(all_counts, None, trips):>12}"
          + "".join(f"{cell(all_counts, p, trips):>13}" for p in PHASES))
    print(f"{'per update (mean)':24}{ms(bot_seconds, .5)}{ms(bot_seconds, .99)}"
          f"{cell(all_counts, None):>12}" + "".join(f"{cell(all_counts, p):>13}" for p in PHASES))
    varying = sorted({name for name, counts in zip(STEPS, step_counts, strict=True)
                      for kind in KINDS
                      if len({sum(c[(p, kind)] for p in PHASES) for c in counts}) > 1})
    if varying:
        print(f"(counts vary between round trips in: {', '.join(varying)})")
    outside = sum(c[("outside", k)] for c in all_counts for k in KINDS)
    if outside:
        print(f"({outside} statements/commits/sessions fell outside any handler)")
    for phase in PHASES:
        print(f"  {phase:12} {PHASE_NOTES[phase]}")


def main(argv: Sequence[str] | None = None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
