"""A photo the platform refuses for good never holds a card back (issue 11).

Telegram answers 400 to a file id it does not know (another bot's) or bytes it rejects; WeCom
answers 40007 to a media id it will not send. The card still goes out, with its buttons, and
says how many photos could not be shown, in its reader's language; the photos stay on the
record. An album Telegram refuses is sent again one photo at a time, so only the bad ones are
left out and none goes twice; the escalated copy says the same.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from jobs import extra_item_escalation, fault_escalation
from jobs import outbox as outbox_job
from models.attachment import Attachment
from models.card import CardMessage
from models.extra_item import ExtraItemRequest
from models.fault_report import FaultReport, FaultStatus
from models.outbox import OutboxMessage
from models.staff import Role
from tests.flows import order_in_progress
from tests.shop import Person, Shop
from tests.test_extra_item import ask_for_extra
from tests.test_parts import ask_for_part

pytestmark = pytest.mark.both_channels

DESCRIPTION = "Rear brake hose cracked, fluid on the inside of the tyre"
TWO_NOT_SHOWN = "⚠️ 2 photos could not be shown here; they are kept with the record."
ONE_NOT_SHOWN_ZH = "⚠️ 有 1 张照片无法在此显示，已随记录保存。"


def delivered_photos(shop: Shop, person: Person) -> list[str]:
    """The photos that reached ``person`` (refused calls left out), oldest first."""
    return [m.photo for m in sorted(shop.api.messages.values(), key=lambda m: m.message_id)
            if m.chat_id == person.user_id and m.photo]


def cards_sent(shop: Shop, person: Person) -> list[str]:
    """The cards with buttons in ``person``'s chat, but for the advisor's own order card
    (which offers the same Acknowledge / Approve while a record waits)."""
    return [m.text for m in shop.api.messages.values()
            if m.chat_id == person.user_id and m.photo is None and m.buttons
            and not m.text.startswith(("Work order ", "任务委托书 "))]


async def report_with_photos(tech: Person, photos: tuple[str, ...]) -> list[str]:
    await tech.tap("Report unlisted fault")
    await tech.send(DESCRIPTION)
    for photo in photos:
        await tech.send_photo(photo)
    return await tech.tap("Done — send")


async def holders(shop: Shop, kind: str, ref_id: int) -> list[int]:
    async with shop.db.session() as session:
        return sorted((await session.exec(select(CardMessage.staff_id).where(
            CardMessage.kind == kind, CardMessage.ref_id == ref_id))).all())


async def attachments(shop: Shop, owner: str) -> list[str]:
    async with shop.db.session() as session:
        return [a.file_id for a in (await session.exec(
            select(Attachment).where(Attachment.owner == owner)
            .order_by(col(Attachment.id)))).all()]


async def test_a_fault_card_goes_out_though_its_photos_are_refused(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    other = await shop.hire("Chen Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await order_in_progress(shop, advisor, tech)
    shop.refuse_photos("hose-2", "hose-3")  # e.g. another bot's file ids

    replies = await report_with_photos(tech, ("hose-1", "hose-2", "hose-3"))
    assert replies[-1].startswith("✅ Fault reported on")
    assert "Liu Advisor has it" in replies[-1]

    assert delivered_photos(shop, advisor) == ["hose-1"]  # the good one, once
    card = advisor.last
    assert card.text.startswith("🔧 Unlisted fault on")
    assert DESCRIPTION in card.text
    assert card.text.endswith(TWO_NOT_SHOWN)
    report = await _only_report(shop)
    assert card.buttons == [("👌 Acknowledge", f"flt:{report.id}:ack")]
    assert len(cards_sent(shop, advisor)) == 1  # the card once, no second try
    assert await attachments(shop, "fault_report") == ["hose-1", "hose-2", "hose-3"]  # kept
    if shop.channel == "telegram":  # the refused album, then one photo at a time (then
        # the order card, edited: it offers Acknowledge too)
        assert [c.method for c in shop.api.sent_to(advisor.user_id)][-6:] == [
            "sendMediaGroup", "sendPhoto", "sendPhoto", "sendPhoto", "sendMessage",
            "editMessageText"]

    # Nobody acknowledged: the copy that goes wider says the same, and goes once.
    shop.advance(minutes=11)
    assert await fault_escalation.run(shop.services, shop.now()) == 1
    assert delivered_photos(shop, other) == ["hose-1"]
    copy = other.last
    assert "⏰ Not acknowledged for 11 minutes" in copy.text
    assert copy.text.endswith(TWO_NOT_SHOWN)
    assert copy.buttons == [("👌 Acknowledge", f"flt:{report.id}:ack")]
    assert len(cards_sent(shop, other)) == 1
    assert delivered_photos(shop, advisor) == ["hose-1"] and len(cards_sent(shop, advisor)) == 1
    assert await holders(shop, "fault_report", report.id) == sorted(  # type: ignore[arg-type]
        [advisor.staff_id, other.staff_id])
    assert await fault_escalation.run(shop.services, shop.now()) == 0

    assert (await other.tap("Acknowledge"))[0] == "Acknowledged. The technician has been told."
    assert (await _only_report(shop)).status == FaultStatus.acknowledged


async def test_an_extra_item_card_says_so_in_its_readers_language(shop: Shop) -> None:
    advisor = await shop.hire("刘顾问", Role.advisor, locale="zh_CN")
    other = await shop.hire("Chen Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    shop.refuse_photos("wiper-2")

    await ask_for_extra(tech, order_id, photos=("wiper-1", "wiper-2"))
    async with shop.db.session() as session:
        request = (await session.exec(select(ExtraItemRequest))).one()
    assert delivered_photos(shop, advisor) == ["wiper-1"]
    card = advisor.last
    assert card.text.endswith(ONE_NOT_SHOWN_ZH)
    assert [data for _, data in card.buttons] == [f"xtr:{request.id}:ok", f"xtr:{request.id}:no"]
    assert len(cards_sent(shop, advisor)) == 1
    assert await attachments(shop, "extra_item") == ["wiper-1", "wiper-2"]

    shop.advance(minutes=16)
    assert await extra_item_escalation.run(shop.services, shop.now()) == 1
    assert delivered_photos(shop, other) == ["wiper-1"]
    assert other.last.text.endswith(
        "⚠️ 1 photo could not be shown here; it is kept with the record.")
    assert [data for _, data in other.last.buttons] == [
        f"xtr:{request.id}:ok", f"xtr:{request.id}:no"]
    assert len(cards_sent(shop, advisor)) == 1 and len(cards_sent(shop, other)) == 1


async def test_only_refused_photos_still_bring_the_card(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await order_in_progress(shop, advisor, tech)
    shop.refuse_photos("only-1")

    await report_with_photos(tech, ("only-1",))
    assert delivered_photos(shop, advisor) == []
    assert advisor.last.text.endswith(
        "⚠️ 1 photo could not be shown here; it is kept with the record.")
    assert "Acknowledge" in advisor.last.buttons[0][0]


async def test_a_part_request_shown_again_from_the_list_says_so_too(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    clerk = await shop.hire("Wang Clerk", Role.parts_clerk)
    order_id = await order_in_progress(shop, advisor, tech)
    shop.refuse_photos("old-bad")
    await ask_for_part(tech, order_id, photos=("old-good", "old-bad"))
    assert delivered_photos(shop, clerk) == ["old-good"]
    assert clerk.last.text.startswith("🔩 Part request #1")
    assert clerk.last.text.endswith(
        "⚠️ 1 photo could not be shown here; it is kept with the record.")
    assert "prt:1:issue" in [data for _, data in clerk.last.buttons]

    await clerk.send("/parts")
    await clerk.tap("#1 04152-YZZA1")  # the list's button shows the card again, photos first
    assert delivered_photos(shop, clerk) == ["old-good", "old-good"]
    assert clerk.last.text.startswith("🔩 Part request #1")
    assert clerk.last.text.endswith(
        "⚠️ 1 photo could not be shown here; it is kept with the record.")
    assert "prt:1:issue" in [data for _, data in clerk.last.buttons]


@pytest.mark.telegram_only
async def test_a_card_kept_for_later_still_says_which_photos_were_refused(shop: Shop) -> None:
    """A photo refused for good and the card refused for now: the outbox sends the card later,
    with the note, and neither photo again."""
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await order_in_progress(shop, advisor, tech)
    shop.refuse_photos("bad-1")
    await tech.tap("Report unlisted fault")
    await tech.send(DESCRIPTION)
    await tech.send_photo("good-1")
    await tech.send_photo("bad-1")
    shop.api.limited_methods["sendMessage"] = 1  # the card: "too many requests, retry after 30"
    assert "Fault reported" in (await tech.tap("Done — send"))[-1]
    assert delivered_photos(shop, advisor) == ["good-1"]
    [kept] = await _kept(shop)
    assert kept.payload["photos"] == [] and kept.payload["photos_not_shown"] == 1

    shop.advance(seconds=31)
    assert await outbox_job.run(shop.services, shop.now()) == 1
    assert delivered_photos(shop, advisor) == ["good-1"]  # not again
    assert advisor.last.text.startswith("🔧 Unlisted fault")
    assert advisor.last.text.endswith(
        "⚠️ 1 photo could not be shown here; it is kept with the record.")
    assert len(cards_sent(shop, advisor)) == 1
    assert await _kept(shop) == []


async def _only_report(shop: Shop) -> FaultReport:
    async with shop.db.session() as session:
        return (await session.exec(select(FaultReport))).one()


async def _kept(shop: Any) -> list[OutboxMessage]:
    await shop.services.messenger.flush()
    async with shop.db.session() as session:
        return list((await session.exec(
            select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())
