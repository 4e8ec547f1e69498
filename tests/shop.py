"""The test shop: a real Application on a fake Bot API, and people who talk to it.

``Person.send`` and ``Person.tap`` build real ``telegram.Update`` objects and push them through
``Application.process_update``, so handlers, filters, conversation states and persistence run
exactly as they do in production.
"""

from __future__ import annotations

import itertools
import json
import time
from datetime import datetime, timedelta
from typing import Any

from telegram import Update

from bot.application import build_application
from bot.clock import FrozenClock
from bot.messenger import Messenger
from bot.services import Services
from bot.settings import Settings
from models.db import Database
from models.staff import Role, add_staff, bind_account
from tests.fakebotapi import FakeBotApi, SentMessage

_update_ids = itertools.count(1)
_user_ids = itertools.count(5001)


class Shop:
    channel = "telegram"

    def __init__(self, db: Database, settings: Settings, start: datetime) -> None:
        self.db = db
        self.settings = settings
        self.clock = FrozenClock(start)
        self.api = FakeBotApi()
        self.errors: list[BaseException] = []
        self.services = Services(settings=settings, db=db, clock=self.clock,
                                 messenger=Messenger(settings, self.clock))
        self.app: Any = None

    async def start(self) -> None:
        self.app = build_application(self.services, request=self.api, rate_limiter=False)
        self.app.add_error_handler(self._record_error)
        await self.app.initialize()

    async def stop(self) -> None:
        if self.app is not None:
            await self.app.shutdown()
            self.app = None

    async def restart(self) -> None:
        """Stop the bot and start a new Application on the same database (a redeploy)."""
        await self.stop()
        self.services = Services(settings=self.settings, db=self.db, clock=self.clock,
                                 messenger=Messenger(self.settings, self.clock))
        await self.start()

    async def _record_error(self, update: object, context: Any) -> None:
        self.errors.append(context.error)

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))

    async def process(self, data: dict[str, Any]) -> None:
        update = Update.de_json({"update_id": next(_update_ids), **data}, self.app.bot)
        await self.app.process_update(update)

    def photos_to(self, person: Person) -> list[str]:
        """Every photo ``person`` was sent, singly or in albums, oldest first."""
        photos: list[str] = []
        for call in self.api.sent_to(person.user_id):
            if call.method == "sendPhoto":
                upload = call.files.get("photo") if hasattr(call, "files") else None
                photos.append(f"upload:{upload[0]}" if upload else str(call.params["photo"]))
            elif call.method == "sendMediaGroup":
                media = call.params["media"]
                photos += [item["media"] for item in
                           (json.loads(media) if isinstance(media, str) else media)]
        return photos

    def refuse_photos(self, *file_ids: str) -> None:
        """Telegram will not send these photos (400 Bad Request: wrong file identifier)."""
        self.api.refused_files.update(file_ids)

    async def hire(
        self, name: str, *roles: Role, locale: str = "en", bind: bool = True
    ) -> Person:
        """A staff member, bound on Telegram unless ``bind`` is False."""
        async with self.db.session() as session:
            staff, invite = await add_staff(
                session, name=name, roles=set(roles), now=self.now(),
                invite_ttl=timedelta(days=self.settings.invite_ttl_days), locale=locale,
            )
            person = Person(self, next(_user_ids), name, staff.id, invite.code)  # type: ignore[arg-type]
            if bind:
                await bind_account(session, staff, channel="telegram",
                                   user_key=str(person.user_id), chat_id=person.user_id,
                                   now=self.now())
            await session.commit()
        return person

    def stranger(self, name: str = "Stranger", language_code: str = "en") -> Person:
        return Person(self, next(_user_ids), name, None, None, language_code)


class Person:
    def __init__(
        self, shop: Shop, user_id: int, name: str, staff_id: int | None,
        invite_code: str | None, language_code: str = "en",
    ) -> None:
        self.shop = shop
        self.user_id = user_id
        self.name = name
        self.staff_id = staff_id
        self.invite_code = invite_code
        self.language_code = language_code
        self._message_ids = itertools.count(1)

    @property
    def api(self) -> FakeBotApi:
        return self.shop.api

    def _user(self) -> dict[str, Any]:
        return {"id": self.user_id, "is_bot": False, "first_name": self.name,
                "language_code": self.language_code}

    def _chat(self) -> dict[str, Any]:
        return {"id": self.user_id, "type": "private", "first_name": self.name}

    def _message(self, **extra: Any) -> dict[str, Any]:
        return {"message_id": next(self._message_ids), "date": int(time.time()),
                "chat": self._chat(), "from": self._user(), **extra}

    async def send(self, text: str) -> list[str]:
        """Type a message (a leading ``/word`` is a command); returns what came back."""
        extra: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            extra["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return await self._process({"message": self._message(**extra)})

    async def send_photo(self, file_id: str, caption: str | None = None) -> list[str]:
        extra: dict[str, Any] = {
            "photo": [{"file_id": file_id, "file_unique_id": f"u-{file_id}", "width": 640,
                       "height": 480}]
        }
        if caption:
            extra["caption"] = caption
        return await self._process({"message": self._message(**extra)})

    async def send_voice(self, file_id: str, seconds: int, data: bytes | None = None
                         ) -> list[str]:
        """Record a voice note (Telegram keeps its bytes: ``data``, downloadable by its id)."""
        if data is not None:
            self.api.files[file_id] = data
        return await self._process({"message": self._message(voice={
            "file_id": file_id, "file_unique_id": f"u-{file_id}", "duration": seconds,
            "mime_type": "audio/ogg"})})

    async def tap(self, label: str | None = None, *, data: str | None = None,
                  message: SentMessage | None = None) -> list[str]:
        """Tap a button (by part of its label, or its exact data) on the newest message that
        has it, or on ``message``; returns the replies and tap alerts."""
        target, callback_data = self.find_button(label, data=data, message=message)
        return await self.tap_data(callback_data, target)

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

    async def tap_data(self, callback_data: str, message: SentMessage) -> list[str]:
        """Send a callback with any data, as a forged or replayed tap would."""
        bot_message = {
            "message_id": message.message_id, "date": int(time.time()),
            "chat": {"id": message.chat_id, "type": "private"},
            "from": {"id": 7000000001, "is_bot": True, "first_name": "Workshop"},
            "text": message.text or "card",
        }
        return await self._process({
            "callback_query": {
                "id": str(next(_update_ids)), "from": self._user(),
                "chat_instance": f"ci-{message.chat_id}", "data": callback_data,
                "message": bot_message,
            }
        })

    async def _process(self, data: dict[str, Any]) -> list[str]:
        before = len(self.api.calls)
        await self.shop.process(data)
        replies = []
        for call in self.api.calls[before:]:
            if call.method == "answerCallbackQuery" and call.params.get("text"):
                replies.append(str(call.params["text"]))
            elif call.chat_id == self.user_id and call.method in (
                "sendMessage", "editMessageText", "sendPhoto"
            ):
                replies.append(call.text)
        return replies

    @property
    def inbox(self) -> list[str]:
        """Everything the bot sent or edited into this person's chat, oldest first."""
        return self.api.texts_to(self.user_id)

    @property
    def last(self) -> SentMessage:
        return self.api.last_message(self.user_id)
