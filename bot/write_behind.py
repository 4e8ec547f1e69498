"""Rows written by a background task, in a session of their own, once the database is free.

The send path must not write to the database itself: the handler or job that sends often
still holds its own write transaction (a job claims a row, then notifies), and on SQLite a
second writer would wait for that transaction while the transaction waits for the send. So
what sending learns (the WeCom message map, messages kept for the outbox) is queued in memory
and written behind, retried with growing pauses while the database is busy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel.ext.asyncio.session import AsyncSession

from models.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")
DELAYS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class WriteBehind(Generic[T]):
    def __init__(self, write: Callable[[AsyncSession, list[T]], Awaitable[None]], what: str,
                 db: Database | None = None) -> None:
        self.db = db
        self._write = write
        self._what = what
        self.pending: list[T] = []
        self._task: asyncio.Task[None] | None = None

    def put(self, item: T) -> None:
        self.pending.append(item)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        attempt = 0
        while self.pending:
            if self.db is None:
                log.error("%s: no database; %d change(s) dropped", self._what,
                          len(self.pending))
                self.pending = []
                return
            batch, self.pending = self.pending, []
            try:
                async with self.db.session() as session:
                    await self._write(session, batch)
                    await session.commit()
                attempt = 0
            except SQLAlchemyError as exc:
                self.pending[:0] = batch
                if attempt >= len(DELAYS):
                    log.error("%s not written (%s); %d change(s) dropped", self._what, exc,
                              len(self.pending))
                    self.pending = []
                    return
                await asyncio.sleep(DELAYS[attempt])
                attempt += 1

    async def flush(self) -> None:
        """Write everything still in memory (before reading it back; at shutdown)."""
        if self._task is not None:
            await self._task
        if self.pending:
            await self._run()
