"""python-telegram-bot persistence in our database: conversations and drafts survive a restart.

Only conversation states and ``user_data`` (the drafts of half-finished conversations) are
kept; everything else the bot knows lives in the shop's own tables. The card copies an update
sent (``models.card.CardBook``) are written in the same transaction.

Writes: what python-telegram-bot hands over is compared with what was last saved (or read) for
that key, and only what differs is written, by UPSERT without reading first, all of it in one
transaction. After an update (``bot.application``'s saving step) that is at most one session
and one commit, none when the update changed nothing kept here. A write the database refuses
stays unsaved, is logged, and goes with the next write.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from copy import deepcopy
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from models.card import CardBook
from models.conversation_store import ConversationState, UserDataRow
from models.db import Database

log = logging.getLogger(__name__)

_GONE = object()
_uncomparable = itertools.count()
# Set while ``DatabasePersistence.recording`` batches the changes of one update: python-telegram-
# bot's ``update_persistence`` runs each ``update_*`` call in a task of its own, which copies
# this, so those calls only record and the one write comes after.
_recording: ContextVar[object | None] = ContextVar("persistence_recording", default=None)


def _fingerprint(value: object | None) -> str | None:
    """What the database holds once ``value`` is written (None: no row), to tell whether a
    write would change anything. A value JSON cannot compare (e.g. mixed key types) gets a
    fingerprint nothing else has, so it is always written."""
    if value is None:
        return None
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return f"\0uncomparable {next(_uncomparable)}"


def _insert_for(session: AsyncSession) -> Any:
    """The dialect's INSERT, which has ON CONFLICT DO UPDATE on SQLite and PostgreSQL."""
    bind = session.bind
    return pg_insert if bind is not None and bind.dialect.name == "postgresql" else sqlite_insert


class DatabasePersistence(BasePersistence[dict[str, Any], dict[str, Any], dict[str, Any]]):
    def __init__(self, db: Database, channel: str, update_interval: float = 60) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=update_interval,
        )
        self.db = db
        self.channel = channel
        # Changes PTB handed over that are not in the database yet (newest per key).
        self._unsaved_states: dict[tuple[str, str], object | None] = {}
        self._unsaved_data: dict[int, dict[str, Any] | None] = {}
        # What the database holds as far as this process knows (written or read by it), as
        # ``_fingerprint``s; a key missing here is unknown and is always written.
        self._saved_states: dict[tuple[str, str], str | None] = {}
        self._saved_data: dict[int, str | None] = {}
        self._names: set[str] = set()  # the conversations read by ``get_conversations``
        self._all_data_read = False  # ``get_user_data`` ran: a user missing there has no row
        self._unsaved_cards = CardBook()  # card copies updates sent, written with the states
        self._saving = asyncio.Lock()

    async def get_conversations(self, name: str) -> ConversationDict:
        async with self.db.session() as session:
            rows = (
                await session.exec(
                    select(ConversationState).where(
                        ConversationState.channel == self.channel,
                        ConversationState.name == name,
                    )
                )
            ).all()
        self._names.add(name)
        for row in rows:
            self._saved_states[(name, json.dumps(json.loads(row.key)))] = _fingerprint(row.state)
        return {tuple(json.loads(row.key)): row.state for row in rows}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        self._unsaved_states[(name, json.dumps(list(key)))] = new_state
        if _recording.get() is not self:
            await self._save()

    async def get_user_data(self) -> dict[int, dict[str, Any]]:
        async with self.db.session() as session:
            rows = (
                await session.exec(select(UserDataRow).where(UserDataRow.channel == self.channel))
            ).all()
        self._all_data_read = True
        for row in rows:
            self._saved_data[row.user_id] = _fingerprint(row.data or None)
        return {row.user_id: deepcopy(row.data) for row in rows}

    async def update_user_data(self, user_id: int, data: dict[str, Any]) -> None:
        self._unsaved_data[user_id] = deepcopy(data)
        if _recording.get() is not self:
            await self._save()

    async def drop_user_data(self, user_id: int) -> None:
        self._unsaved_data[user_id] = None
        if _recording.get() is not self:
            await self._save()

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Within (this task and the tasks it starts), what python-telegram-bot hands over is
        only recorded; ``save`` writes it afterwards, all in one transaction."""
        token = _recording.set(self)
        try:
            yield
        finally:
            _recording.reset(token)

    def keep_cards(self, cards: CardBook) -> None:
        """Card copies an update sent or retired (``models.card``): written with the next save,
        in its transaction, and kept like the states when that is refused."""
        self._unsaved_cards.take(cards)

    async def save(self) -> None:
        """Write what was recorded and differs from what the database holds, in one
        transaction (nothing at all when nothing differs). Refused: logged, kept for the next
        write, and raised."""
        await self._save()

    def _pending(self) -> tuple[dict[tuple[str, str], object | None],
                                dict[int, dict[str, Any] | None]]:
        """The unsaved changes that would change the database; the others are forgotten."""
        states: dict[tuple[str, str], object | None] = {}
        for key, state in list(self._unsaved_states.items()):
            saved = self._saved_states.get(key, _GONE if key[0] not in self._names else None)
            if saved is not _GONE and saved == _fingerprint(state):
                del self._unsaved_states[key]
            else:
                states[key] = state
        data: dict[int, dict[str, Any] | None] = {}
        for user_id, user_data in list(self._unsaved_data.items()):
            # No row and an empty dict are the same drafts (python-telegram-bot makes one
            # for a user it has none for).
            saved = self._saved_data.get(user_id, None if self._all_data_read else _GONE)
            if saved is not _GONE and saved == _fingerprint(user_data or None):
                del self._unsaved_data[user_id]
            else:
                data[user_id] = user_data
        return states, data

    async def _save(self) -> None:
        """Write everything not yet saved that differs from what the database holds, in one
        transaction (no session when nothing does). PTB hands each change over once
        and forgets it, so a write the database refuses stays here and goes with the next one
        (or at ``flush``) instead of being lost: a restart never resumes at an older step."""
        async with self._saving:
            states, data = self._pending()
            cards, self._unsaved_cards = self._unsaved_cards, CardBook()
            if not states and not data and not cards:
                return
            try:
                async with self.db.session() as session:
                    for (name, encoded), state in states.items():
                        await self._write_state(session, name, encoded, state)
                    for user_id, user_data in data.items():
                        await self._write_user_data(session, user_id, user_data)
                    await cards.write(session)
                    await session.commit()
            except Exception:
                log.warning("could not save %d conversation state(s), the drafts of %d user(s) "
                            "and %d card copies; kept for the next write", len(states), len(data),
                            len(cards.added) + len(cards.removed), exc_info=True)
                self._unsaved_cards.take(cards)
                raise
            for state_key, state in states.items():  # newer changes made meanwhile stay
                self._saved_states[state_key] = _fingerprint(state)
                if self._unsaved_states.get(state_key, _GONE) is state:
                    del self._unsaved_states[state_key]
            for user_id, user_data in data.items():
                self._saved_data[user_id] = _fingerprint(user_data or None)
                if self._unsaved_data.get(user_id, _GONE) is user_data:
                    del self._unsaved_data[user_id]

    async def _write_state(self, session: AsyncSession, name: str, encoded: str,
                           state: object | None) -> None:
        """One statement: a delete, or an upsert (two workers may save the same key)."""
        if state is None:
            await session.exec(delete(ConversationState).where(
                col(ConversationState.channel) == self.channel,
                col(ConversationState.name) == name, col(ConversationState.key) == encoded))
            return
        insert = _insert_for(session)
        statement = insert(ConversationState).values(
            channel=self.channel, name=name, key=encoded, state=state)
        await session.exec(statement.on_conflict_do_update(
            index_elements=["channel", "name", "key"], set_={"state": state}))

    async def _write_user_data(self, session: AsyncSession, user_id: int,
                               data: dict[str, Any] | None) -> None:
        if data is None:
            await session.exec(
                delete(UserDataRow).where(
                    col(UserDataRow.channel) == self.channel,
                    col(UserDataRow.user_id) == user_id,
                )
            )
            return
        insert = _insert_for(session)
        statement = insert(UserDataRow).values(channel=self.channel, user_id=user_id, data=data)
        await session.exec(statement.on_conflict_do_update(
            index_elements=["channel", "user_id"], set_={"data": data}))

    async def load_person(self, chat_id: int, user_id: int
                          ) -> tuple[dict[str, object], dict[str, Any] | None]:
        """What is saved for one person: their conversation states by conversation name and
        their drafts (None: none). Several workers share chats (``SHARED_CHAT_STATE``): each
        update reads these first, as another process may have moved the person on."""
        if self._unsaved_states or self._unsaved_data:
            await self._save()  # this process's last steps first, or they would be read back
        key = json.dumps([chat_id, user_id])
        async with self.db.session() as session:
            states = (await session.exec(select(ConversationState).where(
                ConversationState.channel == self.channel, ConversationState.key == key))).all()
            row = (await session.exec(select(UserDataRow).where(
                UserDataRow.channel == self.channel, UserDataRow.user_id == user_id))).first()
        # What was read is what the database holds: a change back to it is written, the same
        # again is not.
        found = {state.name: state.state for state in states}
        for name in self._names | found.keys():
            self._saved_states[(name, key)] = _fingerprint(found.get(name))
        self._saved_data[user_id] = None if row is None else _fingerprint(row.data or None)
        return found, deepcopy(row.data) if row is not None else None

    async def refresh_user_data(self, user_id: int, user_data: dict[str, Any]) -> None:
        """Nothing to do: this process is the only writer of its drafts."""

    # Not stored: chat data, bot data and callback data.
    async def get_chat_data(self) -> dict[int, dict[str, Any]]:
        return {}

    async def update_chat_data(self, chat_id: int, data: dict[str, Any]) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[str, Any]) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def get_bot_data(self) -> dict[str, Any]:
        return {}

    async def update_bot_data(self, data: dict[str, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict[str, Any]) -> None:
        return None

    async def get_callback_data(self) -> None:
        return None

    async def update_callback_data(self, data: Any) -> None:
        return None

    async def flush(self) -> None:
        """At shutdown: one more try for what the database refused before."""
        await self._save()
