"""python-telegram-bot persistence in our database: conversations and drafts survive a restart.

Only conversation states and ``user_data`` (the drafts of half-finished conversations) are
kept; everything else the bot knows lives in the shop's own tables.
"""

from __future__ import annotations

import json
from copy import deepcopy
from typing import Any

from sqlmodel import col, delete, select
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from models.conversation_store import ConversationState, UserDataRow
from models.db import Database


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
        encoded = json.dumps(list(key))
        async with self.db.session() as session:
            row = (
                await session.exec(
                    select(ConversationState).where(
                        ConversationState.channel == self.channel,
                        ConversationState.name == name,
                        ConversationState.key == encoded,
                    )
                )
            ).first()
            if new_state is None:
                if row is not None:
                    await session.delete(row)
            elif row is None:
                session.add(
                    ConversationState(
                        channel=self.channel, name=name, key=encoded, state=new_state
                    )
                )
            else:
                row.state = new_state
            await session.commit()

    async def get_user_data(self) -> dict[int, dict[str, Any]]:
        async with self.db.session() as session:
            rows = (
                await session.exec(select(UserDataRow).where(UserDataRow.channel == self.channel))
            ).all()
        return {row.user_id: deepcopy(row.data) for row in rows}

    async def update_user_data(self, user_id: int, data: dict[str, Any]) -> None:
        async with self.db.session() as session:
            row = (
                await session.exec(
                    select(UserDataRow).where(
                        UserDataRow.channel == self.channel, UserDataRow.user_id == user_id
                    )
                )
            ).first()
            if row is None:
                session.add(UserDataRow(channel=self.channel, user_id=user_id, data=data))
            else:
                row.data = deepcopy(data)
            await session.commit()

    async def drop_user_data(self, user_id: int) -> None:
        async with self.db.session() as session:
            await session.exec(
                delete(UserDataRow).where(
                    col(UserDataRow.channel) == self.channel,
                    col(UserDataRow.user_id) == user_id,
                )
            )
            await session.commit()

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
        return None
