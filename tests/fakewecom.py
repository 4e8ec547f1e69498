"""A local fake of the WeCom API (real HTTP on 127.0.0.1, a random port) that records what the
bot sent and can be told to answer with errors, as WeCom does under load or with a stale token.

Served by uvicorn in the test's own event loop, so the bot under test talks real HTTP to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PATHS = ("gettoken", "message/send", "message/update_template_card", "message/recall",
         "media/upload", "media/get", "menu/create")


@dataclass
class Record:
    """One request the bot made, and what the fake answered."""

    path: str
    query: dict[str, str]
    body: Any
    answer: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.answer.get("errcode", 0) == 0


def _multipart(raw: bytes, content_type: str) -> tuple[str, bytes, str]:
    """(file name, bytes, MIME type) of the ``media`` part of a multipart upload."""
    message = BytesParser(policy=default).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    for part in message.iter_parts() if message.is_multipart() else []:
        if part.get_param("name", header="content-disposition") == "media":
            payload = part.get_payload(decode=True)
            return (part.get_filename() or "", payload if isinstance(payload, bytes) else b"",
                    part.get_content_type())
    return "", b"", ""


class QuietServer(uvicorn.Server):
    """uvicorn inside a test: no signal handlers of its own."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def start_server(app: Any) -> tuple[QuietServer, asyncio.Task[None], int]:
    """Serve ``app`` on 127.0.0.1, a free port, in this event loop; returns the port too."""
    server = QuietServer(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off",
                                        log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the test server did not start")
        await asyncio.sleep(0.005)
    return server, task, server.servers[0].sockets[0].getsockname()[1]


async def stop_server(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    await task


class FakeWeCom:
    def __init__(self, corp_id: str, secret: str) -> None:
        self.corp_id = corp_id
        self.secret = secret
        self.records: list[Record] = []
        self.fail_users: set[str] = set()  # members outside the app's visible range
        self.refused_media: set[str] = set()  # media ids an image message is refused with
        self.expires_in = 7200
        self._failures: defaultdict[str, deque[int]] = defaultdict(deque)
        self._tokens: set[str] = set()
        self._ids = itertools.count(1)
        self.media: dict[str, bytes] = {}
        self.uploads: dict[str, tuple[str, bytes, str]] = {}  # media id → (name, bytes, type)
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = 0
        self.app = Starlette(routes=[
            Route("/cgi-bin/{path:path}", self._answer, methods=["GET", "POST"])])

    # --- control ---------------------------------------------------------------------------
    async def start(self) -> None:
        self._server, self._task, self.port = await start_server(self.app)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            await stop_server(self._server, self._task)
            self._server = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cgi-bin"

    def fail(self, path: str, *errcodes: int) -> None:
        """Answer the next calls of ``path`` with these error codes, one each."""
        self._failures[path].extend(errcodes)

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (WeCom answers 42001)."""
        self._tokens.clear()

    # --- what tests read -----------------------------------------------------------------------
    def calls(self, path: str, *, ok_only: bool = True) -> list[Record]:
        return [r for r in self.records if r.path == path and (r.ok or not ok_only)]

    def sent(self, userid: str | None = None) -> list[dict[str, Any]]:
        """Bodies of the messages WeCom accepted, to ``userid`` or to anyone."""
        return [r.body for r in self.calls("message/send")
                if userid is None or r.body.get("touser") == userid]

    # --- the API -------------------------------------------------------------------------------
    async def _answer(self, request: Request) -> Response:
        path = request.path_params["path"]
        query = dict(request.query_params)
        raw = await request.body()
        body: Any
        if path == "media/upload":
            name, data, mime = _multipart(raw, request.headers.get("content-type", ""))
            body = {"type": query.get("type"), "filename": name, "data": data, "mime": mime}
        else:
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = {"raw": raw.decode("utf-8", "replace")}
        record = Record(path, query, body)
        self.records.append(record)
        answer = self._reply(path, query, body, raw)
        if isinstance(answer, Response):
            return answer
        record.answer = answer
        return JSONResponse(answer)

    def _reply(self, path: str, query: dict[str, str], body: Any, raw: bytes
               ) -> dict[str, Any] | Response:
        if path == "gettoken":
            if query.get("corpid") != self.corp_id:
                return {"errcode": 40013, "errmsg": "invalid corpid"}
            if query.get("corpsecret") != self.secret:
                return {"errcode": 40001, "errmsg": "invalid credential"}
            token = f"token-{next(self._ids)}"
            self._tokens.add(token)
            return {"errcode": 0, "errmsg": "ok", "access_token": token,
                    "expires_in": self.expires_in}
        if path not in PATHS:
            return {"errcode": 60011, "errmsg": f"no such API {path}"}
        token = query.get("access_token", "")
        if token not in self._tokens:
            return {"errcode": 42001 if token.startswith("token-") else 40014,
                    "errmsg": "access_token expired" if token else "invalid access_token"}
        if self._failures[path]:
            errcode = self._failures[path].popleft()
            return {"errcode": errcode, "errmsg": f"fake error {errcode}"}
        if path == "message/send":
            if body.get("touser") in self.fail_users:
                return {"errcode": 0, "errmsg": "ok", "invaliduser": body["touser"]}
            if body.get("msgtype") == "image" and \
                    body.get("image", {}).get("media_id") in self.refused_media:
                return {"errcode": 40007, "errmsg": "invalid media_id"}
            return {"errcode": 0, "errmsg": "ok", "invaliduser": "",
                    "msgid": f"msg-{next(self._ids)}"}
        if path == "media/upload":
            if not body.get("filename"):
                return {"errcode": 40005, "errmsg": "invalid file type"}
            media_id = f"media-{next(self._ids)}"
            self.media[media_id] = body["data"]
            self.uploads[media_id] = (body["filename"], body["data"], body["mime"])
            return {"errcode": 0, "errmsg": "ok", "type": query.get("type"),
                    "media_id": media_id, "created_at": "1380000000"}
        if path == "media/get":
            media_id = query.get("media_id", "")
            return Response(self.media.get(media_id, b"\xff\xd8fake-jpeg:" + media_id.encode()),
                            media_type="image/jpeg")
        if path == "message/update_template_card":
            return {"errcode": 0, "errmsg": "ok", "invaliduser": []}
        return {"errcode": 0, "errmsg": "ok"}


@contextlib.contextmanager
def fake_wecom_in_thread(corp_id: str, secret: str) -> Iterator[FakeWeCom]:
    """The fake on a loop of its own, for code that runs its own loop (the CLI, subprocesses)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = FakeWeCom(corp_id, secret)
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
