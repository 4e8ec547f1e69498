"""Babel catalogs per person: zh_CN first, en; ``.mo`` compiled, or built from ``.po`` in memory."""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

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


class Translator:
    """``_``, ``ngettext`` and time formatting for one person."""

    def __init__(self, locale: str, tz: ZoneInfo) -> None:
        self.locale = locale if locale in LOCALES else LOCALES[0]
        self.tz = tz
        self._t = translations(self.locale)

    def gettext(self, message: str) -> str:
        return self._t.gettext(message)

    __call__ = gettext

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._t.ngettext(singular, plural, n)

    def time(self, at: datetime) -> str:
        return at.astimezone(self.tz).strftime("%m-%d %H:%M")

    def day(self, at: date | datetime | None) -> str:
        """A day as every message shows it, 2026-12-03: a moment's day in the shop's time zone,
        a date as it is, "—" for none. The year is there because a follow-up or a letter can
        be due next year."""
        if at is None:
            return "—"
        if isinstance(at, datetime):
            at = at.astimezone(self.tz).date()
        return at.isoformat()

    def last_day(self, until: datetime) -> str:
        """The last day of a window that ends at ``until`` (stored as the first instant after
        it, so the window is half-open)."""
        return self.day(until - timedelta(microseconds=1))

    def window(self, start: datetime, until: datetime) -> str:
        """A window of whole days, ``[start, until)``: "2026-12-03 to 2026-12-07"."""
        return self.gettext("{first} to {last}").format(first=self.day(start),
                                                        last=self.last_day(until))

    def money(self, fen: int | None) -> str:
        return "—" if fen is None else f"¥{fen / 100:,.2f}"


Gettext = Callable[[str], str]
