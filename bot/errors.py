"""When an update or a job fails: what the person is told, and what the admins read in chat.

The person hears whether their last step was saved: the commits this update made are counted
(``models.db.watch_commits``, begun by ``watch`` right after the access gate), so "nothing was
changed" is said only when it is true. The admins get one report per error, the same error (its
type and the place in our code) at most once every ten minutes per process, measured by the
shop's clock; the log keeps every one.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime, timedelta
from pathlib import Path

from telegram import Update

from bot.context import WorkshopContext
from bot.i18n import Translator, locale_from_language_code
from bot.messenger import Rendered
from bot.services import Services
from handlers.chat.ui import reply
from models.db import commits_made, unreachable, watch_commits
from models.staff import Role, Staff, active_with_role

log = logging.getLogger(__name__)

# Right after the access gate (``handlers.staff.access.GROUP``): its own bookkeeping commit is
# not the person's step; everything from here on is.
GROUP = -1
TELL_ADMINS_EVERY = timedelta(minutes=10)
MAX_ERROR_TEXT = 300
ROOT = Path(__file__).resolve().parent.parent
OUR_PACKAGES = {"bot", "handlers", "jobs", "models"}

# The error handler gets a fresh context without the staff member the gate found; ``watch``
# keeps them here, with the update they belong to.
_person: ContextVar[tuple[object, Staff | None] | None] = ContextVar("update_person",
                                                                     default=None)


async def watch(update: Update, context: WorkshopContext) -> None:
    """From here on, count this update's commits and remember whose update it is."""
    watch_commits(update)
    _person.set((update, context.staff))


def staff_of(update: object) -> Staff | None:
    """The staff member behind ``update``, as the access gate found them (None when the
    update failed before, or came from a stranger)."""
    person = _person.get()
    return person[1] if person is not None and person[0] is update else None


# --- the person ------------------------------------------------------------------------------


def outage_text(_: Translator) -> str:
    """What a person reads while the database refuses (the access gate says it too)."""
    return _("The workshop system cannot be reached just now; nothing was changed. "
             "Please try again in a moment.")


async def tell_the_person(update: Update, context: WorkshopContext) -> None:
    """Briefly, in their language: nothing was changed, or their last step was saved."""
    if update.effective_chat is None:
        return
    _ = _translator(context.services, update)
    if context.error is not None and unreachable(context.error) and not commits_made(update):
        # An outage (the database refuses connections or writes): the access gate's words.
        text = outage_text(_)
    elif commits_made(update):
        text = _("Something went wrong on our side. Your last step was saved, but the rest "
                 "did not finish; please check before trying again.")
    else:
        text = _("Something went wrong on our side; nothing was changed. Please try again.")
    try:
        await reply(update, text)
    except Exception:
        log.exception("could not tell the user about the error")


def _translator(services: Services, update: Update) -> Translator:
    user = update.effective_user
    fallback = locale_from_language_code(user.language_code if user else None,
                                         services.settings.default_locale)
    return services.translator_for(staff_of(update), fallback)


# --- the admins ------------------------------------------------------------------------------


async def tell_the_admins(update: object, context: WorkshopContext) -> None:
    """Send the active admins a report of a failed update or job, each in their language,
    unless the same error was reported in the last ten minutes."""
    error = context.error
    if error is not None:
        await _tell(context.services, error,
                    lambda _, place: report(_, update, context, place))


async def tell_the_admins_of_a_job(services: Services, name: str, error: BaseException) -> None:
    """The same for one part of a scheduled job that failed while the others went on (the job
    catches it, so the error handler never sees it)."""

    def text(_: Translator, place: str) -> str:
        return "\n".join([
            _("⚠️ The scheduled job {name} failed: {error}").format(
                name=name, error=_error_text(error)),
            _("Where in the code: {place}").format(place=place),
            _("The same error is reported here at most once every 10 minutes; the log "
              "has every one."),
        ])

    await _tell(services, error, text)


async def _tell(services: Services, error: BaseException,
                text: Callable[[Translator, str], str]) -> None:
    now = services.clock.now()
    place = where_in_our_code(error)
    if not first_in_a_while(services, (_type_name(error), place), now):
        log.info("%s at %s was told to the admins less than %s ago", _type_name(error), place,
                 TELL_ADMINS_EVERY)
        return

    def render(_: Translator) -> Rendered:
        return text(_, place), None

    try:
        async with services.db.session() as session:
            for admin in await active_with_role(session, Role.admin):
                await services.messenger.send(session, admin, render, now=now)
    except Exception:
        log.exception("could not tell the admins about the error")


def first_in_a_while(services: Services, key: tuple[str, str], now: datetime) -> bool:
    """Whether this error goes to the admins now (and remember that it did)."""
    told = services.errors_told
    for old in [k for k, at in told.items() if not timedelta(0) <= now - at < TELL_ADMINS_EVERY]:
        del told[old]  # long ago, or the clock was set back: forget it
    if key in told:
        return False
    told[key] = now
    return True


def report(_: Translator, update: object, context: WorkshopContext, place: str) -> str:
    """What broke, in what, for whom, and where in the code."""
    assert context.error is not None
    lines = [_("⚠️ The bot failed while handling {what} on {channel}: {error}").format(
        what=_what(_, update, context), channel=context.channel,
        error=_error_text(context.error))]
    if isinstance(update, Update) and update.effective_user is not None:
        user = update.effective_user
        staff = staff_of(update)
        lines.append(_("From: {who}").format(who=_("{name} (user id {id})").format(
            name=staff.name if staff else user.full_name, id=user.id)))
    lines.append(_("Where in the code: {place}").format(place=place))
    if isinstance(update, Update) and commits_made(update):
        lines.append(_("Some of it had already been saved when it failed."))
    lines.append(_("The same error is reported here at most once every 10 minutes; the log "
                   "has every one."))
    return "\n".join(lines)


def _what(_: Translator, update: object, context: WorkshopContext) -> str:
    """The command, the button or the kind of update that failed; for a job, its name."""
    if isinstance(update, Update):
        if update.callback_query is not None:
            return _("button {data}").format(data=update.callback_query.data or "—")
        message = update.effective_message
        if message is not None and message.text and message.text.startswith("/"):
            return _("command {command}").format(command=message.text.split()[0])
        if message is not None and message.photo:
            return _("a photo")
        if message is not None and message.text:
            return _("a text message")
        return _("an update of another kind")
    if context.job is not None:
        return _("scheduled job {name}").format(name=context.job.name)
    return _("an update of another kind")


def where_in_our_code(error: BaseException) -> str:
    """The deepest frame of the traceback in our own packages, e.g.
    ``handlers/floor/extra_item.py:142``: an error raised inside a library is told apart by
    the code that called it."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [frame for frame in frames if _our_path(frame.filename)]
    if not (ours or frames):
        return "?"
    frame = (ours or frames)[-1]
    return f"{_our_path(frame.filename) or Path(frame.filename).name}:{frame.lineno}"


def _our_path(filename: str) -> str | None:
    """The path inside the project (``bot/…``, ``handlers/…``) or None for anyone else's."""
    try:
        relative = Path(filename).resolve().relative_to(ROOT)
    except ValueError:
        return None
    return relative.as_posix() if relative.parts[0] in OUR_PACKAGES else None


def _type_name(error: BaseException) -> str:
    return f"{type(error).__module__}.{type(error).__qualname__}"


def _error_text(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return text if len(text) <= MAX_ERROR_TEXT else text[: MAX_ERROR_TEXT - 1] + "…"
