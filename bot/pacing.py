"""Sending at Telegram's pace: each chat at most one message a second, the bot just under
thirty a second, so a 429 is the exception — and when one comes, it slows only the chat (or the
background sending) that caused it, never the replies to people on the floor.

python-telegram-bot's ``AIORateLimiter`` admits a burst of 30 at once, does not pace private
chats at all, and on any 429 halts every request of the bot for the ``retry_after``: a drain of
reminders hit 429 on every other clerk and held technicians' replies up to a second
(``bench/sending.py``). This limiter keeps a schedule instead of buckets:

- every message (``send…``, ``edit…``, ``copy…``, ``forward…``) takes the bot's next free slot,
  spaced ``1 / BOT_RATE`` apart; a background send (a job: reminders, escalations, the outbox)
  takes one only when it is free now, so the floor's replies go first;
- a background send to a chat waits until a second after that chat's last message; a reply
  to a person does not wait for their chat (they just wrote; a handler's two or three
  messages go out together), but pushes the chat's next background send back;
- a 429 pushes back the chat by its ``retry_after`` and, for a background send, all background
  sending; the request is tried again (``max_retries``), then the error goes to the caller (the
  messenger keeps the message for the outbox).

Times are the event loop's monotonic clock: a pace, not the shop's time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot import logs
from bot.messenger import retry_seconds

log = logging.getLogger(__name__)

BOT_RATE = 28.0  # messages a second, the whole bot (Telegram: 30; a margin for the network)
CHAT_INTERVAL = 1.0  # seconds between background messages to one chat (Telegram: about 1)
PACED = ("send", "edit", "copy", "forward")
# Added to the chat interval: two messages a second apart when sent may arrive closer (the
# network, the platform's own clock).
MARGIN = 0.05
# Chats not written to for this long are forgotten (their next message is free anyway).
FORGET_AFTER = 60.0


def background() -> bool:
    """Sent by a job rather than in answer to a person (``bot.logs`` numbers job runs)."""
    return (logs.context_id.get() or "").startswith("job:")


class Pacer(BaseRateLimiter[int]):
    def __init__(self, *, bot_rate: float = BOT_RATE, chat_interval: float = CHAT_INTERVAL,
                 max_retries: int = 3, now: Callable[[], float] | None = None) -> None:
        self.gap = 1.0 / bot_rate
        self.chat_interval = chat_interval
        self.max_retries = max_retries
        self._now = now
        self._next_slot = 0.0  # the bot's next free slot
        self._background_from = 0.0  # background sending resumes (after a 429)
        self._chat_free: dict[int | str, float] = {}  # a chat's next background message
        self.waited_429 = 0  # how many 429s were answered (for the bench and the logs)

    def now(self) -> float:
        return self._now() if self._now is not None else asyncio.get_running_loop().time()

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if not endpoint.startswith(PACED):
            return await callback(*args, **kwargs)
        chat = data.get("chat_id")
        with contextlib.suppress(TypeError, ValueError):
            chat = int(chat)  # type: ignore[arg-type]
        behind = background()
        retries = rate_limit_args if rate_limit_args is not None else self.max_retries
        for attempt in range(retries + 1):
            await self._wait_turn(chat, behind)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self.waited_429 += 1
                seconds = retry_seconds(exc) or 1.0
                until = self.now() + seconds
                if chat is not None:
                    self._chat_free[chat] = max(self._chat_free.get(chat, 0.0), until)
                if behind:
                    self._background_from = max(self._background_from, until)
                if attempt == retries:
                    raise
                log.info("Telegram asked to wait %.1f s (chat %s%s)", seconds, chat,
                         ", background" if behind else "")
                if not behind:  # a reply waits only for its own chat
                    await asyncio.sleep(seconds)
        raise AssertionError("unreachable")

    async def _wait_turn(self, chat: Any, behind: bool) -> None:
        """Take the bot's next slot (and, in the background, the chat's), sleeping until then."""
        if behind:
            slept = False
            while True:
                now = self.now()
                ready = max(self._background_from, self._chat_free.get(chat, 0.0)
                            if chat is not None else 0.0, self._next_slot)
                if ready <= now:
                    break
                slept = True
                await asyncio.sleep(ready - now)
            # After a wait, the moment it was free, not the moment it woke (a sleep ends a
            # little late): counting from the wake-up would lose that lateness on every
            # message, a tenth of the pace. Never more than one slot back, and an idle bot
            # (no wait) starts now: no burst either way.
            start = max(ready, now - self.gap) if slept else now
        else:
            now = self.now()
            start = max(now, self._next_slot)
        self._next_slot = start + self.gap
        if chat is not None:
            self._chat_free[chat] = max(self._chat_free.get(chat, 0.0),
                                        start + self.chat_interval + MARGIN)
            if len(self._chat_free) > 10_000:
                self._chat_free = {c: t for c, t in self._chat_free.items()
                                   if t > now - FORGET_AFTER}
        if start > now:
            await asyncio.sleep(start - now)
