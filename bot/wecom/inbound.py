"""WeCom callbacks in: verify, decrypt, parse safely, drop repeats, make a ``telegram.Update``.

WeCom posts ``<xml><ToUserName/><Encrypt/><AgentID/></xml>`` signed in the query string. The
decrypted XML is a text, an image, a template card click (``template_card_event``: the button
key is the callback data) or a menu click (``click``: the key names a command). Anything else is
logged and ignored. Replies to a numbered list (a keyboard too big for a card) are taps.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from telegram import Update
from telegram.ext import Application

from bot.services import Services
from bot.wecom.crypto import CryptoError, WeComCrypto
from bot.wecom.store import MessageStore
from models.wecom import claim_inbound, remember_user, wecom_chat_id

log = logging.getLogger(__name__)

COMMAND_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
LIST_ANSWER = re.compile(r"^\s*(\d{1,2})\s*$")
MAX_FIELD = 16_384
MAX_USERID = 64  # models.wecom.WeComUser.userid
MAX_KEY = 200  # models.wecom.WeComInbound.key


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
    """Takes verified callbacks, in order per person, into the WeCom ``Application``."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any],
                 services: Services, store: MessageStore) -> None:
        self.application = application
        self.services = services
        self.store = store
        self._locks: dict[int, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._update_ids = itertools.count(1)

    def submit(self, fields: dict[str, str]) -> None:
        """Handle in the background (WeCom wants its answer within five seconds)."""
        chat_id = wecom_chat_id(fields["FromUserName"])
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        task = asyncio.create_task(self._handle(lock, chat_id, fields))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        """Wait until every callback taken in so far has been handled."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _handle(self, lock: asyncio.Lock, chat_id: int, fields: dict[str, str]) -> None:
        async with lock:
            try:
                update = await self._to_update(chat_id, fields)
                if update is not None:
                    await self.application.process_update(update)
            except Exception:
                log.exception("WeCom callback from %s failed", fields.get("FromUserName"))

    async def _to_update(self, chat_id: int, fields: dict[str, str]) -> Update | None:
        userid = fields["FromUserName"]
        now = self.services.clock.now()
        async with self.services.db.session() as session:
            if not await claim_inbound(session, dedupe_key(fields), now=now):
                log.warning("WeCom callback %s was already taken in; dropped",
                            dedupe_key(fields))
                return None
            await remember_user(session, userid, now=now)
            await session.commit()
        data = await self._update_data(chat_id, fields)
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
        if kind == "event" and event == "template_card_event":
            row = await self.store.by_task(fields.get("TaskId", ""))
            if row is None or row.chat_id != chat_id:
                log.warning("WeCom click from %s on an unknown card %r; ignored", userid,
                            fields.get("TaskId", "")[:64])
                return None
            if fields.get("ResponseCode"):
                await self.store.keep_code(row.task_id, fields["ResponseCode"],
                                           now=self.services.clock.now())
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
