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


class ShiftedClock(Clock):
    """Another clock (the machine's by default) plus an offset that only grows: the
    playground's clock, moved forward for the whole process (``bot.playground.time_travel``)."""

    def __init__(self, base: Clock | None = None) -> None:
        self._base = base or Clock()
        self._offset = timedelta(0)

    @property
    def offset(self) -> timedelta:
        return self._offset

    def now(self) -> datetime:
        return self._base.now() + self._offset

    def monotonic(self) -> float:
        """Moves with the offset too, so what is kept for a while (caches) expires when the
        clock is moved past it."""
        return self._base.monotonic() + self._offset.total_seconds()

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError("the shifted clock only moves forward")
        self._offset += delta


def unique_microseconds() -> int:
    """Microseconds since 1970 by the machine's clock, for ids that must keep growing across
    restarts (WeCom message ids). Not the shop's time: a frozen test clock would repeat them."""
    return time.time_ns() // 1000
