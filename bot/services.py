"""What every handler and job needs, shared by the Telegram and WeCom applications."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.i18n import Translator
from bot.messenger import Messenger
from bot.settings import Settings
from models.db import Database
from models.staff import Staff


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    messenger: Messenger

    def translator_for(self, staff: Staff | None, fallback: str | None = None) -> Translator:
        locale = (staff.locale if staff else None) or fallback or self.settings.default_locale
        return Translator(locale, self.settings.tz)
