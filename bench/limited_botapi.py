"""A Bot API on 127.0.0.1 that enforces Telegram's sending limits (for ``bench/sending.py``).

``tests.test_run.FakeTelegram`` (a real HTTP server in a thread, answering like Telegram) with
the limits Telegram documents for bots added in front of it:

- at most ``per_bot`` messages (default 30) in any sliding second, across all chats;
- at most one message per ``per_chat_seconds`` (default 1 s) in any one chat, no burst;

beyond them a call is answered ``429 Too Many Requests`` with ``parameters.retry_after`` (whole
seconds, at least 1, as Telegram does) and does not count as sent. Only calls that put a message
in a chat count (``send*``, ``edit*``, ``copyMessage``, ``forwardMessage``); ``getUpdates``,
``setMyCommands``, ``answerCallbackQuery`` and the like are free.

It also records when each accepted message arrived, and lets the benchmark hand the bot new
updates: ``getUpdates`` returns as soon as one is queued (not after the base fake's short poll),
so the latency measured for a reply is the bot's, not the fake's.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from tests.test_run import FakeTelegram

LIMITED_PREFIXES = ("send", "edit", "copyMessage", "forwardMessage")


@dataclass
class Delivered:
    at: float  # time.perf_counter()
    method: str
    chat_id: int
    text: str


@dataclass
class Refused:
    at: float
    method: str
    chat_id: int
    why: str  # "chat" or "bot"
    retry_after: int


class LimitedTelegram(FakeTelegram):
    def __init__(self, per_bot: int = 30, per_chat_seconds: float = 1.0) -> None:
        super().__init__()
        self.per_bot = per_bot
        self.per_chat_seconds = per_chat_seconds
        self._limits = threading.Lock()
        self._recent: deque[float] = deque()  # accepted messages in the last second
        self._last_in_chat: dict[int, float] = {}
        self.delivered: list[Delivered] = []
        self.refused: list[Refused] = []
        self._queued = threading.Condition()
        self._next_update_id = 1000
        self.handed_over: dict[int, float] = {}  # update_id -> when getUpdates returned it

    # --- the limits ------------------------------------------------------------------------
    def _admit(self, method: str, chat_id: int) -> Refused | None:
        now = time.perf_counter()
        with self._limits:
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            waits: list[tuple[float, str]] = []
            if len(self._recent) >= self.per_bot:
                waits.append((self._recent[0] + 1.0 - now, "bot"))
            last = self._last_in_chat.get(chat_id)
            if last is not None and now - last < self.per_chat_seconds:
                waits.append((last + self.per_chat_seconds - now, "chat"))
            if waits:
                wait, why = max(waits)
                refused = Refused(now, method, chat_id, why, max(1, math.ceil(wait)))
                self.refused.append(refused)
                return refused
            self._recent.append(now)
            self._last_in_chat[chat_id] = now
            return None

    def answer(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        if method == "getUpdates":
            return self._get_updates(token, params)
        chat = params.get("chat_id")
        if chat is None or not method.startswith(LIMITED_PREFIXES):
            return super().answer(token, method, params)
        chat_id = int(chat)
        refused = self._admit(method, chat_id)
        if refused is not None:
            return 429, {"ok": False, "error_code": 429,
                         "description": f"Too Many Requests: retry after {refused.retry_after}",
                         "parameters": {"retry_after": refused.retry_after}}
        status, answer = super().answer(token, method, params)
        if status == 200:
            with self._limits:
                self.delivered.append(Delivered(time.perf_counter(), method, chat_id,
                                                str(params.get("text", ""))))
        return status, answer

    # --- updates the benchmark hands the bot -------------------------------------------------
    def _pending(self, offset: int) -> bool:
        with self._lock:
            return any(int(u["update_id"]) >= offset  # type: ignore[call-overload]
                       for u in self._updates)

    def _get_updates(self, token: str, params: dict[str, Any]) -> tuple[int, Any]:
        offset = int(params.get("offset") or 0)
        with self._queued:
            self._queued.wait_for(lambda: self._pending(offset),
                                  timeout=min(float(params.get("timeout") or 0), 0.3))
        status, answer = super().answer(token, "getUpdates", {**params, "timeout": "0"})
        if status == 200:
            now = time.perf_counter()
            with self._limits:
                for update in answer["result"]:
                    self.handed_over.setdefault(update["update_id"], now)
        return status, answer

    def send_text(self, user_id: int, text: str, first_name: str = "Tech") -> int:
        """Queue a private text message (a command if it starts with ``/``) from ``user_id``;
        returns its update_id."""
        with self._lock:
            self._next_update_id += 1
            update_id = self._next_update_id
            message: dict[str, Any] = {
                "message_id": update_id, "date": int(time.time()), "text": text,
                "chat": {"id": user_id, "type": "private", "first_name": first_name},
                "from": {"id": user_id, "is_bot": False, "first_name": first_name,
                         "language_code": "en"},
            }
            if text.startswith("/"):
                message["entities"] = [{"type": "bot_command", "offset": 0,
                                        "length": len(text.split()[0])}]
            self._updates.append({"update_id": update_id, "message": message})
        with self._queued:
            self._queued.notify_all()
        return update_id

    # --- what the benchmark reads ------------------------------------------------------------
    def delivered_since(self, index: int) -> list[Delivered]:
        with self._limits:
            return self.delivered[index:]

    def refusals(self) -> list[Refused]:
        with self._limits:
            return list(self.refused)
