"""The database unreachable or read-only: the access gate fails closed (found by probing: it
failed open, and PTB ran every handler without a staff member, each answering with an error)."""

from __future__ import annotations

from typing import Any, NoReturn

import pytest

import handlers.staff.access
from models.staff import Role
from tests.shop import Shop

pytestmark = pytest.mark.both_channels


async def unreachable(*args: Any, **kwargs: Any) -> NoReturn:
    raise ConnectionRefusedError("the database refuses connections")


async def test_the_gate_fails_closed_with_one_answer(
    shop: Shop, shop_channel: str, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    monkeypatch.setattr(handlers.staff.access, "staff_for_account", unreachable)
    # Who it is cannot be read, so neither can their language: Telegram's language code, or
    # the shop's default on WeCom (which sends none).
    answer = ("The workshop system cannot be reached just now; nothing was changed. Please try "
              "again in a moment." if shop_channel == "telegram"
              else "车间系统暂时无法连接，未做任何更改。请稍后再试。")
    for text in ("/orders", "hello", "/help"):
        assert await tech.send(text) == [answer]
    assert "the access gate could not identify" in caplog.text
    monkeypatch.undo()
    assert "no open work orders" in (await tech.send("/orders"))[-1]


async def saved_state(shop: Shop, name: str) -> object | None:
    from sqlmodel import select

    from models.conversation_store import ConversationState

    async with shop.db.session() as session:
        row = (await session.exec(select(ConversationState).where(
            ConversationState.name == name))).first()
    return None if row is None else row.state


@pytest.mark.telegram_only
async def test_a_refused_persistence_write_is_retried_not_lost(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PTB hands each conversation change to the persistence once: a write the database
    refused used to be forgotten, so a restart resumed at an older step. Driven on the
    persistence itself, as PTB calls it."""
    from bot.persistence import DatabasePersistence

    persistence = DatabasePersistence(shop.db, "telegram")
    real = DatabasePersistence._write_state

    async def refuse(self: DatabasePersistence, *args: Any) -> None:
        raise ConnectionRefusedError("the database refuses connections")

    monkeypatch.setattr(DatabasePersistence, "_write_state", refuse)
    with pytest.raises(ConnectionRefusedError):
        await persistence.update_conversation("extra_item", (7, 7), 1)
    assert await saved_state(shop, "extra_item") is None  # refused: not in the database
    monkeypatch.setattr(DatabasePersistence, "_write_state", real)

    await persistence.update_user_data(7, {"draft": "kept"})  # the next save takes it along
    assert await saved_state(shop, "extra_item") == 1
    assert (await DatabasePersistence(shop.db, "telegram").get_user_data())[7] == {
        "draft": "kept"}

    # Refused at shutdown too: flush tries once more.
    monkeypatch.setattr(DatabasePersistence, "_write_state", refuse)
    with pytest.raises(ConnectionRefusedError):
        await persistence.update_conversation("extra_item", (7, 7), 2)
    monkeypatch.setattr(DatabasePersistence, "_write_state", real)
    await persistence.flush()
    assert await saved_state(shop, "extra_item") == 2
