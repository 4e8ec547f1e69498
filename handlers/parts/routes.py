"""What parts (W6) answers: its conversations and its one-tap buttons and commands."""

from __future__ import annotations

from handlers.chat.routes import Routes, routes_of
from handlers.parts import decision, lists, request, returns


def routes() -> Routes:
    return routes_of(
        request.handlers(),
        decision.handlers(),
        returns.handlers(),
        lists.handlers(),
    )
