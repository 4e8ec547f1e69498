"""``WeComRequest``: Bot API calls carried out on the (fake) WeCom API, as WeCom behaves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlmodel import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto
from telegram.error import BadRequest, Forbidden

from bot.settings import Settings
from bot.wecom.request import split_text
from models.db import Database
from models.staff import Role, Staff
from models.wecom import WeComMessage
from tests.conftest import START
from tests.wecom_shop import WeComPerson, WeComShop


@pytest.fixture
async def shop(db: Database, settings: Settings) -> AsyncIterator[WeComShop]:
    shop = WeComShop(db, settings.model_copy(update={"default_locale": "en"}), START)
    await shop.start()
    yield shop
    await shop.stop()
    assert shop.errors == [], f"handlers raised: {shop.errors!r}"


def keyboard(count: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(f"Option {i}", callback_data=f"opt:{i}")]
                                 for i in range(1, count + 1)])


async def person(shop: WeComShop) -> WeComPerson:
    return await shop.hire("Zhang Tech", Role.technician)


# --- the access token ------------------------------------------------------------------------


async def test_the_token_is_fetched_once_and_again_when_rejected(shop: WeComShop) -> None:
    tech = await person(shop)
    for n in range(3):
        await shop.app.bot.send_message(tech.user_id, f"hello {n}")
    assert len(shop.fake.calls("gettoken")) == 1
    shop.fake.expire_tokens()  # WeCom answers 42001: fetch a new token, once, and go on
    await shop.app.bot.send_message(tech.user_id, "after expiry")
    shop.fake.fail("message/send", 40014)
    await shop.app.bot.send_message(tech.user_id, "after an invalid token")
    assert len(shop.fake.calls("gettoken")) == 3
    assert [b["text"]["content"] for b in shop.fake.sent(tech.userid)][-2:] == [
        "after expiry", "after an invalid token"]


async def test_a_token_is_refetched_shortly_before_it_expires(shop: WeComShop) -> None:
    tech = await person(shop)
    await shop.app.bot.send_message(tech.user_id, "one")
    shop.advance(seconds=7200 - 301)  # expires_in 7200: still trusted
    await shop.app.bot.send_message(tech.user_id, "two")
    assert len(shop.fake.calls("gettoken")) == 1
    shop.advance(seconds=2)  # within five minutes of the end: fetched again
    await shop.app.bot.send_message(tech.user_id, "three")
    assert len(shop.fake.calls("gettoken")) == 2
    assert [r for r in shop.fake.records if not r.ok] == []


# --- busy and limits -----------------------------------------------------------------------------


async def test_busy_is_retried_with_backoff(shop: WeComShop) -> None:
    tech = await person(shop)
    shop.fake.fail("message/send", -1, -1)
    await shop.app.bot.send_message(tech.user_id, "through in the end")
    assert shop.sleeps == [0.5, 1.0]
    assert [b["text"]["content"] for b in shop.fake.sent(tech.userid)] == ["through in the end"]


async def test_frequency_limits_wait_and_lose_nothing(shop: WeComShop) -> None:
    tech = await person(shop)
    shop.fake.fail("message/send", 45009, 45033, 45009)
    await shop.app.bot.send_message(tech.user_id, "kept")
    assert shop.sleeps == [1.0, 2.0, 4.0]
    assert [b["text"]["content"] for b in shop.fake.sent(tech.userid)] == ["kept"]
    # Still limited after the short waits: kept in the outbox (tests/test_outbox.py).
    shop.fake.fail("message/send", *[45009] * 4)
    await shop.app.bot.send_message(tech.user_id, "later")
    assert [b["text"]["content"] for b in shop.fake.sent(tech.userid)] == ["kept"]


async def test_messages_to_one_member_are_paced_not_dropped(shop: WeComShop) -> None:
    tech = await person(shop)
    other = await shop.hire("Wang Tech", Role.technician)
    for n in range(35):
        await shop.app.bot.send_message(tech.user_id, f"message {n}")
    await shop.app.bot.send_message(other.user_id, "not held up")
    # 28 a minute (WeCom drops the 31st); the rest are kept for the outbox, nobody waits
    # (tests/test_wecom_load.py sends them).
    assert len(shop.fake.sent(tech.userid)) == 28 and len(shop.fake.sent(other.userid)) == 1
    assert shop.sleeps == []


# --- what is sent --------------------------------------------------------------------------------


async def test_long_texts_are_split_under_2048_bytes(shop: WeComShop) -> None:
    tech = await person(shop)
    text = "\n".join(f"第{n}行：" + "维修项目说明" * 20 for n in range(40))
    await shop.app.bot.send_message(tech.user_id, text)
    parts = [b["text"]["content"] for b in shop.fake.sent(tech.userid)]
    assert len(parts) > 1 and all(len(p.encode()) <= 2048 for p in parts)
    assert "\n".join(parts) == text == tech.last.text
    one_line = "好" * 3000
    assert all(len(p.encode()) <= 2048 for p in split_text(one_line))
    assert "".join(split_text(one_line)) == one_line


async def test_keyboards_become_cards(shop: WeComShop) -> None:
    tech = await person(shop)
    await shop.app.bot.send_message(tech.user_id, "Pick one\nsecond line", reply_markup=keyboard(6))
    card = shop.fake.sent(tech.userid)[-1]
    assert card["msgtype"] == "template_card"
    body = card["template_card"]
    assert body["card_type"] == "button_interaction" and body["main_title"]["title"] == "Pick one"
    assert [b["key"] for b in body["button_list"]] == [f"opt:{i}" for i in range(1, 7)]
    await shop.app.bot.send_message(tech.user_id, "Pick one", reply_markup=keyboard(6))
    assert shop.fake.sent(tech.userid)[-1]["template_card"]["task_id"] != body["task_id"]

    # Seven buttons: a card with five and "More…" (tests/test_wecom_more_card.py).
    await shop.app.bot.send_message(tech.user_id, "Pick again", reply_markup=keyboard(7))
    body = shop.fake.sent(tech.userid)[-1]["template_card"]
    assert [b["key"] for b in body["button_list"]] == [
        *[f"opt:{i}" for i in range(1, 6)], "wecom:more:1"]
    # A card WeCom refuses goes out as a numbered list, answered by number.
    shop.fake.fail("message/send", 40058)
    await shop.app.bot.send_message(tech.user_id, "Pick again", reply_markup=keyboard(7))
    listing = shop.fake.sent(tech.userid)[-1]
    assert listing["msgtype"] == "text"
    assert listing["text"]["content"].endswith(
        "Reply with the number of your choice:\n1. Option 1\n2. Option 2\n3. Option 3\n"
        "4. Option 4\n5. Option 5\n6. Option 6\n7. Option 7")
    # The answer "7" is the tap on the seventh option (no handler knows opt:7: stale button).
    assert await tech.send("7") == ["This button is no longer active."]
    # A number that is no option, or a number once something else came, is just text (outside
    # any step: the pointer to what waits and /help).
    nothing = "Nothing is waiting for you right now — /help shows what you can do."
    assert await tech.send("8") == [nothing]
    await shop.app.bot.send_message(tech.user_id, "something else")
    assert await tech.send("1") == [nothing]


async def test_a_card_wecom_refuses_goes_out_as_a_numbered_list(shop: WeComShop) -> None:
    tech = await person(shop)
    shop.fake.fail("message/send", 40058)  # e.g. a field longer than WeCom takes
    await shop.app.bot.send_message(tech.user_id, "Pick", reply_markup=keyboard(2))
    assert shop.fake.sent(tech.userid)[-1]["text"]["content"].endswith("1. Option 1\n2. Option 2")
    assert tech.last.buttons == [("Option 1", "opt:1"), ("Option 2", "opt:2")]
    assert await tech.send("2") == ["This button is no longer active."]


async def test_a_card_too_long_to_show_comes_after_its_full_text(shop: WeComShop) -> None:
    tech = await person(shop)
    text = "🔧 Unlisted fault on WO-20261130-0001 · 京A12345\n" + "\n".join(
        f"Line {n}: front brake pads worn down to the metal" for n in range(6))
    sent = await shop.app.bot.send_message(tech.user_id, text, reply_markup=keyboard(2))
    full, card = shop.fake.sent(tech.userid)[-2:]
    assert full["text"]["content"] == text  # everything, readable
    body = card["template_card"]  # then the card, cut to what WeCom shows, with the buttons
    assert len(body["main_title"]["title"]) == 26 and body["main_title"]["title"].endswith("…")
    assert len(body["sub_title_text"]) == 112 and body["sub_title_text"].endswith("…")
    assert tech.last.text == text and len(tech.last.buttons) == 2
    # An edit of a long card: the new full text, then the card updated in place.
    await tech.tap_data("opt:1", tech.last)
    edited = text.replace("Line 0", "✅ Approved by Liu Advisor; line 0")
    await shop.app.bot.edit_message_text(edited, chat_id=tech.user_id,
                                         message_id=sent.message_id, reply_markup=keyboard(1))
    assert shop.fake.sent(tech.userid)[-1]["text"]["content"] == edited
    [update] = shop.fake.calls("message/update_template_card")
    assert len(update.body["template_card"]["sub_title_text"]) == 112
    assert tech.last.text == edited and tech.last.buttons == [("Option 1", "opt:1")]
    # A short card is just a card.
    await shop.app.bot.send_message(tech.user_id, "Pick one\nshort", reply_markup=keyboard(2))
    assert shop.fake.sent(tech.userid)[-1]["msgtype"] == "template_card"
    assert shop.fake.sent(tech.userid)[-2]["text"]["content"] == edited


async def test_edits_use_the_click_s_response_code_once_then_send_anew(
    shop: WeComShop,
) -> None:
    tech = await person(shop)
    sent = await shop.app.bot.send_message(tech.user_id, "Card", reply_markup=keyboard(2))
    card = tech.last
    await tech.tap_data("opt:1", card)  # a click brings a response code
    await shop.app.bot.edit_message_text("Card, edited", chat_id=tech.user_id,
                                         message_id=sent.message_id, reply_markup=keyboard(1))
    [update] = shop.fake.calls("message/update_template_card")
    assert update.body["userids"] == [tech.userid]
    assert update.body["template_card"]["main_title"]["title"] == "Card, edited"
    assert (card.text, card.buttons) == ("Card, edited", [("Option 1", "opt:1")])
    sends = len(shop.fake.sent(tech.userid))
    # The click's code is spent, the send-time one is left: it greys the buttons, and the
    # new text arrives as a new message showing the same message.
    await shop.app.bot.edit_message_text("Card, edited again", chat_id=tech.user_id,
                                         message_id=sent.message_id)
    assert shop.fake.calls("message/update_template_card")[-1].body["button"] == {
        "replace_name": "Done"}
    assert len(shop.fake.sent(tech.userid)) == sends + 1
    assert card.text == "Card, edited again" and card.buttons == []
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await shop.app.bot.edit_message_text("Card, edited again", chat_id=tech.user_id,
                                             message_id=sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)not found"):
        await shop.app.bot.edit_message_text("x", chat_id=tech.user_id, message_id=999999)


async def test_an_expired_response_code_is_not_used(shop: WeComShop) -> None:
    tech = await person(shop)
    sent = await shop.app.bot.send_message(tech.user_id, "Card", reply_markup=keyboard(2))
    await tech.tap_data("opt:1", tech.last)
    shop.advance(hours=72)
    await shop.app.bot.edit_message_reply_markup(chat_id=tech.user_id,
                                                 message_id=sent.message_id,
                                                 reply_markup=keyboard(1))
    assert shop.fake.calls("message/update_template_card") == []
    assert shop.fake.sent(tech.userid)[-1]["template_card"]["main_title"]["title"] == "Card"
    assert tech.last.buttons == [("Option 1", "opt:1")]


async def test_alerts_are_short_messages(shop: WeComShop) -> None:
    tech = await person(shop)
    await shop.app.bot.send_message(tech.user_id, "Card", reply_markup=keyboard(1))
    assert await tech.tap_data("nonsense:1", tech.last) == ["This button is no longer active."]
    assert shop.fake.sent(tech.userid)[-1] == {
        "touser": tech.userid, "msgtype": "text", "agentid": 1000002,
        "text": {"content": "This button is no longer active."}, "enable_duplicate_check": 0}


async def test_pictures_and_files_are_uploaded_and_downloaded(shop: WeComShop) -> None:
    tech = await person(shop)
    photo = await shop.app.bot.send_photo(tech.user_id, photo=b"\x89PNG chart", caption="Chart")
    [upload] = shop.fake.calls("media/upload")
    assert upload.query["type"] == "image" and b"\x89PNG chart" in shop.fake.media[
        upload.answer["media_id"]]
    image, caption = shop.fake.sent(tech.userid)[-2:]
    assert image == {"touser": tech.userid, "msgtype": "image", "agentid": 1000002,
                     "image": {"media_id": upload.answer["media_id"]},
                     "enable_duplicate_check": 0}
    assert caption["text"]["content"] == "Chart"
    assert photo.photo[-1].file_id == upload.answer["media_id"]
    # A picture someone sent is passed on by its media id, without uploading it again.
    await shop.app.bot.send_photo(tech.user_id, photo="media-from-a-technician")
    assert shop.fake.sent(tech.userid)[-1]["image"] == {"media_id": "media-from-a-technician"}
    await shop.app.bot.send_media_group(tech.user_id, [InputMediaPhoto("m1"),
                                                       InputMediaPhoto("m2")])
    assert shop.photos_to(tech)[-2:] == ["m1", "m2"]

    document = await shop.app.bot.send_document(tech.user_id, document=b"xlsx bytes",
                                                filename="forms.xlsx")
    assert shop.fake.calls("media/upload")[-1].query["type"] == "file"
    assert shop.fake.sent(tech.userid)[-1]["msgtype"] == "file"
    assert document.document is not None and document.document.file_name == "forms.xlsx"

    file = await shop.app.bot.get_file("incoming-media-1")
    assert bytes(await file.download_as_bytearray()) == b"\xff\xd8fake-jpeg:incoming-media-1"
    assert shop.fake.calls("media/get")[-1].query["media_id"] == "incoming-media-1"


async def test_unreachable_and_unknown_chats(shop: WeComShop) -> None:
    tech = await person(shop)
    shop.api.fail_chats.add(tech.user_id)
    with pytest.raises(Forbidden):
        await shop.app.bot.send_message(tech.user_id, "nobody reads this")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await shop.app.bot.send_message(123456789, "no such person")
    assert await shop.app.bot.set_my_commands([("orders", "My orders")])
    assert (await shop.app.bot.get_me()).username == "wecom_agent_1000002"


async def test_a_restart_keeps_the_mapping(shop: WeComShop) -> None:
    tech = await person(shop)
    sent = await shop.app.bot.send_message(tech.user_id, "Card", reply_markup=keyboard(2))
    card = tech.last
    await shop.restart()
    assert await tech.tap_data("opt:2", card) == ["This button is no longer active."]
    await shop.app.bot.edit_message_text("Edited after a restart", chat_id=tech.user_id,
                                         message_id=sent.message_id)
    # The click's code and the send-time one, both kept across the restart: the new text,
    # then its buttons greyed.
    assert ["template_card" in r.body for r in shop.fake.calls(
        "message/update_template_card")] == [True, False]
    assert (card.text, card.buttons) == ("Edited after a restart", [])
    shop.advance(minutes=1)
    assert timedelta(minutes=1) == shop.now() - START


async def test_sending_while_the_caller_holds_a_write_transaction(shop: WeComShop) -> None:
    """Jobs notify inside their own transaction; on SQLite the send must not wait for it."""
    tech = await person(shop)
    async with shop.db.session() as session:
        staff = await session.get(Staff, tech.staff_id)
        assert staff is not None
        staff.on_duty = False
        await session.flush()  # this session now holds the database's write lock
        sent = await asyncio.wait_for(
            shop.app.bot.send_message(tech.user_id, "while locked",
                                      reply_markup=keyboard(1)), timeout=5)
        await session.commit()
    assert shop.request is not None
    await shop.request.store.close()
    async with shop.db.session() as session:
        rows = (await session.exec(select(WeComMessage).where(
            WeComMessage.message_id == sent.message_id))).all()
    assert [(r.kind, r.chat_id, r.text) for r in rows] == [("card", tech.user_id,
                                                            "while locked")]
    # A click on it after a restart is recognised from the database.
    card = tech.last
    await shop.restart()
    assert await tech.tap_data("opt:1", card) == ["This button is no longer active."]
