"""A local WeCom for the playground: the WeCom API the bot's ``WeComRequest`` calls, under
``/playground/wecom/cgi-bin/`` (``gettoken``, ``message/send``, ``message/update_template_card``,
``message/recall``, ``media/upload``, ``media/get``, ``menu/create``, ``agent/get``), answered as
WeCom answers, with what each message shows put in the person's chat of the chat service as the
WeCom app draws it: a text (at most 2048 bytes, as WeCom refuses longer), a template card (title,
rows, body, at most six buttons, replaced in place by a card update, its buttons greyed by a
``replace_name``), a picture, a file or a voice note.

The app's corp id, secret and agent id are fixed local values (``LocalApp``): the demo people are
members ``demo-<their user id>``; nothing here ever reaches the real WeCom.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.playground.bodies import BadBody, read_body
from bot.playground.chat_service import Chat, ChatService, NotAnImage, media_content

API_PATH = "/playground/wecom/cgi-bin"
CORP_ID = "wwplayground0local"
SECRET = "playground-local-secret"
AGENT_ID = 1000002
USERID_HEAD = "demo-"
TEXT_BYTES = 2048  # text.content: "最长不超过2048个字节"
MAX_BUTTONS = 6  # button_list: "列表长度不超过6"
MAX_MEDIA = 20 << 20
MAX_JSON = 256 << 10
TOKEN_SECONDS = 7200
KEPT = 5000  # response codes, cards and msgids remembered (the oldest forgotten first)
INVALID = 40058  # "不合法的参数"
MEDIA_KINDS = {"image": "photo", "file": "document", "voice": "voice"}


def userid_of(user_id: int) -> str:
    """The WeCom userid of the person with this id on the page."""
    return f"{USERID_HEAD}{user_id}"


def user_id_of(userid: str) -> int | None:
    number = userid.lower().removeprefix(USERID_HEAD)
    return int(number) if userid.lower().startswith(USERID_HEAD) and number.isdigit() \
        else None


@dataclass
class CardRef:
    """Where a card's copy is on the page: the person's chat and the message."""

    user_id: int
    message_id: int


def card_view(card: dict[str, Any]) -> dict[str, Any]:
    """What the page draws of a ``button_interaction`` card."""
    title = card.get("main_title") or {}
    quote = card.get("quote_area") or {}
    return {
        "title": str(title.get("title") or ""), "desc": str(title.get("desc") or ""),
        "rows": [[str(row.get("keyname") or ""), str(row.get("value") or "")]
                 for row in card.get("horizontal_content_list") or []],
        "body": str(card.get("sub_title_text") or ""),
        "quote": str(quote.get("quote_text") or ""),
        "buttons": [{"text": str(button.get("text") or ""), "key": str(button.get("key") or ""),
                     "style": button.get("style", 1)} for button in card.get("button_list") or []],
        "greyed": None,
    }


def _refused(errcode: int, errmsg: str) -> dict[str, Any]:
    return {"errcode": errcode, "errmsg": errmsg}


class WeComApi:
    def __init__(self, service: ChatService) -> None:
        self.service = service
        self.menu: dict[str, Any] | None = None  # what menu/create was given
        self._tokens: set[str] = set()
        self._codes: dict[str, str] = {}  # live response code → task id
        self._cards: dict[str, CardRef] = {}  # task id → the card on the page
        self._sent: dict[str, CardRef] = {}  # msgid → the message on the page
        self._ids = itertools.count(1)

    def routes(self) -> list[BaseRoute]:
        return [Route(f"{API_PATH}/{{path:path}}", self.answer, methods=["GET", "POST"])]

    # --- what the person's side asks ----------------------------------------------------------
    def card(self, chat: Chat, message_id: int) -> dict[str, Any] | None:
        message = self.service.message(chat, message_id)
        wecom = (message or {}).get("wecom") or {}
        card = wecom.get("card")
        return card if isinstance(card, dict) else None

    def click_code(self, task_id: str) -> str:
        """The response code WeCom gives with a click on the card ``task_id``."""
        return self._new_code(task_id)

    def _new_code(self, task_id: str) -> str:
        code = f"rc{secrets.token_hex(12)}"
        _keep(self._codes, code, task_id)
        return code

    # --- the API ------------------------------------------------------------------------------
    async def answer(self, request: Request) -> Response:
        path = request.path_params["path"]
        query = dict(request.query_params)
        if path == "gettoken":
            return JSONResponse(self._token(query))
        if query.get("access_token") not in self._tokens:
            return JSONResponse(_refused(40014, "invalid access_token"))
        if path == "media/get":
            return self._media(query.get("media_id", ""))
        try:
            body = await read_body(request, MAX_MEDIA + MAX_JSON)
        except BadBody as exc:
            return JSONResponse(_refused(INVALID, str(exc)))
        fields = body.fields
        if path == "media/upload":
            upload = body.files.get("media")
            kind = query.get("type", "")
            if upload is None or kind not in MEDIA_KINDS or not upload.data:
                return JSONResponse(_refused(40005, "invalid file type"))
            return JSONResponse(self._upload(kind, upload.filename, upload.data,
                                             upload.content_type))
        if path == "message/send":
            return JSONResponse(self._send(fields))
        if path == "message/update_template_card":
            return JSONResponse(self._update(fields))
        if path == "message/recall":
            return JSONResponse(self._recall(str(fields.get("msgid") or "")))
        if path == "menu/create":
            self.menu = fields
            self.service.events.publish({"type": "menu", "chat": None})
            return JSONResponse(_refused(0, "ok"))
        if path == "agent/get":
            return JSONResponse({**_refused(0, "ok"), "agentid": AGENT_ID, "name": "Workshop",
                                 "close": 0})
        return JSONResponse(_refused(60011, f"no such API {path}"))

    def _token(self, query: dict[str, str]) -> dict[str, Any]:
        if query.get("corpid") != CORP_ID:
            return _refused(40013, "invalid corpid")
        if query.get("corpsecret") != SECRET:
            return _refused(40001, "invalid credential")
        token = secrets.token_hex(16)
        self._tokens.add(token)
        return {**_refused(0, "ok"), "access_token": token, "expires_in": TOKEN_SECONDS}

    def _media(self, media_id: str) -> Response:
        stored = self.service.files.get(media_id)
        if stored is None:
            return JSONResponse(_refused(40007, "invalid media_id"))
        return Response(stored.data, media_type=stored.mime, headers={
            "Content-Disposition": f'attachment; filename="{media_id}"'})

    def _upload(self, kind: str, name: str, data: bytes, mime: str) -> dict[str, Any]:
        if kind == "voice" and not data.startswith(b"#!AMR\n"):
            return _refused(40005, "invalid file type: voice must be AMR")
        try:
            stored = self.service.store_file(MEDIA_KINDS[kind], data, name or kind, mime)
        except NotAnImage:
            return _refused(40005, "invalid file type: not an image")
        return {**_refused(0, "ok"), "type": kind, "media_id": stored.file_id,
                "created_at": str(self.service.now())}

    def _chat(self, touser: Any) -> Chat | None:
        user_id = user_id_of(str(touser or ""))
        return self.service.chats.get(user_id) if user_id is not None else None

    def _send(self, body: dict[str, Any]) -> dict[str, Any]:
        if str(body.get("agentid") or "") != str(AGENT_ID):
            return _refused(40056, "invalid agentid")
        msgtype = body.get("msgtype")
        content = body.get(msgtype) if isinstance(msgtype, str) else None
        if not isinstance(content, dict):
            return _refused(INVALID, f"msgtype {msgtype!r} without its content")
        chat = self._chat(body.get("touser"))
        if chat is None:  # not a member the app can reach
            return {**_refused(0, "ok"), "invaliduser": str(body.get("touser") or "")}
        shown, extra = self._content(str(msgtype), content)
        if "errcode" in shown:
            return shown
        message = self.service.new_message(chat, from_bot=True, content=shown)
        msgid = f"msg{next(self._ids)}{secrets.token_hex(4)}"
        _keep(self._sent, msgid, CardRef(chat.person.user_id, message["message_id"]))
        answer = {**_refused(0, "ok"), "invaliduser": "", "msgid": msgid, **extra}
        if msgtype == "template_card":
            task_id = str(content["task_id"])
            _keep(self._cards, task_id, CardRef(chat.person.user_id, message["message_id"]))
            answer["response_code"] = self._new_code(task_id)
        return answer

    def _content(self, msgtype: str, content: dict[str, Any]
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(what the page shows, or an error; what the answer adds)."""
        if msgtype in ("text", "markdown"):
            text = str(content.get("content") or "")
            if not text.strip():
                return _refused(44004, "empty content"), {}
            if len(text.encode()) > TEXT_BYTES:
                return _refused(45002, "content size out of limit"), {}
            return {"text": text, "wecom": {"kind": msgtype}}, {}
        if msgtype in MEDIA_KINDS:
            stored = self.service.files.get(str(content.get("media_id") or ""))
            if stored is None:
                return _refused(40007, "invalid media_id"), {}
            return {**media_content(MEDIA_KINDS[msgtype], stored),
                    "wecom": {"kind": msgtype}}, {}
        if msgtype == "template_card":
            refusal = _card_refusal(content, sending=True)
            if refusal:
                return _refused(INVALID, refusal), {}
            return {"text": "", "wecom": {"kind": "card", "card": {
                **card_view(content), "task_id": str(content["task_id"])}}}, {}
        return _refused(INVALID, f"msgtype {msgtype!r}"), {}

    def _update(self, body: dict[str, Any]) -> dict[str, Any]:
        code = str(body.get("response_code") or "")
        task_id = self._codes.pop(code, None)  # "一个code只能调用一次该接口"
        ref = self._cards.get(task_id or "")
        if ref is None:
            return _refused(INVALID, f"invalid response_code {code!r}")
        chat = self.service.chats.get(ref.user_id)
        message = self.service.message(chat, ref.message_id) if chat else None
        if chat is None or message is None:
            return _refused(INVALID, "the card is gone")
        if body.get("userids") != [userid_of(ref.user_id)]:
            return _refused(INVALID, "userids did not get this card")
        button, card = body.get("button"), body.get("template_card")
        wecom = message["wecom"]
        if isinstance(button, dict) and button.get("replace_name"):
            wecom["card"]["greyed"] = str(button["replace_name"])
        elif isinstance(card, dict):
            refusal = _card_refusal(card, sending=False)
            if refusal:
                return _refused(INVALID, refusal)
            wecom["card"] = {**card_view(card), "task_id": wecom["card"]["task_id"]}
        else:
            return _refused(INVALID, "either button.replace_name or template_card")
        self.service.edited(chat, message)
        return {**_refused(0, "ok"), "invaliduser": []}

    def _recall(self, msgid: str) -> dict[str, Any]:
        ref = self._sent.pop(msgid, None)
        chat = self.service.chats.get(ref.user_id) if ref else None
        if ref is None or chat is None:
            return _refused(INVALID, f"invalid msgid {msgid!r}")
        self.service.delete(chat, [ref.message_id])
        return _refused(0, "ok")


def _keep(kept: dict[str, Any], key: str, value: Any) -> None:
    kept[key] = value
    while len(kept) > KEPT:
        kept.pop(next(iter(kept)))


def _card_refusal(card: dict[str, Any], *, sending: bool) -> str | None:
    """What WeCom refuses in a ``button_interaction`` card (None: it takes it)."""
    if card.get("card_type") != "button_interaction":
        return f"card_type {card.get('card_type')!r}"
    if not (card.get("main_title") or {}).get("title"):
        return "main_title.title is required"
    if sending and not card.get("task_id"):
        return "task_id is required"
    buttons = card.get("button_list")
    if not isinstance(buttons, list) or not 0 < len(buttons) <= MAX_BUTTONS:
        return f"button_list has 1 to {MAX_BUTTONS} buttons"
    keys = [button.get("key") for button in buttons if isinstance(button, dict)]
    if len(keys) != len(buttons) or not all(keys) or len(set(keys)) != len(keys):
        return "button_list.key must be given and not repeat"
    return None
