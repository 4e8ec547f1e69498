"""Every minute, when ``BACKUP_DIR`` is set: once a day from ``BACKUP_TIME`` (shop time) a copy
of the database goes into ``BACKUP_DIR`` as ``workshop-YYYY-MM-DD.db`` (SQLite, the online
backup API) or ``.dump`` (PostgreSQL, ``pg_dump``), and all but the newest ``BACKUP_KEEP`` are
removed (``bot.backups``).

Once per group of stores: the first worker to claim the day backs up; its claim, kept until
the end of the day, is the record (``models.claims``). A backup due while the bot was down is
taken when it starts that day. One that fails is logged and told to the admins, and tried
again the next day (a full disk or a missing ``pg_dump`` would fail every minute).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, time
from pathlib import Path

from bot import backups, errors
from bot.context import WorkshopContext
from bot.services import Services
from models.claims import claim, held_until, hold

log = logging.getLogger(__name__)

DAILY = "backup.daily"  # the day (its ordinal): once per group of stores


async def run(services: Services, now: datetime) -> Path | None:
    """One pass; returns the file written, if this pass wrote one."""
    settings = services.settings
    if not settings.backup_dir:
        return None
    calendar = settings.calendar
    today = calendar.local_date(now)
    if services.job_state.get("backup_done_on") == today:
        return None
    if now < calendar.at(today, time.fromisoformat(settings.backup_time)):
        return None
    day = today.toordinal()
    until = calendar.end_of_day(today)
    async with services.db.session() as session:
        if not await claim(session, DAILY, day, worker=services.worker,
                           now=services.clock.now()):
            if await held_until(session, DAILY, day) == until:
                services.job_state["backup_done_on"] = today  # another worker did
            return None
        written: Path | None = None
        try:
            written, size, gone = await asyncio.to_thread(
                backups.daily_backup, settings.database_url, settings.backup_dir, today,
                settings.backup_keep)
            log.info("backup: %s (%d bytes); %d older one(s) removed", written, size, len(gone))
        except (backups.BackupError, OSError) as error:
            log.error("the daily backup into %s failed: %s", settings.backup_dir, error)
            await errors.tell_the_admins_of_a_job(services, "backups", error)
        await hold(session, DAILY, day, worker=services.worker, until=until)
        await session.commit()
        services.job_state["backup_done_on"] = today
    return written


async def job(context: WorkshopContext) -> None:
    """The JobQueue entry."""
    services = context.services
    await run(services, services.clock.now())
