"""What every handler and job needs, shared by the Telegram and WeCom applications."""

from __future__ import annotations

import itertools
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.clock import Clock
from bot.i18n import Translator
from bot.messenger import Messenger
from bot.settings import Settings
from models import claims
from models.db import Database
from models.staff import Staff
from models.staff_cache import StaffCache

if TYPE_CHECKING:
    from bot.plate_reader import PlateReader


def worker_id(clock: Clock) -> str:
    """``host:pid:start`` — unique among the workers of a group of stores, and readable."""
    started = clock.now().strftime("%Y%m%dT%H%M%S.%f")
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{started}:{next(_instances)}"


_instances = itertools.count(1)  # two Services in one process (tests) are two workers


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    messenger: Messenger
    # What this process's jobs remember between runs (e.g. "maintenance calls made today");
    # the database stays the source of truth, this only saves repeated work.
    job_state: dict[str, Any] = field(default_factory=dict)
    # When each error (its type and the place in our code) was last told to the admins, by
    # the shop's clock: the same error is told at most once every ten minutes per process.
    errors_told: dict[tuple[str, str], datetime] = field(default_factory=dict)
    # The applications of this process by channel (set by ``build_application``): a decision
    # on one channel ends the steps people left open on it on the other
    # (``handlers.chat.deciding``).
    applications: dict[str, Any] = field(default_factory=dict)
    # Who this process is in the job claims and the logs: host, pid and start time.
    worker: str = ""
    # Reads the plate off a W1 photo (``bot.plate_reader``): None without the ``ocr`` extra,
    # and then plates are only typed.
    plate_reader: PlateReader | None = None
    # Who each chat account is, for the access gate (``handlers.staff.access``).
    staff_cache: StaffCache = field(init=False)

    def __post_init__(self) -> None:
        self.messenger.db = self.db  # where messages refused for now are kept
        if not self.worker:
            self.worker = worker_id(self.clock)
        claims.set_lease(timedelta(seconds=self.settings.claim_lease_seconds))
        self.staff_cache = StaffCache(self.settings.staff_cache_seconds, self.clock.monotonic)

    def translator_for(self, staff: Staff | None, fallback: str | None = None) -> Translator:
        locale = (staff.locale if staff else None) or fallback or self.settings.default_locale
        return Translator(locale, self.settings.tz, self.clock.now())
