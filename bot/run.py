"""Run the Telegram bot by long polling until a stop signal.

python-telegram-bot owns the event loop here (``run_polling`` creates it, installs the
SIGINT/SIGTERM handlers and shuts down cleanly), so nothing in this module is ``async`` at the
top level.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.application import build_application
from bot.clock import Clock
from bot.messenger import Messenger
from bot.services import Services
from bot.settings import Settings
from models.db import Database

log = logging.getLogger(__name__)


def poll(settings: Settings) -> None:
    """Build the Telegram application on a real clock and poll ``TELEGRAM_API_BASE_URL``."""
    db = Database(settings.database_url)
    services = Services(settings=settings, db=db, clock=Clock(), messenger=Messenger(settings))
    application = build_application(services)
    earlier_shutdown = application.post_shutdown

    async def close_database(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        if earlier_shutdown is not None:
            await earlier_shutdown(app)
        await db.dispose()

    application.post_shutdown = close_database
    # A fresh loop (the schema check closed its own), shared with run_polling. Initializing
    # here first lets a rejected token or an unreachable Bot API surface as one exception for
    # the CLI to explain, instead of PTB's retry-loop traceback; run_polling then skips it.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(application.initialize())
    except BaseException:
        loop.run_until_complete(db.dispose())
        loop.close()
        asyncio.set_event_loop(None)
        raise
    log.info("polling %s for updates as @%s", settings.telegram_api_base_url,
             application.bot.username)
    try:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    finally:
        asyncio.set_event_loop(None)  # run_polling closed it
    log.info("stopped")
