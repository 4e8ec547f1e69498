"""Run the bot until a stop signal: Telegram by long polling or a webhook, WeCom behind the
HTTP server.

With only Telegram configured and no webhook, python-telegram-bot owns the event loop
(``poll``: ``run_polling`` creates it, installs the SIGINT/SIGTERM handlers and shuts down
cleanly). Otherwise ``serve`` runs everything on one loop: the HTTP server (uvicorn), the WeCom
application and, when a token is set, Telegram next to it: polled, or posting to the webhook
route when ``TELEGRAM_WEBHOOK_URL`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from typing import Any

import uvicorn
from telegram import Update
from telegram.ext import Application

from bot import plate_reader
from bot.application import build_application
from bot.backups import running_on
from bot.clock import Clock
from bot.messenger import Messenger
from bot.plate_reader import OcrPlateReader
from bot.services import Services
from bot.settings import Settings
from models.db import Database

log = logging.getLogger(__name__)


def ocr_reader(clock: Clock) -> OcrPlateReader | None:
    """The offline plate OCR for W1 photos when the ``ocr`` extra is installed (its model loads
    on the first photo); None without it, and plates are typed."""
    return OcrPlateReader(clock=clock) if plate_reader.available() else None


def poll(settings: Settings) -> None:
    """Build the Telegram application on a real clock and poll ``TELEGRAM_API_BASE_URL``."""
    with running_on(settings.database_url):  # a restore is refused meanwhile (bot.backups)
        _poll(settings)


def _poll(settings: Settings) -> None:
    db = Database(settings.database_url)
    clock = Clock()
    reader = ocr_reader(clock)
    services = Services(settings=settings, db=db, clock=clock, messenger=Messenger(settings, clock),
                        plate_reader=reader)
    application = build_application(services)
    earlier_shutdown = application.post_shutdown

    async def close_database(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        if earlier_shutdown is not None:
            await earlier_shutdown(app)
        await services.messenger.flush()  # messages kept for later reach the outbox table
        await db.dispose()
        if reader is not None:
            reader.close()

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


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: ``serve`` decides when everything stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Run the HTTP server (health, the DMS intake, the Telegram webhook and the WeCom channel
    when configured), with Telegram polling when a token is set but no webhook, until
    SIGINT/SIGTERM (or ``stop``). The first application runs the jobs."""
    with running_on(settings.database_url):  # a restore is refused meanwhile (bot.backups)
        await _serve(settings, stop=stop)


async def _serve(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    from bot import customer_page, intake
    from bot.application import build_wecom_application
    from bot.http import TelegramEndpoint, WeComEndpoint, build_http_app
    from bot.wecom.inbound import Dispatcher
    from bot.wecom.request import WeComRequest

    db = Database(settings.database_url)
    clock = Clock()
    reader = ocr_reader(clock)
    services = Services(settings=settings, db=db, clock=clock, messenger=Messenger(settings, clock),
                        plate_reader=reader)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    started: list[Application[Any, Any, Any, Any, Any, Any]] = []
    telegram = None
    telegram_endpoint = None
    try:
        if settings.telegram_bot_token:
            telegram = build_application(services)
            await telegram.initialize()
            started.append(telegram)
            if telegram.post_init is not None:
                await telegram.post_init(telegram)
            # Started either way: its update fetcher consumes update_queue, which the updater
            # fills when polling and the webhook route fills otherwise.
            await telegram.start()
            if settings.telegram_webhook:
                telegram_endpoint = TelegramEndpoint(settings, telegram)
            else:
                assert telegram.updater is not None
                await telegram.updater.start_polling(allowed_updates=Update.ALL_TYPES)
                log.info("polling %s for updates as @%s", settings.telegram_api_base_url,
                         telegram.bot.username)
        elif settings.telegram_webhook:
            log.warning("TELEGRAM_WEBHOOK_URL is set without TELEGRAM_BOT_TOKEN; no webhook")
        dispatcher = None
        endpoint = None
        if settings.wecom_configured:
            request = WeComRequest(settings, db, services.clock)
            await request.check()  # a wrong corp id or secret stops the start here
            wecom = build_wecom_application(services, request=request,
                                            run_jobs=telegram is None)
            await wecom.initialize()
            started.append(wecom)
            await wecom.start()
            dispatcher = Dispatcher(wecom, services, request.store)
            dispatcher.schedule(wecom.job_queue)  # callbacks taken in but never handled
            endpoint = WeComEndpoint(settings, services.clock, dispatcher)
        dms = intake.IntakeEndpoint(services)
        channels = {each.bot_data["channel"]: each for each in started}
        app = build_http_app(settings, wecom=endpoint, telegram=telegram_endpoint, db=db,
                             extra_routes=[*intake.routes(services, dms),
                                           *customer_page.routes(services)],
                             channels=channels)
        server = _Server(uvicorn.Config(app, host=settings.http_host, port=settings.http_port,
                                        log_level="warning", lifespan="off"))
        serving = asyncio.create_task(server.serve())
        try:
            if telegram is not None and telegram_endpoint is not None:
                await _listening(server, serving)
                await _set_webhook(settings, telegram)
            log.info("health at http://%s:%s/healthz", settings.http_host, settings.http_port)
            if endpoint is not None:
                log.info("WeCom callback at http://%s:%s%s", settings.http_host,
                         settings.http_port, settings.wecom_callback_path)
            if settings.intake_api_key:
                log.info("DMS intake at http://%s:%s/api/work-orders", settings.http_host,
                         settings.http_port)
            if settings.public_base_url:
                log.info("customer pages at %s/c/… (served at http://%s:%s/c/…)",
                         settings.public_base_url, settings.http_host, settings.http_port)
            waiting = asyncio.create_task(stop.wait())
            await asyncio.wait({serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
        finally:
            server.should_exit = True
            try:
                await serving
            except SystemExit:  # uvicorn's answer to a port it cannot bind
                raise OSError(f"cannot listen on {settings.http_host}:{settings.http_port}") \
                    from None
        await dms.idle()  # the notices of orders already answered
        if dispatcher is not None:
            await dispatcher.idle()
    finally:
        for application in reversed(started):
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
            await application.shutdown()
        await services.messenger.flush()  # messages kept for later reach the outbox table
        await db.dispose()
        if reader is not None:
            reader.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
    log.info("stopped")


async def _listening(server: uvicorn.Server, serving: asyncio.Task[None]) -> None:
    """Wait until ``server`` accepts connections, so Telegram's first post finds it."""
    while not server.started and not serving.done():  # noqa: ASYNC110 (uvicorn has a flag)
        await asyncio.sleep(0.01)
    if serving.done():
        await serving  # raises uvicorn's SystemExit for a port it cannot bind


async def _set_webhook(
    settings: Settings, telegram: Application[Any, Any, Any, Any, Any, Any]
) -> None:
    """Point Telegram at our route (again at every start: the URL, secret or path may have
    changed).

    On stop the webhook is left in place on purpose: Telegram holds the updates that arrive
    while we are down and delivers them to it once we answer again. Deleting it would leave
    those updates waiting for someone to poll or set a webhook (and a restart setting it with
    drop_pending_updates, or nobody within 24 hours, would lose them)."""
    url = settings.telegram_webhook
    assert url and settings.telegram_webhook_secret
    await telegram.bot.set_webhook(url, secret_token=settings.telegram_webhook_secret,
                                   allowed_updates=Update.ALL_TYPES)
    log.info("Telegram webhook %s set for @%s; served at http://%s:%s%s", url,
             telegram.bot.username, settings.http_host, settings.http_port,
             settings.telegram_webhook_path)
