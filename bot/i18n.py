"""Babel catalogs per person: zh_CN first, en; ``.mo`` compiled, or built from ``.po`` in memory."""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.settings import LOCALES

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"


def N_(message: str) -> str:
    """Mark a constant for extraction; translate it where it is shown."""
    return message


@cache
def translations(locale: str) -> gettext.NullTranslations:
    mo = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"
    po = mo.with_suffix(".po")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    if po.exists():
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return gettext.GNUTranslations(buffer)
    return gettext.NullTranslations()


def locale_from_language_code(code: str | None, default: str) -> str:
    """Telegram's ``language_code`` (``zh-hans``, ``en``) → one of our locales."""
    if not code:
        return default
    code = code.lower()
    if code.startswith("zh"):
        return "zh_CN"
    if code.startswith("en"):
        return "en"
    return default


# How a moment or a day is shown, as CLDR patterns (``babel.dates``): each is a msgid, so every
# language writes the date its own way and never as the ambiguous "12-07" (zh_CN: "M月d日 HH:mm"
# → 12月7日 00:05, "y年M月d日" → 2026年12月3日; en: 7 Dec 00:05, 3 Dec 2026).
TIME_PATTERN = N_("d MMM HH:mm")
TIME_WITH_YEAR_PATTERN = N_("d MMM y HH:mm")
DAY_PATTERN = N_("d MMM y")


class Translator:
    """``_``, ``ngettext`` and time formatting for one person.

    ``now`` (the shop's clock when the translator is made; never the wall clock) tells which
    year is the current one: a moment in it is shown without its year. Without ``now`` (a file
    written on the server, a benchmark) every moment carries its year."""

    def __init__(self, locale: str, tz: ZoneInfo, now: datetime | None = None) -> None:
        self.locale = locale if locale in LOCALES else LOCALES[0]
        self.tz = tz
        self.now = now
        self.year = now.astimezone(tz).year if now is not None else None
        self._t = translations(self.locale)

    def gettext(self, message: str) -> str:
        return self._t.gettext(message)

    __call__ = gettext

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._t.ngettext(singular, plural, n)

    def time(self, at: datetime) -> str:
        """A moment in the shop's time zone, its date spelled out: "12月7日 00:05" /
        "7 Dec 00:05"; with the year ("2025年12月7日 00:05" / "7 Dec 2025 00:05") when it is not
        the current year (or the current year is not known)."""
        local = at.astimezone(self.tz)
        pattern = TIME_PATTERN if local.year == self.year else TIME_WITH_YEAR_PATTERN
        return format_datetime(local, self.gettext(pattern), locale=self.locale)

    def day(self, at: date | datetime | None) -> str:
        """A day as every message shows it, "2026年12月3日" / "3 Dec 2026": a moment's day in
        the shop's time zone, a date as it is, "—" for none. Always with its year: a day is
        often far off (a follow-up or a letter due next year, a visit in a customer's history,
        a spreadsheet read later). Where a person types a day back, show ``typed_day``."""
        if at is None:
            return "—"
        if isinstance(at, datetime):
            at = at.astimezone(self.tz).date()
        return format_date(at, self.gettext(DAY_PATTERN), locale=self.locale)

    @staticmethod
    def typed_day(day: date) -> str:
        """A day as an example of what to type (2026-12-03): the form every conversation that
        asks for a day reads (``models.shop_time.parse_day``), the same in every language."""
        return day.isoformat()

    def last_day(self, until: datetime) -> str:
        """The last day of a window that ends at ``until`` (stored as the first instant after
        it, so the window is half-open)."""
        return self.day(until - timedelta(microseconds=1))

    def window(self, start: datetime, until: datetime) -> str:
        """A window of whole days, ``[start, until)``: "3 Dec 2026 to 7 Dec 2026"."""
        return self.gettext("{first} to {last}").format(first=self.day(start),
                                                        last=self.last_day(until))

    def money(self, fen: int | None) -> str:
        return "—" if fen is None else f"¥{fen / 100:,.2f}"


Gettext = Callable[[str], str]
