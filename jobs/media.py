"""Every few minutes: fetch the bytes of new WeCom photos while their media id still works.

WeCom media ids expire three days after the upload. A fault photo may be shown again later
(an escalation, the parts clerk, the other channel), so the bytes are fetched once, soon after
the photo came in, and kept with it (``models.attachment``). Several workers on one database
claim each photo before fetching it (``models.claims``) and release it with the bytes kept, so
one fetches it; ``photo_bytes`` reads the kept bytes first, so a photo kept meanwhile is not
fetched again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.context import WorkshopContext
from bot.services import Services
from models.attachment import to_fetch
from models.claims import claim, release
from models.db import id_of

log = logging.getLogger(__name__)

KEEP = "media.keep"  # what a worker claims before it fetches (models.claims)


async def run(services: Services, now: datetime) -> int:
    """Fetch what is missing; returns how many photos were kept. Tests call this."""
    failed: set[int] = services.job_state.setdefault("media:failed", set())
    async with services.db.session() as session:
        photos = await to_fetch(session, now, skip=failed)
    kept = 0
    for photo in photos:
        photo_id = id_of(photo)
        async with services.db.session() as session:
            if not await claim(session, KEEP, photo_id, worker=services.worker,
                               now=services.clock.now()):
                continue  # another worker is fetching it
            if await services.messenger.photo_bytes(session, photo, now) is None:
                log.warning("WeCom photo %s could not be fetched", photo.id)
                failed.add(photo_id)
                await release(session, KEEP, photo_id, worker=services.worker)
                await session.commit()
                continue
            await release(session, KEEP, photo_id, worker=services.worker)
            await session.commit()
            kept += 1
    return kept


async def job(context: WorkshopContext) -> None:
    services = context.services
    kept = await run(services, services.clock.now())
    if kept:
        log.info("kept the bytes of %d WeCom photo(s)", kept)
