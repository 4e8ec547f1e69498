"""The bot's one HTTP server (Starlette on uvicorn): ``GET /healthz``, ``GET /readyz``, the
Telegram webhook and the WeCom callback.

Both answer at once and handle the message in the background: WeCom waits five seconds for an
answer and then sends the same message again, Telegram redelivers an update it got no answer to
(either repeat is dropped). A WeCom callback is written to the database before its 200 (503 when
it cannot be: WeCom sends it again), so one whose handling fails later is handled all the same.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.clock import Clock
from bot.settings import Settings
from bot.wecom.crypto import WeComCrypto
from bot.wecom.inbound import Dispatcher, Rejected, open_callback, verify_url
from models import outbox
from models.db import Database

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # 1 MiB; a real callback or update is a few kilobytes
HEALTH_TIMEOUT = 3.0  # seconds the health check waits for the database
# Telegram redelivers an update within minutes when we answered too slowly; a few thousand ids
# cover that at any rate this shop can reach.
RECENT_UPDATES = 4096
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class TooLarge(Exception):
    pass


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge
    return bytes(body)


@dataclass
class WeComEndpoint:
    settings: Settings
    clock: Clock
    dispatcher: Dispatcher

    def __post_init__(self) -> None:
        assert self.settings.wecom_token and self.settings.wecom_aes_key
        self.crypto = WeComCrypto(self.settings.wecom_token, self.settings.wecom_aes_key,
                                  self.settings.wecom_corp_id or "")

    async def verify(self, request: Request) -> Response:
        try:
            echo = verify_url(self.crypto, request.query_params, now=self.clock.now(),
                              max_skew=self.settings.wecom_max_clock_skew_seconds)
        except Rejected as exc:
            log.warning("WeCom URL check from %s refused: %s", _peer(request), exc)
            return PlainTextResponse("forbidden", status_code=403)
        return PlainTextResponse(echo)

    async def receive(self, request: Request) -> Response:
        try:
            body = await read_body(request)
        except TooLarge:
            log.warning("WeCom callback from %s refused: body over %d bytes", _peer(request),
                        MAX_BODY)
            return PlainTextResponse("too large", status_code=413)
        except ClientDisconnect:
            return PlainTextResponse("", status_code=400)
        try:
            fields = open_callback(self.crypto, request.query_params, body,
                                   now=self.clock.now(),
                                   max_skew=self.settings.wecom_max_clock_skew_seconds)
        except Rejected as exc:
            log.warning("WeCom callback from %s refused: %s", _peer(request), exc)
            return PlainTextResponse("forbidden", status_code=403)
        try:  # recorded before WeCom hears 200: handled even if the database fails later
            await self.dispatcher.take_in(fields)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            log.warning("WeCom callback from %s not recorded (%s); WeCom sends it again",
                        _peer(request), exc)
            return PlainTextResponse("try again", status_code=503)
        return PlainTextResponse("")


class RecentIds:
    """The last ``size`` ids seen, oldest forgotten first."""

    def __init__(self, size: int = RECENT_UPDATES) -> None:
        self.size = size
        self._ids: OrderedDict[int, None] = OrderedDict()

    def first_time(self, key: int) -> bool:
        """Remember ``key``; False when it was seen already."""
        if key in self._ids:
            return False
        self._ids[key] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return True


@dataclass
class TelegramEndpoint:
    """``POST TELEGRAM_WEBHOOK_PATH``: Telegram's updates onto the application's queue, which
    the started application's update fetcher consumes (as with polling)."""

    settings: Settings
    application: Application[Any, Any, Any, Any, Any, Any]
    # Duplicates are remembered in memory only: after a restart a redelivered update is
    # handled again, which is harmless because the handlers are idempotent on buttons (a
    # decision is a conditional update; a second tap is told who decided).
    recent: RecentIds = field(default_factory=RecentIds)

    def __post_init__(self) -> None:
        assert self.settings.telegram_webhook_secret
        self._secret = self.settings.telegram_webhook_secret.encode()

    async def receive(self, request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            log.warning("Telegram webhook from %s refused: %s", _peer(request),
                        "wrong secret token" if given else "no secret token")
            return PlainTextResponse("forbidden", status_code=403)
        try:
            body = await read_body(request)
        except TooLarge:
            log.warning("Telegram webhook from %s refused: body over %d bytes", _peer(request),
                        MAX_BODY)
            return PlainTextResponse("too large", status_code=413)
        except ClientDisconnect:
            return PlainTextResponse("", status_code=400)
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            if not isinstance(data.get("update_id"), int):
                raise ValueError("no update_id")
            update = Update.de_json(data, self.application.bot)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("Telegram webhook from %s refused: not an update (%s)", _peer(request),
                        exc)
            return PlainTextResponse("bad request", status_code=400)
        if not self.recent.first_time(update.update_id):
            log.info("Telegram update %s again; dropped", update.update_id)
            return PlainTextResponse("")
        await self.application.update_queue.put(update)
        return PlainTextResponse("")


def _peer(request: Request) -> str:
    return request.client.host if request.client else "?"


@dataclass
class Health:
    """``GET /healthz``: 200 with the outbox's counts while the database answers, else 503
    (a monitor sees a dead database, and messages piling up or failing, at a glance)."""

    db: Database | None = None

    async def answer(self, request: Request) -> Response:
        if self.db is None:
            return JSONResponse({"ok": True})
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT):
                async with self.db.session() as session:
                    waiting, failed = await outbox.counts(session)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            log.warning("health check: the database does not answer: %s", exc)
            return JSONResponse({"ok": False, "database": "unreachable"}, status_code=503)
        return JSONResponse({"ok": True, "outbox": {"waiting": waiting, "failed": failed}})


@dataclass
class Readiness:
    """``GET /readyz``: 200 once this process can do its work — the database answers, its
    schema is the one this code needs, every channel's application is running — else 503 with
    what is not ready (a load balancer or an orchestrator waits for it before sending work)."""

    db: Database | None = None
    channels: Mapping[str, Application[Any, Any, Any, Any, Any, Any]] = field(
        default_factory=dict)
    _head: str | None = None

    async def answer(self, request: Request) -> Response:
        from bot import migrate

        body: dict[str, Any] = {"ready": True}
        if self.db is not None:
            try:
                async with asyncio.timeout(HEALTH_TIMEOUT):
                    current = await migrate.current_revision(self.db)
            except (SQLAlchemyError, OSError, TimeoutError) as exc:
                log.warning("readiness check: the database does not answer: %s", exc)
                body.update(ready=False, database="unreachable")
            else:
                self._head = self._head or migrate.head_revision()
                body["database"] = "ok"
                body["schema"] = current or "none"
                if current != self._head:
                    body.update(ready=False, schema_needed=self._head)
        running = {name: "running" if app.running else "not running"
                   for name, app in self.channels.items()}
        body["channels"] = running
        if any(state != "running" for state in running.values()):
            body["ready"] = False
        return JSONResponse(body, status_code=200 if body["ready"] else 503)


def build_http_app(
    settings: Settings, *, wecom: WeComEndpoint | None = None,
    telegram: TelegramEndpoint | None = None, extra_routes: Sequence[Any] = (),
    db: Database | None = None,
    channels: Mapping[str, Application[Any, Any, Any, Any, Any, Any]] | None = None,
) -> Starlette:
    """One server: ``/healthz``, ``/readyz``, the Telegram webhook and the WeCom callback when
    configured, and ``extra_routes`` (the DMS intake API). ``channels``: the applications
    ``/readyz`` waits for."""
    routes: list[Any] = [Route("/healthz", Health(db).answer, methods=["GET"]),
                         Route("/readyz", Readiness(db, dict(channels or {})).answer,
                               methods=["GET"]),
                         *extra_routes]
    if telegram is not None:
        routes.append(Route(settings.telegram_webhook_path, telegram.receive, methods=["POST"]))
    if wecom is not None:
        path = settings.wecom_callback_path
        routes += [Route(path, wecom.verify, methods=["GET"]),
                   Route(path, wecom.receive, methods=["POST"])]
    return Starlette(routes=routes)
