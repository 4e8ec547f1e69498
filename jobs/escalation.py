"""Every minute: unacknowledged fault reports (W4) and undecided extra items (W5) go wider."""

from __future__ import annotations

import logging
from datetime import datetime

from bot import errors
from bot.context import WorkshopContext
from bot.services import Services
from jobs import extra_item_escalation, fault_escalation

log = logging.getLogger(__name__)

PARTS = (fault_escalation, extra_item_escalation)


async def run(services: Services, now: datetime) -> int:
    """One pass; returns how many records were escalated. Tests call this with their ``now``."""
    escalated = 0
    for part in PARTS:
        try:
            escalated += await part.run(services, now)
        except Exception as error:  # one broken part must not stop the others
            log.exception("escalation job %s failed", part.__name__)
            await errors.tell_the_admins_of_a_job(services, part.__name__, error)
    return escalated


async def job(context: WorkshopContext) -> None:
    """The JobQueue entry: the scheduler only wakes us; the database says what is due."""
    services = context.services
    count = await run(services, services.clock.now())
    if count:
        log.info("escalated %d record(s)", count)
