"""The gate in front of every handler: only bound, active staff get through.

Runs in the first handler group; it loads the staff member, sets their language and stops
everything else for strangers and deactivated accounts.
"""

from __future__ import annotations

import logging

from telegram import Update, User
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot.context import WorkshopContext
from bot.errors import outage_text
from bot.i18n import locale_from_language_code
from models.staff import seen_on
from models.staff_cache import own_read

GROUP = -100

log = logging.getLogger(__name__)


def user_key(user: User, channel: str) -> str:
    """The key an account is bound by: the Telegram user id, or the WeCom ``userid`` (which
    the WeCom channel hands over as the username; the numeric id is derived from it)."""
    if channel == "wecom" and user.username:
        return user.username
    return str(user.id)


def _is_start_with_code(update: Update) -> bool:
    message = update.message
    if message is None or not message.text:
        return False
    parts = message.text.split()
    return len(parts) == 2 and parts[0].split("@")[0] == "/start"


async def identify(update: Update, context: WorkshopContext) -> None:
    """Attach the staff member to the context, or refuse politely and stop."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or chat.type != chat.PRIVATE:
        raise ApplicationHandlerStop
    services = context.services
    channel = context.channel
    key = user_key(user, channel)
    # Seen a moment ago on this channel, reachable: nothing to ask or write (models.staff_cache).
    cached = services.staff_cache.get(channel, key)
    if cached is not None and cached.last_channel == channel:
        context.staff = cached.fresh_staff()  # each update its own copy
        context._ = services.translator_for(context.staff)
        return
    fallback = locale_from_language_code(user.language_code, services.settings.default_locale)
    try:
        read = services.staff_cache.reading()
        async with services.db.session() as session:
            own_read(session, read)  # this session's write leaves its own read current
            staff = await seen_on(session, channel, key)
            if staff is not None and staff.active and staff.last_channel != channel:
                staff.last_channel = channel  # NOTIFY_CHANNELS=preferred follows this
            if session.dirty:  # that, or an account the platform had refused is back
                await session.commit()
        if staff is not None:  # now reachable on this channel, and it wrote here last
            services.staff_cache.put(read, channel, key, staff)
    except Exception:
        # The gate fails closed: without knowing who this is, no handler may run (the
        # database unreachable or read-only). One answer, in the person's language.
        log.exception("the access gate could not identify user %s on %s", user.id,
                      context.channel)
        _ = services.translator_for(None, fallback)
        text = outage_text(_)
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(text, show_alert=True)
            else:
                await chat.send_message(text)
        except Exception:
            log.exception("could not tell user %s that the gate failed", user.id)
        raise ApplicationHandlerStop from None
    if staff is not None and staff.active:
        context.staff = staff
        context._ = services.translator_for(staff)
        return
    if _is_start_with_code(update):
        context._ = services.translator_for(None, fallback)
        return  # /start CODE binds a new account; handlers.staff.start takes it from here
    _ = services.translator_for(staff, fallback)
    if staff is None:
        text = _("This bot is for the workshop's staff. Ask your service manager for an "
                 "invite code.")
    else:
        text = _("Your access has been deactivated. Ask your service manager if this is a "
                 "mistake.")
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await chat.send_message(text)
    raise ApplicationHandlerStop


def handlers() -> list[TypeHandler[Update, WorkshopContext, None]]:
    return [TypeHandler(Update, identify)]
