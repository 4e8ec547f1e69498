"""Messages a platform refused for now wait in the outbox and go out later, in order.

WeCom: 45009/45033 still answered after the short back-off (or WeCom unreachable) → the
transport keeps the message, the handler carries on, ``jobs/outbox`` sends it later. Telegram:
``RetryAfter`` (or a network error) on a notification → the messenger keeps it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.settings import Settings
from jobs import outbox as outbox_job
from models import outbox
from models.card import cards_of
from models.db import Database
from models.fault_report import FaultReport
from models.outbox import OutboxMessage
from models.staff import Role, Staff
from tests.conftest import START
from tests.flows import order_in_progress
from tests.shop import Shop
from tests.wecom_shop import WeComPerson, WeComShop


@pytest.fixture
async def wecom(db: Database, settings: Settings) -> AsyncIterator[WeComShop]:
    shop = WeComShop(db, settings.model_copy(update={"default_locale": "en"}), START)
    await shop.start()
    yield shop
    await shop.stop()
    assert shop.errors == [], f"handlers raised: {shop.errors!r}"


async def kept(shop: Any) -> list[OutboxMessage]:
    """The outbox as the database has it (written behind, within milliseconds)."""
    await shop.services.messenger.flush()
    if isinstance(shop, WeComShop):
        assert shop.request is not None
        await shop.request.store.close()
    async with shop.db.session() as session:
        return list((await session.exec(
            select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())


def texts(shop: WeComShop, person: WeComPerson) -> list[str]:
    return [b["text"]["content"] for b in shop.fake.sent(person.userid)
            if b["msgtype"] == "text"]


def limit_wecom(shop: WeComShop, times: int = 1) -> None:
    """WeCom answers 45009 to the next ``times`` messages, through every short back-off."""
    shop.fake.fail("message/send", *[45009] * (4 * times))


async def drain(shop: Any) -> int:
    await kept(shop)  # what the WeCom transport kept is written (it is, within milliseconds)
    return await outbox_job.run(shop.services, shop.now())


# --- the rules -----------------------------------------------------------------------------


def test_retries_double_up_to_half_an_hour_and_stop_after_two_days() -> None:
    message = outbox.new_message(channel="wecom", chat_id=1, kind="wecom", payload={},
                                 now=START, retry_after=60)
    assert message.not_before == START + timedelta(seconds=60)
    waits = []
    for attempt in range(8):
        message.attempts = attempt
        when = outbox.next_try(message, START)
        assert when is not None
        waits.append((when - START).total_seconds())
    assert waits == [30, 60, 120, 240, 480, 960, 1800, 1800]
    message.attempts = 0
    assert outbox.next_try(message, START, retry_after=300) == START + timedelta(seconds=300)
    assert outbox.next_try(message, START + timedelta(days=2)) is None


async def test_a_chat_waits_while_its_oldest_message_is_not_due(db: Database) -> None:
    async with db.session() as session:
        session.add(outbox.new_message(channel="wecom", chat_id=1, kind="wecom",
                                       payload={"n": 1}, now=START, retry_after=600))
        session.add(outbox.new_message(channel="wecom", chat_id=1, kind="wecom",
                                       payload={"n": 2}, now=START))
        session.add(outbox.new_message(channel="wecom", chat_id=2, kind="wecom",
                                       payload={"n": 3}, now=START))
        await session.commit()
        due = await outbox.due(session, START + timedelta(minutes=1))
        assert [m.payload["n"] for m in due] == [3]  # chat 1's second must not overtake
        due = await outbox.due(session, START + timedelta(minutes=11))
        assert [m.payload["n"] for m in due] == [1, 2, 3]
        assert await outbox.counts(session) == (3, 0)


# --- WeCom -----------------------------------------------------------------------------------


async def test_a_refused_message_waits_and_later_ones_queue_behind_it(wecom: WeComShop) -> None:
    tech = await wecom.hire("Zhang Tech", Role.technician)
    other = await wecom.hire("Wang Tech", Role.technician)
    limit_wecom(wecom)
    await wecom.app.bot.send_message(tech.user_id, "first")  # the handler is not held up
    await wecom.app.bot.send_message(tech.user_id, "second")  # WeCom would take it: waits
    await wecom.app.bot.send_message(other.user_id, "not held up")
    assert texts(wecom, tech) == [] and texts(wecom, other) == ["not held up"]
    assert [(m.kind, m.payload["content"]["content"]) for m in await kept(wecom)] == [
        ("wecom", "first"), ("wecom", "second")]

    assert await drain(wecom) == 0  # WeCom said "in a minute"
    wecom.advance(seconds=61)
    assert await drain(wecom) == 2
    assert texts(wecom, tech) == ["first", "second"]
    assert tech.inbox[-2:] == ["first", "second"]
    assert await kept(wecom) == []
    await wecom.app.bot.send_message(tech.user_id, "third")  # straight out again
    assert texts(wecom, tech) == ["first", "second", "third"]


async def test_a_kept_card_works_once_it_arrives(wecom: WeComShop) -> None:
    tech = await wecom.hire("Zhang Tech", Role.technician)
    limit_wecom(wecom)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Option 1", callback_data="opt:1")]])
    await wecom.app.bot.send_message(tech.user_id, "Pick one", reply_markup=markup)
    [message] = await kept(wecom)
    assert message.payload["msgtype"] == "template_card"
    wecom.advance(seconds=61)
    await drain(wecom)
    assert tech.last.text == "Pick one"
    # The click names the card's task id: the bot knows which message it was.
    assert await tech.tap("Option 1") == ["This button is no longer active."]


async def test_kept_messages_survive_a_restart_and_keep_their_order(wecom: WeComShop) -> None:
    tech = await wecom.hire("Zhang Tech", Role.technician)
    limit_wecom(wecom)
    await wecom.app.bot.send_message(tech.user_id, "before the restart")
    await wecom.restart()
    await wecom.app.bot.send_message(tech.user_id, "after the restart")  # still behind
    assert texts(wecom, tech) == []
    wecom.advance(seconds=61)
    assert await drain(wecom) == 2
    assert texts(wecom, tech) == ["before the restart", "after the restart"]


async def test_a_member_who_left_is_given_up_and_the_rest_goes_on(wecom: WeComShop) -> None:
    tech = await wecom.hire("Zhang Tech", Role.technician)
    limit_wecom(wecom)
    await wecom.app.bot.send_message(tech.user_id, "to someone who left")
    wecom.fake.fail_users.add(tech.userid)
    wecom.advance(seconds=61)
    assert await drain(wecom) == 0
    [message] = await kept(wecom)
    assert message.failed_at == wecom.now() and "not reachable" in (message.last_error or "")
    assert await drain(wecom) == 0  # failed for good: not tried again
    wecom.fake.fail_users.clear()
    await wecom.app.bot.send_message(tech.user_id, "direct again")
    # tried once (WeCom named the member invalid), then never again; the next goes direct
    assert texts(wecom, tech) == ["to someone who left", "direct again"]


async def test_still_refused_it_waits_longer_and_is_given_up_after_two_days(
    wecom: WeComShop,
) -> None:
    tech = await wecom.hire("Zhang Tech", Role.technician)
    limit_wecom(wecom)
    await wecom.app.bot.send_message(tech.user_id, "stubborn")
    wecom.advance(seconds=61)
    limit_wecom(wecom)
    assert await drain(wecom) == 0
    [message] = await kept(wecom)
    assert message.attempts == 1 and message.failed_at is None
    assert message.not_before == wecom.now() + timedelta(seconds=60)  # WeCom's own hint
    wecom.advance(days=2)
    limit_wecom(wecom)
    assert await drain(wecom) == 0
    [message] = await kept(wecom)
    assert message.failed_at is not None and message.attempts == 2


async def test_a_reply_kept_while_wecom_is_unreachable_arrives_later(wecom: WeComShop) -> None:
    tech = await wecom.hire("Zhang Tech", Role.technician)
    await wecom.fake.stop()  # WeCom cannot be reached at all
    await wecom.app.bot.send_message(tech.user_id, "during the outage")
    await wecom.fake.start()  # back, on a new port
    assert wecom.request is not None
    wecom.request.base = wecom.fake.base_url
    wecom.advance(seconds=31)
    assert await drain(wecom) == 1
    assert texts(wecom, tech) == ["during the outage"]


# --- Telegram ----------------------------------------------------------------------------------


@pytest.mark.telegram_only
async def test_a_fault_card_refused_by_telegram_reaches_the_advisor_later(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await order_in_progress(shop, advisor, tech)
    await tech.tap("Report unlisted fault")
    await tech.send("Brake pads worn to the metal")
    await tech.send_photo("fault-1")
    shop.api.limited[advisor.user_id] = 5  # Telegram: "too many requests, retry after 30"
    before = len(shop.api.sent_to(advisor.user_id, "sendMessage"))
    replies = await tech.tap("Done — send")
    assert "Fault reported" in replies[-1]  # the technician is not kept waiting
    assert len(shop.api.sent_to(advisor.user_id, "sendMessage")) == before
    # The card, and the edit of the advisor's order card (it offers Acknowledge too) behind it.
    message, edit = await kept(shop)
    assert message.kind == "message" and message.payload["card"][0] == "fault_report"
    assert edit.kind == "edit" and "waiting for acknowledgement" in edit.payload["text"]

    shop.api.limited.clear()
    shop.api.limited_methods["sendMessage"] = 1  # the photo goes, the card is refused again
    shop.advance(seconds=31)
    assert await drain(shop) == 0
    assert shop.photos_to(advisor)[-1] == "fault-1"
    message, edit = await kept(shop)
    assert message.payload["photos"] == [] and message.attempts == 1
    shop.advance(seconds=31)
    assert await drain(shop) == 2
    delivered = [m.photo for m in shop.api.messages.values()
                 if m.chat_id == advisor.user_id and m.photo]
    assert delivered == ["fault-1"]  # once: the retry sent only the card
    assert advisor.last.text.startswith("🔧 Unlisted fault")
    async with shop.db.session() as session:
        report = (await session.exec(select(FaultReport))).one()
        assert len(await cards_of(session, "fault_report", report.id)) == 1  # type: ignore[arg-type]
    await advisor.tap("Acknowledge")  # the card kept is the card that gets updated
    assert "Acknowledge" not in [label for label, _ in advisor.last.buttons]
    assert await kept(shop) == []


@pytest.mark.telegram_only
async def test_a_report_file_refused_by_telegram_is_sent_later(shop: Shop) -> None:
    boss = await shop.hire("Boss", Role.supervisor)
    shop.api.limited[boss.user_id] = 1
    async with shop.db.session() as session:
        staff = await session.get(Staff, boss.staff_id)
        assert staff is not None
        assert await shop.services.messenger.send_file(
            session, staff, b"PK\x03\x04sheet", "report-2026-10.xlsx") == 1
        render: Any = lambda _: ("and a note after it", None)  # noqa: E731
        await shop.services.messenger.send(session, staff, render)  # waits behind the file
        await session.commit()
    assert shop.api.sent_to(boss.user_id, "sendMessage") == []
    shop.advance(seconds=31)
    assert await drain(shop) == 2
    _refused, document = shop.api.sent_to(boss.user_id, "sendDocument")  # 429, then sent
    assert document.files["document"][:2] == ("report-2026-10.xlsx", b"PK\x03\x04sheet")
    assert [c.method for c in shop.api.sent_to(boss.user_id)][-2:] == [
        "sendDocument", "sendMessage"]


@pytest.mark.telegram_only
async def test_a_card_edit_refused_by_telegram_is_made_later(shop: Shop) -> None:
    from tests.test_extra_item import cards_in_chats, escalated_request, the_request

    advisor, other, _tech, _order_id = await escalated_request(shop)  # both have the card
    request = await the_request(shop)

    shop.api.limited[other.user_id] = 1  # Telegram refuses the edit of Chen's copy
    await advisor.tap("Approve")
    await advisor.tap("phone")
    cards = await cards_in_chats(shop, request.id)  # type: ignore[arg-type]
    assert "✅ Approved by Liu Advisor" in cards[advisor.user_id][0]
    assert "✅ Approved" not in cards[other.user_id][0]  # still the old card, buttons on
    [kept_edit] = await kept(shop)
    assert kept_edit.kind == "edit"

    shop.advance(seconds=31)
    assert await drain(shop) == 1
    text, buttons = (await cards_in_chats(shop, request.id))[other.user_id]  # type: ignore[arg-type]
    assert "✅ Approved by Liu Advisor" in text and buttons == []
    assert shop.errors == []


@pytest.mark.telegram_only
async def test_a_long_queue_drains_in_one_run_page_by_page(shop: Shop) -> None:
    boss = await shop.hire("Boss", Role.supervisor)
    shop.api.limited[boss.user_id] = 1
    async with shop.db.session() as session:
        staff = await session.get(Staff, boss.staff_id)
        assert staff is not None
        for n in range(outbox_job.BATCH + 50):
            render: Any = lambda _, n=n: (f"reminder {n}", None)  # noqa: E731
            await shop.services.messenger.send(session, staff, render, now=shop.now())
    assert len(await kept(shop)) == outbox_job.BATCH + 50
    shop.advance(seconds=31)
    assert await drain(shop) == outbox_job.BATCH + 50
    assert shop.api.texts_to(boss.user_id)[1:] == [
        f"reminder {n}" for n in range(outbox_job.BATCH + 50)]  # (the first was refused)
    assert await kept(shop) == []


async def test_the_drain_does_not_wait_out_one_member_s_minute(wecom: WeComShop) -> None:
    tech = await wecom.hire("Zhang Tech", Role.technician)
    other = await wecom.hire("Wang Tech", Role.technician)
    limit_wecom(wecom)
    for n in range(35):
        await wecom.app.bot.send_message(tech.user_id, f"to Zhang {n}")
    limit_wecom(wecom)
    await wecom.app.bot.send_message(other.user_id, "to Wang")
    wecom.advance(seconds=61)
    wecom.sleeps.clear()
    assert await drain(wecom) == 29  # Zhang's 28 for this minute (WeCom drops the 31st)
    assert [s for s in wecom.sleeps if s > 50] == []  # nobody waited a minute for Zhang
    assert texts(wecom, other) == ["to Wang"]
    wecom.advance(seconds=61)
    assert await drain(wecom) == 7
    assert texts(wecom, tech) == [f"to Zhang {n}" for n in range(35)]
