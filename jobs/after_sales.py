"""Every minute: the business department's scheduled work (A2–A12), all from the database.

Each part selects what is due at ``now``, sends it through the messenger and records that it
did, so a restart loses nothing and a reminder due while the bot was down goes out after it
starts.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot import errors
from bot.context import WorkshopContext
from bot.services import Services
from jobs import archive_reminders, complaint_jobs, followup_reminders, letter_jobs, reports

log = logging.getLogger(__name__)

PARTS = (archive_reminders, followup_reminders, complaint_jobs, letter_jobs, reports)


async def run(services: Services, now: datetime) -> int:
    """One pass over every part; returns how many messages went out. Tests call this."""
    sent = 0
    for part in PARTS:
        try:
            sent += await part.run(services, now)
        except Exception as error:  # one broken part must not stop the others
            log.exception("after-sales job %s failed", part.__name__)
            await errors.tell_the_admins_of_a_job(services, part.__name__, error)
    return sent


async def job(context: WorkshopContext) -> None:
    """The JobQueue entry: the scheduler only wakes us; the database says what is due."""
    services = context.services
    sent = await run(services, services.clock.now())
    if sent:
        log.info("after-sales job sent %d message(s)", sent)
