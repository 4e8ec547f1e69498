"""WeCom callbacks in: verify, decrypt, parse safely, drop repeats, make a ``telegram.Update``.

WeCom posts ``<xml><ToUserName/><Encrypt/><AgentID/></xml>`` signed in the query string. The
decrypted XML is a text, an image, a voice note (AMR: its length is read from its frames), a
template card click (``template_card_event``: the button key is the callback data; a card's
"More…" is answered here with a card of the rest, ``WeComRequest.more``) or a menu
click (``click``: the key names a command). Anything else is logged and ignored. Replies to a
numbered list (a keyboard WeCom refused as a card) are taps.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import re
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, JobQueue

from bot import logs
from bot.services import Services
from bot.voice import amr_seconds
from bot.wecom.crypto import CryptoError, WeComCrypto
from bot.wecom.request import WeComRequest
from bot.wecom.store import MessageStore
from bot.wecom.template_card import more_page
from models.wecom import (
    mark_handled,
    remember_user,
    start_handling,
    take_in,
    unhandled,
    wecom_chat_id,
)

log = logging.getLogger(__name__)

COMMAND_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
LIST_ANSWER = re.compile(r"^\s*(\d{1,2})\s*$")
MAX_FIELD = 16_384
MAX_USERID = 64  # models.wecom.WeComUser.userid
MAX_KEY = 200  # models.wecom.WeComInbound.key
TAKE_IN_SECONDS = 4.0  # WeCom waits five seconds for its answer, then sends again
RETRY_AFTER = timedelta(seconds=30)  # a callback not handled by then was dropped on the way
RETRY_EVERY = 60  # seconds


class Rejected(Exception):
    """A callback refused before anything is processed; the message says why (for the log)."""


def parse_xml(body: bytes | str) -> dict[str, str]:
    """The children of ``<xml>`` as a flat mapping. No DTD, no entities, no external anything."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise Rejected(f"unusable XML: {type(exc).__name__}: {exc}") from None
    if root.tag != "xml":
        raise Rejected(f"unexpected XML root <{root.tag}>")
    return {child.tag: (child.text or "")[:MAX_FIELD] if child.tag == "Content"
            else (child.text or "")[:MAX_FIELD].strip() for child in root}


def check_time(timestamp: str, now: datetime, max_skew: int) -> None:
    try:
        at = int(timestamp)
    except ValueError:
        raise Rejected(f"bad timestamp {timestamp[:20]!r}") from None
    skew = abs(now.timestamp() - at)
    if skew > max_skew:
        raise Rejected(f"timestamp {at} is {skew:.0f} s away from now")


def verify_url(crypto: WeComCrypto, query: Mapping[str, str], *, now: datetime,
               max_skew: int) -> str:
    """The URL check WeCom does when the callback is set up: answer the decrypted echostr."""
    check_time(query.get("timestamp", ""), now, max_skew)
    echostr = query.get("echostr", "")
    # base64 has "+": sent unescaped, a query parser reads it as a space.
    for candidate in dict.fromkeys((echostr, echostr.replace(" ", "+"))):
        try:
            plain = crypto.open(query.get("msg_signature", ""), query.get("timestamp", ""),
                                query.get("nonce", ""), candidate)
        except CryptoError as exc:
            error = exc
            continue
        return plain.decode("utf-8", "replace")
    raise Rejected(str(error))


def open_callback(crypto: WeComCrypto, query: Mapping[str, str], body: bytes, *,
                  now: datetime, max_skew: int) -> dict[str, str]:
    """The decrypted message of a POSTed callback, or ``Rejected``."""
    outer = parse_xml(body)
    encrypted = outer.get("Encrypt", "")
    if not encrypted:
        raise Rejected("no <Encrypt> element")
    try:
        crypto.check(query.get("msg_signature", ""), query.get("timestamp", ""),
                     query.get("nonce", ""), encrypted)
        check_time(query.get("timestamp", ""), now, max_skew)
        plain = crypto.decrypt(encrypted)
    except CryptoError as exc:
        raise Rejected(str(exc)) from None
    fields = parse_xml(plain)
    if fields.get("ToUserName") != crypto.receive_id:
        raise Rejected(f"message for another corp: {fields.get('ToUserName', '')[:40]!r}")
    userid = fields.get("FromUserName", "")
    if not userid:
        raise Rejected("no FromUserName")
    # Real userids are at most 64 characters of letters, digits and a few marks: anything
    # else is refused before a byte is written (it would not fit the column, or a log line).
    if len(userid) > MAX_USERID or not userid.isprintable():
        raise Rejected(f"FromUserName is not a WeCom userid: {userid[:40]!r}…")
    return fields


def dedupe_key(fields: Mapping[str, str]) -> str:
    if fields.get("MsgId"):
        key = f"msg:{fields['MsgId']}"
    else:
        # FromUserName+CreateTime is WeCom's advice; the card's response code, new with every
        # click, keeps two real clicks within one second apart while a resend still matches.
        key = ":".join(("evt", fields.get("FromUserName", ""), fields.get("CreateTime", ""),
                        fields.get("Event", ""), fields.get("TaskId", ""),
                        fields.get("EventKey", ""), fields.get("ResponseCode", "")))
    if len(key) > MAX_KEY:  # the column's width: a longer key is kept as its digest
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


class Dispatcher:
    """Takes verified callbacks, in order per person, into the WeCom ``Application``.

    A callback is recorded in the database before WeCom gets its 200 (``take_in``); handling
    it starts by taking the record (a lease) and marks it handled just before the handlers
    see it, so it reaches them at most once. One that failed before that (the database gave
    out after the 200, the process stopped) is taken again by ``retry``: at start and every
    minute (``schedule``)."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any],
                 services: Services, store: MessageStore) -> None:
        self.application = application
        self.services = services
        self.store = store
        self._locks: dict[int, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._keys: set[str] = set()  # callbacks on their way to the handlers in this process
        self._update_ids = itertools.count(1)

    async def take_in(self, fields: dict[str, str]) -> bool:
        """Record the callback, then handle it in the background (WeCom wants its answer
        within five seconds); False for one taken in before (a resend, a replay: dropped).
        A database error or ``TimeoutError`` is raised: WeCom gets no 200 and sends again."""
        key = dedupe_key(fields)
        async with asyncio.timeout(TAKE_IN_SECONDS), self.services.db.session() as session:
            new = await take_in(session, key, fields, now=self.services.clock.now())
        if not new:
            log.warning("WeCom callback %s was already taken in; dropped", key)
            return False
        self.submit(key, fields)
        return True

    def submit(self, key: str, fields: dict[str, str]) -> None:
        """Handle a recorded callback in the background, after the person's earlier ones."""
        chat_id = wecom_chat_id(fields["FromUserName"])
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._keys.add(key)
        task = asyncio.create_task(self._handle(lock, chat_id, key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _task: self._keys.discard(key))

    async def idle(self) -> None:
        """Wait until every callback taken in so far has been handled."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def retry(self) -> int:
        """Hand the callbacks taken in but never handled (by any worker) to the handlers
        again; returns how many."""
        async with self.services.db.session() as session:
            waiting = await unhandled(session, now=self.services.clock.now(),
                                      older_than=RETRY_AFTER)
        waiting = [(key, fields) for key, fields in waiting
                   if key not in self._keys and fields.get("FromUserName")]
        for key, fields in waiting:
            log.warning("WeCom callback %s from %s was not handled; handling it now", key,
                        fields["FromUserName"])
            self.submit(key, fields)
        return len(waiting)

    async def retry_job(self, context: object) -> None:
        try:
            await self.retry()
        except Exception as exc:  # the database is away: the next run tries again
            log.warning("unhandled WeCom callbacks not looked for: %s", exc)

    def schedule(self, job_queue: JobQueue[Any] | None) -> None:
        """Look for unhandled callbacks at start and every ``RETRY_EVERY`` seconds."""
        if job_queue is not None:
            job_queue.run_repeating(logs.numbered_runs("wecom-callbacks", self.retry_job),
                                    interval=RETRY_EVERY, first=1,
                                    name="wecom-callbacks",
                                    job_kwargs={"coalesce": True, "max_instances": 1})

    async def _handle(self, lock: asyncio.Lock, chat_id: int, key: str) -> None:
        async with lock:
            try:
                update = await self._to_update(chat_id, key)
            except (SQLAlchemyError, OSError, TimeoutError, TelegramError):
                log.exception("WeCom callback %s not handled; it is tried again later", key)
                return
            except Exception:  # not the database or the network: trying again cannot help
                log.exception("WeCom callback %s cannot be handled; dropped", key)
                await self._give_up(key)
                return
            try:
                if update is not None:
                    await self.application.process_update(update)
            except Exception:
                log.exception("WeCom callback %s failed", key)

    async def _give_up(self, key: str) -> None:
        try:
            async with self.services.db.session() as session:
                await mark_handled(session, key, now=self.services.clock.now())
                await session.commit()
        except SQLAlchemyError as exc:
            log.warning("WeCom callback %s not marked dropped: %s", key, exc)

    async def _to_update(self, chat_id: int, key: str) -> Update | None:
        """The callback's update, once it is this worker's to handle and marked handled;
        None when it was handled already, another worker is on it, or it is no update."""
        now = self.services.clock.now()
        async with self.services.db.session() as session:
            fields = await start_handling(session, key, now=now)
            if fields is None:
                return None
            await remember_user(session, str(fields["FromUserName"]), now=now)
            await session.commit()
        data = await self._update_data(chat_id, {k: str(v) for k, v in fields.items()})
        async with self.services.db.session() as session:
            await mark_handled(session, key, now=now)
            await session.commit()
        if data is None:
            return None
        return Update.de_json({"update_id": next(self._update_ids), **data},
                              self.application.bot)

    async def _update_data(self, chat_id: int, fields: dict[str, str]
                           ) -> dict[str, Any] | None:
        userid = fields["FromUserName"]
        user = {"id": chat_id, "is_bot": False, "first_name": userid, "username": userid}
        chat = {"id": chat_id, "type": "private", "first_name": userid}
        try:
            date = int(fields.get("CreateTime") or 0)
        except ValueError:
            date = 0
        date = date or int(self.services.clock.now().timestamp())
        msg_id = fields.get("MsgId", "")
        message_id = (int(msg_id) % 2**31 if msg_id.isdigit() else 0) or secrets.randbelow(2**31)
        message = {"message_id": message_id, "date": date, "chat": chat, "from": user}
        kind = fields.get("MsgType", "")
        event = fields.get("Event", "")

        if kind == "text":
            text = fields.get("Content", "")
            answer = LIST_ANSWER.match(text)
            if answer:
                tap = await self._list_answer(chat_id, int(answer.group(1)), user)
                if tap is not None:
                    return tap
            return {"message": {**message, "text": text, **_command_entities(text)}}
        if kind == "image" and fields.get("MediaId"):
            media_id = fields["MediaId"]
            return {"message": {**message, "photo": [
                {"file_id": media_id, "file_unique_id": media_id, "width": 0, "height": 0}]}}
        if kind == "voice" and fields.get("MediaId"):
            media_id = fields["MediaId"]
            return {"message": {**message, "voice": {
                "file_id": media_id, "file_unique_id": media_id,
                "duration": await self._voice_seconds(media_id),
                "mime_type": "audio/amr"}}}
        if kind == "event" and event == "template_card_event":
            row = await self.store.by_task(fields.get("TaskId", ""))
            if row is None or row.chat_id != chat_id:
                log.warning("WeCom click from %s on an unknown card %r; ignored", userid,
                            fields.get("TaskId", "")[:64])
                return None
            if fields.get("ResponseCode"):
                await self.store.keep_code(row.task_id, fields["ResponseCode"],
                                           now=self.services.clock.now())
            page = more_page(fields.get("EventKey", ""))
            if page is not None:  # "More…": not a bot action, the WeCom layer answers it
                request = self.application.bot.request
                if isinstance(request, WeComRequest):
                    await request.more(row, page)
                return None
            return {"callback_query": self._tap(chat_id, user, fields.get("EventKey", ""),
                                                row.message_id, row.text, date)}
        if kind == "event" and event == "click":
            key = fields.get("EventKey", "")
            if not COMMAND_KEY.match(key):
                log.warning("WeCom menu click with key %r; ignored", key[:40])
                return None
            text = f"/{key}"
            return {"message": {**message, "text": text, **_command_entities(text)}}
        log.info("WeCom %s %s from %s ignored", kind[:20] or "message", event[:30], userid)
        return None

    async def _voice_seconds(self, media_id: str) -> int:
        """How long a voice note is: WeCom's callback does not say, its AMR frames do."""
        try:
            data = await (await self.application.bot.get_file(media_id)).download_as_bytearray()
        except TelegramError as exc:
            log.info("WeCom voice %s not fetched for its length: %s", media_id[:64], exc)
            return 0
        return amr_seconds(bytes(data))

    async def _list_answer(self, chat_id: int, number: int,
                           user: dict[str, Any]) -> dict[str, Any] | None:
        """A number sent right after a numbered list chooses that option."""
        latest = await self.store.latest(chat_id)
        if latest is None or latest.kind != "list" or not latest.options:
            return None
        if not 1 <= number <= len(latest.options):
            return None
        data = str(latest.options[number - 1][1])
        return {"callback_query": self._tap(chat_id, user, data, latest.message_id,
                                            latest.text,
                                            int(self.services.clock.now().timestamp()))}

    def _tap(self, chat_id: int, user: dict[str, Any], data: str, message_id: int,
             text: str | None, date: int) -> dict[str, Any]:
        """A ``callback_query`` on the bot's message ``message_id``."""
        return {
            "id": f"{chat_id}:{secrets.token_hex(6)}",
            "from": user,
            "chat_instance": str(chat_id),
            "data": data[:1024],
            "message": {"message_id": message_id, "date": date,
                        "chat": {"id": chat_id, "type": "private"},
                        "from": self.application.bot.bot.to_dict(),
                        "text": text or "card"},
        }


def _command_entities(text: str) -> dict[str, Any]:
    if not text.startswith("/"):
        return {}
    command = text.split()[0]
    return {"entities": [{"type": "bot_command", "offset": 0, "length": len(command)}]}
