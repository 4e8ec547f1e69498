"""Real ``workshop-bot run`` processes on one database, draining due follow-up reminders into a
Bot API on 127.0.0.1 that counts what arrives (``tests/test_worker_processes.py`` at CI size,
``bench/workers.py`` at full size).

The database is filled directly (customers, vehicles and one due maintenance call each, for one
clerk); the processes are started as an operator starts them, with the job cadence and the claim
lease shortened so a drain and a takeover after a SIGKILL take seconds, not minutes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func
from sqlmodel import col, select

from bot.clock import Clock
from models.customer import Customer, Vehicle
from models.db import Database, id_of
from models.followup import FollowUp, FollowUpKind
from models.staff import ChatAccount, Role, Staff, encode_roles
from tests.test_run import TOKEN, FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
CLERK_CHAT = 5001
LEASE_SECONDS = 15


async def seed(db: Database, count: int) -> list[int]:
    """One clerk on Telegram and ``count`` customers, each with a maintenance call due now."""
    now = Clock().now()
    async with db.session() as session:
        clerk = Staff(name="Clerk Li", roles=encode_roles({Role.tracking_clerk}), locale="en",
                      created_at=now)
        session.add(clerk)
        await session.flush()
        session.add(ChatAccount(staff_id=id_of(clerk), channel="telegram",
                                user_key=str(CLERK_CHAT), chat_id=CLERK_CHAT, bound_at=now))
        customers = [Customer(name=f"客户{n}", phones=f"139{n:08d}", clerk_id=clerk.id,
                              created_at=now, updated_at=now, archive_completed_at=now)
                     for n in range(count)]
        session.add_all(customers)
        await session.flush()
        session.add_all([Vehicle(customer_id=id_of(c), plate=f"京W{n:05d}", created_at=now)
                         for n, c in enumerate(customers)])
        followups = [FollowUp(key=f"maint:{id_of(c)}", kind=FollowUpKind.maintenance,
                              customer_id=id_of(c), due_from=now - timedelta(hours=1),
                              due_until=now + timedelta(days=2),
                              remind_at=now - timedelta(minutes=5), created_at=now)
                     for c in customers]
        session.add_all(followups)
        await session.commit()
        return [id_of(f) for f in followups]


async def reminded(db: Database) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(FollowUp).where(
            col(FollowUp.reminded_at).is_not(None)))).one()


def arrivals(telegram: FakeTelegram) -> Counter[int]:
    """How many reminder cards arrived for each follow-up (``[FU-n]`` on the card's first line)."""
    return Counter(int(text.split("[FU-", 1)[1].split("]", 1)[0])
                   for text in telegram.sent_to(CLERK_CHAT) if "[FU-" in text)


class Workers:
    """``workshop-bot run`` processes started (and killed) as an operator would."""

    def __init__(self, database_url: str, telegram: FakeTelegram, folder: Path) -> None:
        self.folder = folder
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": database_url,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": telegram.base_url,
            "WORKING_HOURS": "00:00-23:59", "WORKING_DAYS": "mon-sun",
            "FOLLOWUP_CHECK_SECONDS": "1", "ESCALATION_CHECK_SECONDS": "60",
            "CLAIM_LEASE_SECONDS": str(LEASE_SECONDS),
            # every reminder goes to one clerk: at Telegram's 1 a second a drain would take
            # minutes; the fake Bot API here has no per-chat limit (bench/sending.py has)
            "TELEGRAM_CHAT_INTERVAL_SECONDS": "0",
            "LOG_LEVEL": "WARNING",
        }
        for name in ("TELEGRAM_BOT_USERNAME", "WECOM_CORP_ID", "WECOM_SECRET"):
            self.env.pop(name, None)
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(self) -> int:
        log = self.folder / f"worker{len(self.logs)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=self.folder,
                                       env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.processes.append(process)
        self.logs.append(log)
        return len(self.processes) - 1

    def kill(self, index: int) -> None:
        process = self.processes[index]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 30
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)

    def output(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')}"
                         for log in self.logs if log.exists())
