"""``WeComRequest``: the WeCom application's Bot API, answered by calling the WeCom API.

python-telegram-bot's ``Bot`` posts ``sendMessage``, ``editMessageText`` … to this request
object; each is carried out on WeCom and answered with the JSON Telegram would give, so the
handlers never know which channel they talk to. What WeCom cannot do is approximated:

* an inline keyboard is a ``button_interaction`` template card whose button keys are the
  callback data, drawn by ``bot.wecom.template_card`` (rows of facts, short labels, at most
  six buttons and "More…", whose tap sends a second card with the rest: ``more``); a card
  WeCom refuses goes out as a numbered list answered by number;
* an edit uses ``message/update_template_card`` with one of the card's response codes (the
  one ``message/send`` returned, and one per click; each single use, 72 hours); a version
  without buttons greys the card's buttons (``button.replace_name``); when no code is left
  the new version is sent as a new message that keeps the old ``message_id``, and older card
  copies with a code left have their buttons greyed ("See below");
* a card too long to show whole is preceded by its full text, sent again on an edit only
  when the part the card cannot show changed;
* a tap's alert (``answerCallbackQuery`` with text) is sent as a short text message.

A message WeCom still refuses after the short back-off (45009/45033: the app sends too fast),
one over a member's limits (``member_wait``: every worker's completed sends, in the database)
or one that cannot reach WeCom at all is kept in the outbox (``models.outbox``) and the handler
gets its answer as if it went out; ``jobs/outbox`` sends it later (``send_kept``), and until
then later messages to that member wait behind it, so nothing is lost and the order holds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.clock import Clock
from bot.i18n import N_, Translator
from bot.settings import Settings
from bot.wecom.store import CARDS, CODE_VALID, Copy, MessageStore, add_code, live_codes
from bot.wecom.template_card import (  # noqa: F401 (the card's shape, imported from here)
    CARD_BODY_CHARS,
    CARD_TITLE_CHARS,
    MAX_CARD_BUTTONS,
    Buttons,
    buttons_of,
    card_body,
    more_body,
    needs_full_text,
    pages,
)
from bot.write_behind import WriteBehind
from models import outbox, wecom
from models.db import Database
from models.staff import staff_for_account
from models.wecom import (
    WeComSend,
    member_wait,
    recent_sends,
    record_sends,
    userid_for,
    wecom_chat_id,
)

log = logging.getLogger(__name__)

TEXT_BYTES = 2048
RESPONSE_CODE_VALID = CODE_VALID
TOKEN_ERRORS = {40014, 42001, 40001}  # invalid or expired access token
BUSY = -1
FREQUENCY_ERRORS = {45009, 45033}  # API frequency / concurrency over the limit
BUSY_DELAYS = (0.5, 1.0, 2.0)
FREQUENCY_DELAYS = (1.0, 2.0, 4.0)  # then the outbox: a handler must not wait for minutes
# WeCom drops the 31st message to one member within a minute, the 1,001st within an hour
MEMBER_LIMITS = wecom.MEMBER_LIMITS  # with a margin; () paces nothing (the benchmark)
MEDIA_PATH = "wecom-media/"
VOICE_MAGIC = b"#!AMR\n"  # media/upload type "voice": AMR only
LIST_HEADER = N_("Reply with the number of your choice:")
# replace_name of a card's greyed-out buttons (WeCom advises at most 10 characters)
SPENT_LABEL = N_("Done")  # the card's new version has no buttons
SUPERSEDED_LABEL = N_("See below")  # a newer copy of the card was sent
SPENT_KEY = "wecom:spent"  # the key of the one button a card without buttons must have
NO_OP_METHODS = {
    "setMyCommands", "deleteMyCommands", "deleteWebhook", "setWebhook", "close", "logOut",
    "setChatMenuButton", "sendChatAction", "setMyDescription", "setMyShortDescription",
    "setMyName",
}


class WeComApiError(Exception):
    def __init__(self, errcode: int, errmsg: str, path: str) -> None:
        super().__init__(f"WeCom {path}: errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path


class WeComUnavailable(Exception):
    """The WeCom API cannot be used at all (unreachable, or the corp id/secret are wrong)."""


class Refused(Exception):
    """A Bot API error to answer with: (HTTP status, Telegram-style description)."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


@dataclass
class Sent:
    """What one WeCom message was, for whoever listens (the tests' view, metrics)."""

    msgid: str | None
    userid: str
    chat_id: int
    message_id: int
    kind: str
    options: list[list[str]] | None
    part: int = 0
    task_id: str | None = None
    text: str | None = None  # the whole text of a message sent in parts (on its first part)


def _fit(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-8 bytes."""
    return len(text.encode()[:limit].decode("utf-8", "ignore"))


def split_text(text: str, limit: int = TEXT_BYTES) -> list[str]:
    """Parts of at most ``limit`` UTF-8 bytes, cut at line ends where there are any."""
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line.encode()) > limit:  # one line longer than a part: cut it
            if current:
                parts.append(current)
                current = ""
            cut = _fit(line, limit)
            parts.append(line[:cut])
            line = line[cut:]
        if len((current + line).encode()) > limit:
            parts.append(current)
            current = ""
        current += line
    if current or not parts:
        parts.append(current)
    return [part.rstrip("\n") or part for part in parts]


def new_task_id() -> str:
    """A card's ``task_id`` (and every message's key in the message map): unique, ≤128 bytes
    of letters and digits as WeCom requires."""
    return f"t{uuid.uuid4().hex}"


class WeComRequest(BaseRequest):
    def __init__(
        self,
        settings: Settings,
        db: Database,
        clock: Clock,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        timeout: float = 15.0,
    ) -> None:
        assert settings.wecom_configured, "WeCom settings are incomplete"
        self.settings = settings
        self.db = db
        self.clock = clock
        self.base = settings.wecom_api_base.rstrip("/")
        self.agent_id = int(settings.wecom_agent_id or 0)
        self._sleep = sleep
        self._monotonic = monotonic
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None
        self._token: str | None = None
        self._token_until = 0.0
        self._token_lock = asyncio.Lock()
        self._member_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.member_limits = MEMBER_LIMITS
        # this worker's sends per member within the longest limit: (key, when)
        self._sent_here: defaultdict[str, deque[tuple[str, datetime]]] = defaultdict(deque)
        self._stamps: WriteBehind[WeComSend] = WriteBehind(self._write_stamps,
                                                           "WeCom sends", db)
        self.observers: list[Callable[[Sent], None]] = []
        self.store = MessageStore(db)
        self.held: set[int] = set()  # chats with messages in the outbox: later ones wait
        self._held_loaded = False

    # --- BaseRequest -----------------------------------------------------------------------
    @property
    def read_timeout(self) -> float | None:
        return self._timeout

    async def initialize(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        if not self._held_loaded:
            self._held_loaded = True
            async with self.db.session() as session:
                self.held |= {chat for channel, chat in await outbox.waiting_chats(session)
                              if channel == "wecom"}

    async def shutdown(self) -> None:
        await self.store.close()
        await self._stamps.flush()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if MEDIA_PATH in url:
            return 200, await self.download(url.rsplit(MEDIA_PATH, 1)[1])
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        files = dict(request_data.multipart_data) if request_data and \
            request_data.contains_files else {}
        try:
            if api_method in NO_OP_METHODS:
                result: Any = True
            else:
                handler = getattr(self, f"_m_{api_method}", None)
                if handler is None:
                    log.warning("Bot API method %s has no WeCom counterpart", api_method)
                    raise Refused(400, f"Bad Request: {api_method} is not available on WeCom")
                result = await handler(params, files)
        except Refused as refused:
            answer: dict[str, Any] = {"ok": False, "error_code": refused.status,
                                      "description": refused.description}
            if refused.retry_after is not None:
                answer["parameters"] = {"retry_after": refused.retry_after}
            return refused.status, json.dumps(answer).encode()
        except WeComApiError as exc:
            log.warning("%s", exc)
            if exc.path == "gettoken":
                return 401, json.dumps({"ok": False, "error_code": 401,
                                        "description": f"Unauthorized: {exc}"}).encode()
            return 400, json.dumps({"ok": False, "error_code": 400,
                                    "description": f"Bad Request: {exc}"}).encode()
        return 200, json.dumps({"ok": True, "result": result}).encode()

    # --- the WeCom API -----------------------------------------------------------------------
    async def access_token(self) -> str:
        if self._token and self._monotonic() < self._token_until:
            return self._token
        async with self._token_lock:
            if self._token and self._monotonic() < self._token_until:
                return self._token
            data = await self._http("GET", "gettoken", params={
                "corpid": self.settings.wecom_corp_id, "corpsecret": self.settings.wecom_secret})
            if data.get("errcode", 0) != 0 or not data.get("access_token"):
                raise WeComApiError(int(data.get("errcode", -2)), str(data.get("errmsg")),
                                    "gettoken")
            expires_in = int(data.get("expires_in") or 7200)
            self._token = str(data["access_token"])
            self._token_until = self._monotonic() + max(expires_in - min(300, expires_in // 10),
                                                        1)
            return self._token

    async def check(self) -> None:
        """Fetch a token now, so a wrong corp id or secret is said at start, in one line."""
        try:
            await self.access_token()
        except NetworkError as exc:
            raise WeComUnavailable(f"cannot reach the WeCom API at {self.base}: {exc}") \
                from None
        except WeComApiError as exc:
            raise WeComUnavailable(
                f"the WeCom API rejected WECOM_CORP_ID/WECOM_SECRET ({exc})") from None

    async def _http(self, verb: str, path: str, **kwargs: Any) -> dict[str, Any]:
        await self.initialize()
        assert self._client is not None
        try:
            response = await self._client.request(verb, f"{self.base}/{path}", **kwargs)
        except httpx.TimeoutException as exc:
            raise TimedOut(f"WeCom {path}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise NetworkError(f"WeCom {path}: {exc}") from exc
        if response.status_code >= 500:
            raise NetworkError(f"WeCom {path}: HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise NetworkError(f"WeCom {path}: not JSON") from exc
        return data if isinstance(data, dict) else {"errcode": -2, "errmsg": "not an object"}

    async def call(self, path: str, *, body: dict[str, Any] | None = None,
                   params: dict[str, Any] | None = None,
                   files: dict[str, Any] | None = None) -> dict[str, Any]:
        """One API call with the token, the token refetched once, busy and limits waited out."""
        refreshed = False
        busy = frequency = 0
        while True:
            token = await self.access_token()
            query = {"access_token": token, **(params or {})}
            if files is not None:
                data = await self._http("POST", path, params=query, files=files)
            else:
                data = await self._http("POST", path, params=query, json=body or {})
            errcode = int(data.get("errcode", 0) or 0)
            if errcode == 0:
                return data
            if errcode in TOKEN_ERRORS and not refreshed:
                log.info("WeCom access token rejected (%s); fetching a new one", errcode)
                refreshed = True
                self._token = None
                continue
            if errcode == BUSY and busy < len(BUSY_DELAYS):
                await self._sleep(BUSY_DELAYS[busy])
                busy += 1
                continue
            if errcode in FREQUENCY_ERRORS:
                if frequency < len(FREQUENCY_DELAYS):
                    log.warning("WeCom %s: frequency limit (%s); retrying in %.0f s", path,
                                errcode, FREQUENCY_DELAYS[frequency])
                    await self._sleep(FREQUENCY_DELAYS[frequency])
                    frequency += 1
                    continue
                raise Refused(429, f"Too Many Requests: WeCom {errcode}", retry_after=60)
            raise WeComApiError(errcode, str(data.get("errmsg", "")), path)

    async def member_wait(self, userid: str) -> float:
        """Seconds until one more message to ``userid`` fits WeCom's per-member limits (0:
        now), counting every worker's sends (the database) and this one's not yet written.
        Nothing waits for it: a message that does not fit is kept in the outbox."""
        if not self.member_limits:
            return 0.0
        now = self.clock.now()
        longest = max(window for window, _limit in self.member_limits)
        mine = self._sent_here[userid]
        while mine and mine[0][1] <= now - longest:
            mine.popleft()
        sends = dict(mine)
        try:
            async with self.db.session() as session:
                sends.update(await recent_sends(session, userid, now=now, window=longest))
        except (SQLAlchemyError, OSError) as exc:  # paced by this worker's own sends
            log.warning("pacing messages to %s without the database: %s", userid, exc)
        return member_wait(sends.values(), now, self.member_limits).total_seconds()

    async def member_busy(self, userid: str) -> bool:
        """Whether one more message to ``userid`` would go over WeCom's limits now."""
        return await self.member_wait(userid) > 0

    def _stamp(self, userid: str) -> None:
        """A message reached WeCom (the send completed): counted here at once, and by every
        worker once written (behind: the caller may hold a write transaction)."""
        now = self.clock.now()
        key = uuid.uuid4().hex
        self._sent_here[userid].append((key, now))
        self._stamps.put(WeComSend(key=key, userid=userid, sent_at=now))

    async def _write_stamps(self, session: AsyncSession, batch: list[WeComSend]) -> None:
        await record_sends(session, batch, now=self.clock.now())

    async def send(self, userid: str, msgtype: str, content: dict[str, Any], *,
                   task_id: str | None = None, keep: bool = True) -> str | None:
        """``message/send`` to one member, paced; returns the msgid. Refused for now (or
        WeCom unreachable), the message is kept in the outbox and None returned — unless
        ``keep`` is False (the outbox job itself), then ``RetryAfter``/``NetworkError``."""
        data = await self.send_answer(userid, msgtype, content, task_id=task_id, keep=keep)
        return str(data["msgid"]) if data and data.get("msgid") is not None else None

    async def send_answer(self, userid: str, msgtype: str, content: dict[str, Any], *,
                          task_id: str | None = None, keep: bool = True
                          ) -> dict[str, Any] | None:
        """``send``, answering with WeCom's whole answer (a card's ``response_code`` too);
        None when the message was kept for later."""
        chat_id = wecom_chat_id(userid)
        if keep and chat_id in self.held:
            self._keep(userid, msgtype, content, task_id, "behind earlier messages")
            return None
        try:
            async with self._member_locks[userid]:
                wait = await self.member_wait(userid)
                if wait > 0:  # WeCom would answer ok and drop it: the outbox sends it later
                    raise Refused(429, f"Too Many Requests: the limit for WeCom member "
                                  f"{userid}", retry_after=math.ceil(wait))
                try:
                    data = await self.call("message/send", body={
                        "touser": userid, "msgtype": msgtype, "agentid": self.agent_id,
                        msgtype: content, "enable_duplicate_check": 0,
                    })
                except TimedOut:
                    self._stamp(userid)  # it may have reached WeCom all the same
                    raise
                self._stamp(userid)
        except Refused as exc:
            if exc.status != 429 or not keep:
                raise
            self._keep(userid, msgtype, content, task_id, exc.description, exc.retry_after)
            return None
        except NetworkError as exc:
            if not keep:
                raise
            self._keep(userid, msgtype, content, task_id, str(exc))
            return None
        invalid = str(data.get("invaliduser") or "").split("|")
        if userid in invalid:
            raise Refused(403, f"Forbidden: WeCom user {userid} is not reachable by this app")
        return data

    def _keep(self, userid: str, msgtype: str, content: dict[str, Any], task_id: str | None,
              error: str, retry_after: float | None = None) -> None:
        chat_id = wecom_chat_id(userid)
        log.warning("WeCom message to %s kept for later: %s", userid, error)
        self.store.keep(outbox.new_message(
            channel="wecom", chat_id=chat_id, kind="wecom", now=self.clock.now(),
            payload={"userid": userid, "msgtype": msgtype, "content": content,
                     "task_id": task_id},
            error=error, retry_after=retry_after))
        self.held.add(chat_id)

    async def send_kept(self, payload: dict[str, Any]) -> None:
        """Send a message the outbox kept (``jobs/outbox``) and tell the message map its
        WeCom msgid. Raises ``RetryAfter``/``NetworkError`` when WeCom still refuses."""
        userid = str(payload["userid"])
        try:
            data = await self.send_answer(userid, str(payload["msgtype"]),
                                          dict(payload["content"]), keep=False) or {}
            msgid = str(data["msgid"]) if data.get("msgid") is not None else None
        except Refused as exc:  # in Telegram's terms, as the Bot API path would answer
            if exc.retry_after is not None:
                raise RetryAfter(exc.retry_after) from exc
            if exc.status == 403:
                raise Forbidden(exc.description) from exc
            raise BadRequest(exc.description) from exc
        except WeComApiError as exc:
            if exc.errcode == BUSY:
                raise NetworkError(str(exc)) from exc
            raise BadRequest(str(exc)) from exc
        task_id = payload.get("task_id")
        copy = await self.store.by_task(str(task_id)) if task_id else None
        if copy is None:
            return
        copy.msgid = msgid
        if data.get("response_code") and copy.kind in CARDS:
            copy.response_code, copy.code_at = str(data["response_code"]), self.clock.now()
        self.store.changed(copy)
        sent = Sent(msgid, userid, copy.chat_id, copy.message_id, copy.kind, copy.options,
                    copy.part, copy.task_id,
                    copy.text if copy.part == 0 or copy.kind == "full" else None)
        for observer in self.observers:
            observer(sent)

    def release(self, chat_id: int) -> None:
        """The outbox is empty for this chat: send directly again (unless a kept message is
        still on its way to the database)."""
        if not self.store.keeping(chat_id):
            self.held.discard(chat_id)

    async def upload(self, kind: str, field: Sequence[Any]) -> str:
        name, content, mimetype = field[0], field[1], field[2]
        if hasattr(content, "read"):
            content = content.read()
        data = await self.call("media/upload", params={"type": kind},
                               files={"media": (name or "file", content, mimetype)})
        return str(data["media_id"])

    async def download(self, media_id: str, *, retry: bool = True) -> bytes:
        token = await self.access_token()
        await self.initialize()
        assert self._client is not None
        try:
            response = await self._client.get(f"{self.base}/media/get",
                                              params={"access_token": token,
                                                      "media_id": media_id})
        except httpx.HTTPError as exc:
            raise NetworkError(f"WeCom media/get: {exc}") from exc
        if "json" in response.headers.get("content-type", ""):
            data = response.json()
            if int(data.get("errcode", 0)) in TOKEN_ERRORS and retry:
                self._token = None
                return await self.download(media_id, retry=False)
            raise NetworkError(f"WeCom media/get: errcode {data.get('errcode')}")
        return response.content

    # --- identity ------------------------------------------------------------------------------
    def bot_user(self) -> dict[str, Any]:
        return {"id": 7_100_000_000 + self.agent_id, "is_bot": True, "first_name": "WeCom",
                "username": f"wecom_agent_{self.agent_id}"}

    async def _userid(self, chat_id: Any) -> tuple[int, str]:
        try:
            chat = int(chat_id)
        except (TypeError, ValueError):
            raise Refused(400, "Bad Request: chat not found") from None
        async with self.db.session() as session:
            userid = await userid_for(session, chat)
        if userid is None:
            raise Refused(400, "Bad Request: chat not found")
        return chat, userid

    async def _translator(self, userid: str) -> Translator:
        async with self.db.session() as session:
            staff = await staff_for_account(session, "wecom", userid)
        locale = (staff.locale if staff is not None else None) or self.settings.default_locale
        return Translator(locale, self.settings.tz, self.clock.now())

    # --- sending and recording -------------------------------------------------------------------
    def _message(self, chat_id: int, message_id: int, **extra: Any) -> dict[str, Any]:
        return {"message_id": message_id, "date": int(self.clock.now().timestamp()),
                "chat": {"id": chat_id, "type": "private"}, "from": self.bot_user(), **extra}

    async def _record(self, chat_id: int, userid: str, kind: str, *, msgid: str | None,
                      task_id: str, message_id: int | None = None, part: int = 0,
                      text: str | None = None, options: Buttons | None = None,
                      response_code: str | None = None) -> int:
        new = message_id is None
        copy = self.store.add(Copy(
            message_id=message_id or self.store.new_message_id(), chat_id=chat_id, kind=kind,
            task_id=task_id, sent_at=self.clock.now(), part=part,
            msgid=msgid, text=text, response_code=response_code,
            code_at=self.clock.now() if response_code else None,
            options=[list(o) for o in options] if options is not None else None,
        ), new=new)
        sent = Sent(msgid, userid, chat_id, copy.message_id, kind, copy.options, part,
                    copy.task_id, copy.text if part == 0 or kind == "full" else None)
        for observer in self.observers:
            observer(sent)
        return copy.message_id

    async def _deliver(self, chat_id: int, userid: str, text: str, buttons: Buttons, *,
                       message_id: int | None = None, shown_before: str | None = None) -> int:
        """Send ``text`` with its buttons as a text, a card or a numbered list; returns the
        message id (``message_id`` when this is a new copy of an existing message, whose
        last version was ``shown_before``)."""
        if buttons:
            t = await self._translator(userid)
            if needs_full_text(t, text, shown_before):
                message_id = await self._full_text(chat_id, userid, text, message_id)
            task_id = new_task_id()
            try:
                data = await self.send_answer(userid, "template_card",
                                              card_body(t, text, buttons, task_id),
                                              task_id=task_id) or {}
            except WeComApiError as exc:  # a card WeCom will not take: the list still works
                log.warning("card to %s refused (%s); sent as a numbered list", userid, exc)
            else:  # the send-time response code: one update of this card, also untapped
                return await self._record(
                    chat_id, userid, "card", task_id=task_id, message_id=message_id,
                    msgid=str(data["msgid"]) if data.get("msgid") is not None else None,
                    text=text, options=buttons,
                    response_code=str(data.get("response_code") or "") or None)
        kind, shown = "text", text
        if buttons:
            _ = await self._translator(userid)
            kind = "list"
            shown = text + "\n\n" + _(LIST_HEADER) + "\n" + "\n".join(
                f"{number}. {label}" for number, (label, _data) in enumerate(buttons, 1))
        for part, piece in enumerate(split_text(shown)):
            task_id = new_task_id()
            msgid = await self.send(userid, "text", {"content": piece}, task_id=task_id)
            message_id = await self._record(
                chat_id, userid, kind, msgid=msgid, message_id=message_id, part=part,
                task_id=task_id, text=text if part == 0 else None,
                options=buttons if kind == "list" else None)
        assert message_id is not None
        return message_id

    # --- Bot API methods -------------------------------------------------------------------------
    async def _m_getMe(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        return {**self.bot_user(), "can_join_groups": False,
                "can_read_all_group_messages": False, "supports_inline_queries": False}

    async def _m_getUpdates(self, params: dict[str, Any], files: dict[str, Any]) -> list[Any]:
        return []  # updates arrive as callbacks (bot/http.py), never by polling

    async def _m_sendMessage(self, params: dict[str, Any], files: dict[str, Any]
                             ) -> dict[str, Any]:
        chat_id, userid = await self._userid(params.get("chat_id"))
        text = str(params.get("text") or "")
        if not text.strip():
            raise Refused(400, "Bad Request: message text is empty")
        markup = params.get("reply_markup")
        message_id = await self._deliver(chat_id, userid, text, buttons_of(markup))
        extra: dict[str, Any] = {"text": text}
        if markup:
            extra["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
        return self._message(chat_id, message_id, **extra)

    async def _m_editMessageText(self, params: dict[str, Any], files: dict[str, Any]
                                 ) -> dict[str, Any]:
        return await self._edit(params, str(params.get("text") or ""))

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any], files: dict[str, Any]
                                        ) -> dict[str, Any]:
        return await self._edit(params, None)

    async def _edit(self, params: dict[str, Any], text: str | None) -> dict[str, Any]:
        if params.get("inline_message_id"):
            raise Refused(400, "Bad Request: inline messages do not exist on WeCom")
        chat_id, userid = await self._userid(params.get("chat_id"))
        message_id = int(params.get("message_id") or 0)
        buttons = buttons_of(params.get("reply_markup"))
        copies = [c for c in await self.store.copies(chat_id, message_id) if c.part == 0]
        if not copies:
            raise Refused(400, "Bad Request: message to edit not found")
        current = copies[0]
        new_text = text if text is not None else (current.text or "")
        if not new_text.strip():
            raise Refused(400, "Bad Request: message text is empty")
        if new_text == current.text and [tuple(o) for o in current.options or []] == buttons:
            raise Refused(400, "Bad Request: message is not modified")
        if not await self._update_card(chat_id, userid, message_id, new_text, buttons):
            await self._deliver(chat_id, userid, new_text, buttons, message_id=message_id,
                                shown_before=current.text)
            await self._grey_older(chat_id, userid, message_id)
        await self._more_cards(chat_id, userid, message_id, new_text, buttons)
        return self._message(chat_id, message_id, text=new_text)

    async def _full_text(self, chat_id: int, userid: str, text: str,
                         message_id: int | None) -> int:
        """A card too long for WeCom to show whole: the full text goes first, as a text of
        the same message (parts 1…; the card is part 0), and the card follows, cut short."""
        for number, piece in enumerate(split_text(text), 1):
            task_id = new_task_id()
            msgid = await self.send(userid, "text", {"content": piece}, task_id=task_id)
            message_id = await self._record(chat_id, userid, "full", msgid=msgid,
                                            task_id=task_id, message_id=message_id,
                                            part=number, text=text if number == 1 else None)
        assert message_id is not None
        return message_id

    async def _update_card(self, chat_id: int, userid: str, message_id: int, text: str,
                           buttons: Buttons) -> bool:
        """Edit the newest card copy in place with its response codes; False when that
        cannot be done (then the new version goes out as a new message).

        A version with buttons replaces the card. A version without any cannot be a
        ``button_interaction`` card (``button_list`` is required) and a ``text_notice`` needs
        a ``card_action`` link we do not have, so: with two codes left the card gets the new
        text and one button, which the second code greys out at once (``button.replace_name``);
        with one code the old buttons are greyed and the new text follows as a message."""
        newest = [c for c in await self.store.copies(chat_id, message_id) if c.part == 0][:1]
        if not newest or newest[0].kind != "card":
            return False
        copy, now = newest[0], self.clock.now()
        left = live_codes(copy, now=now, valid=RESPONSE_CODE_VALID)
        if left == 0:
            return False
        _ = await self._translator(userid)
        if not buttons and left < 2:
            await self._grey(copy, userid, _(SPENT_LABEL))
            return False
        shown = buttons or [(_(SPENT_LABEL), SPENT_KEY)]
        code = self.store.take(copy, now=now, valid=RESPONSE_CODE_VALID)
        assert code is not None
        if needs_full_text(_, text, copy.text):
            await self._full_text(chat_id, userid, text, message_id)
        try:
            await self.call("message/update_template_card", body={
                "userids": [userid], "agentid": self.agent_id, "response_code": code,
                "template_card": card_body(_, text, shown, None),
            })
        except WeComApiError as exc:  # refused for what it says: the code is still good
            log.warning("card %s of chat %s not updated (%s); sending it again", message_id,
                        chat_id, exc)
            add_code(copy, code, now)
            await self._grey(copy, userid, _(SPENT_LABEL))
            return False
        except (Refused, NetworkError) as exc:
            log.info("card %s of chat %s not updated (%s); sending it again", message_id,
                     chat_id, exc)
            return False
        copy.text, copy.options = text, [list(b) for b in shown]
        self.store.changed(copy)
        for observer in self.observers:
            observer(Sent(None, userid, chat_id, message_id, "update", copy.options,
                          text=text))
        if not buttons and not await self._grey(copy, userid, _(SPENT_LABEL)):
            copy.options = []  # the placeholder button only says the card is done
            self.store.changed(copy)
        return True

    async def _grey(self, copy: Copy, userid: str, label: str) -> bool:
        """Turn the card copy's buttons into one greyed-out label (``button.replace_name``),
        with one of its response codes; False when none is left or WeCom refuses."""
        code = self.store.take(copy, now=self.clock.now(), valid=RESPONSE_CODE_VALID)
        if code is None:
            return False
        try:
            await self.call("message/update_template_card", body={
                "userids": [userid], "agentid": self.agent_id, "response_code": code,
                "button": {"replace_name": label},
            })
        except (WeComApiError, Refused, NetworkError) as exc:
            log.info("buttons of card %s of chat %s not greyed (%s)", copy.message_id,
                     copy.chat_id, exc)
            return False
        copy.options = []
        self.store.changed(copy)
        for observer in self.observers:
            observer(Sent(None, userid, copy.chat_id, copy.message_id, "greyed", [],
                          task_id=copy.task_id, text=label))
        return True

    async def _grey_older(self, chat_id: int, userid: str, message_id: int) -> None:
        """A new copy of the message went out: older card copies with live buttons are
        greyed ("see below") while a response code is left, so only the newest answers."""
        copies = [c for c in await self.store.copies(chat_id, message_id) if c.part == 0]
        stale = [c for c in copies[1:] if c.kind == "card" and c.options]
        if not stale:
            return
        _ = await self._translator(userid)
        for copy in stale:
            await self._grey(copy, userid, _(SUPERSEDED_LABEL))

    async def more(self, tapped: Copy, page: int) -> None:
        """The "More…" button of a card was tapped: a card with the next of the message's
        buttons (``template_card.pages``), a copy of the same message (kind ``more``, its part
        the page), so a tap on it is a tap on the message. An older "More…" card of the same
        page is greyed ("See below")."""
        copies = await self.store.copies(tapped.chat_id, tapped.message_id)
        current = next((c for c in copies if c.part == 0), None)
        if current is None or current.kind != "card" or not current.options:
            return  # the card has no live buttons (any more): nothing to show
        buttons = [(str(label), str(data)) for label, data in current.options]
        groups = pages(buttons)
        if not 0 < page < len(groups):
            return
        chat_id, userid = await self._userid(tapped.chat_id)
        t = await self._translator(userid)
        for old in copies:
            if old.kind == "more" and old.part == page and old.options:
                await self._grey(old, userid, t(SUPERSEDED_LABEL))
        text = current.text or ""
        task_id = new_task_id()
        data = await self.send_answer(userid, "template_card",
                                      more_body(t, text, buttons, page, task_id),
                                      task_id=task_id) or {}
        await self._record(chat_id, userid, "more", task_id=task_id,
                           message_id=current.message_id, part=page, text=text,
                           msgid=str(data["msgid"]) if data.get("msgid") is not None else None,
                           options=groups[page],
                           response_code=str(data.get("response_code") or "") or None)

    async def _more_cards(self, chat_id: int, userid: str, message_id: int, text: str,
                          buttons: Buttons) -> None:
        """The message changed: each "More…" card of it with live buttons shows its page of
        the new buttons (updated in place with one of its response codes), or is greyed
        ("Done") when that page is gone or no code is left for the update."""
        live = [c for c in await self.store.copies(chat_id, message_id)
                if c.kind == "more" and c.options]
        if not live:
            return
        t = await self._translator(userid)
        groups = pages(buttons) if buttons else []
        now = self.clock.now()
        for copy in live:
            page = copy.part
            if page < len(groups) and live_codes(copy, now=now, valid=RESPONSE_CODE_VALID) > 1:
                code = self.store.take(copy, now=now, valid=RESPONSE_CODE_VALID)
                assert code is not None
                try:
                    await self.call("message/update_template_card", body={
                        "userids": [userid], "agentid": self.agent_id, "response_code": code,
                        "template_card": more_body(t, text, buttons, page, None)})
                except (WeComApiError, Refused, NetworkError) as exc:
                    log.info("more card %s of chat %s not updated (%s)", copy.task_id,
                             chat_id, exc)
                else:
                    copy.text, copy.options = text, [list(b) for b in groups[page]]
                    self.store.changed(copy)
                    for observer in self.observers:
                        observer(Sent(None, userid, chat_id, message_id, "more", copy.options,
                                      page, copy.task_id))
                    continue
            await self._grey(copy, userid, t(SPENT_LABEL))

    async def _m_answerCallbackQuery(self, params: dict[str, Any], files: dict[str, Any]
                                     ) -> bool:
        text = str(params.get("text") or "").strip()
        if text:  # WeCom has no pop-ups: the person reads it as a short message
            chat, _, _rest = str(params.get("callback_query_id", "")).partition(":")
            chat_id, userid = await self._userid(chat)
            for piece in split_text(text):
                task_id = new_task_id()
                msgid = await self.send(userid, "text", {"content": piece}, task_id=task_id)
                await self._record(chat_id, userid, "alert", msgid=msgid, task_id=task_id,
                                   text=piece)
        return True

    async def _media_id(self, value: Any, files: dict[str, Any], kind: str) -> str:
        if isinstance(value, str) and value.startswith("attach://"):
            value = None if value[9:] not in files else files[value[9:]]
        elif value is None and files:
            value = next(iter(files.values()))
        if isinstance(value, str):
            return value  # a WeCom media id (what an incoming picture's file_id is)
        if value is None:
            raise Refused(400, "Bad Request: there is no file to send")
        return await self.upload(kind, value)

    async def _picture(self, chat_id: int, userid: str, media_id: str) -> dict[str, Any]:
        task_id = new_task_id()
        msgid = await self.send(userid, "image", {"media_id": media_id}, task_id=task_id)
        message_id = await self._record(chat_id, userid, "image", msgid=msgid,
                                        task_id=task_id, text=media_id)
        return self._message(chat_id, message_id, photo=[
            {"file_id": media_id, "file_unique_id": media_id, "width": 0, "height": 0}])

    async def _caption(self, chat_id: int, userid: str, params: dict[str, Any]) -> None:
        """WeCom pictures and files have no caption: it follows as a text of its own."""
        caption = str(params.get("caption") or "").strip()
        if not caption:
            return
        buttons = buttons_of(params.get("reply_markup"))
        if buttons:
            await self._deliver(chat_id, userid, caption, buttons)
            return
        for piece in split_text(caption):
            task_id = new_task_id()
            msgid = await self.send(userid, "text", {"content": piece}, task_id=task_id)
            await self._record(chat_id, userid, "caption", msgid=msgid, task_id=task_id,
                               text=piece)

    async def _m_sendPhoto(self, params: dict[str, Any], files: dict[str, Any]
                           ) -> dict[str, Any]:
        chat_id, userid = await self._userid(params.get("chat_id"))
        media_id = await self._media_id(params.get("photo"), files, "image")
        message = await self._picture(chat_id, userid, media_id)
        await self._caption(chat_id, userid, params)
        return message

    async def _m_sendMediaGroup(self, params: dict[str, Any], files: dict[str, Any]
                                ) -> list[dict[str, Any]]:
        chat_id, userid = await self._userid(params.get("chat_id"))
        media = params.get("media") or []
        if isinstance(media, str):
            media = json.loads(media)
        messages = []
        for item in media:
            media_id = await self._media_id(item.get("media"), files, "image")
            messages.append(await self._picture(chat_id, userid, media_id))
            if item.get("caption"):
                await self._caption(chat_id, userid, item)
        return messages

    async def _m_sendDocument(self, params: dict[str, Any], files: dict[str, Any]
                              ) -> dict[str, Any]:
        chat_id, userid = await self._userid(params.get("chat_id"))
        media_id = await self._media_id(params.get("document"), files, "file")
        task_id = new_task_id()
        msgid = await self.send(userid, "file", {"media_id": media_id}, task_id=task_id)
        name = next((f[0] for f in files.values()), None) or "file"
        message_id = await self._record(chat_id, userid, "file", msgid=msgid, task_id=task_id,
                                        text=name)
        await self._caption(chat_id, userid, params)
        return self._message(chat_id, message_id, document={
            "file_id": media_id, "file_unique_id": media_id, "file_name": name})

    async def _m_sendVoice(self, params: dict[str, Any], files: dict[str, Any]
                           ) -> dict[str, Any]:
        """A voice message (WeCom plays AMR only: other bytes go as a file)."""
        return await self._voice(params, files, params.get("voice"))

    async def _m_sendAudio(self, params: dict[str, Any], files: dict[str, Any]
                           ) -> dict[str, Any]:
        return await self._voice(params, files, params.get("audio"))

    async def _voice(self, params: dict[str, Any], files: dict[str, Any], value: Any
                     ) -> dict[str, Any]:
        chat_id, userid = await self._userid(params.get("chat_id"))
        upload: Any = None  # (file name, bytes, MIME type) when the bytes came with the call
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value[9:])
        elif value is None and files:
            upload = next(iter(files.values()))
        if upload is not None and hasattr(upload[1], "read"):
            upload = (upload[0], upload[1].read(), upload[2])
        if upload is None:  # a WeCom media id (what an incoming voice note's file_id is)
            media_id, msgtype = await self._media_id(value, files, "voice"), "voice"
        elif bytes(upload[1]).startswith(VOICE_MAGIC):
            media_id, msgtype = await self.upload("voice", upload), "voice"
        else:
            media_id, msgtype = await self.upload("file", upload), "file"
        task_id = new_task_id()
        msgid = await self.send(userid, msgtype, {"media_id": media_id}, task_id=task_id)
        message_id = await self._record(chat_id, userid, msgtype, msgid=msgid, task_id=task_id,
                                        text=media_id)
        await self._caption(chat_id, userid, params)
        duration = int(params.get("duration") or 0)
        if msgtype == "file":
            return self._message(chat_id, message_id, document={
                "file_id": media_id, "file_unique_id": media_id,
                "file_name": str(upload[0]) if upload else "voice"})
        return self._message(chat_id, message_id, voice={
            "file_id": media_id, "file_unique_id": media_id, "duration": duration})

    async def _m_getFile(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id") or "")
        if not file_id:
            raise Refused(400, "Bad Request: wrong file_id")
        return {"file_id": file_id, "file_unique_id": file_id,
                "file_path": f"{MEDIA_PATH}{file_id}"}

    async def _m_deleteMessage(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        chat_id, _userid = await self._userid(params.get("chat_id"))
        for copy in await self.store.copies(chat_id, int(params.get("message_id") or 0)):
            if copy.msgid:
                try:
                    await self.call("message/recall", body={"msgid": copy.msgid})
                except WeComApiError as exc:
                    log.info("message %s not recalled: %s", copy.msgid, exc)
        return True
