"""What each WeCom message became, kept in memory first and written to the database behind.

The handlers often send while their own transaction is still open, so the send path never
writes itself (``bot.write_behind``): it records in memory, returns, and a background task
writes the rows once the database is free. Reads look in memory first and fall back to the
database (for messages sent before a restart).
"""

from __future__ import annotations

import itertools
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import unique_microseconds
from bot.write_behind import WriteBehind
from models.db import Database
from models.outbox import OutboxMessage
from models.wecom import WeComMessage

log = logging.getLogger(__name__)

READABLE = ("text", "list", "card")
CARDS = ("card", "more")  # template cards: a message's card, a "More…" card of it
CODE_SEPARATOR = " "  # a copy's unused response codes, oldest first, in one column
CODE_COLUMN = 255  # WeComMessage.response_code's length
# WeCom: "response_code的有效期是72小时" (message/update_template_card); a margin for the way
CODE_VALID = timedelta(hours=72) - timedelta(minutes=5)
CACHE_SIZE = 20_000


Change = tuple[str, "Copy | OutboxMessage"]  # ("insert" | "update" | "outbox", what)


@dataclass
class Copy:
    """One WeCom message showing the Telegram message ``message_id`` (see ``WeComMessage``)."""

    message_id: int
    chat_id: int
    kind: str
    task_id: str
    sent_at: datetime
    part: int = 0
    msgid: str | None = None
    response_code: str | None = None
    code_at: datetime | None = None
    text: str | None = None
    options: list[list[str]] | None = None
    seq: int = field(default=0)

    @classmethod
    def of(cls, row: WeComMessage) -> Copy:
        return cls(message_id=row.message_id, chat_id=row.chat_id, kind=row.kind,
                   task_id=row.task_id or f"row{row.id}", sent_at=row.sent_at, part=row.part,
                   msgid=row.msgid, response_code=row.response_code, code_at=row.code_at,
                   text=row.text, options=row.options, seq=row.id or 0)


class MessageStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._copies: OrderedDict[tuple[int, int], list[Copy]] = OrderedDict()
        self._tasks: dict[str, Copy] = {}
        self._latest: dict[int, Copy | None] = {}
        self._writer: WriteBehind[Change] = WriteBehind(self._write, "WeCom message map", db)
        self._loaded: set[tuple[int, int]] = set()
        self._last_id = 0
        self._seq = itertools.count(1 << 40)  # after any database row id, for ordering

    # --- ids -----------------------------------------------------------------------------------
    def new_message_id(self) -> int:
        """Increasing, unique across restarts, below 2**53: microseconds since 1970."""
        self._last_id = max(self._last_id + 1, unique_microseconds())
        return self._last_id

    # --- writing -------------------------------------------------------------------------------
    def add(self, copy: Copy, *, new: bool) -> Copy:
        """Keep a sent copy; ``new`` when its message id was just made (nothing to load)."""
        copy.seq = next(self._seq)
        key = (copy.chat_id, copy.message_id)
        self._copies.setdefault(key, []).append(copy)
        if new:
            self._loaded.add(key)
        self._tasks[copy.task_id] = copy
        if copy.kind in READABLE:
            self._latest[copy.chat_id] = copy
        self._trim()
        self._writer.put(("insert", copy))
        return copy

    def changed(self, copy: Copy) -> None:
        self._writer.put(("update", copy))

    def keep(self, message: OutboxMessage) -> None:
        """A message WeCom refused for now, for the outbox (written behind, like the rest)."""
        self._writer.put(("outbox", message))

    def keeping(self, chat_id: int) -> bool:
        """Whether an outbox message for ``chat_id`` is still waiting to be written."""
        return any(what == "outbox" and item.chat_id == chat_id
                   for what, item in self._writer.pending)

    @staticmethod
    async def _write(session: AsyncSession, batch: list[Change]) -> None:
        for what, item in batch:
            if isinstance(item, OutboxMessage):
                session.add(item)
            elif what == "insert":
                session.add(WeComMessage(
                    message_id=item.message_id, chat_id=item.chat_id, kind=item.kind,
                    part=item.part, msgid=item.msgid, task_id=item.task_id,
                    response_code=item.response_code, code_at=item.code_at, text=item.text,
                    options=item.options, sent_at=item.sent_at))
                await session.flush()
            else:
                await session.exec(
                    update(WeComMessage)
                    .where(col(WeComMessage.task_id) == item.task_id)
                    .values(response_code=item.response_code, code_at=item.code_at,
                            text=item.text, options=item.options, msgid=item.msgid))

    async def close(self) -> None:
        """Write everything still in memory (at shutdown)."""
        await self._writer.flush()

    def _trim(self) -> None:
        while len(self._copies) > CACHE_SIZE:
            key, copies = self._copies.popitem(last=False)
            self._loaded.discard(key)
            for copy in copies:
                if self._tasks.get(copy.task_id) is copy:
                    del self._tasks[copy.task_id]

    # --- reading -------------------------------------------------------------------------------
    async def copies(self, chat_id: int, message_id: int) -> list[Copy]:
        """Every copy of a message, newest first."""
        key = (chat_id, message_id)
        if key not in self._loaded:
            async with self.db.session() as session:
                rows = (await session.exec(
                    select(WeComMessage).where(WeComMessage.chat_id == chat_id,
                                               WeComMessage.message_id == message_id))).all()
            known = {c.task_id for c in self._copies.get(key, [])}
            loaded = [Copy.of(row) for row in rows if row.task_id not in known]
            self._copies[key] = loaded + self._copies.get(key, [])
            for copy in loaded:
                self._tasks.setdefault(copy.task_id, copy)
            self._loaded.add(key)
        self._copies.move_to_end(key)
        return sorted(self._copies[key], key=lambda c: c.seq, reverse=True)

    async def by_task(self, task_id: str) -> Copy | None:
        if task_id in self._tasks:
            return self._tasks[task_id]
        async with self.db.session() as session:
            row = (await session.exec(
                select(WeComMessage).where(WeComMessage.task_id == task_id))).first()
        if row is None:
            return None
        for copy in await self.copies(row.chat_id, row.message_id):
            if copy.task_id == task_id:
                return copy
        return None

    async def latest(self, chat_id: int) -> Copy | None:
        """The newest message the person reads (not an alert, not a picture)."""
        if chat_id not in self._latest:
            async with self.db.session() as session:
                row = (await session.exec(
                    select(WeComMessage)
                    .where(WeComMessage.chat_id == chat_id,
                           col(WeComMessage.kind).in_(READABLE))
                    .order_by(col(WeComMessage.id).desc()).limit(1))).first()
            self._latest[chat_id] = None
            if row is not None:
                for copy in await self.copies(row.chat_id, row.message_id):
                    if copy.task_id == row.task_id:
                        self._latest[chat_id] = copy
        return self._latest[chat_id]

    # --- response codes --------------------------------------------------------------------------
    async def keep_code(self, task_id: str, code: str, *, now: datetime) -> Copy | None:
        """A click's response code, kept next to the card's unused send-time code (if any):
        each is good for one update (``codes``)."""
        copy = await self.by_task(task_id)
        if copy is not None:
            add_code(copy, code, now)
            self.changed(copy)
        return copy

    def take(self, copy: Copy, *, now: datetime, valid: timedelta) -> str | None:
        """The copy's newest unexpired code if it is a card (or a "More…" card), used up
        (WeCom takes each response code once, within 72 hours); expired codes are dropped."""
        if copy.kind not in CARDS:
            return None
        codes = [(code, at) for code, at in codes_of(copy) if at > now - valid]
        taken = codes.pop()[0] if codes else None
        if taken is not None or copy.response_code:
            set_codes(copy, codes)
            self.changed(copy)
        return taken


def codes_of(copy: Copy) -> list[tuple[str, datetime]]:
    """A copy's unused response codes with when each came, oldest first. The column holds
    ``code@unix-seconds`` items separated by spaces (a bare code: it came at ``code_at``)."""
    if not copy.response_code or copy.code_at is None:
        return []
    codes = []
    for item in copy.response_code.split(CODE_SEPARATOR):
        code, at_sign, seconds = item.rpartition("@")
        if at_sign and seconds.isdigit():
            codes.append((code, datetime.fromtimestamp(int(seconds), tz=copy.code_at.tzinfo)))
        else:
            codes.append((item, copy.code_at))
    return codes


def set_codes(copy: Copy, codes: list[tuple[str, datetime]]) -> None:
    """Keep these codes, the oldest dropped while the column cannot hold them all."""
    while len(codes) > 1 and len(_joined(codes)) > CODE_COLUMN:
        codes = codes[1:]
    if not codes:
        copy.response_code, copy.code_at = None, None
        return
    joined = _joined(codes)  # a single code too long to carry its time goes bare
    copy.response_code = joined if len(joined) <= CODE_COLUMN else codes[-1][0]
    copy.code_at = codes[-1][1]


def _joined(codes: list[tuple[str, datetime]]) -> str:
    return CODE_SEPARATOR.join(f"{code}@{int(at.timestamp())}" for code, at in codes)


def live_codes(copy: Copy, *, now: datetime, valid: timedelta) -> int:
    """How many updates the card copy has left: its unused, unexpired codes."""
    return sum(1 for _code, at in codes_of(copy) if at > now - valid)


def add_code(copy: Copy, code: str, now: datetime) -> None:
    """Keep one more code on a copy (a card's send-time code, then a click's): each is good
    for one update; expired ones are dropped."""
    set_codes(copy, [(c, at) for c, at in codes_of(copy) if at > now - CODE_VALID] +
              [(code, now)])
