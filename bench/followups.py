"""Benchmark: the follow-up schedule at the size of a big shop, with printed figures.

    python bench/followups.py [--customers 100000 --followups 1000000]
                              [--database-url URL] [--repeat 7]

Fills a fresh database (a temporary SQLite file unless ``--database-url`` names one; it must
be empty — the migrations run first) with customers, vehicles, visits, a year (2026) of
follow-ups and the calls, complaints and letters that closed them, in bulk inserts. Then it
measures and prints:

- the reminder job's select (``models.followup.due_reminders``) for the busiest minute of a
  working day in the middle of the year — 09:00, when most reminders fall due — both with the
  job's page size (500) and for every reminder due that minute; the median of ``--repeat`` runs;
- reminders prepared per second: what the job does per due follow-up before sending —
  ``models.talking_points.gather`` (customer, vehicle, visit, campaign, open complaints, the
  last call and its caller) and ``handlers.after_sales.cards.followup.reminder_card`` (the
  card's text and buttons, in English) — over the follow-ups due that minute (up to 2,000);
- ``models.report.period_report`` for one month and for the year;
- exporting the month's 跟踪记录表 (call log) as XLSX;
- the process's peak memory (``ru_maxrss``) while measuring; the filling runs in a child
  process (``--fill-only``), so its lists of rows do not count as the bot's memory.

It is a measurement, not a test: nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import models  # noqa: E402, F401  (registers every table)
from bot import migrate  # noqa: E402
from models.call_log import CallLog, Direction, Topic  # noqa: E402
from models.complaint import Complaint, ComplaintStatus  # noqa: E402
from models.customer import Customer, Vehicle, Visit, VisitKind  # noqa: E402
from models.db import Database  # noqa: E402
from models.followup import FollowUp, FollowUpKind, FollowUpStatus, due_reminders  # noqa: E402
from models.letter import Letter, LetterChannel, LetterKind  # noqa: E402
from models.report import month_period, period_report, year_period  # noqa: E402
from models.shop_time import ShopCalendar  # noqa: E402
from models.staff import Role, Staff, encode_roles  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
CALENDAR = ShopCalendar(TZ)
YEAR = 2026
CLERKS = 25
CHUNK = 10_000
# The day and minute measured: a Wednesday in the middle of the data, at opening time.
PROBE_DAY = date(YEAR, 7, 1)
T = TypeVar("T")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--followups", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None,
                        help="an empty database (default: a temporary SQLite file)")
    parser.add_argument("--repeat", type=int, default=7, help="runs per timing (median)")
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--fill-only", action="store_true",
                        help="only fill --database-url (the benchmark runs this in a child "
                             "process, so the filling's memory is not the bot's)")
    return parser.parse_args(argv)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return CALENDAR.at(day, datetime.min.time().replace(hour=hour, minute=minute))


async def insert_rows(db: Database, table: Any, rows: list[dict[str, Any]]) -> None:
    async with db.engine.begin() as connection:
        for start in range(0, len(rows), CHUNK):
            await connection.execute(insert(table), rows[start:start + CHUNK])


async def fill(db: Database, customers: int, followups: int, rng: random.Random
               ) -> dict[str, int]:
    """Bulk inserts; returns the row counts."""
    created = datetime(YEAR - 1, 12, 1, tzinfo=UTC)
    staff = [{"id": i, "name": f"Clerk {i:02d}", "roles": encode_roles({Role.tracking_clerk}),
              "active": True, "on_duty": True, "locale": "en", "created_at": created}
             for i in range(1, CLERKS + 1)]
    staff.append({"id": CLERKS + 1, "name": "Supervisor", "active": True, "on_duty": True,
                  "roles": encode_roles({Role.supervisor}), "locale": "en",
                  "created_at": created})
    await insert_rows(db, Staff.__table__, staff)

    year_start = CALENDAR.start_of_day(date(YEAR, 1, 1))
    models_ = ["Camry", "Corolla", "RAV4", "Highlander", "Sienna", "Levin"]
    customer_rows, vehicle_rows, visit_rows = [], [], []
    for i in range(1, customers + 1):
        visited = year_start + timedelta(minutes=rng.randrange(365 * 24 * 60))
        complete = rng.random() < 0.8
        customer_rows.append({
            "id": i, "name": f"Customer {i}", "address": f"{i} Road" if complete else None,
            "phones": f"139{i:08d}", "services_wanted": "Maintenance" if complete else None,
            "clerk_id": 1 + i % CLERKS, "created_at": visited, "updated_at": visited,
            "archive_completed_at": visited + timedelta(hours=20) if complete else None,
        })
        vehicle_rows.append({
            "id": i, "customer_id": i, "plate": f"京A{i:05d}"[:16], "model": rng.choice(models_),
            "vehicle_type": "sedan", "cycle_months": 6, "created_at": visited,
            "next_maintenance_on": (visited + timedelta(days=180)).date(),
        })
        visit_rows.append({
            "id": i, "customer_id": i, "vehicle_id": i, "kind": VisitKind.repair.value,
            "summary": "Change oil; Replace filter", "visited_at": visited,
            "clerk_id": 1 + i % CLERKS, "archive_due_at": visited + timedelta(days=2),
            "archive_completed_at": visited + timedelta(hours=20) if complete else None,
        })
    await insert_rows(db, Customer.__table__, customer_rows)
    await insert_rows(db, Vehicle.__table__, vehicle_rows)
    await insert_rows(db, Visit.__table__, visit_rows)
    del customer_rows, vehicle_rows, visit_rows

    probe = local(PROBE_DAY, 9)
    kinds = [FollowUpKind.first_call, FollowUpKind.second_call, FollowUpKind.maintenance,
             FollowUpKind.campaign]
    topics = ",".join([Topic.usage_opinion.value, Topic.new_needs.value])
    counts = {"followups": 0, "calls": 0, "complaints": 0, "letters": 0}
    followup_id = call_id = complaint_id = letter_id = 0
    for batch_start in range(0, followups, 100_000):
        batch = min(100_000, followups - batch_start)
        followup_rows, call_rows, complaint_rows, letter_rows = [], [], [], []
        for _ in range(batch):
            followup_id += 1
            customer = rng.randrange(1, customers + 1)
            day = date(YEAR, 1, 1) + timedelta(days=rng.randrange(365))
            due_from = CALENDAR.start_of_day(day)
            due_until = CALENDAR.end_of_day(day + timedelta(days=4))
            # Most reminders go out at opening time; snoozes and retries fall anywhere.
            remind_at = local(day, 9) if rng.random() < 0.8 else \
                local(day, 9 + rng.randrange(9), rng.randrange(60))
            row: dict[str, Any] = {
                "id": followup_id, "key": f"bench:{followup_id}",
                "kind": kinds[followup_id % len(kinds)].value, "customer_id": customer,
                "vehicle_id": customer, "visit_id": customer if followup_id % 4 < 2 else None,
                "status": FollowUpStatus.open.value, "due_from": due_from,
                "due_until": due_until, "remind_at": remind_at, "reminded_at": None,
                "reminded_staff_id": None, "attempts": 0, "done_at": None, "done_by": None,
                "created_at": due_from - timedelta(days=3), "complaint_id": None,
                "campaign_id": None, "overdue_notified_at": None, "wrong_number_at": None,
            }
            clerk = 1 + customer % CLERKS
            if remind_at < probe:  # the past: reminded, and mostly called
                row["reminded_at"], row["reminded_staff_id"] = remind_at, clerk
                outcome = rng.random()
                if outcome < 0.85:
                    late = outcome > 0.75
                    done_at = (due_until + timedelta(hours=rng.randrange(1, 72)) if late
                               else remind_at + timedelta(minutes=rng.randrange(1, 600)))
                    if done_at < probe:
                        row.update(status=FollowUpStatus.done.value, done_at=done_at,
                                   done_by=clerk)
                        call_id += 1
                        call_rows.append({
                            "id": call_id, "customer_id": customer, "followup_id": followup_id,
                            "clerk_id": clerk, "on_behalf_of": None,
                            "direction": Direction.outbound.value, "at": done_at,
                            "reached": True, "topics": topics,
                            "satisfaction": rng.randint(3, 5), "notes": "Bench call",
                            "request": None,
                        })
                        if rng.random() < 0.02:
                            complaint_id += 1
                            call_rows[-1]["request"] = "Noise from the front axle"
                            solved = done_at + timedelta(hours=rng.randrange(2, 96))
                            complaint_rows.append({
                                "id": complaint_id, "customer_id": customer,
                                "call_log_id": call_id, "clerk_id": clerk,
                                "text": "Noise from the front axle",
                                "status": ComplaintStatus.told.value, "opened_at": done_at,
                                "escalated_at": done_at + timedelta(days=2)
                                if solved > done_at + timedelta(days=2) else None,
                                "solution": "Bushing replaced", "solved_at": solved,
                                "solved_by": clerk, "told_at": solved + timedelta(hours=1),
                            })
                        if row["kind"] == FollowUpKind.campaign.value and rng.random() < 0.9:
                            letter_id += 1
                            letter_rows.append({
                                "id": letter_id, "customer_id": customer,
                                "kind": LetterKind.invitation.value, "followup_id": followup_id,
                                "clerk_id": clerk, "summary": "Autumn event",
                                "due_at": done_at + timedelta(days=2),
                                "sent_at": done_at + timedelta(days=1),
                                "channel": LetterChannel.post.value, "created_at": done_at,
                            })
                elif outcome < 0.9:
                    row["status"] = FollowUpStatus.cancelled.value
            followup_rows.append(row)
        await insert_rows(db, FollowUp.__table__, followup_rows)
        await insert_rows(db, CallLog.__table__, call_rows)
        await insert_rows(db, Complaint.__table__, complaint_rows)
        await insert_rows(db, Letter.__table__, letter_rows)
        counts["followups"] += len(followup_rows)
        counts["calls"] += len(call_rows)
        counts["complaints"] += len(complaint_rows)
        counts["letters"] += len(letter_rows)
    if db.engine.dialect.name == "postgresql":
        async with db.engine.begin() as connection:
            for table in ("staff", "customer", "vehicle", "visit", "follow_up", "call_log",
                          "complaint", "letter"):
                await connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table}), 1))"))
            await connection.execute(text("ANALYZE"))
    else:
        async with db.engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
    counts["customers"] = customers
    return counts


async def timed(work: Callable[[], Awaitable[T]], repeat: int) -> tuple[float, T]:
    """The median wall time of ``repeat`` runs, and the last result."""
    times = []
    result: T
    for _ in range(repeat):
        started = time.perf_counter()
        result = await work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


async def prepare_reminders(db: Database, followups: list[FollowUp]) -> tuple[float, str]:
    """Gather the talking points and render each reminder card, as the job does."""
    from bot.i18n import Translator
    from models.campaign import upcoming
    from models.talking_points import UPCOMING_DAYS, gather

    try:
        from handlers.after_sales.cards.followup import reminder_card
        what = "gather + reminder_card"
    except ImportError:  # the card's module not there: the models' part alone
        reminder_card = None  # type: ignore[assignment]
        what = "gather"
    translator = Translator("en", TZ)
    started = time.perf_counter()
    async with db.session() as session:
        campaigns = await upcoming(session, today=PROBE_DAY, days=UPCOMING_DAYS)
        for followup in followups:
            points = await gather(session, followup, today=PROBE_DAY, campaigns=campaigns)
            if reminder_card is not None:
                reminder_card(translator, points)
    return time.perf_counter() - started, what


async def bench(args: argparse.Namespace, url: str) -> None:
    db = Database(url)
    try:
        probe = local(PROBE_DAY, 9)

        async def select(limit: int) -> list[FollowUp]:
            async with db.session() as session:
                return await due_reminders(session, now=probe, limit=limit)

        page_time, page = await timed(lambda: select(500), args.repeat)
        all_time, due = await timed(lambda: select(1_000_000), args.repeat)
        print(f"due_reminders at {PROBE_DAY} 09:00 (the busiest minute): "
              f"{len(page)} (the job's page of 500) in {page_time * 1000:.1f} ms; "
              f"all {len(due):,} due in {all_time * 1000:.1f} ms "
              f"(median of {args.repeat})")

        sample = due[:2000]
        seconds, what = await prepare_reminders(db, sample)
        rate = len(sample) / seconds if seconds else float("inf")
        print(f"reminders prepared ({what}): {len(sample):,} in {seconds:.2f} s = "
              f"{rate:,.0f} per second")

        month = month_period(CALENDAR, YEAR, PROBE_DAY.month - 1)
        year = year_period(CALENDAR, YEAR)

        async def report(start: datetime, end: datetime) -> Any:
            async with db.session() as session:
                return await period_report(session, start=start, end=end, calendar=CALENDAR)

        repeat = max(1, min(args.repeat, 3))
        month_time, month_report = await timed(lambda: report(month.start, month.end), repeat)
        print(f"period_report {month.label}: {month_time:.2f} s "
              f"({month_report.total.due:,} follow-ups due, {month_report.total.calls:,} "
              f"calls, {len(month_report.clerks)} clerks; median of {repeat})")
        year_time, year_report = await timed(lambda: report(year.start, year.end), repeat)
        print(f"period_report {year.label}: {year_time:.2f} s "
              f"({year_report.total.due:,} follow-ups due, {year_report.total.calls:,} calls)")

        from bot.forms import Form, export
        from bot.i18n import Translator

        started = time.perf_counter()
        async with db.session() as session:
            data = await export(Form.call_log, session, month.start, month.end,
                                Translator("zh_CN", TZ))
        print(f"export {Form.call_log.value} {month.label}: {month_report.total.calls:,} rows, "
              f"{len(data) / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s")
    finally:
        await db.dispose()
    print(f"peak memory (ru_maxrss) of the measurements: {peak_mib(resource.RUSAGE_SELF):.0f} "
          f"MiB; of the filling (a child process): {peak_mib(resource.RUSAGE_CHILDREN):.0f} MiB")


def peak_mib(who: int) -> float:
    peak = resource.getrusage(who).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)  # bytes there, KiB on Linux


async def fill_only(args: argparse.Namespace) -> None:
    db = Database(args.database_url)
    try:
        started = time.perf_counter()
        await migrate.upgrade(db)
        counts = await fill(db, args.customers, args.followups, random.Random(args.seed))
        print(f"filled in {time.perf_counter() - started:.1f} s: "
              + ", ".join(f"{n:,} {name}" for name, n in counts.items()))
    finally:
        await db.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.fill_only:
        if not args.database_url:
            raise SystemExit("--fill-only needs --database-url")
        asyncio.run(fill_only(args))
        return 0
    with tempfile.TemporaryDirectory(prefix="workshop-bench-") as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        shown = "a temporary SQLite file" if args.database_url is None else \
            make_url(url).render_as_string(hide_password=True)
        print(f"database: {shown}")
        child = subprocess.run(
            [sys.executable, __file__, "--fill-only", "--database-url", url, "--customers",
             str(args.customers), "--followups", str(args.followups), "--seed", str(args.seed)],
            capture_output=True, text=True)
        print(child.stdout, end="")
        if child.returncode:
            print(child.stderr, end="", file=sys.stderr)
            raise SystemExit("filling the database failed")
        asyncio.run(bench(args, url))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
