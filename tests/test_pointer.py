"""A message outside any step — text, a voice note, a photo, a sticker, an unknown command — gets
one line: what waits for the person and where to look, and /help. Never silence; and never in the
way of a step or of a reply to a follow-up reminder."""

from __future__ import annotations

from typing import Any

import pytest

from models.call_log import CallLog
from models.staff import Role
from tests.flows import open_order, order_in_progress
from tests.shop import Person, Shop
from tests.test_extra_item import ask_for_extra
from tests.test_followup_calls import card_of, first_call_due, reply_to, rows

pytestmark = pytest.mark.both_channels

NOTHING = "Nothing is waiting for you right now — /help shows what you can do."


async def send_media(person: Person, **media: Any) -> list[str]:
    """A voice note or a sticker, as Telegram sends it."""
    return await person._process({"message": person._message(**media)})  # type: ignore[attr-defined]


VOICE = {"voice": {"file_id": "voice-1", "file_unique_id": "u-voice-1", "duration": 12,
                   "mime_type": "audio/ogg"}}
STICKER = {"sticker": {"file_id": "sticker-1", "file_unique_id": "u-sticker-1", "width": 512,
                       "height": 512, "is_animated": False, "is_video": False,
                       "type": "regular"}}


async def test_nothing_open_still_gets_an_answer(shop: Shop) -> None:
    inspector = await shop.hire("Inspector Qian", Role.inspector)
    assert await inspector.send("hello") == [NOTHING]
    assert await inspector.send_photo("photo-1") == [NOTHING]
    assert await inspector.send("/nosuchthing") == [
        "There is no command /nosuchthing. " + NOTHING]


async def test_open_orders_and_approvals_are_counted(shop: Shop) -> None:
    advisor = await shop.hire("Advisor Zhao", Role.advisor)
    tech = await shop.hire("Tech Zhang", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    await open_order(shop, advisor, tech, plate="京B54321")
    await ask_for_extra(tech, order_id)

    assert await tech.send("what now?") == ["2 open orders — /orders, /help"]
    assert await tech.send_photo("photo-2") == ["2 open orders — /orders, /help"]
    assert await advisor.send("hi") == [
        "2 open orders, 1 approval waiting — /orders, /approvals, /help"]


@pytest.mark.telegram_only  # WeCom has no stickers; its voice notes come in another change
async def test_voice_notes_and_stickers_outside_a_step(shop: Shop) -> None:
    advisor = await shop.hire("Advisor Zhao", Role.advisor)
    tech = await shop.hire("Tech Zhang", Role.technician)
    await open_order(shop, advisor, tech)
    assert await send_media(tech, **VOICE) == ["1 open order — /orders, /help"]
    assert await send_media(tech, **STICKER) == ["1 open order — /orders, /help"]


async def test_in_chinese(shop: Shop) -> None:
    clerk = await shop.hire("李文员", Role.tracking_clerk, locale="zh_CN")
    assert await clerk.send("你好") == ["目前没有等您处理的事项 — /help 查看您可以做什么。"]
    advisor = await shop.hire("Advisor Zhao", Role.advisor)
    tech = await shop.hire("张师傅", Role.technician, locale="zh_CN")
    await open_order(shop, advisor, tech)
    assert await tech.send("你好") == ["1 张未完成的委托书 — /orders，/help"]


async def test_a_step_takes_its_own_input(shop: Shop) -> None:
    advisor = await shop.hire("Advisor Zhao", Role.advisor)
    await advisor.send("/neworder")
    assert await advisor.send("京A12345") == ["Plate 京A12345. Customer's name?"]
    # Off-step input inside a conversation is the conversation's to answer, not the pointer's.
    assert await advisor.send_photo("photo-3") == [
        "That is not what this step needs. Please answer the question above, or send /cancel."]
    assert await advisor.send("/cancel") == ["Cancelled. Nothing was saved."]
    assert await advisor.send("hello") == [NOTHING]


async def test_calls_and_complaints_for_the_clerk(shop: Shop) -> None:
    clerk, boss, _customer, _first = await first_call_due(shop)
    assert await clerk.send("hello") == ["1 call to make today — /today, /help"]
    assert await boss.send("hello") == ["1 call to make today — /today, /help"]


@pytest.mark.telegram_only  # WeCom has no replies to a message
async def test_a_reply_to_a_reminder_still_logs_the_call(shop: Shop) -> None:
    clerk, _boss, _customer, first = await first_call_due(shop)
    replies = await reply_to(clerk, card_of(clerk, first), "Reached him, all fine.")
    assert replies[0].startswith("Logging the call to 王先生 (First call) as reached")
    await clerk.tap("New service needs")
    await clerk.tap("Done")
    await clerk.tap("5")
    await clerk.tap("Done")
    replies = await clerk.tap("No")
    assert replies[-1].startswith("✅ Call with 王先生 logged.")
    assert len(await rows(shop, CallLog)) == 1
    # The same words, not as a reply, are outside any step: the pointer answers.
    assert await clerk.send("Reached him, all fine.") == [NOTHING]
