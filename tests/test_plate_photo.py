"""W1 from a photo (issue 17): the plate read off the technician's photo, confirmed with one tap,
on both channels; a stub reader behind the same interface as the OCR, and one test with the real
OCR on a real photo when the ``ocr`` extra is installed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.i18n import Translator
from bot.plate_reader import OcrPlateReader, ReadProblem, available
from handlers.after_sales.cards.report import workshop_blocks
from handlers.floor.plate_photo import marked
from models.attachment import Attachment
from models.plate_check import PlateCheck
from models.plate_reading import PlateReading
from models.report import period_report
from models.staff import Role
from models.work_order import OrderStatus, WorkOrder
from tests.flows import open_order
from tests.plate_stub import StubPlateReader, reading
from tests.shop import Person, Shop

pytestmark = pytest.mark.both_channels

PLATES = Path(__file__).parent / "data" / "plates"


async def _start(shop: Shop, reader: StubPlateReader | OcrPlateReader, plate: str = "京A12345",
                 locale: str = "en") -> tuple[Person, Person, int]:
    shop.services.plate_reader = reader
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician, locale=locale)
    order_id = await open_order(shop, advisor, tech, plate=plate)
    prompt = await tech.tap(data=f"ord:{order_id}:plate")
    assert ("send a photo of the plate" if locale == "en" else "请拍一张车牌照片") in prompt[-1]
    return advisor, tech, order_id


async def _order(shop: Shop, order_id: int) -> WorkOrder:
    async with shop.db.session() as session:
        order = await session.get(WorkOrder, order_id)
        assert order is not None
        return order


async def _readings(shop: Shop) -> list[tuple[str, str | None, str | None]]:
    async with shop.db.session() as session:
        rows = (await session.exec(select(PlateReading).order_by(col(PlateReading.id)))).all()
    return [(row.verdict, row.action, row.final) for row in rows]


async def test_a_matching_photo_is_confirmed_with_one_tap(shop: Shop) -> None:
    reader = StubPlateReader(reading("京A12345"))
    _, tech, order_id = await _start(shop, reader)
    replies = await tech.send_photo("plate-1")
    assert replies[-1] == "✅ 京A·12345 — matches the order."
    assert reader.images and reader.images[0]  # the photo's bytes, downloaded by the bot
    replies = await tech.tap("Confirm")
    assert any(r.startswith("✅ Plate confirmed.") for r in replies)
    assert (await _order(shop, order_id)).status == OrderStatus.in_progress
    async with shop.db.session() as session:
        check = (await session.exec(select(PlateCheck))).one()
        photos = (await session.exec(select(Attachment))).all()
    assert (check.typed, check.matched) == ("京A12345", True)
    assert [(p.owner, p.owner_id, p.file_id) for p in photos] == [
        ("plate_check", check.id, "plate-1")]
    assert await _readings(shop) == [("match", "confirmed", "京A12345")]


async def test_in_chinese(shop: Shop) -> None:
    _, tech, order_id = await _start(shop, StubPlateReader(reading("京A12346")), locale="zh_CN")
    replies = await tech.send_photo("plate-1")
    assert "照片识别：京A·1234[6]" in replies[-1] and "工单车牌：京A·1234[5]" in replies[-1]
    assert [label for label, _ in tech.last.buttons] == ["✅ 确认", "📷 重拍", "⌨️ 手动输入"]
    await tech.tap("确认")
    assert (await _order(shop, order_id)).status == OrderStatus.in_progress


async def test_unsure_shows_the_character_and_offers_confirm_retake_type(shop: Shop) -> None:
    reader = StubPlateReader(reading("京A12346"), reading("京A12345"))
    _, tech, order_id = await _start(shop, reader)
    replies = await tech.send_photo("plate-1")
    assert "京A·1234[6]" in replies[-1] and "京A·1234[5]" in replies[-1]
    labels = [label for label, _ in tech.last.buttons]
    assert any("Confirm" in label for label in labels) and any(
        "Retake" in label for label in labels) and any("Type it" in label for label in labels)
    await tech.tap("Retake")
    assert "another photo" in tech.inbox[-1]
    assert (await tech.send_photo("plate-2"))[-1] == "✅ 京A·12345 — matches the order."
    await tech.tap("Confirm")
    assert (await _order(shop, order_id)).status == OrderStatus.in_progress
    assert await _readings(shop) == [("unsure", "retake", None),
                                     ("match", "confirmed", "京A12345")]


async def test_unsure_then_typed_counts_as_corrected(shop: Shop) -> None:
    _, tech, order_id = await _start(shop, StubPlateReader(reading("京A12346")))
    await tech.send_photo("plate-1")
    await tech.tap("Type it")
    assert "Type the plate" in tech.inbox[-1]
    await tech.send("京A12345")
    assert (await _order(shop, order_id)).status == OrderStatus.in_progress
    assert await _readings(shop) == [("unsure", "typed", "京A12345")]


async def test_unsure_confirmed_records_the_orders_plate(shop: Shop) -> None:
    _, tech, order_id = await _start(shop, StubPlateReader(reading("A12345")))  # no province
    replies = await tech.send_photo("plate-1")
    assert "[？]A·12345" in replies[-1]
    await tech.tap("Confirm")
    assert (await _order(shop, order_id)).status == OrderStatus.in_progress
    assert await _readings(shop) == [("unsure", "confirmed", "京A12345")]


async def test_no_plate_twice_falls_back_to_typing(shop: Shop) -> None:
    reader = StubPlateReader(reading(), reading(problem=ReadProblem.UNDECODABLE))
    _, tech, order_id = await _start(shop, reader)
    assert "Send a closer photo" in (await tech.send_photo("plate-1"))[-1]
    replies = await tech.send_photo("plate-2")
    assert "could not be opened" in replies[-1] and "Please type the plate" in replies[-1]
    # Further photos are only kept as evidence; the plate is typed.
    assert (await tech.send_photo("plate-3"))[-1] == "Photo kept. Now type the plate."
    assert len(reader.images) == 2
    await tech.send("京A12345")
    assert (await _order(shop, order_id)).status == OrderStatus.in_progress
    assert await _readings(shop) == [("no_plate", "retake", None),
                                     ("no_plate", "typed", "京A12345")]
    async with shop.db.session() as session:
        photos = (await session.exec(select(Attachment.file_id))).all()
    assert sorted(photos) == ["plate-1", "plate-2", "plate-3"]


async def test_a_mismatch_alerts_nobody_until_confirmed(shop: Shop) -> None:
    reader = StubPlateReader(reading("沪B99999"))
    advisor, tech, order_id = await _start(shop, reader)
    before = len(advisor.inbox)
    replies = await tech.send_photo("plate-1")
    assert "沪B·99999" in replies[-1] and "京A·12345" in replies[-1]
    await tech.tap("Retake")
    assert len(advisor.inbox) == before and await _readings(shop) == [
        ("mismatch", "retake", None)]
    await tech.send_photo("plate-2")
    await tech.tap("It really is a different car")
    assert any("does not match the order" in r for r in tech.inbox[-3:])
    assert "order says 京A12345, Zhang Tech typed 沪B99999 (attempt 1 of 3)" in (
        advisor.last.text)
    assert shop.photos_to(advisor)  # the photos of the check went with the alert
    order = await _order(shop, order_id)
    assert (order.status, order.plate_mismatches) == (OrderStatus.open, 1)
    assert await _readings(shop) == [("mismatch", "retake", None),
                                     ("mismatch", "different_car", "沪B99999")]


async def test_an_old_verdicts_button_does_nothing(shop: Shop) -> None:
    _, tech, order_id = await _start(shop, StubPlateReader(reading("京A12346")))
    await tech.send_photo("plate-1")
    old, data = tech.find_button("Confirm")
    await tech.send_photo("plate-2")
    replies = await tech.tap_data(data, old)
    assert replies == ["This button is no longer active."]
    assert (await _order(shop, order_id)).status == OrderStatus.open


async def test_a_verdict_survives_a_restart(shop: Shop) -> None:
    reader = StubPlateReader(reading("京A12346"))
    _, tech, order_id = await _start(shop, reader)
    await tech.send_photo("plate-1")
    await shop.restart()
    shop.services.plate_reader = reader
    await tech.tap("Confirm")
    assert (await _order(shop, order_id)).status == OrderStatus.in_progress
    assert await _readings(shop) == [("unsure", "confirmed", "京A12345")]


async def test_without_a_reader_photos_are_not_mentioned(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await open_order(shop, advisor, tech)
    prompt = await tech.tap("Confirm plate")
    assert "type the plate number" in prompt[-1] and "the bot reads it" not in prompt[-1]
    assert (await tech.send_photo("plate-1"))[-1] == "Photo kept. Now type the plate."
    async with shop.db.session() as session:
        assert (await session.exec(select(PlateReading))).all() == []


@pytest.mark.telegram_only
async def test_the_report_counts_readings_and_what_people_did(shop: Shop) -> None:
    start = shop.now()
    reader = StubPlateReader(reading("京A12346"), reading(), reading("京A12345"))
    _, tech, _order_id = await _start(shop, reader)
    await tech.send_photo("plate-1")  # unsure
    await tech.send_photo("plate-2")  # no plate
    await tech.send_photo("plate-3")  # match
    await tech.tap("Confirm")
    end = shop.now() + timedelta(hours=1)
    async with shop.db.session() as session:
        report = await period_report(session, start=start, end=end, now=end)
    text = "\n".join(workshop_blocks(Translator("en", shop.settings.tz, shop.now()), report))
    for line in ("Plates read from photos (W1)", "• Plate photos read: 3",
                 "• Read as the order's plate: 1", "• Read with one character unsure: 1",
                 "• No plate found: 1", "• Technician recorded the plate read: 1",
                 "• Technician corrected the plate read: 0"):
        assert line in text, line


def test_marked_brackets_the_characters_that_differ() -> None:
    assert marked("京A12345", [6], dotted=True) == "京A·1234[5]"
    assert marked("？A12345", [0], dotted=True) == "[？]A·12345"
    assert marked("使123456", [1], dotted=False) == "使[1]23456"


def _serve(shop: Shop, file_id: str, data: bytes) -> None:
    """What downloading ``file_id`` gives, on the shop's channel."""
    if shop.channel == "wecom":
        shop.fake.media[file_id] = data  # type: ignore[attr-defined]
    else:
        shop.api.files[file_id] = data


@pytest.mark.skipif(not available(), reason="the ocr extra is not installed")
async def test_the_real_ocr_reads_a_real_photo(shop: Shop) -> None:
    reader = OcrPlateReader(clock=shop.clock)
    try:
        _, tech, order_id = await _start(shop, reader, plate="京A88731")
        _serve(shop, "real-plate", (PLATES / "beijing_A88731.jpg").read_bytes())
        replies = await tech.send_photo("real-plate")
        assert replies[-1] == "✅ 京A·88731 — matches the order."
        await tech.tap("Confirm")
    finally:
        reader.close()
    assert (await _order(shop, order_id)).status == OrderStatus.in_progress
    assert await _readings(shop) == [("match", "confirmed", "京A88731")]
