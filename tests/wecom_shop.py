"""The test shop on WeCom: the same ``Shop``/``Person`` interface as ``tests.shop``, driven the
way WeCom drives the bot.

A person's message or tap is an encrypted, signed callback POSTed over real HTTP to the bot's
own server (``bot.http``); what they get back is read from what the bot sent to a fake WeCom
API (``tests.fakewecom``), turned back into Telegram's shape (``WeComView``) so one scenario
reads the same on both channels. Only the mapping of WeCom message ids to the message ids the
handlers know comes from the bot itself (``WeComRequest.observers``).
"""

from __future__ import annotations

import base64
import itertools
import os
import secrets
from datetime import datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

import httpx

from bot.application import build_wecom_application
from bot.clock import FrozenClock
from bot.http import WeComEndpoint, build_http_app
from bot.i18n import Translator
from bot.messenger import Messenger
from bot.services import Services
from bot.settings import LOCALES, Settings
from bot.wecom.crypto import WeComCrypto
from bot.wecom.inbound import Dispatcher
from bot.wecom.request import LIST_HEADER, Sent, WeComRequest
from bot.wecom.template_card import more_page
from models.db import Database
from models.staff import Role, add_staff, bind_account
from models.wecom import wecom_chat_id
from tests.fakebotapi import Call, SentMessage
from tests.fakewecom import FakeWeCom, start_server, stop_server

CORP_ID = "ww0123456789abcdef"
AGENT_ID = 1000002
SECRET = "fake-app-secret"
TOKEN = "fakeCallbackToken"
_users = itertools.count(1)
_msg_ids = itertools.count(7_000_000_000_000_000_001)


def new_aes_key() -> str:
    return base64.b64encode(os.urandom(32)).decode().rstrip("=")


def envelope(crypto: WeComCrypto, fields: dict[str, Any], *, timestamp: int,
             nonce: str | None = None, corp_id: str = CORP_ID) -> tuple[dict[str, str], bytes]:
    """(query, body) of a WeCom callback carrying ``fields`` (``<xml>`` children)."""
    inner = "<xml>" + "".join(
        f"<{name}><![CDATA[{value}]]></{name}>" if isinstance(value, str)
        else f"<{name}>{value}</{name}>" for name, value in fields.items()) + "</xml>"
    nonce = nonce or str(secrets.randbelow(10**9))
    encrypted = crypto.encrypt(inner)
    signature = crypto.sign(str(timestamp), nonce, encrypted)
    body = (f"<xml><ToUserName><![CDATA[{escape(corp_id)}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<AgentID><![CDATA[{AGENT_ID}]]></AgentID></xml>")
    return ({"msg_signature": signature, "timestamp": str(timestamp), "nonce": nonce},
            body.encode())


class RefusedByWeCom(Exception):
    """A message or card update the fake WeCom API refused for what was in it."""


class WeComView:
    """What people received, in Telegram's shape: ``calls``, ``messages``, ``sent_to`` …"""

    def __init__(self, shop: WeComShop) -> None:
        self.shop = shop
        self._sent: dict[str, Sent] = {}  # WeCom msgid → what the bot says it was
        self._calls: list[Call] = []
        self._messages: dict[tuple[int, int], SentMessage] = {}
        self._task_ids: dict[tuple[int, int], str] = {}  # newest task id of each message
        self._latest: dict[int, int] = {}  # chat → message id of the newest readable message
        self._kinds: dict[tuple[int, int], str] = {}  # text, list or card: the newest copy's
        self._full: dict[tuple[int, int], str] = {}  # a long card's full text, until the card
        # a card edited in place, its whole text (what the person has: the card, and the
        # full copy sent when the part the card cannot show last changed)
        self._update_texts: dict[tuple[int, int], str] = {}
        self.codes: dict[str, tuple[int, int]] = {}  # response code → (chat, message id)
        self.code_tasks: dict[str, str] = {}  # response code → task id of the card copy
        self.live_cards: dict[tuple[int, int], set[str]] = {}  # task ids with live buttons
        self.greyed: list[tuple[tuple[int, int], str | None, str]] = []  # replace_name updates
        # What the newest card copy of a message shows ((WeCom label, key), at most six, "More…"
        # among them); the message's ``buttons`` are all of them, as the handlers drew them.
        self.shown: dict[tuple[int, int], list[tuple[str, str]]] = {}
        # the live "More…" cards of a message: task id → what each shows
        self.more: dict[tuple[int, int], dict[str, list[tuple[str, str]]]] = {}
        self._update_options: dict[tuple[int, int], list[tuple[str, str]]] = {}
        self._seen = 0
        self.fail_chats = _FailChats(self)
        headers = {Translator(locale, shop.settings.tz)(LIST_HEADER) for locale in LOCALES}
        self._list_headers = [f"\n\n{h}\n" for h in headers]

    def observe(self, sent: Sent) -> None:
        if sent.msgid is not None:
            self._sent[sent.msgid] = sent
        if sent.kind == "update" and sent.text is not None:  # the whole text of a card
            self._update_texts[(sent.chat_id, sent.message_id)] = sent.text  # edited in place
            self._update_options[(sent.chat_id, sent.message_id)] = _options(sent)
        self.sync()  # edits show on the SentMessage objects at once, as with FakeBotApi

    # --- turning the fake's records into calls -------------------------------------------------
    def sync(self) -> None:
        records = self.shop.fake.records
        while self._seen < len(records):
            record = records[self._seen]
            self._seen += 1
            if not record.ok:
                continue
            if record.path == "message/send" and record.answer.get("msgid"):
                sent = self._sent.get(record.answer["msgid"])
                if sent is None:  # the bot has not said yet what it was: come back later
                    self._seen -= 1
                    return
                self._message(record.body, sent)
                if record.answer.get("response_code"):  # a card's send-time code
                    self.codes[record.answer["response_code"]] = (sent.chat_id,
                                                                  sent.message_id)
                    self.code_tasks[record.answer["response_code"]] = str(sent.task_id)
            elif record.path == "message/update_template_card":
                if not self._card_update(record.body):  # the bot has not said yet: later
                    self._seen -= 1
                    return

    def _message(self, body: dict[str, Any], sent: Sent) -> None:
        key = (sent.chat_id, sent.message_id)
        msgtype = body["msgtype"]
        if sent.kind == "alert":
            self._calls.append(Call("answerCallbackQuery", {"chat_id": sent.chat_id,
                                                            "text": body["text"]["content"]}))
            return
        if sent.kind == "caption":  # belongs to the picture or file just before it
            content = body["text"]["content"]
            for call in reversed(self._calls):
                if call.chat_id == sent.chat_id and call.method in ("sendPhoto", "sendDocument"):
                    call.params["caption"] = (call.params.get("caption", "") + content)
                    self._messages[(sent.chat_id, call.params["message_id"])].text = \
                        call.params["caption"]
                    return
            raise AssertionError(f"a caption without a picture or file: {content!r}")
        if msgtype in ("image", "file", "voice"):
            media_id = body[msgtype]["media_id"]
            upload = self.shop.fake.uploads.get(media_id)
            if msgtype == "voice":
                self._messages[key] = SentMessage(sent.message_id, sent.chat_id, "", [],
                                                  voice=media_id)
                self._calls.append(Call("sendVoice", {
                    "chat_id": sent.chat_id, "message_id": sent.message_id, "voice": media_id,
                }, {"voice": upload} if upload else {}))
            elif msgtype == "image":
                self._messages[key] = SentMessage(sent.message_id, sent.chat_id, "", [],
                                                  photo=media_id)
                self._calls.append(Call("sendPhoto", {
                    "chat_id": sent.chat_id, "message_id": sent.message_id, "photo": media_id,
                }, {"photo": upload} if upload else {}))
            else:
                name = upload[0] if upload else media_id
                self._messages[key] = SentMessage(sent.message_id, sent.chat_id, "", [],
                                                  document=name)
                self._calls.append(Call("sendDocument", {
                    "chat_id": sent.chat_id, "message_id": sent.message_id,
                    "document": media_id}, {"document": upload} if upload else {}))
            return
        if sent.kind == "full":  # the whole text of a card too long to show it: the card next
            if sent.text is not None:  # (on its first part)
                self._full[key] = sent.text
            return
        if msgtype == "template_card" and sent.kind == "more":  # the rest of a card's buttons
            card = body["template_card"]
            assert card.get("task_id") == sent.task_id
            self.more.setdefault(key, {})[str(sent.task_id)] = self._card(card)[1]
            return
        if msgtype == "template_card":
            card = body["template_card"]
            text, shown = self._card(card)
            text = self._full.pop(key, None) or sent.text or text
            assert card.get("task_id") == sent.task_id
            buttons = _options(sent) or shown
            self.shown[key] = shown
            if buttons:
                self.live_cards.setdefault(key, set()).add(str(sent.task_id))
        else:
            text, buttons = body["text"]["content"], []
            if sent.kind == "list" and sent.part == 0:
                text, buttons = self._numbered(text, sent)
            elif sent.kind == "text" and sent.part == 0 and sent.text is not None:
                text = sent.text  # all of it: the parts were cut where WeCom needed
        if sent.part == 0:
            self._kinds[key] = sent.kind
        if sent.task_id:
            self._task_ids[key] = sent.task_id
        self._latest[sent.chat_id] = sent.message_id
        existing = self._messages.get(key)
        if sent.part > 0 and existing is not None:  # a long text went out in parts
            if self._kinds.get(key) != "text":  # (a text's first part had it all)
                existing.text += "\n" + text
            self._calls[-1].params["text"] = existing.text
            return
        params = {"chat_id": sent.chat_id, "message_id": sent.message_id, "text": text,
                  "reply_markup": _markup(buttons)}
        if existing is None:
            self._messages[key] = SentMessage(sent.message_id, sent.chat_id, text, buttons)
            self._calls.append(Call("sendMessage", params))
        else:  # WeCom could not edit it in place: the new version came as a new message
            existing.text, existing.buttons = text, buttons
            self._calls.append(Call("editMessageText", params))

    def _numbered(self, content: str, sent: Sent) -> tuple[str, list[tuple[str, str]]]:
        for header in self._list_headers:
            text, found, listing = content.rpartition(header)
            if found:
                break
        else:
            raise AssertionError(f"a numbered list without its header: {content!r}")
        labels = [line.split(". ", 1)[1] for line in listing.splitlines()]
        options = [(str(label), str(data)) for label, data in sent.options or []]
        assert labels == [label for label, _ in options], (labels, options)
        return text, options

    def _card(self, card: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
        assert card["card_type"] in ("button_interaction", "text_notice")
        title, rest = card["main_title"]["title"], card.get("sub_title_text", "")
        text = f"{title}\n{rest}" if rest else title
        quote = (card.get("quote_area") or {}).get("quote_text")
        if quote:
            text += f"\n\n{quote}"
        return text, [(b["text"], b["key"]) for b in card.get("button_list", [])]

    def _card_update(self, body: dict[str, Any]) -> bool:
        key = self.codes[body["response_code"]]
        task_id = self.code_tasks.get(body["response_code"])
        more = self.more.get(key, {})
        if task_id in more:  # a "More…" card: greyed, or showing its part of the new buttons
            if "button" in body:
                self.greyed.append((key, task_id, body["button"]["replace_name"]))
                del more[task_id]
            else:
                more[task_id] = self._card(body["template_card"])[1]
            return True
        if "template_card" in body and key not in self._update_texts:
            return False  # the bot has not said yet what the card's whole text is
        newest = task_id is not None and task_id == self._task_ids.get(key)
        self.live_cards.get(key, set()).discard(task_id or "")
        if "button" in body:  # the buttons greyed out: the card says what it said, no buttons
            self.greyed.append((key, task_id, body["button"]["replace_name"]))
            if newest:
                self._messages[key].buttons = []
                self.shown[key] = []
            return True
        _text, shown = self._card(body["template_card"])
        buttons = self._update_options.pop(key, None) or shown
        self.shown[key] = shown
        text = self._update_texts.pop(key)
        self._full.pop(key, None)
        if buttons and task_id:
            self.live_cards.setdefault(key, set()).add(task_id)
        message = self._messages[key]
        message.text, message.buttons = text, buttons
        self._calls.append(Call("editMessageText", {"chat_id": key[0], "message_id": key[1],
                                                    "text": text,
                                                    "reply_markup": _markup(buttons)}))
        return True

    def stale_cards(self) -> list[tuple[tuple[int, int], str]]:
        """Card copies that still have live buttons but are not their message's newest copy,
        and "More…" cards offering a button their message no longer has."""
        self.sync()
        stale = [(key, task) for key, tasks in self.live_cards.items() for task in tasks
                 if task != self._task_ids.get(key)]
        for key, cards in self.more.items():
            now = {data for _label, data in self._messages[key].buttons}
            stale += [(key, task) for task, shown in cards.items()
                      if any(data not in now and more_page(data) is None
                             for _label, data in shown)]
        return stale

    # --- FakeBotApi's reading interface ----------------------------------------------------------
    @property
    def calls(self) -> list[Call]:
        self.sync()
        return self._calls

    @property
    def messages(self) -> dict[tuple[int, int], SentMessage]:
        self.sync()
        return self._messages

    def sent_to(self, chat_id: int, method: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.chat_id == chat_id and c.method != "answerCallbackQuery"
                and (method is None or c.method == method)]

    def texts_to(self, chat_id: int) -> list[str]:
        return [c.text for c in self.sent_to(chat_id)
                if c.method in ("sendMessage", "sendPhoto", "editMessageText")]

    def last_message(self, chat_id: int) -> SentMessage:
        mine = [m for m in self.messages.values() if m.chat_id == chat_id and m.photo is None
                and m.document is None and m.voice is None]
        assert mine, f"nothing was sent to chat {chat_id}"
        return max(mine, key=lambda m: m.message_id)

    def alerts(self) -> list[str]:
        return [str(c.params.get("text", "")) for c in self.calls
                if c.method == "answerCallbackQuery"]

    def photos_to(self, chat_id: int) -> list[str]:
        """Media ids of the pictures sent (an upload: ``upload:<file name>``, as on Telegram)."""
        return [f"upload:{c.files['photo'][0]}" if c.files else str(c.params["photo"])
                for c in self.sent_to(chat_id, "sendPhoto")]

    def task_id(self, message: SentMessage) -> str:
        self.sync()
        return self._task_ids[(message.chat_id, message.message_id)]

    def answers_by_number(self, message: SentMessage) -> bool:
        """A numbered list that is the newest message of its chat: its options are numbers."""
        self.sync()
        key = (message.chat_id, message.message_id)
        return self._kinds.get(key) == "list" and self._latest.get(message.chat_id) == key[1]


def _options(sent: Sent) -> list[tuple[str, str]]:
    """The buttons of a card as the handlers drew them (labels in full, every one)."""
    return [(str(label), str(data)) for label, data in sent.options or []]


def _markup(buttons: list[tuple[str, str]]) -> dict[str, Any] | None:
    if not buttons:
        return None
    return {"inline_keyboard": [[{"text": label, "callback_data": data}]
                                for label, data in buttons]}


class _FailChats(set[int]):
    """``api.fail_chats.add(chat_id)``: that member leaves the app's visible range."""

    def __init__(self, view: WeComView) -> None:
        super().__init__()
        self.view = view

    def add(self, chat_id: int) -> None:
        super().add(chat_id)
        self.view.shop.fake.fail_users.add(self.view.shop.userids[chat_id])

    def discard(self, chat_id: int) -> None:
        """Back in the visible range."""
        super().discard(chat_id)
        self.view.shop.fake.fail_users.discard(self.view.shop.userids[chat_id])


class WeComShop:
    channel = "wecom"

    def __init__(self, db: Database, settings: Settings, start: datetime, *,
                 paced: bool = True) -> None:
        self.db = db
        self.clock = FrozenClock(start)
        self.fake = FakeWeCom(CORP_ID, SECRET)
        self.fake.now = self._monotonic  # WeCom's per-member limits count by the shop's clock
        # A scenario plays a day's work in one frozen minute, which no member's limits allow:
        # ``paced=False`` lifts them on both sides (tests/test_wecom_load.py tests them).
        self.paced = paced
        if not paced:
            self.fake.member_limits = []
        self.base_settings = settings
        self.settings = settings
        self.errors: list[BaseException] = []
        self.userids: dict[int, str] = {}
        self.sleeps: list[float] = []
        self.api = WeComView(self)
        self.app: Any = None
        self.request: WeComRequest | None = None
        self._server: Any = None
        self._task: Any = None
        self.callback_url = ""
        self.crypto: WeComCrypto | None = None
        self.client = httpx.AsyncClient(timeout=30)

    async def _sleep(self, seconds: float) -> None:
        """The bot's back-off and pacing waits: recorded, not slept (the clock is frozen)."""
        self.sleeps.append(seconds)

    def _monotonic(self) -> float:
        """The bot's sense of elapsed time (token lifetime, pacing): the shop's clock."""
        return self.clock.now().timestamp()

    async def start(self) -> None:
        if not self.fake.port:
            await self.fake.start()
            self.settings = self.base_settings.model_copy(update={
                "telegram_bot_token": None, "wecom_corp_id": CORP_ID, "wecom_agent_id": AGENT_ID,
                "wecom_secret": SECRET, "wecom_token": TOKEN, "wecom_aes_key": new_aes_key(),
                "wecom_api_base": self.fake.base_url,
            })
        settings = self.settings
        self.crypto = WeComCrypto(TOKEN, settings.wecom_aes_key or "", CORP_ID)
        self.services = Services(settings=settings, db=self.db, clock=self.clock,
                                 messenger=Messenger(settings, self.clock))
        self.request = WeComRequest(settings, self.db, self.clock, sleep=self._sleep,
                                    monotonic=self._monotonic)
        if not self.paced:
            self.request.member_limits = ()
        self.request.observers.append(self.api.observe)
        self.app = build_wecom_application(self.services, request=self.request,
                                           rate_limiter=False)
        self.app.add_error_handler(self._record_error)
        await self.app.initialize()
        self.dispatcher = Dispatcher(self.app, self.services, self.request.store)
        http_app = build_http_app(settings, wecom=WeComEndpoint(settings, self.clock,
                                                                self.dispatcher), db=self.db)
        self._server, self._task, port = await start_server(http_app)
        self.base_url = f"http://127.0.0.1:{port}"
        self.callback_url = self.base_url + settings.wecom_callback_path

    async def stop(self, *, final: bool = True) -> None:
        if self._server is not None:
            await stop_server(self._server, self._task)
            self._server = None
            await self.dispatcher.idle()
        if self.app is not None:
            await self.app.shutdown()
            self.app = None
        if final:
            await self.client.aclose()
            await self.fake.stop()
            # Every body the bot sent was checked against WeCom's documented schema
            # (tests/fakewecom.py); one WeCom would refuse fails the test like an error.
            self.errors.extend(RefusedByWeCom(f"{r.path} {r.answer} {r.body}")
                               for r in self.fake.refused())
            # ... and none went over a member's limits (WeCom would have dropped it unsaid).
            self.errors.extend(RefusedByWeCom(f"dropped over the member's limits: {body}")
                               for body in self.fake.dropped)

    async def restart(self) -> None:
        """A redeploy: a new server and Application on the same database and WeCom."""
        await self.stop(final=False)
        await self.start()

    async def _record_error(self, update: object, context: Any) -> None:
        self.errors.append(context.error)

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))

    def photos_to(self, person: WeComPerson) -> list[str]:
        return self.api.photos_to(person.user_id)

    def refuse_photos(self, *media_ids: str) -> None:
        """WeCom will not send these pictures (40007 invalid media_id)."""
        self.fake.refused_media.update(media_ids)

    # --- people --------------------------------------------------------------------------------
    async def hire(self, name: str, *roles: Role, locale: str = "en",
                   bind: bool = True) -> WeComPerson:
        """A staff member, bound on WeCom (as ``staff add --wecom-userid``) unless not ``bind``."""
        userid = f"user{next(_users)}"
        async with self.db.session() as session:
            staff, invite = await add_staff(
                session, name=name, roles=set(roles), now=self.now(),
                invite_ttl=timedelta(days=self.settings.invite_ttl_days), locale=locale,
            )
            if bind:
                await bind_account(session, staff, channel="wecom", user_key=userid,
                                   chat_id=wecom_chat_id(userid), now=self.now())
            await session.commit()
        return self._person(userid, name, staff.id, invite.code)

    def stranger(self, name: str = "Stranger", language_code: str = "en") -> WeComPerson:
        return self._person(f"user{next(_users)}", name, None, None, language_code)

    def _person(self, userid: str, name: str, staff_id: int | None, invite_code: str | None,
                language_code: str = "en") -> WeComPerson:
        person = WeComPerson(self, userid, name, staff_id, invite_code, language_code)
        self.userids[person.user_id] = userid
        return person

    # --- WeCom's side of the callback ---------------------------------------------------------
    def envelope(self, fields: dict[str, Any], *, timestamp: int | None = None,
                 nonce: str | None = None, corp_id: str = CORP_ID,
                 crypto: WeComCrypto | None = None) -> tuple[dict[str, str], bytes]:
        """(query, body) of a callback as WeCom sends it: the message encrypted and signed."""
        crypto = crypto or self.crypto
        assert crypto is not None
        timestamp = int(self.now().timestamp()) if timestamp is None else timestamp
        return envelope(crypto, fields, timestamp=timestamp, nonce=nonce, corp_id=corp_id)

    async def post(self, query: dict[str, str], body: bytes) -> httpx.Response:
        """POST a callback to the running server and wait until the bot has handled it."""
        response = await self.client.post(self.callback_url, params=query, content=body)
        await self.dispatcher.idle()
        return response

    async def deliver(self, fields: dict[str, Any], **envelope: Any) -> httpx.Response:
        query, body = self.envelope({"ToUserName": CORP_ID, **fields}, **envelope)
        response = await self.post(query, body)
        assert response.status_code == 200, (response.status_code, response.text)
        return response


class WeComPerson:
    def __init__(self, shop: WeComShop, userid: str, name: str, staff_id: int | None,
                 invite_code: str | None, language_code: str = "en") -> None:
        self.shop = shop
        self.userid = userid
        self.user_id = wecom_chat_id(userid)  # the chat id the handlers see
        self.name = name
        self.staff_id = staff_id
        self.invite_code = invite_code
        self.language_code = language_code  # WeCom does not say; the shop's default applies

    @property
    def api(self) -> WeComView:
        return self.shop.api

    def _fields(self, msgtype: str, **extra: Any) -> dict[str, Any]:
        return {"FromUserName": self.userid, "CreateTime": int(self.shop.now().timestamp()),
                "MsgType": msgtype, **extra, "AgentID": AGENT_ID}

    async def send(self, text: str) -> list[str]:
        """Type a message in the app; returns what came back."""
        return await self._process(self._fields("text", Content=text, MsgId=next(_msg_ids)))

    async def send_photo(self, file_id: str, caption: str | None = None) -> list[str]:
        """Send a picture; WeCom hands the bot its media id (here: ``file_id``)."""
        replies = await self._process(self._fields(
            "image", PicUrl=f"https://wework.qpic.cn/{file_id}", MediaId=file_id,
            MsgId=next(_msg_ids)))
        if caption:  # WeCom pictures have no caption: it is a message of its own
            replies += await self.send(caption)
        return replies

    async def send_voice(self, media_id: str, data: bytes) -> list[str]:
        """Record a voice note: WeCom keeps its AMR bytes and hands the bot its media id."""
        self.shop.fake.media[media_id] = data
        return await self._process(self._fields(
            "voice", MediaId=media_id, Format="amr", MsgId=next(_msg_ids)))

    async def tap(self, label: str | None = None, *, data: str | None = None,
                  message: SentMessage | None = None) -> list[str]:
        """Tap a button: click it on a card, or answer a numbered list with its number."""
        target, callback_data = self.find_button(label, data=data, message=message)
        if self.api.answers_by_number(target):
            datas = [d for _, d in target.buttons]
            return await self.send(str(datas.index(callback_data) + 1))
        return await self.click(callback_data, target)

    async def click(self, callback_data: str, message: SentMessage) -> list[str]:
        """Click a button where WeCom shows it: on the card, or on a "More…" card of it —
        tapping "More…" first (and again on that card) until one shows it."""
        key = (message.chat_id, message.message_id)
        replies: list[str] = []
        for _attempt in range(10):
            shown = self.api.shown.get(key)
            if shown is None or callback_data in {d for _l, d in shown}:
                return replies + await self.tap_data(callback_data, message)
            more = self.api.more.get(key, {})
            for more_task, buttons in more.items():
                if callback_data in {d for _l, d in buttons}:
                    return replies + await self.tap_data(callback_data, message,
                                                         task_id=more_task)
            # "More…" on the card, or on the "More…" card that opens the furthest page
            opens: list[tuple[int, str | None, str]] = [
                (more_page(d) or 0, None, d) for _l, d in shown if more_page(d)]
            opens += [(more_page(d) or 0, more_task, d) for more_task, buttons in more.items()
                      for _l, d in buttons if more_page(d)]
            if not opens:
                break
            _page, on_task, more_key = max(opens, key=lambda o: o[0])
            replies += await self.tap_data(more_key, message, task_id=on_task)
        raise AssertionError(f"{self.name}: no card shows {callback_data!r}")

    def find_button(self, label: str | None = None, *, data: str | None = None,
                    message: SentMessage | None = None) -> tuple[SentMessage, str]:
        candidates = [message] if message else sorted(
            (m for m in self.api.messages.values() if m.chat_id == self.user_id),
            key=lambda m: m.message_id, reverse=True,
        )
        for candidate in candidates:
            for text, callback_data in candidate.buttons:
                if (data is not None and callback_data == data) or (
                    label is not None and data is None and label in text
                ):
                    return candidate, callback_data
        raise AssertionError(f"{self.name} has no button {label or data!r}")

    async def tap_data(self, callback_data: str, message: SentMessage, *,
                       task_id: str | None = None) -> list[str]:
        """A card click with any key on ``message``, as a forged or replayed click would be.

        Someone else's message cannot be clicked on WeCom (cards live in their own chat): the
        forged key then rides on this person's newest message, which tests the same thing,
        that the server checks who taps, whatever the key says."""
        if message.chat_id != self.user_id:
            mine = [m for m in self.api.messages.values()
                    if m.chat_id == self.user_id and m.photo is None and m.document is None]
            assert mine, f"{self.name} has no message to click on"
            message = max(mine, key=lambda m: m.message_id)
        task_id = task_id or self.api.task_id(message)  # the card, or a "More…" card of it
        code = f"code-{secrets.token_hex(8)}"
        self.api.codes[code] = (message.chat_id, message.message_id)
        self.api.code_tasks[code] = task_id
        self.shop.fake.click_code(code, self.userid, task_id)
        return await self._process(self._fields(
            "event", Event="template_card_event", EventKey=callback_data,
            TaskId=task_id, CardType="button_interaction", ResponseCode=code))

    async def _process(self, fields: dict[str, Any]) -> list[str]:
        before = len(self.api.calls)
        await self.shop.deliver(fields)
        replies = []
        for call in self.api.calls[before:]:
            if call.chat_id != self.user_id:
                continue
            if call.method == "answerCallbackQuery" or call.method in (
                "sendMessage", "editMessageText", "sendPhoto"
            ):
                replies.append(call.text)
        return replies

    @property
    def inbox(self) -> list[str]:
        return self.api.texts_to(self.user_id)

    @property
    def last(self) -> SentMessage:
        return self.api.last_message(self.user_id)
