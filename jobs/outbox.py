"""Every 30 seconds: send what a platform refused earlier (``models.outbox``), oldest first.

A chat's messages go in order: when one is refused again, the rest of that chat waits for the
next run. Sent messages are deleted; one that can never go out, or waited two days, is marked
failed and kept (``workshop-bot outbox`` lists them). Claim, send, then mark and release
(``models.claims``): several workers on one database send each kept message once (a worker that
cannot claim a message leaves the rest of its chat for the next run, so the order holds); a
crash between the send and the mark sends it once more after the claim's lease, never loses it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from telegram.error import BadRequest, Forbidden, NetworkError

from bot.context import WorkshopContext
from bot.messenger import LATER, Undeliverable, retry_seconds
from bot.services import Services
from bot.wecom.request import WeComRequest
from models import outbox
from models.claims import claim, release
from models.db import id_of

log = logging.getLogger(__name__)

BATCH = 200
BUDGET_SECONDS = 20.0  # a run stops taking new pages after this; the next run goes on
SEND = "outbox.send"  # what a worker claims before it sends a kept message (models.claims)


async def run(services: Services, now: datetime, *, limit: int | None = None,
              budget: float = BUDGET_SECONDS) -> int:
    """Send what is due, page by page, until nothing is left, ``limit`` messages went out or
    ``budget`` seconds passed (the next run goes on); returns how many went out."""
    await services.messenger.flush()  # what was kept a moment ago is in the database
    started = services.clock.monotonic()
    sent = 0
    while limit is None or sent < limit:
        page = BATCH if limit is None else min(BATCH, limit - sent)
        done, tried = await _page(services, now, page)
        sent += done
        if tried < page or services.clock.monotonic() - started > budget:
            break
    await _release(services)
    return sent


async def _page(services: Services, now: datetime, size: int) -> tuple[int, int]:
    """One page of due messages: (how many went out, how many were due)."""
    messenger = services.messenger
    async with services.db.session() as session:
        kept = await outbox.due(session, now, limit=size)
    stuck: set[tuple[str, int]] = set()
    sent = 0
    for message in kept:
        chat = (message.channel, message.chat_id)
        if chat in stuck:
            continue
        if message.kind == "wecom" and await _member_busy(services, message):
            stuck.add(chat)  # this member is at WeCom's limit (minute or hour): next run
            continue
        async with services.db.session() as session:
            message_id = id_of(message)
            if not await claim(session, SEND, message_id, worker=services.worker,
                               now=services.clock.now()):
                stuck.add(chat)  # another worker is on this chat: the rest waits, in order
                continue
            fresh = await session.get(outbox.OutboxMessage, message_id, populate_existing=True)
            if fresh is None or fresh.failed_at is not None or fresh.not_before > now:
                stuck.add(chat)  # sent (or tried) by another worker since it was selected
                await release(session, SEND, message_id, worker=services.worker)
                await session.commit()
                continue
            session.expunge(fresh)  # written by statements below, as the selected copy was
            message = fresh
            try:
                if message.kind == "wecom":
                    await _send_wecom(services, message)
                else:
                    await messenger.send_kept(session, message, now)
            except (Undeliverable, Forbidden, BadRequest) as exc:
                log.error("kept message %s to %s/%s cannot be delivered: %s", message.id,
                          message.channel, message.chat_id, exc)
                await outbox.mark_failed(session, message, now, error=str(exc))
                await release(session, SEND, message_id, worker=services.worker)
                await session.commit()
                continue
            except LATER as exc:
                stuck.add(chat)
                if not await outbox.mark_refused(session, message, now, error=str(exc),
                                                 retry_after=retry_seconds(exc)):
                    log.error("kept message %s to %s/%s given up after %d tries: %s",
                              message.id, message.channel, message.chat_id,
                              message.attempts + 1, exc)
                    stuck.discard(chat)  # the next one may go: it is the oldest now
                await release(session, SEND, message_id, worker=services.worker)
                await session.commit()
                continue
            await outbox.mark_sent(session, message_id)
            await release(session, SEND, message_id, worker=services.worker)
            await session.commit()
            sent += 1
    return sent, len(kept)


def _wecom(services: Services) -> WeComRequest | None:
    bot = services.messenger.bot("wecom")
    request = bot.request if bot is not None else None
    return request if isinstance(request, WeComRequest) else None


async def _member_busy(services: Services, message: outbox.OutboxMessage) -> bool:
    request = _wecom(services)
    return request is not None and \
        await request.member_busy(str(message.payload.get("userid")))


async def _send_wecom(services: Services, message: outbox.OutboxMessage) -> None:
    request = _wecom(services)
    if request is None:
        raise NetworkError("the WeCom channel is not running in this process")
    await request.send_kept(message.payload)


async def _release(services: Services) -> None:
    """Chats with nothing left waiting send directly again."""
    async with services.db.session() as session:
        waiting = await outbox.waiting_chats(session)
    messenger = services.messenger
    messenger.backlog = {c for c in messenger.backlog
                         if c in waiting or messenger.keeping(*c)}
    messenger.held_edits = {e for e in messenger.held_edits
                            if (e[0], e[1]) in waiting or messenger.keeping(e[0], e[1])}
    request = _wecom(services)
    if request is not None:
        for chat_id in list(request.held):
            if ("wecom", chat_id) not in waiting:
                request.release(chat_id)


async def job(context: WorkshopContext) -> None:
    """The JobQueue entry: the database says what is waiting."""
    services = context.services
    sent = await run(services, services.clock.now())
    if sent:
        log.info("outbox: %d kept message(s) sent", sent)
