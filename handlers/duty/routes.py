"""What duty areas and equipment (W8–W10) answers: its conversations and its one-tap
buttons and commands."""

from __future__ import annotations

from handlers.chat.routes import Routes, routes_of
from handlers.duty import areas, equipment


def routes() -> Routes:
    return routes_of(
        areas.handlers(),
        equipment.handlers(),
    )
