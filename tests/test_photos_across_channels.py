"""Photos cross channels and outlive WeCom's three-day media ids.

A photo is stored with the file id of the channel it came in on. Shown on the other channel,
or on WeCom after its media id expired, it is uploaded again from its bytes (fetched from the
channel that still knows it, or kept by ``jobs/media``), and the new id is kept for next time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import select

from bot.application import build_application
from bot.settings import Settings
from jobs import media
from models.attachment import Attachment, AttachmentContent, attach, attachments_of
from models.db import Database
from models.fault_report import FaultReport
from models.staff import Role, Staff, bind_account
from tests.conftest import START
from tests.fakebotapi import FakeBotApi, file_bytes
from tests.flows import order_in_progress
from tests.wecom_shop import WeComPerson, WeComShop

TELEGRAM_ID = 880001


@pytest.fixture
async def shop(db: Database, settings: Settings) -> AsyncIterator[WeComShop]:
    """The WeCom shop with a Telegram application on the same services, as ``run`` has."""
    shop = WeComShop(db, settings.model_copy(update={"default_locale": "en"}), START)
    await shop.start()
    shop.telegram_api = FakeBotApi()  # type: ignore[attr-defined]
    telegram = build_application(shop.services, request=shop.telegram_api,
                                 rate_limiter=False, run_jobs=False,
                                 token=settings.telegram_bot_token)
    await telegram.initialize()
    yield shop
    await telegram.shutdown()
    await shop.stop()
    assert shop.errors == []


def telegram(shop: WeComShop) -> FakeBotApi:
    return shop.telegram_api  # type: ignore[attr-defined, no-any-return]


async def also_on_telegram(shop: WeComShop, person: WeComPerson) -> None:
    async with shop.db.session() as session:
        staff = await session.get(Staff, person.staff_id)
        assert staff is not None
        await bind_account(session, staff, channel="telegram", user_key=str(TELEGRAM_ID),
                           chat_id=TELEGRAM_ID, now=shop.now())
        await session.commit()


async def staff_of(shop: WeComShop, person: WeComPerson) -> Staff:
    async with shop.db.session() as session:
        staff = await session.get(Staff, person.staff_id)
        assert staff is not None
        return staff


async def show(shop: WeComShop, person: WeComPerson, photos: list[Attachment],
               text: str = "photos") -> None:
    staff = await staff_of(shop, person)
    async with shop.db.session() as session:
        render: Any = lambda _: (text, None)  # noqa: E731
        await shop.services.messenger.send(session, staff, render, photos=photos,
                                           now=shop.now())
        await session.commit()


def images_to(shop: WeComShop, person: WeComPerson) -> list[str]:
    """Media ids of the pictures WeCom delivered to ``person``."""
    return [b["image"]["media_id"] for b in shop.fake.sent(person.userid)
            if b["msgtype"] == "image"]


async def fault_photos(shop: WeComShop) -> list[Attachment]:
    async with shop.db.session() as session:
        report = (await session.exec(select(FaultReport))).one()
        return await attachments_of(session, "fault_report", report.id)  # type: ignore[arg-type]


async def test_a_wecom_fault_photo_reaches_the_advisor_on_telegram(shop: WeComShop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await also_on_telegram(shop, advisor)
    await order_in_progress(shop, advisor, tech)
    await tech.tap("Report unlisted fault")
    await tech.send("Brake pads worn to the metal")
    await tech.send_photo("wx-media-1")
    await tech.tap("Done — send")

    assert shop.photos_to(advisor) == ["wx-media-1"]  # on WeCom: the same media id
    [upload] = telegram(shop).sent_to(TELEGRAM_ID, "sendPhoto")  # on Telegram: the bytes
    name, data, _mime = upload.files["photo"]
    assert data == b"\xff\xd8fake-jpeg:wx-media-1" and name.endswith(".jpg")
    assert [r.query["media_id"] for r in shop.fake.calls("media/get")] == ["wx-media-1"]
    assert telegram(shop).last_message(TELEGRAM_ID).text.startswith("🔧 Unlisted fault")

    # Shown again (an escalation, say): Telegram's own file id now, nothing downloaded.
    await show(shop, advisor, await fault_photos(shop))
    again = telegram(shop).sent_to(TELEGRAM_ID, "sendPhoto")[-1]
    assert again.files == {} and again.params["photo"] == "upload:" + name
    assert len(shop.fake.calls("media/get")) == 1


async def test_wecom_photos_are_kept_and_sent_again_after_three_days(shop: WeComShop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await order_in_progress(shop, advisor, tech)
    await tech.tap("Report unlisted fault")
    await tech.send("Brake pads worn to the metal")
    await tech.send_photo("wx-media-2")
    await tech.tap("Done — send")

    assert await media.run(shop.services, shop.now()) == 1  # fetched while the id works
    assert await media.run(shop.services, shop.now()) == 0  # once
    async with shop.db.session() as session:
        [content] = (await session.exec(select(AttachmentContent))).all()
        assert content.data == b"\xff\xd8fake-jpeg:wx-media-2"

    shop.advance(days=4)  # WeCom forgot wx-media-2
    gets = len(shop.fake.calls("media/get"))
    await show(shop, advisor, await fault_photos(shop), "four days later")
    [upload] = shop.fake.calls("media/upload")
    assert upload.body["data"] == b"\xff\xd8fake-jpeg:wx-media-2"
    new_id = upload.answer["media_id"]
    assert images_to(shop, advisor)[-1] == new_id
    assert len(shop.fake.calls("media/get")) == gets  # from the kept bytes
    await show(shop, advisor, await fault_photos(shop), "and again")
    assert images_to(shop, advisor)[-1] == new_id
    assert len(shop.fake.calls("media/upload")) == 1

    shop.advance(days=4)  # the copy expired too: uploaded once more, from the kept bytes
    await show(shop, advisor, await fault_photos(shop), "a week later")
    assert len(shop.fake.calls("media/upload")) == 2


async def test_a_telegram_photo_reaches_a_wecom_advisor(shop: WeComShop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    async with shop.db.session() as session:
        attach(session, owner="fault_report", owner_id=1, staff_id=None, now=shop.now(),
               photos=[{"channel": "telegram", "file_id": "tg-file-9",
                        "file_unique_id": "u9"}])
        await session.commit()
        photos = list((await session.exec(select(Attachment))).all())
    await show(shop, advisor, photos, "from Telegram")
    [upload] = shop.fake.calls("media/upload")
    assert upload.body["data"] == file_bytes("tg-file-9")
    assert images_to(shop, advisor) == [upload.answer["media_id"]]
    assert advisor.last.text == "from Telegram"


async def test_a_photo_nobody_can_fetch_is_left_out_and_the_message_still_goes(
    shop: WeComShop,
) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    async with shop.db.session() as session:
        attach(session, owner="fault_report", owner_id=1, staff_id=None, now=shop.now(),
               photos=[{"channel": "wecom", "file_id": "gone", "file_unique_id": "gone"}])
        await session.commit()
        photos = list((await session.exec(select(Attachment))).all())
    shop.advance(days=5)  # expired, never fetched
    await show(shop, advisor, photos, "the text still arrives")
    assert images_to(shop, advisor) == []
    assert advisor.last.text == ("the text still arrives\n\n"  # and says a photo is missing
                                 "⚠️ 1 photo could not be shown here; it is kept with the record.")
