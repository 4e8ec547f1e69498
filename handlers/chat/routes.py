"""How an area hands its handlers to the application: conversations apart from the one-tap
buttons and commands, so ``bot.application`` registers every conversation first and an open
conversation always sees its person's input before any button or command does."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, ConversationHandler

from bot.context import WorkshopContext

Handler = BaseHandler[Update, WorkshopContext, Any]


@dataclass
class Routes:
    conversations: list[ConversationHandler[WorkshopContext]] = field(default_factory=list)
    buttons: list[Handler] = field(default_factory=list)  # one-tap buttons and commands

    def __add__(self, other: Routes) -> Routes:
        return Routes(self.conversations + other.conversations, self.buttons + other.buttons)


def routes_of(*handler_lists: Iterable[Handler]) -> Routes:
    """Sort each module's ``handlers()`` into conversations and the rest, keeping their order."""
    routes = Routes()
    for handlers in handler_lists:
        for handler in handlers:
            if isinstance(handler, ConversationHandler):
                routes.conversations.append(handler)
            else:
                routes.buttons.append(handler)
    return routes
