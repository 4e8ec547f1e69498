"""The per-update context: who is talking, in which language, on which channel, at what time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.i18n import Translator
from bot.services import Services
from models.audit import Actor
from models.staff import Staff


class WorkshopContext(CallbackContext[ExtBot[None], dict[str, Any], dict[str, Any],
                                      dict[str, Any]]):
    """Set up by :mod:`handlers.staff.access` before any other handler runs."""

    def __init__(
        self, application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None, user_id: int | None = None,
    ) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self.staff: Staff | None = None
        self._translator: Translator | None = None

    @property
    def services(self) -> Services:
        return self.bot_data["services"]

    @property
    def channel(self) -> str:
        return self.bot_data["channel"]

    @property
    def translator(self) -> Translator:
        if self._translator is None:
            self._translator = self.services.translator_for(self.staff)
        return self._translator

    @translator.setter
    def translator(self, value: Translator) -> None:
        self._translator = value

    # The short name handlers use, ``context._("…")``. (A ``def _`` property cannot have a setter
    # that mypy accepts: it lets ``_`` be redefined freely, so ``@_.setter`` names nothing.)
    _ = translator

    @property
    def me(self) -> Staff:
        """The staff member behind this update (the access gate guarantees one)."""
        assert self.staff is not None
        return self.staff

    @property
    def actor(self) -> Actor:
        return Actor(self.staff.id if self.staff else None, self.channel)

    def now(self) -> datetime:
        return self.services.clock.now()
