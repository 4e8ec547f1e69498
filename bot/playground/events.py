"""What changed in the chats, for the page's Server-Sent Events stream: each event numbered, the
last few hundred kept so a page that reconnects with ``Last-Event-ID`` misses nothing (or is told
to load everything again when it was away too long)."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

KEPT = 1000  # events a reconnecting page can catch up on
QUEUED = 1000  # events waiting for one slow page before it is told to load everything again
RESET = {"type": "reset"}


class EventLog:
    def __init__(self) -> None:
        self.last_id = 0
        self._kept: deque[tuple[int, dict[str, Any]]] = deque(maxlen=KEPT)
        self._pages: set[asyncio.Queue[tuple[int, dict[str, Any]] | None]] = set()
        self._closed = False

    def publish(self, event: dict[str, Any]) -> None:
        self.last_id += 1
        item = (self.last_id, event)
        self._kept.append(item)
        for queue in self._pages:
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:  # a page that stopped reading: it starts over
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait((self.last_id, RESET))

    def close(self) -> None:
        """Ends every stream, and any opened later at once (the server is stopping)."""
        self._closed = True
        for queue in self._pages:
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(None)

    async def stream(self, after: int | None, keep_alive: float) -> AsyncIterator[str]:
        """``text/event-stream`` lines: the events after ``after`` that are still kept (or a
        ``reset`` when some are gone), then each new one; a comment every ``keep_alive``
        seconds so proxies and the browser keep the connection."""
        queue: asyncio.Queue[tuple[int, dict[str, Any]] | None] = asyncio.Queue(QUEUED)
        self._pages.add(queue)
        try:
            yield "retry: 2000\n\n"
            if after is not None and after != self.last_id:
                oldest = self._kept[0][0] if self._kept else self.last_id + 1
                if after > self.last_id or after + 1 < oldest:  # another run's, or too old
                    yield _line(self.last_id, RESET)
                else:
                    for number, event in list(self._kept):
                        if number > after:
                            yield _line(number, event)
            while not self._closed:
                try:
                    async with asyncio.timeout(keep_alive):
                        item = await queue.get()
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if item is None:
                    return
                yield _line(*item)
        finally:
            self._pages.discard(queue)


def _line(number: int, event: dict[str, Any]) -> str:
    return f"id: {number}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"
