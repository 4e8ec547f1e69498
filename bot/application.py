"""``build_application``: one python-telegram-bot ``Application`` per channel, same handlers."""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta
from typing import Any

from sqlmodel import col, select
from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    JobQueue,
    TypeHandler,
)
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

from bot import errors, logs
from bot.context import WorkshopContext
from bot.pacing import Pacer
from bot.persistence import DatabasePersistence
from bot.services import Services
from handlers.after_sales import routes as after_sales_routes
from handlers.chat import deciding
from handlers.chat.conversation import Conversation, nothing_to_cancel, stale_button
from handlers.chat.routes import Routes
from handlers.duty import routes as duty_routes
from handlers.floor import routes as floor_routes
from handlers.parts import routes as parts_routes
from handlers.qc import routes as qc_routes
from handlers.staff import access, pointer
from handlers.staff import routes as staff_routes
from handlers.staff.menus import set_default_menu, set_menu
from handlers.training import routes as training_routes
from jobs import after_sales, backups, escalation, media, outbox, workshop
from models.card import CardBook, begin_book, end_book
from models.staff import ChatAccount, Staff

log = logging.getLogger(__name__)

# Our conversations mix buttons and text on purpose; PTB warns about per_message=False.
warnings.filterwarnings("ignore", message=r"If 'per_message=False'", category=PTBUserWarning)

PERSIST_GROUP = 1000
# The shop's areas, each with its conversations and its buttons (``handlers/<area>/routes.py``).
AREAS = (floor_routes, parts_routes, qc_routes, duty_routes, training_routes, after_sales_routes,
         staff_routes)
# python-telegram-bot wants a token; the WeCom application's requests never reach Telegram.
WECOM_BOT_TOKEN = "wecom:0-not-a-telegram-token"


BOOK_GROUP = -95  # after the access gate, before anything that may send a card
LOAD_GROUP = -90  # after the access gate (strangers cost nothing), before everything else


async def _open_card_book(update: Update, context: WorkshopContext) -> None:
    """The card copies this update sends go into its book and are written with its last
    transaction (``_save_conversations``). What an earlier update left in its book (it was
    stopped before that step) is kept for this one's."""
    left = begin_book()
    if left is not None:
        persistence = context.application.persistence
        if isinstance(persistence, DatabasePersistence):
            persistence.keep_cards(left)
        else:
            await _write_cards(context.services, left)


async def _write_cards(services: Services, book: CardBook) -> None:
    async with services.db.session() as session:
        await book.write(session)
        await session.commit()


async def _load_person(update: Update, context: WorkshopContext) -> None:
    """Several workers share chats (``SHARED_CHAT_STATE``: webhooks behind a load balancer send
    a person's updates to any process): read the person's conversation states and drafts as
    the last process saved them, before anything looks at them. One select per update."""
    chat, user = update.effective_chat, update.effective_user
    persistence = context.application.persistence
    if chat is None or user is None or not isinstance(persistence, DatabasePersistence):
        return
    states, data = await persistence.load_person(chat.id, user.id)
    for group in context.application.handlers.values():
        for handler in group:
            if isinstance(handler, Conversation) and handler.name:
                handler.adopt(chat.id, user.id, states.get(handler.name))
    user_data = context.application.user_data.get(user.id)
    if user_data is None and data is None:
        return
    user_data = context.application.user_data[user.id]  # made on first use
    user_data.clear()
    user_data.update(data or {})


async def _save_conversations(update: Update, context: WorkshopContext) -> None:
    """Write conversation states and drafts after every update, not only once a minute: what
    the update changed, with the card copies it sent, in one transaction
    (``DatabasePersistence.save``), nothing when it changed nothing kept there. This person's
    drafts go with their conversation state (python-telegram-bot marks them only after the
    update), so a restart, or with
    ``SHARED_CHAT_STATE`` the process that gets their next update, finds both at one step.
    A refused write is logged and kept for the next one; the admins hear of it as of any
    error outside an update."""
    application = context.application
    user = update.effective_user
    if user is not None:
        application.mark_data_for_update_persistence(user_ids=user.id)
    cards = end_book()  # the card copies the update sent: with the same transaction
    persistence = application.persistence
    if not isinstance(persistence, DatabasePersistence):
        await application.update_persistence()
        if cards:
            await _write_cards(context.services, cards)
        return
    if cards:
        persistence.keep_cards(cards)
    with persistence.recording():
        await application.update_persistence()
    try:
        await persistence.save()
    except Exception as error:  # logged by ``save``; the next update's write takes it along
        await application.process_error(update=None, error=error)


async def _on_error(update: object, context: WorkshopContext) -> None:
    """Log for the operator; tell the person whether their last step was saved, and the
    admins in chat what broke (``bot.errors``). A job's error has nobody else to tell."""
    log.error("%s failed", logs.describe(update), exc_info=context.error)  # not its text
    if isinstance(update, Update):
        await errors.tell_the_person(update, context)
    await errors.tell_the_admins(update, context)


async def _post_init(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    services: Services = application.bot_data["services"]
    channel = application.bot_data["channel"]
    _ = services.translator_for(None)
    await set_default_menu(application.bot, _)
    async with services.db.session() as session:
        rows = (
            await session.exec(
                select(ChatAccount, Staff)
                .join(Staff, col(Staff.id) == col(ChatAccount.staff_id))
                .where(ChatAccount.channel == channel, Staff.active == True)  # noqa: E712
            )
        ).all()
    for account, staff in rows:
        await set_menu(application.bot, account.chat_id, staff, services.translator_for(staff))


def build_application(
    services: Services,
    *,
    channel: str = "telegram",
    request: BaseRequest | None = None,
    rate_limiter: bool = True,
    token: str | None = None,
    run_jobs: bool = True,
) -> Application[Any, WorkshopContext, Any, Any, Any, Any]:
    settings = services.settings
    token = token or settings.telegram_bot_token
    if not token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    # The bot is an ExtBot[int] with the rate limiter, an ExtBot[None] without.
    builder: ApplicationBuilder[ExtBot[Any], WorkshopContext, dict[Any, Any], dict[Any, Any],
                                dict[Any, Any], JobQueue[Any]] = (
        Application.builder()
        .token(token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_file_base_url)
        .context_types(ContextTypes(context=WorkshopContext))
        .persistence(DatabasePersistence(services.db, channel))
        .post_init(_post_init)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        # A slow answer is waited for (python-telegram-bot gives up after 5 s): a message whose
        # answer came late was delivered, and keeping it for the outbox would send it twice.
        builder = builder.read_timeout(settings.telegram_read_timeout_seconds)
    if rate_limiter:
        # Telegram: each chat and the bot at Telegram's pace (bot.pacing); WeCom paces its
        # members itself (bot.wecom.request) and only needs the bot-wide limit.
        builder = builder.rate_limiter(
            Pacer(bot_rate=settings.telegram_messages_per_second,
                  chat_interval=settings.telegram_chat_interval_seconds)
            if channel == "telegram" else AIORateLimiter(max_retries=3))
    application = builder.build()
    application.bot_data["services"] = services
    application.bot_data["channel"] = channel
    services.messenger.register(channel, application.bot)
    services.applications[channel] = application

    # Order matters: the update's log id is set first (``bot.logs``); the access gate runs next
    # and stops strangers; then the update's card book opens (``models.card``) and its commits
    # are counted (the error handler says whether the person's step was saved); every area's
    # conversations come before any one-tap button or command, so an open conversation sees
    # its person's input first; persistence is written last.
    application.add_handler(TypeHandler(Update, logs.mark_update), group=logs.GROUP)
    application.add_handlers(access.handlers(), group=access.GROUP)
    application.add_handler(TypeHandler(Update, _open_card_book), group=BOOK_GROUP)
    application.add_handler(TypeHandler(Update, errors.watch), group=errors.GROUP)
    if services.settings.shared_chat_state:
        application.add_handler(TypeHandler(Update, _load_person), group=LOAD_GROUP)
    # A decision step someone else's decision ended is closed before any conversation sees
    # the update, which then goes on as if no step were open.
    application.add_handler(TypeHandler(Update, deciding.settle_decided_step),
                            group=deciding.GROUP)
    routes = sum((area.routes() for area in AREAS), Routes())
    application.add_handlers(
        [
            *routes.conversations,
            *routes.buttons,
            CommandHandler("cancel", nothing_to_cancel),
            # Anything else sent outside a step: what waits for the person, and /help.
            pointer.handler(),
            CallbackQueryHandler(stale_button),
        ]
    )
    application.add_handler(TypeHandler(Update, _save_conversations), group=PERSIST_GROUP)
    application.add_error_handler(_on_error)

    # The jobs read the database and send through the messenger to every channel, so one
    # application per process runs them.
    if run_jobs and application.job_queue is not None:
        # (job, how often in seconds, first run after seconds, misfire grace in seconds)
        schedule = (
            (escalation, settings.escalation_check_seconds, 5, 60),
            (after_sales, settings.followup_check_seconds, 10, 60),
            (workshop, settings.followup_check_seconds, 15, 60),
            # Delivery: messages a platform refused for now, and WeCom photos kept before
            # their media ids expire.
            (outbox, settings.outbox_check_seconds, 20, 60),
            (media, 300, 25, 300),
            # The daily copy of the database, only when BACKUP_DIR is set.
            *(((backups, 60, 30, 60),) if settings.backup_dir else ()),
        )
        for module, every, first, grace in schedule:
            name = f"{module.__name__.rsplit('.', 1)[1]}:{channel}"
            application.job_queue.run_repeating(
                logs.numbered_runs(name, module.job),  # each run's lines: job:<name>:<n>
                interval=timedelta(seconds=every),
                first=timedelta(seconds=min(first, every)),
                name=name,
                job_kwargs={"misfire_grace_time": grace, "coalesce": True, "max_instances": 1},
            )
    return application


def build_wecom_application(
    services: Services,
    *,
    request: BaseRequest | None = None,
    rate_limiter: bool = True,
    run_jobs: bool = False,
) -> Application[Any, WorkshopContext, Any, Any, Any, Any]:
    """The same handlers on WeCom: ``WeComRequest`` carries out their Bot API calls. Jobs run
    once per process, on the primary application, unless ``run_jobs`` (a WeCom-only shop)."""
    from bot.wecom.request import WeComRequest

    if request is None:
        request = WeComRequest(services.settings, services.db, services.clock)
    return build_application(services, channel="wecom", request=request,
                             rate_limiter=rate_limiter, token=WECOM_BOT_TOKEN,
                             run_jobs=run_jobs)
