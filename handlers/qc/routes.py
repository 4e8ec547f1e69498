"""What QC (W7) answers: its conversations and its one-tap buttons and commands."""

from __future__ import annotations

from handlers.chat.routes import Routes, routes_of
from handlers.qc import checks, next_process, self_check


def routes() -> Routes:
    return routes_of(
        next_process.handlers(),
        checks.handlers(),
        self_check.handlers(),
    )
