"""The Bot API of the playground's chat service, answered as Telegram answers: ``POST
/bot{token}/{method}`` (form-encoded, JSON or multipart, as python-telegram-bot sends it) and
file downloads at ``/file/bot{token}/{file_path}``. Errors are Telegram's words and statuses, so
the bot meets the same exceptions it handles in production."""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.playground.bodies import BadBody, Body, read_body
from bot.playground.chat_service import (
    BOT_ID,
    ApiError,
    Chat,
    ChatService,
    NotAnImage,
    StoredFile,
    media_content,
)
from bot.playground.entities import BadFormatting, parse_html, utf16_len

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
MAX_UPLOAD = 50 << 20  # what a bot may upload
MAX_DOWNLOAD = 20 << 20  # what getFile lets a bot download
LONG_POLL_LIMIT = 50.0
COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message")
WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"
MEDIA_KINDS = ("photo", "document", "voice", "audio")
METHODS = (
    "getMe", "getUpdates", "deleteWebhook", "setWebhook", "getWebhookInfo", "close", "logOut",
    "sendMessage", "sendPhoto", "sendDocument", "sendVoice", "sendAudio", "sendMediaGroup",
    "sendChatAction", "editMessageText", "editMessageCaption", "editMessageReplyMarkup",
    "deleteMessage", "deleteMessages", "answerCallbackQuery", "getFile", "setMyCommands",
    "getMyCommands", "deleteMyCommands", "setChatMenuButton", "getChatMenuButton",
    "setMyDescription", "setMyShortDescription", "setMyName", "getChat",
)


class Params:
    """A request's fields, read the way Telegram reads them (nested values are JSON)."""

    def __init__(self, body: Body) -> None:
        self.fields = body.fields
        self.files = body.files

    def text(self, name: str) -> str | None:
        value = self.fields.get(name)
        return None if value is None else value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self.fields.get(name)
        if value is None or value == "":
            if required:
                raise ApiError(f"Bad Request: {name} is empty")
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(f"Bad Request: invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self.fields.get(name)
        return value is True or value == "true"

    def json(self, name: str) -> Any:
        value = self.fields.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise ApiError(f"Bad Request: can't parse {name} JSON object") from None
        return value


def formatted(text: str, parse_mode: str | None, entities: Any) -> tuple[str, list[Any]]:
    """The text as Telegram keeps it: HTML read into entities; other modes kept as typed."""
    if (parse_mode or "").lower() == "html":
        try:
            return parse_html(text)
        except BadFormatting as exc:
            raise ApiError(f"Bad Request: can't parse entities: {exc}") from None
    if isinstance(entities, list):
        return text, [entity for entity in entities if isinstance(entity, dict)]
    return text, []


def inline_keyboard(markup: Any) -> dict[str, Any] | None:
    """The inline keyboard a message keeps; other keyboards are not part of a message."""
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return None
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError("Bad Request: can't parse inline keyboard button: field \"inline_keyboard\""
                       " must be an Array of Arrays")
    for button in (button for row in rows for button in row):
        if not isinstance(button, dict) or not button.get("text"):
            raise ApiError("Bad Request: can't parse inline keyboard button: Text buttons are "
                           "unallowed in the inline keyboard")
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode()) <= 64:
            raise ApiError("Bad Request: BUTTON_DATA_INVALID")
    return {"inline_keyboard": [row for row in rows if row]}


class BotApi:
    def __init__(self, service: ChatService) -> None:
        self.service = service
        self.default_menu_button: dict[str, Any] = {"type": "commands"}
        self.methods: dict[str, Callable[[Params], Awaitable[Any]]] = {
            name.lower(): getattr(self, name) for name in METHODS}

    def routes(self) -> list[BaseRoute]:
        return [Route("/bot{token}/{method}", self.answer, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self.download, methods=["GET"])]

    def _authorized(self, token: str) -> bool:
        return hmac.compare_digest(token.encode(), self.service.token.encode())

    async def answer(self, request: Request) -> Response:
        if not self._authorized(request.path_params["token"]):
            return _error(ApiError("Unauthorized", 401))
        method = self.methods.get(request.path_params["method"].lower())
        if method is None:
            return _error(ApiError("Not Found", 404))
        try:
            params = Params(await read_body(request, MAX_UPLOAD))
            result = await method(params)
        except BadBody as exc:
            return _error(ApiError(f"Bad Request: {exc}"))
        except ApiError as exc:
            return _error(exc)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:  # a field's shape
            log.warning("playground Bot API: %s refused: %r", request.path_params["method"], exc)
            return _error(ApiError(f"Bad Request: {exc}"))
        return JSONResponse({"ok": True, "result": result})

    async def download(self, request: Request) -> Response:
        if not self._authorized(request.path_params["token"]):
            return _error(ApiError("Unauthorized", 401))
        stored = self.service.file_by_path(request.path_params["path"])
        if stored is None:
            return _error(ApiError("Not Found", 404))
        return Response(stored.data, media_type="application/octet-stream")

    # --- shared ------------------------------------------------------------------------------
    def _chat(self, params: Params) -> Chat:
        value = params.fields.get("chat_id")
        if value is None or value == "":
            raise ApiError("Bad Request: chat_id is empty")
        try:
            return self.service.chat(int(value))
        except (TypeError, ValueError):
            raise ApiError("Bad Request: chat not found") from None

    def _reply_target(self, chat: Chat, params: Params) -> dict[str, Any] | None:
        reply = params.json("reply_parameters") or {}
        if not isinstance(reply, dict):
            raise ApiError("Bad Request: can't parse reply parameters JSON object")
        target = reply.get("message_id", params.integer("reply_to_message_id"))
        if target is None:
            return None
        message = self.service.message(chat, int(target))
        if message is None and not (reply.get("allow_sending_without_reply")
                                    or params.flag("allow_sending_without_reply")):
            raise ApiError("Bad Request: message to be replied not found")
        return message

    def _send(self, chat: Chat, params: Params, content: dict[str, Any]) -> dict[str, Any]:
        markup = inline_keyboard(params.json("reply_markup"))
        if markup:
            content["reply_markup"] = markup
        return self.service.new_message(chat, from_bot=True, content=content,
                                        reply_to=self._reply_target(chat, params))

    def _caption(self, params: Params, item: dict[str, Any] | None = None) -> dict[str, Any]:
        source = item if item is not None else params.fields
        raw = source.get("caption")
        if not raw:
            return {}
        entities = source.get("caption_entities")
        caption, found = formatted(str(raw), source.get("parse_mode"),
                                   json.loads(entities) if isinstance(entities, str) else entities)
        if utf16_len(caption) > CAPTION_LIMIT:
            raise ApiError("Bad Request: message caption is too long")
        return {"caption": caption, **({"caption_entities": found} if found else {})}

    def _file(self, params: Params, value: Any, kind: str, field: str) -> StoredFile:
        """The file a parameter names: uploaded in this request (by field or ``attach://``) or
        sent before (its file id)."""
        upload = params.files.get(field) if value is None else None
        if isinstance(value, str) and value.startswith("attach://"):
            upload = params.files.get(value.removeprefix("attach://"))
            if upload is None:
                raise ApiError(WRONG_FILE)
        if upload is not None:
            if not upload.data:
                raise ApiError("Bad Request: file must be non-empty")
            try:
                return self.service.store_file(kind, upload.data, upload.filename or kind,
                                               upload.content_type)
            except NotAnImage:
                raise ApiError("Bad Request: IMAGE_PROCESS_FAILED") from None
        stored = self.service.files.get(str(value)) if value is not None else None
        if stored is None:
            raise ApiError(WRONG_FILE if value else f"Bad Request: there is no {kind} in the "
                           "request")
        if kind == "photo" and not stored.width:
            raise ApiError("Bad Request: type of file mismatch")
        return stored

    async def _send_file(self, params: Params, kind: str) -> dict[str, Any]:
        chat = self._chat(params)
        caption = self._caption(params)
        stored = self._file(params, params.fields.get(kind), kind, kind)
        content = {**media_content(kind, stored, params.integer("duration") or 0), **caption}
        return self._send(chat, params, content)

    def _editable(self, params: Params) -> tuple[Chat, dict[str, Any]]:
        if params.fields.get("inline_message_id"):
            raise ApiError("Bad Request: MESSAGE_ID_INVALID")
        chat = self._chat(params)
        message = self.service.message(chat, params.integer("message_id", required=True) or 0)
        if message is None:
            raise ApiError("Bad Request: message to edit not found")
        if message["from"]["id"] != BOT_ID:
            raise ApiError("Bad Request: message can't be edited")
        return chat, message

    def _edit(self, chat: Chat, message: dict[str, Any], changes: dict[str, Any]) -> Any:
        if all(message.get(key) == value for key, value in changes.items()):
            raise ApiError(NOT_MODIFIED)
        for key, value in changes.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        self.service.edited(chat, message)
        return message

    # --- the methods, named as Telegram names them --------------------------------------------
    async def getMe(self, params: Params) -> dict[str, Any]:
        return {**self.service.bot_user, "can_join_groups": False,
                "can_read_all_group_messages": False, "supports_inline_queries": False,
                "can_connect_to_business": False, "has_main_web_app": False}

    async def getUpdates(self, params: Params) -> list[dict[str, Any]]:
        limit = min(max(params.integer("limit") or 100, 1), 100)
        try:
            timeout = min(max(float(params.fields.get("timeout") or 0), 0.0), LONG_POLL_LIMIT)
        except (TypeError, ValueError):
            raise ApiError("Bad Request: invalid timeout specified") from None
        return await self.service.updates(params.integer("offset"), limit, wait=timeout)

    async def deleteWebhook(self, params: Params) -> bool:
        if params.flag("drop_pending_updates"):
            self.service.drop_updates()
        return True

    async def setWebhook(self, params: Params) -> bool:
        raise ApiError("Bad Request: the playground's chat service delivers updates by "
                       "getUpdates only; it takes no webhook")

    async def getWebhookInfo(self, params: Params) -> dict[str, Any]:
        return {"url": "", "has_custom_certificate": False,
                "pending_update_count": self.service.pending_updates()}

    async def close(self, params: Params) -> bool:
        return True

    async def logOut(self, params: Params) -> bool:
        return True

    async def sendMessage(self, params: Params) -> dict[str, Any]:
        chat = self._chat(params)
        text, entities = formatted(params.text("text") or "", params.text("parse_mode"),
                                   params.json("entities"))
        if not text.strip():
            raise ApiError("Bad Request: message text is empty")
        if utf16_len(text) > TEXT_LIMIT:
            raise ApiError("Bad Request: message is too long")
        return self._send(chat, params, {"text": text,
                                         **({"entities": entities} if entities else {})})

    async def sendPhoto(self, params: Params) -> dict[str, Any]:
        return await self._send_file(params, "photo")

    async def sendDocument(self, params: Params) -> dict[str, Any]:
        return await self._send_file(params, "document")

    async def sendVoice(self, params: Params) -> dict[str, Any]:
        return await self._send_file(params, "voice")

    async def sendAudio(self, params: Params) -> dict[str, Any]:
        return await self._send_file(params, "audio")

    async def sendMediaGroup(self, params: Params) -> list[dict[str, Any]]:
        chat = self._chat(params)
        media = params.json("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise ApiError("Bad Request: wrong number of media specified: it must be 2-10")
        items = []
        for item in media:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in MEDIA_KINDS:
                raise ApiError("Bad Request: wrong media type in the group")
            items.append((item, kind))
        contents = [{**media_content(kind, self._file(params, item.get("media"), kind, kind)),
                     **self._caption(params, item)} for item, kind in items]
        group = f"{BOT_ID}{self.service.next_number():012d}"
        reply_to = self._reply_target(chat, params)
        return [self.service.new_message(chat, from_bot=True, reply_to=reply_to,
                                         content={**content, "media_group_id": group})
                for content in contents]

    async def sendChatAction(self, params: Params) -> bool:
        self._chat(params)
        return True

    async def editMessageText(self, params: Params) -> Any:
        chat, message = self._editable(params)
        if "text" not in message:
            raise ApiError("Bad Request: there is no text in the message to edit")
        text, entities = formatted(params.text("text") or "", params.text("parse_mode"),
                                   params.json("entities"))
        if not text.strip():
            raise ApiError("Bad Request: message text is empty")
        if utf16_len(text) > TEXT_LIMIT:
            raise ApiError("Bad Request: message is too long")
        return self._edit(chat, message, {
            "text": text, "entities": entities or None,
            "reply_markup": inline_keyboard(params.json("reply_markup"))})

    async def editMessageCaption(self, params: Params) -> Any:
        chat, message = self._editable(params)
        if not any(kind in message for kind in MEDIA_KINDS):
            raise ApiError("Bad Request: there is no caption in the message to edit")
        caption = self._caption(params)
        return self._edit(chat, message, {
            "caption": caption.get("caption"), "caption_entities": caption.get(
                "caption_entities"),
            "reply_markup": inline_keyboard(params.json("reply_markup"))})

    async def editMessageReplyMarkup(self, params: Params) -> Any:
        chat, message = self._editable(params)
        return self._edit(chat, message,
                          {"reply_markup": inline_keyboard(params.json("reply_markup"))})

    async def deleteMessage(self, params: Params) -> bool:
        chat = self._chat(params)
        message_id = params.integer("message_id", required=True) or 0
        if self.service.message(chat, message_id) is None:
            raise ApiError("Bad Request: message to delete not found")
        self.service.delete(chat, [message_id])
        return True

    async def deleteMessages(self, params: Params) -> bool:
        chat = self._chat(params)
        ids = params.json("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise ApiError("Bad Request: message_ids must be a list of 1-100 message ids")
        self.service.delete(chat, [int(number) for number in ids if isinstance(number, int)])
        return True

    async def answerCallbackQuery(self, params: Params) -> bool:
        chat_id = self.service.queries.pop(params.text("callback_query_id") or "", None)
        if chat_id is None or chat_id not in self.service.chats:
            raise ApiError("Bad Request: query is too old and response timeout expired or "
                           "query ID is invalid")
        text = params.text("text") or ""
        if text:
            self.service.toast(self.service.chats[chat_id], text, params.flag("show_alert"))
        return True

    async def getFile(self, params: Params) -> dict[str, Any]:
        stored = self.service.files.get(params.text("file_id") or "")
        if stored is None:
            raise ApiError("Bad Request: invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD:
            raise ApiError("Bad Request: file is too big")
        return {"file_id": stored.file_id, "file_unique_id": stored.unique_id,
                "file_size": len(stored.data), "file_path": stored.path}

    def _scope(self, params: Params) -> str:
        scope = params.json("scope") or {"type": "default"}
        if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
            raise ApiError("Bad Request: can't parse BotCommandScope JSON object")
        if scope["type"] in ("chat", "chat_administrators", "chat_member"):
            chat = self._chat(Params(Body(fields={"chat_id": scope.get("chat_id")})))
            return f"{scope['type']}:{chat.person.user_id}"
        return str(scope["type"])

    async def setMyCommands(self, params: Params) -> bool:
        commands = params.json("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError("Bad Request: can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not COMMAND_NAME.fullmatch(
                    str(command.get("command", ""))):
                raise ApiError("Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError("Bad Request: command description must be 1-256 characters")
        key = (self._scope(params), params.text("language_code") or "")
        self.service.set_commands(key, [{"command": c["command"],
                                         "description": c["description"]} for c in commands])
        return True

    async def getMyCommands(self, params: Params) -> list[dict[str, Any]]:
        key = (self._scope(params), params.text("language_code") or "")
        return self.service.commands.get(key, [])

    async def deleteMyCommands(self, params: Params) -> bool:
        self.service.set_commands((self._scope(params), params.text("language_code") or ""), [])
        return True

    async def setChatMenuButton(self, params: Params) -> bool:
        button = params.json("menu_button") or {"type": "default"}
        if params.fields.get("chat_id") in (None, ""):
            self.default_menu_button = button
        else:
            self._chat(params).menu_button = button
        return True

    async def getChatMenuButton(self, params: Params) -> dict[str, Any]:
        if params.fields.get("chat_id") in (None, ""):
            return self.default_menu_button
        button = self._chat(params).menu_button
        return self.default_menu_button if button.get("type") == "default" else button

    async def setMyDescription(self, params: Params) -> bool:
        return True

    async def setMyShortDescription(self, params: Params) -> bool:
        return True

    async def setMyName(self, params: Params) -> bool:
        return True

    async def getChat(self, params: Params) -> dict[str, Any]:
        chat = self._chat(params)
        return {**chat.person.chat(), "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False,
                                        "unique_gifts": False, "premium_subscription": False,
                                        "gifts_from_channels": False}}


def _error(error: ApiError) -> JSONResponse:
    return JSONResponse({"ok": False, "error_code": error.status,
                         "description": error.description}, status_code=error.status)
