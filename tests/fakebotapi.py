"""A fake Bot API transport: records every call and answers as Telegram would.

The ``Application`` under test talks HTTP-shaped requests to this object instead of the
network, so routing, filters, conversation states and rate limiting are all real.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_ID = 7000000001
BOT_USERNAME = "workshop_test_bot"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    # Uploaded files by parameter name: (file name, bytes, MIME type).
    files: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of the inline keyboard, row by row."""
        markup = self.params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if not markup:
            return []
        return [
            (b["text"], b.get("callback_data", ""))
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]


@dataclass
class SentMessage:
    """The bot's view of a message it sent, kept current through edits."""

    message_id: int
    chat_id: int
    text: str
    buttons: list[tuple[str, str]] = field(default_factory=list)
    photo: str | None = None
    document: str | None = None
    voice: str | None = None


def file_bytes(file_id: str) -> bytes:
    """What downloading the Telegram file ``file_id`` gives (a JPEG's first bytes and the id)."""
    return b"\xff\xd8tg-jpeg:" + file_id.encode()


class FakeBotApi(BaseRequest):
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], SentMessage] = {}
        self._ids = itertools.count(100)
        self._files = itertools.count(1)
        self.fail_chats: set[int] = set()  # chats that "blocked the bot"
        self.limited: dict[int, int] = {}  # chat → how many more calls get 429 Too Many
        self.limited_methods: dict[str, int] = {}  # method → how many more calls get 429
        # File ids Telegram will not send (another bot's, or bytes it rejected): a sendPhoto,
        # or a whole sendMediaGroup, naming one answers 400, as Telegram does.
        self.refused_files: set[str] = set()
        self.retry_after = 30
        self.files: dict[str, bytes] = {}  # what downloading these file ids gives (else a JPEG)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 1.0

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
        if "/file/bot" in url:  # a file download (getFile's file_path)
            file_id = url.rsplit("/", 1)[-1].removesuffix(".jpg")
            self.calls.append(Call("download", {"file_id": file_id}, {}))
            return 200, self.files.get(file_id) or file_bytes(file_id)
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        files = {name: (upload[0], upload[1], upload[2])
                 for name, upload in (request_data.multipart_data or {}).items()
                 if isinstance(upload, tuple)} if request_data else {}
        call = Call(api_method, params, files)
        self.calls.append(call)
        if call.chat_id is not None and call.chat_id in self.fail_chats:
            return 403, json.dumps(
                {"ok": False, "error_code": 403,
                 "description": "Forbidden: bot was blocked by the user"}
            ).encode()
        limited = call.chat_id is not None and self.limited.get(call.chat_id, 0) > 0
        if limited:
            self.limited[call.chat_id] -= 1  # type: ignore[index]
        elif self.limited_methods.get(api_method, 0) > 0:
            self.limited_methods[api_method] -= 1
            limited = True
        if limited:
            return 429, json.dumps(
                {"ok": False, "error_code": 429,
                 "description": f"Too Many Requests: retry after {self.retry_after}",
                 "parameters": {"retry_after": self.retry_after}}
            ).encode()
        handler = getattr(self, f"_{api_method}", None)
        result: Any = handler(call) if handler else True
        if isinstance(result, tuple):  # (status, error description)
            status, description = result
            return status, json.dumps(
                {"ok": False, "error_code": status, "description": description}
            ).encode()
        return 200, json.dumps({"ok": True, "result": result}).encode()

    # --- answers -------------------------------------------------------------------------
    def _bot_user(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Workshop",
                "username": BOT_USERNAME}

    def _getMe(self, call: Call) -> dict[str, Any]:
        return {**self._bot_user(), "can_join_groups": False,
                "can_read_all_group_messages": False, "supports_inline_queries": False}

    def _message(self, chat_id: int, message_id: int, **extra: Any) -> dict[str, Any]:
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": self._bot_user(),
            **extra,
        }

    def _record(self, call: Call, photo: str | None = None,
                document: str | None = None) -> dict[str, Any]:
        chat_id = call.chat_id
        assert chat_id is not None
        message_id = next(self._ids)
        self.messages[(chat_id, message_id)] = SentMessage(
            message_id, chat_id, call.text, call.buttons, photo, document
        )
        extra: dict[str, Any] = {}
        if document:
            extra["document"] = {"file_id": document, "file_unique_id": document,
                                 "file_name": document}
            if call.text:
                extra["caption"] = call.text
        elif photo:
            extra["photo"] = [{"file_id": photo, "file_unique_id": photo, "width": 1,
                               "height": 1}]
            if call.text:
                extra["caption"] = call.text
        else:
            extra["text"] = call.text
        if call.params.get("reply_markup"):
            markup = call.params["reply_markup"]
            extra["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
        return self._message(chat_id, message_id, **extra)

    def _sendMessage(self, call: Call) -> dict[str, Any] | tuple[int, str]:
        if not call.text:
            return 400, "Bad Request: message text is empty"
        if len(call.text) > 4096:
            return 400, "Bad Request: message is too long"
        return self._record(call)

    def _sendPhoto(self, call: Call) -> dict[str, Any] | tuple[int, str]:
        if str(call.params.get("photo")) in self.refused_files:
            return 400, "Bad Request: wrong file identifier/HTTP URL specified"
        upload = call.files.get("photo")
        return self._record(call, photo=f"upload:{upload[0]}" if upload
                            else str(call.params.get("photo")))

    def _sendVoice(self, call: Call) -> dict[str, Any]:
        upload = call.files.get("voice")
        voice = f"upload:{upload[0]}" if upload else str(call.params.get("voice"))
        chat_id = call.chat_id
        assert chat_id is not None
        message_id = next(self._ids)
        self.messages[(chat_id, message_id)] = SentMessage(message_id, chat_id, call.text,
                                                           voice=voice)
        return self._message(chat_id, message_id, voice={
            "file_id": voice, "file_unique_id": voice,
            "duration": int(call.params.get("duration") or 0)})

    def _sendDocument(self, call: Call) -> dict[str, Any]:
        upload = call.files.get("document")
        return self._record(call, document=upload[0] if upload
                            else str(call.params.get("document")))

    def _sendMediaGroup(self, call: Call) -> list[dict[str, Any]] | tuple[int, str]:
        media = call.params.get("media") or []
        if isinstance(media, str):
            media = json.loads(media)
        if any(str(item["media"]) in self.refused_files for item in media):
            return 400, "Bad Request: wrong file identifier/HTTP URL specified"
        def shown(item: dict[str, Any]) -> str:
            name = str(item["media"]).removeprefix("attach://")
            return f"upload:{call.files[name][0]}" if name in call.files else str(item["media"])

        return [self._record(Call("sendPhoto", {"chat_id": call.chat_id}), photo=shown(item))
                for item in media]

    def _editMessageText(self, call: Call) -> dict[str, Any] | tuple[int, str]:
        key = (int(call.params["chat_id"]), int(call.params["message_id"]))
        message = self.messages.get(key)
        if message is None:
            return 400, "Bad Request: message to edit not found"
        if len(call.text) > 4096:
            return 400, "Bad Request: message is too long"
        if message.text == call.text and message.buttons == call.buttons:
            return 400, "Bad Request: message is not modified"
        message.text = call.text
        message.buttons = call.buttons
        return self._message(key[0], key[1], text=call.text)

    def _editMessageReplyMarkup(self, call: Call) -> dict[str, Any] | tuple[int, str]:
        key = (int(call.params["chat_id"]), int(call.params["message_id"]))
        message = self.messages.get(key)
        if message is None:
            return 400, "Bad Request: message to edit not found"
        message.buttons = call.buttons
        return self._message(key[0], key[1], text=message.text)

    def _getFile(self, call: Call) -> dict[str, Any]:
        file_id = str(call.params["file_id"])
        return {"file_id": file_id, "file_unique_id": file_id, "file_size": 3,
                "file_path": f"photos/{file_id}.jpg"}

    # --- what tests read ---------------------------------------------------------------------
    def sent_to(self, chat_id: int, method: str | None = None) -> list[Call]:
        return [
            c for c in self.calls
            if c.chat_id == chat_id and (method is None or c.method == method)
            and c.method != "setMyCommands"
        ]

    def texts_to(self, chat_id: int) -> list[str]:
        return [c.text for c in self.sent_to(chat_id) if c.method in
                ("sendMessage", "sendPhoto", "editMessageText")]

    def last_message(self, chat_id: int) -> SentMessage:
        mine = [m for m in self.messages.values() if m.chat_id == chat_id and m.photo is None
                and m.document is None and m.voice is None]
        assert mine, f"nothing was sent to chat {chat_id}"
        return max(mine, key=lambda m: m.message_id)

    def alerts(self) -> list[str]:
        return [str(c.params.get("text", "")) for c in self.calls
                if c.method == "answerCallbackQuery" and c.params.get("text")]
