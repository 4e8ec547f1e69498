"""python-telegram-bot persistence in our database: conversations and drafts survive a restart.

Only conversation states and ``user_data`` (the drafts of half-finished conversations) are
kept; everything else the bot knows lives in the shop's own tables.
"""

from __future__ import annotations

import asyncio
import json
from copy import deepcopy
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from models.conversation_store import ConversationState, UserDataRow
from models.db import Database

_GONE = object()


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
        return {tuple(json.loads(row.key)): row.state for row in rows}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        self._unsaved_states[(name, json.dumps(list(key)))] = new_state
        await self._save()

    async def get_user_data(self) -> dict[int, dict[str, Any]]:
        async with self.db.session() as session:
            rows = (
                await session.exec(select(UserDataRow).where(UserDataRow.channel == self.channel))
            ).all()
        return {row.user_id: deepcopy(row.data) for row in rows}

    async def update_user_data(self, user_id: int, data: dict[str, Any]) -> None:
        self._unsaved_data[user_id] = deepcopy(data)
        await self._save()

    async def drop_user_data(self, user_id: int) -> None:
        self._unsaved_data[user_id] = None
        await self._save()

    async def _save(self) -> None:
        """Write everything not yet saved in one transaction. PTB hands each change over once
        and forgets it, so a write the database refuses stays here and goes with the next one
        (or at ``flush``) instead of being lost: a restart never resumes at an older step."""
        async with self._saving:
            states, data = dict(self._unsaved_states), dict(self._unsaved_data)
            if not states and not data:
                return
            async with self.db.session() as session:
                for (name, encoded), state in states.items():
                    await self._write_state(session, name, encoded, state)
                for user_id, user_data in data.items():
                    await self._write_user_data(session, user_id, user_data)
                await session.commit()
            for state_key, state in states.items():  # newer changes made meanwhile stay
                if self._unsaved_states.get(state_key, _GONE) is state:
                    del self._unsaved_states[state_key]
            for user_id, user_data in data.items():
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
        key = json.dumps([chat_id, user_id])
        async with self.db.session() as session:
            states = (await session.exec(select(ConversationState).where(
                ConversationState.channel == self.channel, ConversationState.key == key))).all()
            row = (await session.exec(select(UserDataRow).where(
                UserDataRow.channel == self.channel, UserDataRow.user_id == user_id))).first()
        return ({state.name: state.state for state in states},
                deepcopy(row.data) if row is not None else None)

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
