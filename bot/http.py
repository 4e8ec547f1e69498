"""The bot's one HTTP server (Starlette on uvicorn): ``GET /healthz`` and the WeCom callback.

The callback answers at once and handles the message in the background: WeCom waits five
seconds for an answer and then sends the same message again (the repeat is dropped).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.clock import Clock
from bot.settings import Settings
from bot.wecom.crypto import WeComCrypto
from bot.wecom.inbound import Dispatcher, Rejected, open_callback, verify_url

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # 1 MiB; a real callback is a few kilobytes


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
        self.dispatcher.submit(fields)
        return PlainTextResponse("")


def _peer(request: Request) -> str:
    return request.client.host if request.client else "?"


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


def build_http_app(
    settings: Settings, *, wecom: WeComEndpoint | None = None,
    extra_routes: Sequence[Any] = (),
) -> Starlette:
    """One server: ``/healthz``, the WeCom callback when configured, and ``extra_routes``
    (the DMS intake API)."""
    routes: list[Any] = [Route("/healthz", healthz, methods=["GET"]), *extra_routes]
    if wecom is not None:
        path = settings.wecom_callback_path
        routes += [Route(path, wecom.verify, methods=["GET"]),
                   Route(path, wecom.receive, methods=["POST"])]
    return Starlette(routes=routes)
