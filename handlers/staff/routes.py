"""What staff: start, menus and the staff list answers: its conversations and its one-tap
buttons and commands."""

from __future__ import annotations

from handlers.chat.routes import Routes, routes_of
from handlers.staff import admin, start


def routes() -> Routes:
    return routes_of(
        admin.handlers(),
        start.handlers(),
    )
