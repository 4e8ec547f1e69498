"""Day rules in the shop's time zone: "within 2 days", "3 to 7 days", "same day", hours.

Everything is stored in UTC; a rule about days converts to the shop's local calendar first, so
the windows stay right across a daylight-saving change too.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class ShopCalendar:
    tz: ZoneInfo
    day_start: time = time(9, 0)
    day_end: time = time(18, 0)
    working_days: frozenset[int] = frozenset(range(6))  # Monday=0 … Saturday=5

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.tz)

    def local_date(self, at: datetime) -> date:
        return self.local(at).date()

    def at(self, day: date, clock: time) -> datetime:
        """A local wall-clock time on ``day`` as UTC (a DST gap moves it forward)."""
        local = datetime.combine(day, clock, tzinfo=self.tz)
        # Round-trip through UTC normalises a time that falls into a DST gap.
        return local.astimezone(UTC).astimezone(self.tz).astimezone(UTC)

    def start_of_day(self, day: date) -> datetime:
        return self.at(day, time(0, 0))

    def end_of_day(self, day: date) -> datetime:
        """The first instant of the next day: windows are half-open ``[from, until)``."""
        return self.start_of_day(day + timedelta(days=1))

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.working_days

    def in_working_hours(self, at: datetime) -> bool:
        local = self.local(at)
        return (
            self.is_working_day(local.date())
            and self.day_start <= local.time().replace(tzinfo=None) < self.day_end
        )

    def next_working_start(self, at: datetime) -> datetime:
        """The next moment the clerks are at work: now if they are, else the next opening."""
        if self.in_working_hours(at):
            return at
        day = self.local_date(at)
        if self.local(at).time().replace(tzinfo=None) < self.day_start and \
                self.is_working_day(day):
            return self.at(day, self.day_start)
        for offset in range(1, 15):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                return self.at(candidate, self.day_start)
        return self.at(day + timedelta(days=1), self.day_start)

    def next_working_day_start(self, at: datetime) -> datetime:
        """Opening time of the next working day after today ("try again tomorrow")."""
        day = self.local_date(at)
        for offset in range(1, 15):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                return self.at(candidate, self.day_start)
        return self.at(day + timedelta(days=1), self.day_start)

    def window(self, day: date, from_days: int, to_days: int) -> tuple[datetime, datetime]:
        """``[day + from_days, day + to_days]`` as whole local days, in UTC."""
        return (self.start_of_day(day + timedelta(days=from_days)),
                self.end_of_day(day + timedelta(days=to_days)))


def parse_days(text: str) -> frozenset[int]:
    """"mon,tue,wed" or "1-6" (ISO weekday numbers) → Python weekday numbers."""
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        if not part:
            continue
        if "-" in part:
            start, end = part.split("-", 1)
            first = names.index(start) if start in names else int(start) - 1
            last = names.index(end) if end in names else int(end) - 1
            days.update(range(first, last + 1))
        else:
            days.add(names.index(part) if part in names else int(part) - 1)
    if not days or not all(0 <= d <= 6 for d in days):
        raise ValueError(f"not a list of weekdays: {text!r}")
    return frozenset(days)


# A day as people type it: the year first when it is given; no year means this year.
_FULL_DAY = re.compile(r"(\d{4})\s*(?:[-/.]\s*(\d{1,2})\s*[-/.]|年\s*(\d{1,2})\s*月)\s*(\d{1,2})"
                       r"\s*[日号]?")
_COMPACT_DAY = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SHORT_DAY = re.compile(r"(?:(\d{1,2})\s*[-/.]|(\d{1,2})\s*月)\s*(\d{1,2})\s*[日号]?")
TYPED_YEARS = range(1900, 3000)  # a year outside is a typing slip


def parse_day(text: str, today: date) -> date | None:
    """A day as typed: 2026-12-03, 2026/12/3, 2026.12.3, 2026年12月3日, 20261203, or without
    the year (12-3, 12/3, 12月3日) for this year.

    Every conversation that asks for a day reads it here, so a form accepted in one is accepted
    in all. Full-width digits and signs (a Chinese keyboard) count as ASCII ones. ``None`` for
    anything else, an impossible day (2026-02-30) or a year outside 1900–2999 included: it never
    raises, the caller says what it wanted."""
    text = unicodedata.normalize("NFKC", text).strip()
    if len(text) > 20:
        return None
    if full := _FULL_DAY.fullmatch(text):
        year, month, day = full[1], full[2] or full[3], full[4]
    elif compact := _COMPACT_DAY.fullmatch(text):
        year, month, day = compact.groups()
    elif short := _SHORT_DAY.fullmatch(text):
        year, month, day = str(today.year), short[1] or short[2], short[3]
    else:
        return None
    if int(year) not in TYPED_YEARS:
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None
