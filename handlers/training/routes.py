"""What trainings and meetings (W11) answers: its conversations and its one-tap
buttons and commands."""

from __future__ import annotations

from handlers.chat.routes import Routes, routes_of
from handlers.training import attendance, notice, reply


def routes() -> Routes:
    return routes_of(
        notice.handlers(),
        reply.handlers(),
        attendance.handlers(),
    )
