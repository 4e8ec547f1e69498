"""Every minute: the workshop's scheduled work (N5, W8–W11), all from the database.

Each part selects what is due at ``now``, sends it through the messenger and records that it
did, so a restart loses nothing and nothing is sent twice (at most once more after a crash).
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot import errors
from bot.context import WorkshopContext
from bot.services import Services
from jobs import duty_reminders, lifting_watch, training_reminders

log = logging.getLogger(__name__)

PARTS = (lifting_watch, duty_reminders, training_reminders)


async def run(services: Services, now: datetime) -> int:
    """One pass over every part; returns how many messages went out. Tests call this."""
    sent = 0
    for part in PARTS:
        try:
            sent += await part.run(services, now)
        except Exception as error:  # one broken part must not stop the others
            log.exception("workshop job %s failed", part.__name__)
            await errors.tell_the_admins_of_a_job(services, part.__name__, error)
    return sent


async def job(context: WorkshopContext) -> None:
    """The JobQueue entry: the scheduler only wakes us; the database says what is due."""
    services = context.services
    sent = await run(services, services.clock.now())
    if sent:
        log.info("workshop job sent %d message(s)", sent)
