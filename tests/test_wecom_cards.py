"""WeCom cards as WeCom documents them: the fake refuses what WeCom would, card updates keep to
the schema, every card's response codes (send-time and click) are used once, and a card that
is not the newest copy does not keep live buttons."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.settings import Settings
from models.db import Database
from models.staff import Role
from tests.conftest import START
from tests.fakewecom import check_send
from tests.wecom_shop import WeComPerson, WeComShop


@pytest.fixture
async def shop(db: Database, settings: Settings) -> AsyncIterator[WeComShop]:
    shop = WeComShop(db, settings.model_copy(update={"default_locale": "en"}), START)
    await shop.start()
    yield shop
    await shop.stop()
    assert shop.errors == [], f"handlers raised: {shop.errors!r}"
    assert shop.fake.refused() == [], "WeCom would refuse these"


def keyboard(count: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(f"Option {i}", callback_data=f"opt:{i}")]
                                 for i in range(1, count + 1)])


async def person(shop: WeComShop) -> WeComPerson:
    return await shop.hire("Zhang Tech", Role.technician)


def card(**fields: Any) -> dict[str, Any]:
    template = {"card_type": "button_interaction", "task_id": "t1",
                "main_title": {"title": "Title"},
                "button_list": [{"text": "OK", "style": 1, "key": "ok"}]}
    template.update(fields)
    return {"touser": "u1", "msgtype": "template_card", "agentid": 1,
            "template_card": {k: v for k, v in template.items() if v is not None}}


def test_the_fake_refuses_what_wecom_documents_as_invalid() -> None:
    advice: list[str] = []
    assert check_send(card(), advice) is None and advice == []
    for bad in (card(button_list=None), card(button_list=[]), card(task_id=None),
                card(task_id="has space"), card(task_id="x" * 129),
                card(button_list=[{"text": f"B{i}", "key": f"k{i}"} for i in range(7)]),
                card(button_list=[{"text": "A", "key": "k"}, {"text": "B", "key": "k"}]),
                card(button_list=[{"text": "", "key": "k"}]),
                card(main_title=None),
                card(horizontal_content_list=[{"keyname": "k", "value": "v"}] * 7)):
        refusal = check_send(bad, advice)
        assert refusal is not None and refusal[0] == 40058, bad
    assert check_send(card(card_type="text_notice", button_list=None), advice) == (
        42045, "Template_Card card_action Missing or Invalid")  # text_notice: card_action
    assert check_send({"touser": "u1", "msgtype": "text", "agentid": 1,
                       "text": {"content": " "}}, advice) == (44004, "empty content")
    assert check_send({"touser": "u1", "msgtype": "text", "agentid": 1,
                       "text": {"content": "字" * 683}}, advice) is not None
    # What WeCom only advises against is noted, not refused.
    assert check_send(card(main_title={"title": "T" * 27},
                           button_list=[{"text": "L" * 11, "key": "k"}]), advice) is None
    assert len(advice) == 2


async def test_a_card_nobody_tapped_is_updated_with_its_send_time_code(
    shop: WeComShop,
) -> None:
    tech = await person(shop)
    sent = await shop.app.bot.send_message(tech.user_id, "Card", reply_markup=keyboard(2))
    [send] = [r for r in shop.fake.calls("message/send")]
    code = send.answer["response_code"]
    await shop.app.bot.edit_message_text("Card, edited", chat_id=tech.user_id,
                                         message_id=sent.message_id, reply_markup=keyboard(1))
    [update] = shop.fake.calls("message/update_template_card")
    assert update.body["response_code"] == code
    assert (tech.last.text, tech.last.buttons) == ("Card, edited", [("Option 1", "opt:1")])
    assert len(shop.fake.sent(tech.userid)) == 1
    # Used once: the next edit is a new card, and there is no code left to grey the old one.
    await shop.app.bot.edit_message_text("Card, again", chat_id=tech.user_id,
                                         message_id=sent.message_id, reply_markup=keyboard(2))
    assert len(shop.fake.calls("message/update_template_card")) == 1
    assert len(shop.fake.sent(tech.userid)) == 2
    assert tech.last.text == "Card, again"


async def test_an_update_without_buttons_shows_the_new_text_with_greyed_buttons(
    shop: WeComShop,
) -> None:
    tech = await person(shop)
    sent = await shop.app.bot.send_message(tech.user_id, "Approve?", reply_markup=keyboard(2))
    await tech.tap_data("opt:1", tech.last)  # the click's code, and the send-time one
    await shop.app.bot.edit_message_text("Approved by Wang", chat_id=tech.user_id,
                                         message_id=sent.message_id)
    first, second = shop.fake.calls("message/update_template_card")
    assert first.body["template_card"]["card_type"] == "button_interaction"
    assert first.body["template_card"]["main_title"]["title"] == "Approved by Wang"
    assert second.body["button"] == {"replace_name": "Done"}
    assert {first.body["response_code"], second.body["response_code"]} == {
        shop.fake.calls("message/send")[0].answer["response_code"],
        *[c for c in shop.api.codes if c.startswith("code-")]}
    assert [b["msgtype"] for b in shop.fake.sent(tech.userid)] == [
        "template_card", "text"]  # the card, the tap's alert: nothing new for the edit
    assert (tech.last.text, tech.last.buttons) == ("Approved by Wang", [])
    assert shop.api.stale_cards() == []


async def test_with_one_code_left_the_buttons_are_greyed_and_the_text_follows(
    shop: WeComShop,
) -> None:
    tech = await person(shop)
    sent = await shop.app.bot.send_message(tech.user_id, "Approve?", reply_markup=keyboard(2))
    await shop.app.bot.edit_message_text("Approved by Wang", chat_id=tech.user_id,
                                         message_id=sent.message_id)
    [grey] = shop.fake.calls("message/update_template_card")
    assert grey.body["button"] == {"replace_name": "Done"}
    assert shop.fake.sent(tech.userid)[-1]["text"]["content"] == "Approved by Wang"
    assert (tech.last.text, tech.last.buttons) == ("Approved by Wang", [])
    assert shop.api.stale_cards() == []


async def test_a_refused_update_greys_the_old_card_and_sends_anew(shop: WeComShop) -> None:
    tech = await person(shop)
    sent = await shop.app.bot.send_message(tech.user_id, "Pick", reply_markup=keyboard(2))
    shop.fake.fail("message/update_template_card", 40058)
    await shop.app.bot.edit_message_text("Pick again", chat_id=tech.user_id,
                                         message_id=sent.message_id, reply_markup=keyboard(3))
    refused, grey = shop.fake.calls("message/update_template_card", ok_only=False)
    assert not refused.ok and grey.ok and grey.body["button"] == {"replace_name": "Done"}
    assert shop.fake.sent(tech.userid)[-1]["template_card"]["main_title"]["title"] == \
        "Pick again"
    assert tech.last.buttons == [(f"Option {i}", f"opt:{i}") for i in (1, 2, 3)]
    assert shop.api.stale_cards() == []


async def test_a_newer_copy_greys_the_old_card_see_below(shop: WeComShop) -> None:
    tech = await person(shop)
    sent = await shop.app.bot.send_message(tech.user_id, "Pick", reply_markup=keyboard(2))
    await tech.tap_data("opt:1", tech.last)  # the card has two codes now
    # WeCom is too busy to update the card (45009 until the back-off gives up): the new
    # version goes out as a new card, and the old one is greyed with its other code.
    shop.fake.fail("message/update_template_card", 45009, 45009, 45009, 45009)
    await shop.app.bot.edit_message_text("Pick from many", chat_id=tech.user_id,
                                         message_id=sent.message_id, reply_markup=keyboard(8))
    grey = shop.fake.calls("message/update_template_card")[-1]
    assert grey.body["button"] == {"replace_name": "See below"}
    assert shop.api.stale_cards() == []
    assert len(tech.last.buttons) == 8
    assert len(shop.fake.sent(tech.userid)[-1]["template_card"]["button_list"]) == 6


async def test_codes_expire_by_the_shop_clock(shop: WeComShop) -> None:
    tech = await person(shop)
    sent = await shop.app.bot.send_message(tech.user_id, "Card", reply_markup=keyboard(2))
    shop.advance(hours=71, minutes=50)
    await tech.tap_data("opt:1", tech.last)  # a fresh click code: good for 72 hours more
    shop.advance(hours=1)  # the send-time code is past 72 hours now, the click's is not
    await shop.app.bot.edit_message_text("Card, edited", chat_id=tech.user_id,
                                         message_id=sent.message_id, reply_markup=keyboard(1))
    [update] = shop.fake.calls("message/update_template_card")
    assert update.body["response_code"].startswith("code-")
    shop.advance(hours=72)
    await shop.app.bot.edit_message_text("Card, later", chat_id=tech.user_id,
                                         message_id=sent.message_id, reply_markup=keyboard(2))
    assert len(shop.fake.calls("message/update_template_card")) == 1
    assert tech.last.text == "Card, later"


LONG = "🔧 Unlisted fault on WO-20261130-0001 · 京A12345\n" + "\n".join(
    f"Line {n}: front brake pads worn down to the metal" for n in range(6))


async def test_a_long_card_s_full_text_is_sent_again_only_when_its_hidden_part_changed(
    shop: WeComShop,
) -> None:
    tech = await person(shop)
    sent = await shop.app.bot.send_message(tech.user_id, LONG, reply_markup=keyboard(3))
    assert [b["msgtype"] for b in shop.fake.sent(tech.userid)] == ["text", "template_card"]
    await tech.tap_data("opt:1", tech.last)
    # What changed is on the card (the title's start): the card is edited, nothing is sent.
    edited = LONG.replace("🔧", "⏳")
    await shop.app.bot.edit_message_text(edited, chat_id=tech.user_id,
                                         message_id=sent.message_id, reply_markup=keyboard(2))
    assert [b["msgtype"] for b in shop.fake.sent(tech.userid)] == [
        "text", "template_card", "text"]  # (the last: the tap's alert)
    assert tech.last.text == edited and len(tech.last.buttons) == 2
    # What changed is past what the card shows: the full text again, then the card.
    sends = len(shop.fake.sent(tech.userid))
    again = edited.replace("Line 5", "Line five")
    await shop.app.bot.edit_message_text(again, chat_id=tech.user_id,
                                         message_id=sent.message_id, reply_markup=keyboard(1))
    assert [b["text"]["content"] for b in shop.fake.sent(tech.userid)[sends:]] == [again]
    assert tech.last.text == again


async def test_a_decided_long_card_shows_its_outcome_on_the_card(shop: WeComShop) -> None:
    tech = await person(shop)
    sent = await shop.app.bot.send_message(tech.user_id, LONG, reply_markup=keyboard(2))
    await tech.tap_data("opt:1", tech.last)
    decided = LONG + "\n\n✅ Approved by Liu Advisor at 7 Dec 10:42 (consent: phone)"
    await shop.app.bot.edit_message_text(decided, chat_id=tech.user_id,
                                         message_id=sent.message_id)
    update = shop.fake.calls("message/update_template_card")[0].body["template_card"]
    assert update["quote_area"]["quote_text"] == decided.rpartition("\n\n")[2]
    # The part the card cannot show did not change: no second full text.
    assert [b["msgtype"] for b in shop.fake.sent(tech.userid)] == [
        "text", "template_card", "text"]
    assert (tech.last.text, tech.last.buttons) == (decided, [])
    assert shop.api.stale_cards() == []


def test_a_copy_keeps_each_code_with_its_own_time() -> None:
    from datetime import UTC, datetime, timedelta

    from bot.wecom.store import CODE_VALID, Copy, add_code, codes_of, live_codes

    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    copy = Copy(message_id=1, chat_id=1, kind="card", task_id="t1", sent_at=now,
                response_code="send-code", code_at=now)  # as the send path records it
    add_code(copy, "click-code", now + timedelta(hours=70))
    assert [c for c, _at in codes_of(copy)] == ["send-code", "click-code"]
    later = now + timedelta(hours=73)  # the send-time code expired, the click's did not
    assert live_codes(copy, now=later, valid=CODE_VALID) == 1
    add_code(copy, "x" * 240, later)  # the column holds 255: the oldest gives way
    assert [c for c, _at in codes_of(copy)] == ["x" * 240]
    assert copy.response_code is not None and len(copy.response_code) <= 255
