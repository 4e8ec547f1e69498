"""Day rules in the shop's time zone: "within 2 days", "3 to 7 days", "same day", hours.

Everything is stored in UTC; a rule about days converts to the shop's local calendar first, so
the windows stay right across a daylight-saving change too.
"""

from __future__ import annotations

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
