"""The playground's clock: move the shop's time forward and run what the scheduler would have run
meanwhile, so a trainer shows the day-3 follow-up reminder or the 2-day complaint escalation
without waiting.

The scheduler runs every job each minute; each job sends what the database says is due at
``now`` and records that it did. A jump runs every job once per :data:`STEP` of shop time on the
way (and at the new time): whatever fell due during the jump goes out once, at most a step late
by the shop's clock — a duty reminder or the monthly report of a day the jump crossed included,
which a single run at the new time would never send (they are owed only on their day). The
step is never longer than the shortest time something stays owed (a training reminder, in the
``NOTICE_REMINDER_MINUTES`` before its start). The jobs claim what they send, so the
application's own scheduler running at the same moment sends nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from types import ModuleType

from bot import errors
from bot.clock import ShiftedClock
from bot.services import Services
from jobs import after_sales, escalation, media, outbox, workshop

log = logging.getLogger(__name__)

# What bot.application schedules, in its order; not the daily backup (a copy of a demo).
JOBS: tuple[ModuleType, ...] = (escalation, after_sales, workshop, outbox, media)
STEP = timedelta(hours=1)
LOCK = "time_travel"  # in services.job_state: one jump at a time


@dataclass(frozen=True)
class TimeTravel:
    start: datetime
    end: datetime
    passes: int  # how many times every job ran
    # Per job, summed over the passes: the messages sent (escalation: the records escalated;
    # media: the photos kept; outbox: the kept messages sent).
    counts: dict[str, int]

    @property
    def sent(self) -> int:
        return sum(self.counts.values())


def job_name(module: ModuleType) -> str:
    return module.__name__.rsplit(".", 1)[1]


async def advance(services: Services, delta: timedelta) -> TimeTravel:
    """Move the shop's clock ``delta`` forward, running the jobs on the way."""
    clock = services.clock
    if not isinstance(clock, ShiftedClock):
        raise TypeError("only the playground's clock (bot.clock.ShiftedClock) moves")
    if delta <= timedelta(0):
        raise ValueError("the clock only moves forward")
    step = min(STEP, timedelta(minutes=services.settings.notice_reminder_minutes))
    lock: asyncio.Lock = services.job_state.setdefault(LOCK, asyncio.Lock())
    async with lock:
        start = clock.now()
        counts = dict.fromkeys((job_name(module) for module in JOBS), 0)
        passes = 0
        left = delta
        while left > timedelta(0):
            clock.advance(min(step, left))
            left -= min(step, left)
            await _run_all(services, clock.now(), counts)
            passes += 1
        return TimeTravel(start, clock.now(), passes, counts)


async def advance_to_next(services: Services, local_time: time) -> TimeTravel:
    """To the next ``local_time`` in the shop's time zone ("to next 09:00"): later today, or
    tomorrow when it has passed."""
    calendar = services.settings.calendar
    now = services.clock.now()
    today = calendar.local_date(now)
    target = calendar.at(today, local_time)
    if target <= now:
        target = calendar.at(today + timedelta(days=1), local_time)
    return await advance(services, target - now)


async def _run_all(services: Services, now: datetime, counts: dict[str, int]) -> None:
    for module in JOBS:
        name = job_name(module)
        try:
            counts[name] += await module.run(services, now)
        except Exception as error:  # one broken job must not stop the others, as on a schedule
            log.exception("job %s failed at %s", name, now.isoformat())
            await errors.tell_the_admins_of_a_job(services, name, error)
