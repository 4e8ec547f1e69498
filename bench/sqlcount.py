"""Counting what a piece of work asks of the database, for the benchmarks in ``bench/``.

``SqlCount`` listens to one engine's events (``before_cursor_execute``, ``commit`` and the
pool's ``checkout``) and adds each one to the phase named in ``phase`` at that moment, so a
benchmark that processes one update at a time can say which part of the update paid for
what. It counts; it never changes a statement.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import greenlet  # type: ignore[import-untyped]
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

KINDS = ("statements", "commits", "sessions")
ROOT = Path(__file__).resolve().parent.parent
_NOT_THE_BOT = tuple(str(ROOT / folder) for folder in (".venv", "bench", "tests"))


def origin(depth: int = 3) -> str:
    """The bot's innermost ``depth`` functions on the stack (file:function, innermost first).

    Under SQLAlchemy's asyncio a statement runs in a greenlet of its own; the code that
    awaited it is on the parent greenlet's stack, which is walked next."""
    found: list[str] = []
    frame: FrameType | None = sys._getframe(1)
    current = greenlet.getcurrent()
    while len(found) < depth:
        if frame is None:
            current = current.parent
            if current is None:
                break
            frame = current.gr_frame
            continue
        name = frame.f_code.co_filename
        if name.startswith(str(ROOT)) and not name.startswith(_NOT_THE_BOT):
            found.append(f"{Path(name).relative_to(ROOT)}:{frame.f_code.co_name}")
        frame = frame.f_back
    return " ← ".join(found) or "?"


@dataclass
class SqlCount:
    engine: AsyncEngine
    phase: str = "outside"
    # (phase, kind) → how many; kind is one of KINDS.
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    # The statements, in order, while ``keep_text`` is set: (phase, text, where the bot
    # asked for it).
    keep_text: bool = False
    texts: list[tuple[str, str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        sync = self.engine.sync_engine
        event.listen(sync, "before_cursor_execute", self._statement)
        event.listen(sync, "commit", self._commit)
        event.listen(sync.pool, "checkout", self._checkout)

    def remove(self) -> None:
        sync = self.engine.sync_engine
        event.remove(sync, "before_cursor_execute", self._statement)
        event.remove(sync, "commit", self._commit)
        event.remove(sync.pool, "checkout", self._checkout)

    def _statement(self, _connection: Any, _cursor: Any, statement: str, _parameters: Any,
                   _context: Any, _executemany: bool) -> None:
        self.counts[(self.phase, "statements")] += 1
        if self.keep_text:
            self.texts.append((self.phase, statement, origin()))

    def _commit(self, _connection: Any) -> None:
        self.counts[(self.phase, "commits")] += 1
        if self.keep_text:
            self.texts.append((self.phase, "COMMIT", origin()))

    def _checkout(self, _dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        self.counts[(self.phase, "sessions")] += 1
        if self.keep_text:
            self.texts.append((self.phase, "(session: a connection from the pool)", origin()))

    def take(self) -> Counter[tuple[str, str]]:
        """The counts since the last ``take`` (and start afresh)."""
        counts, self.counts = self.counts, Counter()
        return counts
