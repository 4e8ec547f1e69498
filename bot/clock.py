"""The one place the bot asks for the time, so tests can set it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Seconds that only ever go forward, for how long something is kept (caches); not
        the shop's time."""
        return time.monotonic()


class FrozenClock(Clock):
    """A clock that stands still until moved (tests, replaying a day)."""

    def __init__(self, at: datetime) -> None:
        self._at = at
        self._monotonic = 0.0

    def now(self) -> datetime:
        return self._at

    def monotonic(self) -> float:
        """Moves as the clock is moved forward; never back."""
        return self._monotonic

    def set(self, at: datetime) -> None:
        self._monotonic += max((at - self._at).total_seconds(), 0.0)
        self._at = at

    def advance(self, delta: timedelta) -> None:
        self._monotonic += max(delta.total_seconds(), 0.0)
        self._at += delta


def unique_microseconds() -> int:
    """Microseconds since 1970 by the machine's clock, for ids that must keep growing across
    restarts (WeCom message ids). Not the shop's time: a frozen test clock would repeat them."""
    return time.time_ns() // 1000
