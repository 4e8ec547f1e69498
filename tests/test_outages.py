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
