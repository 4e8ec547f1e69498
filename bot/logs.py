"""The bot's log lines: each carries the update or job run it belongs to, mobile numbers
masked, as text or (``LOG_FORMAT=json``) one JSON object per line for log shippers.

The id is a context variable: ``mark_update`` sets ``u:<update_id>`` in the first handler group
(its handlers run in the task that processes the update), ``numbered_runs`` sets
``job:<name>:<n>`` around each run of a scheduled job. Message texts are not logged (customers'
addresses and names are in them; ``describe`` says what an update was without its content), and
mobile numbers that reach a line anyway (an error's text) are masked when it is formatted.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # the CLI loads this module for logging alone
    from telegram import Update

    from bot.context import WorkshopContext

# Before every other handler group (the access gate is handlers.staff.access.GROUP, -100).
GROUP = -1000
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s"

context_id: ContextVar[str | None] = ContextVar("log_context_id", default=None)

# Mainland mobile numbers, with or without +86 and separators: 138****5678.
MOBILE = re.compile(r"(?<![\d])(?:\+?86[ -]?)?(1[3-9]\d)[ -]?\d{4}[ -]?(\d{4})(?![\d])")


def mask(text: str) -> str:
    return MOBILE.sub(r"\1****\2", text)


async def mark_update(update: Update, context: WorkshopContext) -> None:
    """Every line logged while this update is handled carries ``u:<update_id>``."""
    context_id.set(f"u:{update.update_id}")


Job = Callable[["WorkshopContext"], Coroutine[Any, Any, None]]


def numbered_runs(name: str, job: Job) -> Job:
    """``job``, with every line of its n-th run carrying ``job:<name>:<n>``."""
    runs = itertools.count(1)

    async def run(context: WorkshopContext) -> None:
        token = context_id.set(f"job:{name}:{next(runs)}")
        await job(context)
        # Not on an error: python-telegram-bot hands it to the error handler after this
        # returns, whose line keeps the id. Each run is its own task, so the id ends with it.
        context_id.reset(token)

    return run


def describe(update: object) -> str:
    """What failed, for the log: the kind of update and whose, never what it said."""
    from telegram import Update

    if update is None:
        return "a scheduled job"
    if not isinstance(update, Update):
        return type(update).__name__
    user = update.effective_user
    who = f" from user {user.id}" if user is not None else ""
    message = update.effective_message
    if update.callback_query is not None:
        what = "a button"
    elif message is not None and message.text and message.text.startswith("/"):
        what = f"command {message.text.split()[0][:40]}"
    elif message is not None:
        what = "a message"
    else:
        what = "an update"
    return f"update {update.update_id} ({what}{who})"


class ContextFilter(logging.Filter):
    """Notes on each record the update or job run it was logged in (``record.context_id``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "context_id"):
            record.context_id = context_id.get()
        return True


def _id_of(record: logging.LogRecord) -> str | None:
    return getattr(record, "context_id", None) or context_id.get()


class TextFormatter(logging.Formatter):
    """``time LEVEL logger [u:42]: message``, mobile numbers masked (the traceback too)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        known = _id_of(record)
        record.context = f" [{known}]" if known else ""
        return mask(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, id, message, and exc_info when any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "id": _id_of(record),
            "message": mask(record.getMessage()),
        }
        if record.exc_info:
            line["exc_info"] = mask(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exc_info"] = mask(record.exc_text)
        if record.stack_info:
            line["stack_info"] = mask(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False)


def handler(stream: IO[str] | None, log_format: Literal["text", "json"]) -> logging.Handler:
    """A handler writing to ``stream`` (stderr when None) in ``log_format``."""
    made = logging.StreamHandler(stream)
    made.addFilter(ContextFilter())
    made.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    return made
