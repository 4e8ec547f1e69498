"""The page's side of the chat service, under ``/playground/``: the people, their chats, what a
person types, sends or taps (turned into the updates a Telegram client would cause), the files,
an event stream of every change, the page's words, and the page itself (static files).

Errors answer ``{"error": <key of page_strings.STRINGS>, "message": <English>}``."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.playground.bodies import BadBody, read_body
from bot.playground.chat_service import (
    Chat,
    ChatService,
    NotAnImage,
    media_content,
)
from bot.playground.entities import command_entities, utf16_len
from bot.playground.page_strings import STRINGS, page_strings

STATIC = Path(__file__).resolve().parent / "static"
API = "/playground/api"
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
MAX_FILE = 20 << 20
MAX_JSON = 64 << 10
KINDS = ("photo", "voice", "document")
# Control characters a Telegram client drops (tab and line feed stay), and carriage returns.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
SHOWN_INLINE = {"image/jpeg", "image/png", "image/gif", "image/webp", "audio/ogg", "audio/mpeg",
                "audio/mp4", "audio/webm", "audio/wav", "audio/x-wav", "video/webm"}


Action = Callable[[Chat, Request], Awaitable[dict[str, Any]]]


class PageError(Exception):
    def __init__(self, key: str, status: int = 400) -> None:
        super().__init__(STRINGS[key])
        self.key = key
        self.status = status


def clean(text: str) -> str:
    return CONTROL.sub("", text.replace("\r\n", "\n")).strip()


class PageApi:
    def __init__(self, service: ChatService) -> None:
        self.service = service

    def routes(self) -> list[BaseRoute]:
        return [
            Route(f"{API}/people", self.people, methods=["GET"]),
            Route(f"{API}/chats/{{user_id:int}}", self.chat, methods=["GET"]),
            Route(f"{API}/chats/{{user_id:int}}/read", self.read, methods=["POST"]),
            Route(f"{API}/chats/{{user_id:int}}/messages", self.say, methods=["POST"]),
            Route(f"{API}/chats/{{user_id:int}}/files", self.send_file, methods=["POST"]),
            Route(f"{API}/chats/{{user_id:int}}/tap", self.tap, methods=["POST"]),
            Route(f"{API}/files/{{file_id}}", self.file, methods=["GET"]),
            Route(f"{API}/events", self.events, methods=["GET"]),
            Route(f"{API}/strings", self.strings, methods=["GET"]),
            Route(f"{API}/{{rest:path}}", self.unknown, methods=["GET", "POST"]),
            Mount("/playground", StaticFiles(directory=STATIC, html=True), name="playground"),
        ]

    # --- reading -----------------------------------------------------------------------------
    async def people(self, request: Request) -> Response:
        return JSONResponse({"people": [
            {"id": chat.person.user_id, "name": chat.person.name, "roles": chat.person.roles,
             "language": chat.person.language, "channel": chat.person.channel,
             "unread": chat.unread}
            for chat in self.service.chats.values()]})

    async def chat(self, request: Request) -> Response:
        """The chat as the page opens it; it counts as read. ``last_event_id``: events after it
        are not in this answer yet."""
        return await self._answer(self._chat_view, request)

    async def _chat_view(self, chat: Chat, request: Request) -> dict[str, Any]:
        chat.unread = 0
        person = chat.person
        outlet = self.service.outlets.get(person.channel)
        return {"person": {"id": person.user_id, "name": person.name, "roles": person.roles,
                           "language": person.language, "channel": person.channel},
                "messages": [self.service.view(message) for message in chat.messages.values()],
                "menu": outlet.menu(chat) if outlet else self.service.menu(chat),
                "toast": chat.toast,
                "last_event_id": self.service.events.last_id}

    async def read(self, request: Request) -> Response:
        async def mark(chat: Chat, request: Request) -> dict[str, Any]:
            chat.unread = 0
            return {"unread": 0}

        return await self._answer(mark, request)

    async def file(self, request: Request) -> Response:
        stored = self.service.files.get(request.path_params["file_id"])
        if stored is None:
            return JSONResponse({"error": "no_file", "message": "no such file"}, status_code=404)
        inline = stored.mime in SHOWN_INLINE
        # Anything else (HTML, SVG, scripts) is only ever a download, never shown by the browser.
        headers = {"Content-Disposition": "{}; filename*=UTF-8''{}".format(
                       "inline" if inline else "attachment", quote(stored.name)),
                   "X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}
        return Response(stored.data, headers=headers,
                        media_type=stored.mime if inline else "application/octet-stream")

    async def events(self, request: Request) -> Response:
        given = request.headers.get("last-event-id") or request.query_params.get("after", "")
        after = int(given) if given.isdigit() else None
        stream = self.service.events.stream(after, self.service.keep_alive_seconds)
        return StreamingResponse(stream, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def strings(self, request: Request) -> Response:
        language = request.query_params.get("lang")
        return JSONResponse({"lang": language if language in ("zh_CN", "en") else "zh_CN",
                             "strings": page_strings(language)})

    async def unknown(self, request: Request) -> Response:
        return JSONResponse({"error": "bad_request", "message": "no such page API"},
                            status_code=404)

    # --- what a person does ------------------------------------------------------------------
    async def say(self, request: Request) -> Response:
        """``{"text", "reply_to"?}`` → the message a Telegram client would send (a command with
        its ``bot_command`` entity)."""
        async def send(chat: Chat, request: Request) -> dict[str, Any]:
            fields = (await read_body(request, MAX_JSON)).fields
            text = clean(str(fields.get("text") or ""))
            if not text:
                raise PageError("empty")
            if utf16_len(text) > TEXT_LIMIT:
                raise PageError("too_long")
            entities = command_entities(text)
            return await self._deliver(chat, fields.get("reply_to"), {
                "text": text, **({"entities": entities} if entities else {})})

        return await self._answer(send, request)

    async def send_file(self, request: Request) -> Response:
        """Multipart ``file`` and ``kind`` (photo, voice, document), ``caption``, ``reply_to``,
        ``duration`` (seconds of a voice note)."""
        async def send(chat: Chat, request: Request) -> dict[str, Any]:
            body = await read_body(request, MAX_FILE + MAX_JSON)
            upload = body.files.get("file")
            kind = str(body.fields.get("kind", ""))
            if kind not in KINDS:
                raise PageError("bad_request")
            if upload is None or not upload.data:
                raise PageError("no_file")
            if len(upload.data) > MAX_FILE:
                raise PageError("too_large", 413)
            caption = clean(str(body.fields.get("caption") or ""))
            if utf16_len(caption) > CAPTION_LIMIT:
                raise PageError("caption_too_long")
            if kind == "document" and chat.person.channel in self.service.outlets:
                raise PageError("wecom_no_document")
            name = clean(upload.filename).replace("/", "_") or kind
            try:
                stored = self.service.store_file(kind, upload.data, name, upload.content_type)
            except NotAnImage:
                raise PageError("not_an_image") from None
            duration = str(body.fields.get("duration") or "0")
            seconds = round(float(duration)) if re.fullmatch(r"\d{1,6}(\.\d+)?", duration) else 0
            content = media_content(kind, stored, seconds)
            if kind == "photo":
                content["photo"][0].pop("file_size")
            if caption:
                content["caption"] = caption
            return await self._deliver(chat, body.fields.get("reply_to"), content)

        return await self._answer(send, request)

    async def tap(self, request: Request) -> Response:
        """``{"message_id", "data"}``: a tap on a button the message has (even when the bot has
        moved on since: Telegram delivers it, the bot decides)."""
        async def press(chat: Chat, request: Request) -> dict[str, Any]:
            fields = (await read_body(request, MAX_JSON)).fields
            message = self.service.message(chat, _number(fields.get("message_id")) or 0)
            if message is None:
                raise PageError("no_message", 404)
            data = fields.get("data")
            outlet = self.service.outlets.get("wecom")
            if "wecom" in message:  # a card in the WeCom app: its tap is a WeCom callback
                card = message["wecom"].get("card") or {}
                if outlet is None or card.get("greyed") or not isinstance(data, str) or not any(
                        button["key"] == data for button in card.get("buttons", [])):
                    raise PageError("no_button")
                await outlet.tap(chat, message, data)
                return {}
            buttons = [button for row in (message.get("reply_markup") or {}).get(
                "inline_keyboard", []) for button in row]
            if not isinstance(data, str) or not any(
                    button.get("callback_data") == data for button in buttons):
                raise PageError("no_button")
            query_id = self.service.new_query_id(chat.person.user_id)
            self.service.add_update(callback_query={
                "id": query_id, "from": chat.person.user(), "message": message,
                "chat_instance": str(chat.person.user_id), "data": data})
            return {"query_id": query_id}

        return await self._answer(press, request)

    async def _answer(self, action: Action, request: Request) -> Response:
        """``action(chat, request)`` for the chat in the path, as JSON; an unknown person is
        404, a bad request 400, both as ``{"error", "message"}``."""
        chat = self.service.chats.get(request.path_params["user_id"])
        try:
            if chat is None:
                raise PageError("unknown_person", 404)
            return JSONResponse(await action(chat, request))
        except BadBody as exc:
            return JSONResponse({"error": "bad_request", "message": str(exc)}, status_code=400)
        except PageError as exc:
            return JSONResponse({"error": exc.key, "message": str(exc)}, status_code=exc.status)

    async def _deliver(self, chat: Chat, reply_to: Any, content: dict[str, Any]
                       ) -> dict[str, Any]:
        """The person's message, to the bot on the app they are on (WeCom has no replies)."""
        outlet = self.service.outlets.get(chat.person.channel)
        if outlet is not None:
            message = self.service.new_message(chat, from_bot=False, content={
                **content, chat.person.channel: {"kind": "message"}})
            await outlet.say(chat, message)
            return {"message": self.service.view(message)}
        target = None
        if reply_to not in (None, ""):
            target = self.service.message(chat, _number(reply_to) or 0)
            if target is None:
                raise PageError("no_message", 404)
        message = self.service.new_message(chat, from_bot=False, content=content,
                                           reply_to=target)
        self.service.add_update(message=message)
        return {"message": self.service.view(message)}


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None
