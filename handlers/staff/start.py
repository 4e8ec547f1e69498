"""Onboarding and the person's own settings: /start CODE, /help, /lang, /onduty, /offduty."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import WorkshopContext
from bot.i18n import locale_from_language_code
from bot.refusals import refusal
from bot.settings import LOCALES
from handlers.chat.ui import answer_tap, button, keyboard, reply
from handlers.staff.access import user_key
from handlers.staff.menus import help_lines, set_menu
from models.rules import Refused
from models.staff import InviteError, Role, redeem_invite, set_on_duty

PREFIX = "lang"  # the callback data of this module's buttons: lang:…

LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}


async def start(update: Update, context: WorkshopContext) -> None:
    """Bind the account with an invite code, or greet someone already bound."""
    args = context.args or []
    if not args:
        await reply(update, help_text(context))
        return
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    services = context.services
    locale = locale_from_language_code(user.language_code, services.settings.default_locale)
    async with services.db.session() as session:
        result = await redeem_invite(
            session, code=args[0], channel=context.channel,
            user_key=user_key(user, context.channel), chat_id=chat.id, locale=locale,
            now=context.now(),
        )
        if isinstance(result, InviteError):
            await session.rollback()
            await reply(update, invite_error_text(context, result))
            return
        await session.commit()
    context.staff = result
    context._ = services.translator_for(result)
    _ = context._
    await reply(update, _("Welcome, {name}! Your account is bound.").format(name=result.name)
                + "\n\n" + help_text(context))
    await set_menu(context.bot, chat.id, result, _)


def invite_error_text(context: WorkshopContext, error: InviteError) -> str:
    _ = context._
    return {
        InviteError.unknown: _("That invite code is not valid. Check it, or ask your service "
                               "manager for a new one."),
        InviteError.used: _("That invite code has already been used. Ask your service manager "
                            "for a new one."),
        InviteError.expired: _("That invite code has expired. Ask your service manager for a "
                               "new one."),
        InviteError.inactive: _("That invite belongs to a deactivated account."),
    }[error]


def help_text(context: WorkshopContext) -> str:
    _ = context._
    staff = context.staff
    if staff is None:
        return _("This bot is for the workshop's staff. Ask your service manager for an "
                 "invite code.")
    lines = [_("Hello, {name}. What you can do:").format(name=staff.name)]
    lines += help_lines(staff, _)  # the same table as the command menu
    return "\n".join(lines)


async def show_help(update: Update, context: WorkshopContext) -> None:
    """List what this person can do."""
    await reply(update, help_text(context))


async def choose_language(update: Update, context: WorkshopContext) -> None:
    """Offer the languages as buttons."""
    await reply(
        update,
        context._("Choose your language:"),
        keyboard([button(name, f"{PREFIX}:{code}") for code, name in LANGUAGE_NAMES.items()]),
    )


async def set_language(update: Update, context: WorkshopContext) -> None:
    """Store the chosen language and redo the command menu in it."""
    query = update.callback_query
    assert query is not None and query.data is not None
    locale = query.data.split(":", 1)[1]
    if locale not in LOCALES:
        await answer_tap(update)
        return
    services = context.services
    async with services.db.session() as session:
        staff = await session.get(type(context.me), context.me.id)
        assert staff is not None
        staff.locale = locale
        await session.commit()
    context.staff = staff
    context._ = services.translator_for(staff)
    await query.answer()
    await query.edit_message_text(context._("Language set: {name}.").format(
        name=LANGUAGE_NAMES[locale]))
    if update.effective_chat is not None:
        await set_menu(context.bot, update.effective_chat.id, staff, context._)


async def duty(update: Update, context: WorkshopContext, on: bool) -> None:
    _ = context._
    if not context.me.has(Role.advisor):
        await reply(update, refusal(_, Refused("not_advisor")))
        return
    async with context.services.db.session() as session:
        staff = await session.get(type(context.me), context.me.id)
        assert staff is not None
        await set_on_duty(session, staff, on, now=context.now(), actor=context.actor)
        await session.commit()
    await reply(update, _("You are on duty: escalated reports and approvals reach you.") if on
                else _("You are off duty: escalations no longer reach you."))


async def on_duty(update: Update, context: WorkshopContext) -> None:
    """Advisor starts receiving escalations."""
    await duty(update, context, True)


async def off_duty(update: Update, context: WorkshopContext) -> None:
    """Advisor stops receiving escalations."""
    await duty(update, context, False)


def handlers() -> list[BaseHandler[Update, WorkshopContext, None]]:
    return [
        CommandHandler("start", start),
        CommandHandler("help", show_help),
        CommandHandler("lang", choose_language),
        CallbackQueryHandler(set_language, pattern=rf"^{PREFIX}:[A-Za-z_]+$"),
        CommandHandler("onduty", on_duty),
        CommandHandler("offduty", off_duty),
    ]
