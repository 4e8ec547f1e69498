"""``workshop-bot playground`` (and ``workshop-bot run`` with nothing configured): the real bot,
its handlers and its jobs, polling the local chat service on one uvicorn server with the page,
against a demo shop in its own SQLite file (``./data/playground.db``) on a clock the page moves.
Its WeCom application runs beside, as ``bot.run`` wires it, against the local WeCom API on the
same server (``bot.playground.wecom_api``): the page switches a person to it.

It never runs beside real tokens: messages to the demo people must never reach a real chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import webbrowser
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot import customer_page, migrate
from bot.application import build_application, build_wecom_application
from bot.clock import ShiftedClock
from bot.http import WeComEndpoint, build_http_app
from bot.messenger import Messenger
from bot.playground.channel_api import ChannelApi, WeComOutlet
from bot.playground.chat_service import BOT_ID, ChatService
from bot.playground.clock_api import ClockApi
from bot.playground.demo_shop import DemoPerson, ShopNotEmpty, people, seed
from bot.playground.language_api import LanguageApi
from bot.playground.tour_api import TourApi
from bot.playground.wecom_api import WeComApi
from bot.playground.wecom_callbacks import Callbacks, keys, wecom_settings
from bot.run import _listening, _Server, ocr_reader
from bot.services import Services
from bot.settings import LOCALES, Settings
from bot.wecom.inbound import Dispatcher
from bot.wecom.menu import create_menu
from bot.wecom.request import WeComRequest
from models.db import Database

log = logging.getLogger(__name__)

DATABASE = Path("data") / "playground.db"
WECOM_KEYS = DATABASE.with_name("playground-wecom.json")  # the app's token and AES key
DEFAULT_PORT = 8088
LOCAL_HOST = "127.0.0.1"
LOCAL_HOSTS = (LOCAL_HOST, "localhost", "::1")
# The chat service accepts this token only; it is no Telegram bot's.
TOKEN = f"{BOT_ID}:workshop-playground-local-only"


@dataclass(frozen=True)
class Options:
    host: str = LOCAL_HOST
    port: int = DEFAULT_PORT
    open_browser: bool = False
    reset: bool = False
    lang: str = LOCALES[0]

    @property
    def url(self) -> str:
        return f"http://{_bracketed(self.host)}:{self.port}/playground/"

    @property
    def own_address(self) -> str:
        """Where the bot in this process reaches the server: this machine when it listens on
        every address."""
        wildcard = {"0.0.0.0": LOCAL_HOST, "": LOCAL_HOST, "::": "::1"}
        return f"{_bracketed(wildcard.get(self.host, self.host))}:{self.port}"


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def refusal(settings: Settings) -> str | None:
    """Why the playground must not start here, in one line; ``None`` when it may."""
    if settings.telegram_bot_token or settings.wecom_configured:
        return ("TELEGRAM_BOT_TOKEN or the WECOM_* settings are set (env or .env), and the "
                "playground never runs beside real tokens: unset them to try it, or use "
                "`workshop-bot run`")
    return None


def exposure_warning(options: Options) -> str | None:
    if options.host in LOCAL_HOSTS:
        return None
    return (f"warning: the playground listens on {options.host}: anyone on that network can "
            "use it and chat as any demo person")


DEMO_SHOP_NAMES = {"zh_CN": "星辰汽车 4S 店", "en": "Star Motors"}  # the demo shop's name


def playground_settings(settings: Settings, options: Options) -> Settings:
    """The operator's settings (time zone, working hours …) with the playground's own
    database, the local chat service as the Bot API, nothing paced, nothing else served."""
    return settings.model_copy(update={
        "telegram_bot_token": TOKEN,
        "telegram_api_base_url": f"http://{options.own_address}/bot",
        "telegram_bot_username": None,
        "telegram_webhook_url": None,
        "telegram_chat_interval_seconds": 0.0,
        "database_url": f"sqlite:///{DATABASE}",
        "default_locale": options.lang,
        "shared_chat_state": False,
        "intake_api_key": None,
        "backup_dir": None,
        # The customer's page (issue 16) on this server: an advisor's "Ask the customer" link
        # opens here, in another tab, as the customer would see it.
        "public_base_url": f"http://{options.own_address}",
        "shop_name": settings.shop_name or DEMO_SHOP_NAMES[options.lang],
        "shop_phone": settings.shop_phone or "010-6512-3456",
    })


def run(settings: Settings, options: Options, *, line: str) -> None:
    """Serve until SIGINT/SIGTERM; ``line`` (the URL) is printed once the page answers."""
    asyncio.run(serve(settings, options, line=line))


async def serve(settings: Settings, options: Options, *, line: str,
                stop: asyncio.Event | None = None) -> None:
    if options.lang not in LOCALES:
        raise ValueError(f"no demo shop in {options.lang!r}; choose {' or '.join(LOCALES)}")
    """The playground until ``stop`` is set or SIGINT/SIGTERM arrives (``service.close()`` first,
    so the bot's waiting long poll and the pages' event streams end, then the bot, then the
    server)."""
    settings = playground_settings(settings, options)
    if options.reset:
        for suffix in ("", "-wal", "-shm", "-journal"):
            DATABASE.with_name(DATABASE.name + suffix).unlink(missing_ok=True)
        WECOM_KEYS.unlink(missing_ok=True)
    DATABASE.parent.mkdir(parents=True, exist_ok=True)
    settings = wecom_settings(settings, keys(WECOM_KEYS), options.own_address)
    db = Database(settings.database_url)
    clock = ShiftedClock()
    reader = ocr_reader(clock)  # W1 from a photo, when the ocr extra is installed
    services = Services(settings=settings, db=db, clock=clock,
                        messenger=Messenger(settings, clock), plate_reader=reader)
    service = ChatService(TOKEN, clock)
    wecom_api = WeComApi(service)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        for person in await _demo_people(services, options.lang):
            service.add_person(person.user_id, person.name, person.role_labels, person.locale,
                               person.channel)
        application = build_application(services, rate_limiter=False)
        request = WeComRequest(settings, db, clock)
        wecom = build_wecom_application(services, request=request, rate_limiter=False)
        dispatcher = Dispatcher(wecom, services, request.store)
        service.outlets["wecom"] = WeComOutlet(
            wecom_api, Callbacks(settings, clock, options.own_address))
        app = build_http_app(
            settings, db=db, wecom=WeComEndpoint(settings, clock, dispatcher),
            channels={"telegram": application, "wecom": wecom}, extra_routes=[
                Route("/", _to_the_page, methods=["GET"]),
                *ClockApi(services, service).routes(),
                *LanguageApi(services, service).routes(),
                *ChannelApi(services, service).routes(),
                *TourApi(services, service).routes(),
                *customer_page.routes(services),
                *wecom_api.routes(),
                *service.routes()])
        listener = _listen(options)
        server = _Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        try:
            await _listening(server, serving)
            await _start_wecom(wecom, request, dispatcher)
            await _start(application)
            print(line, flush=True)
            if options.open_browser:
                await asyncio.to_thread(webbrowser.open, options.url)
            waiting = asyncio.create_task(stop.wait())
            await asyncio.wait({serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
        finally:
            service.close()  # the waiting getUpdates answers, the event streams end
            await _stop(application)
            await dispatcher.idle()
            await _stop(wecom)
            server.should_exit = True
            await serving
            listener.close()
    finally:
        await services.messenger.flush()
        await db.dispose()
        if reader is not None:
            reader.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)


def _listen(options: Options) -> socket.socket:
    """The server's socket, bound here so that a port in use is an ``OSError`` (uvicorn would
    exit the process)."""
    family = socket.AF_INET6 if ":" in options.host else socket.AF_INET
    try:
        return socket.create_server((options.host, options.port), family=family)
    except OSError as exc:
        raise OSError(f"cannot listen on {options.host}:{options.port}: "
                      f"{exc.strerror or exc}") from None


async def _demo_people(services: Services, lang: str) -> tuple[DemoPerson, ...]:
    """The demo shop's people: seeded into a new (or reset) database, else as it was left."""
    await migrate.upgrade(services.db)
    try:
        return (await seed(services.db, services.settings, services.clock.now(),
                           lang=lang)).people
    except ShopNotEmpty:
        return await people(services.db, services.settings, services.clock.now())


async def _start(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """As ``bot.run`` starts it: initialize, the command menus, the jobs, long polling."""
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, allowed_updates=Update.ALL_TYPES)


async def _start_wecom(wecom: Application[Any, Any, Any, Any, Any, Any], request: WeComRequest,
                       dispatcher: Dispatcher) -> None:
    """As ``bot.run`` starts it (its token fetched first), and its menu created as the operator's
    ``workshop-bot wecom menu`` would."""
    await request.check()
    await wecom.initialize()
    await wecom.start()
    dispatcher.schedule(wecom.job_queue)
    services: Services = wecom.bot_data["services"]
    await create_menu(request, services.translator_for(None))


async def _stop(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()


async def _to_the_page(request: Request) -> Response:
    return RedirectResponse("/playground/")
