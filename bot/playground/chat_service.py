"""A local Telegram for the playground: the people on the page, one private chat each with the
bot, the files sent both ways, and the queue of updates the bot polls — served as the Bot API
(``bot/playground/bot_api.py``) and as the page's JSON and event stream
(``bot/playground/page_api.py``).

Everything is in memory and bounded (the last ``KEPT_MESSAGES`` of a chat, the last
``KEPT_FILES`` files); a message's date is the shop's clock, so moving the clock shows.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from PIL import Image
from starlette.routing import BaseRoute

from bot.clock import Clock
from bot.playground.events import EventLog

BOT_ID = 7000000002
KEPT_MESSAGES = 500
KEPT_UPDATES = 1000
KEPT_FILES = 2000
KEPT_QUERIES = 1000
FOLDERS = {"photo": "photos", "document": "documents", "voice": "voice", "audio": "music"}


class ApiError(Exception):
    """What the Bot API answers with ``ok: false``: ``Bad Request: …`` and its status."""

    def __init__(self, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.description = description
        self.status = status


class NotAnImage(ValueError):
    pass


@dataclass
class StoredFile:
    file_id: str
    unique_id: str
    data: bytes
    name: str
    mime: str
    path: str
    width: int = 0
    height: int = 0


@dataclass
class Person:
    user_id: int
    name: str
    roles: str
    language: str  # zh_CN or en
    channel: str = "telegram"  # or "wecom": the app they talk to the bot in

    def user(self) -> dict[str, Any]:
        code = "zh-hans" if self.language.lower().startswith("zh") else self.language.lower()
        return {"id": self.user_id, "is_bot": False, "first_name": self.name,
                "language_code": code}

    def chat(self) -> dict[str, Any]:
        return {"id": self.user_id, "type": "private", "first_name": self.name}


@dataclass
class Chat:
    person: Person
    messages: OrderedDict[int, dict[str, Any]] = field(default_factory=OrderedDict)
    last_message_id: int = 0
    unread: int = 0
    toast: dict[str, Any] | None = None
    menu_button: dict[str, Any] = field(default_factory=lambda: {"type": "default"})


class Outlet(Protocol):
    """Where what a person does goes when they are not on Telegram (the WeCom app): their
    message (already in the chat, marked with its channel) and their taps on a card."""

    async def say(self, chat: Chat, message: dict[str, Any]) -> None: ...

    async def tap(self, chat: Chat, message: dict[str, Any], data: str) -> None: ...

    def menu(self, chat: Chat) -> list[dict[str, Any]]: ...


def read_image(data: bytes) -> tuple[int, int, str]:
    """Width, height and MIME type, read as Telegram reads an uploaded photo."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            mime = Image.MIME.get(image.format or "", "image/jpeg")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise NotAnImage(str(exc)) from exc
    return int(width), int(height), mime


def media_content(kind: str, stored: StoredFile, duration: int = 0) -> dict[str, Any]:
    """A message's photo (one size), document, voice note or audio, as Telegram shows it."""
    common = {"file_id": stored.file_id, "file_unique_id": stored.unique_id,
              "file_size": len(stored.data)}
    if kind == "photo":
        return {"photo": [{**common, "width": stored.width, "height": stored.height}]}
    if kind == "document":
        return {"document": {**common, "file_name": stored.name, "mime_type": stored.mime}}
    if kind == "voice":
        return {"voice": {**common, "duration": duration, "mime_type": stored.mime}}
    return {"audio": {**common, "duration": duration, "file_name": stored.name,
                      "mime_type": stored.mime}}


class ChatService:
    def __init__(self, token: str, clock: Clock, *, bot_username: str = "workshop_playground_bot",
                 bot_name: str = "Workshop", keep_alive_seconds: float = 15.0) -> None:
        self.token = token
        self.clock = clock
        self.keep_alive_seconds = keep_alive_seconds
        self.bot_user: dict[str, Any] = {"id": BOT_ID, "is_bot": True, "first_name": bot_name,
                                         "username": bot_username}
        self.chats: dict[int, Chat] = {}
        self.files: OrderedDict[str, StoredFile] = OrderedDict()
        # (scope, language code) → commands; scope "default", "all_private_chats", "chat:<id>"…
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.queries: OrderedDict[str, int] = OrderedDict()  # callback query id → chat id
        self.events = EventLog()
        self.outlets: dict[str, Outlet] = {}  # channel → where its people's messages go
        self.closed = False
        self._updates: deque[dict[str, Any]] = deque(maxlen=KEPT_UPDATES)
        self._arrived = asyncio.Event()
        self._update_ids = itertools.count(1)
        self._numbers = itertools.count(1)

    def routes(self) -> list[BaseRoute]:
        """The Bot API, the file downloads, the page's API and the page itself."""
        from bot.playground.bot_api import BotApi
        from bot.playground.page_api import PageApi

        return [*BotApi(self).routes(), *PageApi(self).routes()]

    # --- people ------------------------------------------------------------------------------
    def add_person(self, user_id: int, name: str, roles: str, language: str,
                   channel: str = "telegram") -> None:
        """Someone on the page (a staff member's account on ``channel``); again: new name,
        roles or channel."""
        person = Person(user_id, name, roles, language, channel)
        if user_id in self.chats:
            self.chats[user_id].person = person
        else:
            self.chats[user_id] = Chat(person)
        self.events.publish({"type": "people"})

    def remove_all(self) -> None:
        """Forget everyone, every message, file, menu and waiting update (a reset)."""
        self.chats.clear()
        self.files.clear()
        self.commands.clear()
        self.queries.clear()
        self._updates.clear()
        self.events.publish({"type": "reset"})

    def close(self) -> None:
        """Answer the waiting ``getUpdates`` and end the event streams, so the server can stop."""
        self.closed = True
        self._arrived.set()
        self.events.close()

    def chat(self, chat_id: int) -> Chat:
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ApiError("Bad Request: chat not found")
        return chat

    # --- messages ----------------------------------------------------------------------------
    def now(self) -> int:
        return int(self.clock.now().timestamp())

    def new_message(self, chat: Chat, *, from_bot: bool, content: dict[str, Any],
                    reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
        """A message stored in ``chat`` (the oldest forgotten past ``KEPT_MESSAGES``) and shown
        on the page; returned as Telegram returns it."""
        chat.last_message_id += 1
        message: dict[str, Any] = {
            "message_id": chat.last_message_id,
            "from": self.bot_user if from_bot else chat.person.user(),
            "chat": chat.person.chat(), "date": self.now(), **content}
        if reply_to is not None:
            message["reply_to_message"] = {key: value for key, value in reply_to.items()
                                           if key != "reply_to_message"}
        chat.messages[message["message_id"]] = message
        while len(chat.messages) > KEPT_MESSAGES:
            chat.messages.popitem(last=False)
        if from_bot:
            chat.unread += 1
        self.events.publish({"type": "message", "chat": chat.person.user_id,
                             "message": self.view(message), "unread": chat.unread})
        return message

    def edited(self, chat: Chat, message: dict[str, Any]) -> None:
        message["edit_date"] = self.now()
        self.events.publish({"type": "edit", "chat": chat.person.user_id,
                             "message": self.view(message)})

    def delete(self, chat: Chat, message_ids: list[int]) -> None:
        gone = [number for number in message_ids if chat.messages.pop(number, None)]
        if gone:
            self.events.publish({"type": "delete", "chat": chat.person.user_id, "ids": gone})

    def message(self, chat: Chat, message_id: int) -> dict[str, Any] | None:
        return chat.messages.get(message_id)

    def toast(self, chat: Chat, text: str, show_alert: bool) -> None:
        """A callback query's answer: the page shows it over the chat."""
        chat.toast = {"text": text, "show_alert": show_alert, "date": self.now()}
        self.events.publish({"type": "toast", "chat": chat.person.user_id, **chat.toast})

    def set_commands(self, key: tuple[str, str], commands: list[dict[str, Any]]) -> None:
        if commands:
            self.commands[key] = commands
        else:
            self.commands.pop(key, None)
        scope = key[0]
        chat = int(scope.split(":", 1)[1]) if scope.startswith("chat:") else None
        self.events.publish({"type": "menu", "chat": chat})

    def next_number(self) -> int:
        """A number for an id (files, callback queries, albums), never the same twice."""
        return next(self._numbers)

    # --- files -------------------------------------------------------------------------------
    def store_file(self, kind: str, data: bytes, name: str, mime: str) -> StoredFile:
        """A file as Telegram keeps it: a new file id per upload, the same unique id for the
        same bytes. A photo must be an image (``NotAnImage``); its type is what it is."""
        width, height = 0, 0
        if kind == "photo":
            width, height, mime = read_image(data)
        number = next(self._numbers)
        unique = hashlib.sha256(data).hexdigest()[:16]
        suffix = name.rsplit(".", 1)[-1].lower() if "." in name else "bin"
        suffix = suffix if suffix.isalnum() and len(suffix) <= 8 else "bin"
        stored = StoredFile(f"{kind}-{number}-{unique[:8]}", unique, data, name, mime,
                            f"{FOLDERS.get(kind, 'documents')}/file_{number}.{suffix}",
                            width, height)
        self.files[stored.file_id] = stored
        while len(self.files) > KEPT_FILES:
            self.files.popitem(last=False)
        return stored

    def file_by_path(self, path: str) -> StoredFile | None:
        return next((stored for stored in self.files.values() if stored.path == path), None)

    # --- updates -----------------------------------------------------------------------------
    def add_update(self, **content: Any) -> None:
        self._updates.append({"update_id": next(self._update_ids), **content})
        self._arrived.set()

    def pending_updates(self) -> int:
        return len(self._updates)

    def drop_updates(self) -> None:
        self._updates.clear()

    def new_query_id(self, chat_id: int) -> str:
        query_id = f"{BOT_ID}{next(self._numbers):010d}"
        self.queries[query_id] = chat_id
        while len(self.queries) > KEPT_QUERIES:
            self.queries.popitem(last=False)
        return query_id

    async def updates(self, offset: int | None, limit: int, *,
                      wait: float) -> list[dict[str, Any]]:
        """``getUpdates``: an offset confirms every update before it (a negative one keeps only
        the last ones); with none waiting, wait up to ``wait`` seconds for one (long polling)."""
        self._confirm(offset)
        if not self._updates and wait > 0 and not self.closed:
            self._arrived.clear()
            try:
                async with asyncio.timeout(wait):
                    await self._arrived.wait()
            except TimeoutError:
                pass
        return list(itertools.islice(self._updates, limit))

    def _confirm(self, offset: int | None) -> None:
        if offset is None or offset == 0:
            return
        if offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
            return
        while self._updates and self._updates[0]["update_id"] < offset:
            self._updates.popleft()

    # --- what the page shows -----------------------------------------------------------------
    def file_ref(self, file_id: str, **extra: Any) -> dict[str, Any]:
        stored = self.files.get(file_id)
        return {"file_id": file_id,
                "url": f"/playground/api/files/{file_id}" if stored else None, **extra}

    def view(self, message: dict[str, Any]) -> dict[str, Any]:
        """A message as the page draws it (see ``page_api``)."""
        photo = message.get("photo")
        document = message.get("document")
        voice = message.get("voice") or message.get("audio")
        markup = message.get("reply_markup") or {}
        reply_to = message.get("reply_to_message")
        wecom = message.get("wecom")
        return {
            "id": message["message_id"],
            "from": "bot" if message["from"]["id"] == BOT_ID else "person",
            "date": message["date"],
            "text": message.get("text", message.get("caption", "")),
            "entities": message.get("entities", message.get("caption_entities", [])),
            "photo": self.file_ref(photo[-1]["file_id"], width=photo[-1]["width"],
                                   height=photo[-1]["height"]) if photo else None,
            "document": self.file_ref(document["file_id"], file_name=document.get("file_name"),
                                      mime_type=document.get("mime_type"),
                                      file_size=document.get("file_size"))
            if document else None,
            "voice": self.file_ref(voice["file_id"], duration=voice.get("duration", 0),
                                   mime_type=voice.get("mime_type")) if voice else None,
            "media_group_id": message.get("media_group_id"),
            "reply_markup": [[{key: button[key] for key in ("text", "callback_data", "url")
                               if key in button} for button in row]
                             for row in markup.get("inline_keyboard", [])] or None,
            "reply_to": reply_to["message_id"] if reply_to else None,
            "edited": "edit_date" in message,
            "channel": "wecom" if wecom else "telegram",
            "card": wecom.get("card") if wecom else None,
        }

    def menu(self, chat: Chat) -> list[dict[str, Any]]:
        """The commands the "/" button lists in ``chat``, by Telegram's order of scopes."""
        language = chat.person.user()["language_code"][:2]
        for scope in (f"chat:{chat.person.user_id}", "all_private_chats", "default"):
            for code in (language, ""):
                if (scope, code) in self.commands:
                    return self.commands[(scope, code)]
        return []
