"""A local fake of the WeCom API (real HTTP on 127.0.0.1, a random port) that records what the
bot sent and can be told to answer with errors, as WeCom does under load or with a stale token.

Served by uvicorn in the test's own event loop, so the bot under test talks real HTTP to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# WeCom's documented limits (developer.work.weixin.qq.com/document/path/90236 "发送应用消息",
# /94888 "更新模版卡片消息"): hard ones are refused, advised ones ("建议不超过…") are noted.
TEXT_BYTES = 2048  # text.content: "最长不超过2048个字节"
TASK_ID = re.compile(r"[0-9A-Za-z_\-@]{1,128}")  # "只能由数字、字母和'_-@'组成，最长128字节"
KEY_BYTES = 1024  # button key: "最长支持1024字节"
MAX_BUTTONS = 6  # button_list: "列表长度不超过6"
MAX_ROWS = 6  # horizontal_content_list: "列表长度不超过6"
ADVISED = {"main_title.title": 26, "main_title.desc": 44, "sub_title_text": 112,
           "button.text": 10, "keyname": 5, "value": 26}
ROW_TYPES = (0, 1, 2, 3)  # horizontal_content_list.type: text, link, attachment, member
INVALID = 40058  # "不合法的参数": WeCom's answer to a body its schema does not allow
EMPTY_TEXT = 44004  # "文本消息content参数为空"
TOO_LONG = 45002  # "消息内容大小超过限制"
BAD_CODE = 40058  # an unknown, spent or expired response_code: not a valid parameter
CARD_TYPES = ("text_notice", "button_interaction")
CARD_ACTION = 42045  # a text_notice card without its required card_action (WeCom community)

PATHS = ("gettoken", "message/send", "message/update_template_card", "message/recall",
         "media/upload", "media/get", "menu/create", "agent/get")
NO_IP = 60020  # "不安全的访问IP": the server is not on the app's trusted IP list (企业可信IP)


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


Refusal = tuple[int, str]


def _bad(message: str) -> Refusal:
    return INVALID, f"invalid parameter: {message}"


def check_card(card: Any, advice: list[str], *, update: bool = False) -> Refusal | None:
    """What WeCom refuses in a ``template_card`` (send or update); advice is noted."""
    if not isinstance(card, dict):
        return _bad("template_card")
    kind = card.get("card_type")
    if kind not in CARD_TYPES:
        return _bad(f"card_type {kind!r}")
    title = (card.get("main_title") or {}).get("title")
    if kind == "button_interaction" and not title:
        return _bad("main_title.title is required")
    if kind == "text_notice" and not title and not card.get("sub_title_text"):
        return _bad("main_title.title or sub_title_text is required")
    action = card.get("card_action") or {}
    if kind == "text_notice" and not ((action.get("type") == 1 and action.get("url")) or
                                      (action.get("type") == 2 and action.get("appid"))):
        return CARD_ACTION, "Template_Card card_action Missing or Invalid"
    task_id = card.get("task_id")
    if task_id is not None and not TASK_ID.fullmatch(str(task_id)):
        return _bad(f"task_id {task_id!r}")
    if kind == "button_interaction" and not update and not task_id:
        return _bad("task_id is required for button_interaction")
    buttons = card.get("button_list")
    if kind == "button_interaction":
        if not isinstance(buttons, list) or not buttons:
            return _bad("button_list is required for button_interaction")
        if len(buttons) > MAX_BUTTONS:
            return _bad(f"button_list has {len(buttons)} buttons, at most {MAX_BUTTONS}")
        keys = [b.get("key") for b in buttons]
        for button in buttons:
            key, text = button.get("key"), button.get("text")
            if not text:
                return _bad("button_list.text is required")
            if button.get("type", 0) == 0 and (not key or len(str(key).encode()) > KEY_BYTES):
                return _bad(f"button_list.key {key!r}")
            if button.get("style", 1) not in (1, 2, 3, 4):
                return _bad(f"button_list.style {button.get('style')!r}")
        if len(set(keys)) != len(keys):
            return _bad("button_list.key must not repeat")
    elif buttons:
        return _bad(f"button_list in a {kind} card")
    rows = card.get("horizontal_content_list") or []
    if len(rows) > MAX_ROWS:
        return _bad(f"horizontal_content_list has {len(rows)} rows, at most {MAX_ROWS}")
    if not isinstance(rows, list) or any(not isinstance(row, dict) for row in rows):
        return _bad("horizontal_content_list")
    if any(not row.get("keyname") for row in rows):
        return _bad("horizontal_content_list.keyname is required")
    for row in rows:
        kind = row.get("type", 0)
        if kind not in ROW_TYPES:
            return _bad(f"horizontal_content_list.type {kind!r}")
        if (kind == 1 and not row.get("url")) or (kind == 2 and not row.get("media_id")) or (
                kind == 3 and not row.get("userid")):
            return _bad(f"horizontal_content_list row of type {kind} without its target")
    quote = card.get("quote_area")
    if quote is not None and (not isinstance(quote, dict) or quote.get("type", 0) not in (0, 1, 2)):
        return _bad("quote_area")
    lengths = [("main_title.title", title or "")]
    lengths += [("main_title.desc", (card.get("main_title") or {}).get("desc") or "")]
    lengths += [("sub_title_text", card.get("sub_title_text") or "")]
    lengths += [("button.text", b.get("text") or "") for b in buttons or []]
    lengths += [("keyname", r["keyname"]) for r in rows]
    lengths += [("value", r.get("value") or "") for r in rows]
    advice.extend(f"{name} over {ADVISED[name]}: {value!r}" for name, value in lengths
                  if len(value) > ADVISED[name])
    return None


def check_send(body: Any, advice: list[str]) -> Refusal | None:
    """What WeCom refuses in a ``message/send`` body (text, image, file, template_card)."""
    if not isinstance(body, dict) or not body.get("touser") or not body.get("agentid"):
        return _bad("touser and agentid are required")
    msgtype = body.get("msgtype")
    content = body.get(msgtype) if isinstance(msgtype, str) else None
    if not isinstance(content, dict):
        return _bad(f"msgtype {msgtype!r} without its {msgtype} object")
    if msgtype == "text":
        text = content.get("content")
        if not text or not str(text).strip():
            return EMPTY_TEXT, "empty content"
        if len(str(text).encode()) > TEXT_BYTES:
            return TOO_LONG, "content size out of limit"
        return None
    if msgtype in ("image", "file", "voice"):
        return None if content.get("media_id") else _bad(f"{msgtype}.media_id is required")
    if msgtype == "template_card":
        return check_card(content, advice)
    return _bad(f"msgtype {msgtype!r}")


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
        self.advice: list[str] = []  # what WeCom only advises against ("建议不超过…")
        self.codes: dict[str, tuple[str, str]] = {}  # live response code → (userid, task_id)
        self.spent: set[str] = set()
        self._failures: defaultdict[str, deque[int]] = defaultdict(deque)
        self._tokens: set[str] = set()
        self._ids = itertools.count(1)
        self.media: dict[str, bytes] = {}
        self.uploads: dict[str, tuple[str, bytes, str]] = {}  # media id → (name, bytes, type)
        # WeCom's per-member limits ("每应用对同一个成员不可超过30次/分钟，1000次/小时"): past
        # one, a message is answered ok and dropped. ``now`` is the clock they count by.
        self.member_limits: list[tuple[float, int]] = [(60.0, 30), (3600.0, 1000)]
        self.now: Callable[[], float] = time.monotonic
        self.delivered: defaultdict[str, list[float]] = defaultdict(list)  # member → times
        self.dropped: list[dict[str, Any]] = []  # bodies answered ok and never delivered
        self.before_delivery: Callable[[], None] | None = None  # e.g. latency on the clock
        self.agents: dict[int, dict[str, Any]] = {}  # the corp's apps, as agent/get shows them
        self.secret_agent: int | None = None  # the app the secret is of (None: any app)
        self.blocked_ip: str | None = None  # not on the trusted IP list: calls answer 60020
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

    def click_code(self, code: str, userid: str, task_id: str) -> None:
        """A response code WeCom gave with a click on a card (the callback carries it)."""
        self.codes[code] = (userid, task_id)

    def refused(self) -> list[Record]:
        """Sends and card updates WeCom refused for what was in them (not for load)."""
        return [r for r in self.records if r.path in ("message/send",
                "message/update_template_card") and r.answer.get("errcode") in (
                    INVALID, EMPTY_TEXT, TOO_LONG, CARD_ACTION)
                and not str(r.answer.get("errmsg")).startswith("fake error")]

    def add_agent(self, agent_id: int, name: str = "车间助手", *, closed: bool = False,
                  visible: tuple[str, ...] = ("lisi",)) -> None:
        """An app of the corp: its name, whether it is disabled, who may see it."""
        self.agents[agent_id] = {
            "agentid": agent_id, "name": name, "description": "", "close": int(closed),
            "allow_userinfos": {"user": [{"userid": userid} for userid in visible]},
            "allow_partys": {"partyid": []}, "allow_tags": {"tagid": []},
            "redirect_domain": "", "report_location_flag": 0, "isreportenter": 0,
            "home_url": "", "customized_publish_status": 1}

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
        if self.blocked_ip is not None:  # WeCom checks the trusted IPs on calls, not gettoken
            return {"errcode": NO_IP, "errmsg": "not allow to access from your ip, hint: "
                    f"[1765000000_1_fake], from ip: {self.blocked_ip}, more info at "
                    "https://open.work.weixin.qq.com/devtool/query?e=60020"}
        if self._failures[path]:
            errcode = self._failures[path].popleft()
            return {"errcode": errcode, "errmsg": f"fake error {errcode}"}
        if path == "message/send":
            refusal = check_send(body, self.advice)
            if refusal is not None:
                return {"errcode": refusal[0], "errmsg": refusal[1]}
            if body.get("touser") in self.fail_users:
                return {"errcode": 0, "errmsg": "ok", "invaliduser": body["touser"]}
            if body.get("msgtype") == "image" and \
                    body.get("image", {}).get("media_id") in self.refused_media:
                return {"errcode": 40007, "errmsg": "invalid media_id"}
            answer = {"errcode": 0, "errmsg": "ok", "invaliduser": "",
                      "msgid": f"msg-{next(self._ids)}"}
            if not self._deliver(str(body["touser"])):
                self.dropped.append(body)
                return answer
            card = body.get("template_card") or {}
            if card.get("card_type") == "button_interaction":  # "仅按钮交互型…返回"
                code = f"rc-{next(self._ids)}"
                self.codes[code] = (body["touser"], card["task_id"])
                answer["response_code"] = code
            return answer
        if path == "media/upload":
            if not body.get("filename"):
                return {"errcode": 40005, "errmsg": "invalid file type"}
            if query.get("type") == "voice" and not body["data"].startswith(b"#!AMR\n"):
                return {"errcode": 40005, "errmsg": "invalid file type: voice must be AMR"}
            media_id = f"media-{next(self._ids)}"
            self.media[media_id] = body["data"]
            self.uploads[media_id] = (body["filename"], body["data"], body["mime"])
            return {"errcode": 0, "errmsg": "ok", "type": query.get("type"),
                    "media_id": media_id, "created_at": "1380000000"}
        if path == "agent/get":
            agentid = query.get("agentid", "")
            if not agentid.isdigit() or int(agentid) not in self.agents:
                return {"errcode": 40056, "errmsg": f"invalid agentid: {agentid}"}
            if self.secret_agent is not None and int(agentid) != self.secret_agent:
                return {"errcode": 301002, "errmsg": "no privilege to access/modify agent"}
            return {"errcode": 0, "errmsg": "ok", **self.agents[int(agentid)]}
        if path == "media/get":
            media_id = query.get("media_id", "")
            return Response(self.media.get(media_id, b"\xff\xd8fake-jpeg:" + media_id.encode()),
                            media_type="image/jpeg")
        if path == "message/update_template_card":
            refusal = self._check_update(body)
            if refusal is not None:
                return {"errcode": refusal[0], "errmsg": refusal[1]}
            self.spent.add(body["response_code"])  # "一个code只能调用一次该接口"
            return {"errcode": 0, "errmsg": "ok", "invaliduser": []}
        return {"errcode": 0, "errmsg": "ok"}

    def _deliver(self, userid: str) -> bool:
        """Count a delivery to ``userid``; False (dropped) when it is over a limit."""
        if self.before_delivery is not None:
            self.before_delivery()
        now, times = self.now(), self.delivered[userid]
        if any(sum(1 for at in times if at > now - window) >= limit
               for window, limit in self.member_limits):
            return False
        times.append(now)
        return True

    def most_within(self, userid: str, window: float) -> int:
        """The most messages ``userid`` got within any ``window`` seconds."""
        times = sorted(self.delivered[userid])
        return max((sum(1 for at in times[i:] if at < start + window)
                    for i, start in enumerate(times)), default=0)

    def _check_update(self, body: Any) -> Refusal | None:
        if not isinstance(body, dict) or not body.get("agentid"):
            return _bad("agentid is required")
        code = body.get("response_code")
        if not code:
            return _bad("response_code is required")
        if code in self.spent or code not in self.codes:
            return BAD_CODE, f"invalid response_code {code!r}"
        userid, _task_id = self.codes[code]
        if body.get("userids") != [userid] and not body.get("atall"):
            return _bad(f"userids {body.get('userids')!r} did not get this card")
        button, card = body.get("button"), body.get("template_card")
        if (button is None) == (card is None):
            return _bad("either button.replace_name or template_card")
        if button is not None:
            name = button.get("replace_name") if isinstance(button, dict) else None
            if not name:
                return _bad("button.replace_name is required")
            if len(name) > ADVISED["button.text"]:
                self.advice.append(f"replace_name over 10: {name!r}")
            return None
        return check_card(card, self.advice, update=True)


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
