"""W6: a technician requests a part; the parts clerks issue it old-for-new (以坏换新), mark it out
of stock (technician and advisor told) or decline it; the first decision wins. A lost or
deliberately damaged old part is a compensation entry the supervisors get; a part that does
not match goes back uninstalled; /parts lists what the counter has to do."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.i18n import Translator
from models.attachment import Attachment
from models.audit import AuditEvent
from models.card import CardMessage
from models.parts import PartCompensation, PartRequest, parts_summary
from models.staff import Role, Staff
from models.work_order import OrderItem, OrderStatus, WorkOrder
from tests.flows import open_order, order_in_progress
from tests.shop import Person, Shop

pytestmark = pytest.mark.both_channels


async def ask_for_part(
    tech: Person, order_id: int, *, item: str = "1. Change oil",
    part: str = "04152-YZZA1 oil filter", quantity: str = "2",
    photos: tuple[str, ...] = ("old-filter",), old_part: bool = True,
) -> list[str]:
    """The technician's whole request through chat; returns the last step's replies."""
    await tech.tap(data=f"ord:{order_id}:part")
    await tech.tap(item)
    await tech.send(part)
    await tech.send(quantity)
    for photo in photos:
        await tech.send_photo(photo)
    if photos:
        return await tech.tap("Send request")
    return await tech.tap("Skip photo" if old_part else "No old part")


async def requests(shop: Shop) -> list[PartRequest]:
    async with shop.db.session() as session:
        return list((await session.exec(select(PartRequest).order_by(col(PartRequest.id)))).all())


async def the_request(shop: Shop) -> PartRequest:
    (request,) = await requests(shop)
    return request


async def count(shop: Shop, model: type, *where: object) -> int:
    async with shop.db.session() as session:
        return len((await session.exec(select(model).where(*where))).all())  # type: ignore[call-overload]


async def audited(shop: Shop, action: str) -> int:
    return await count(shop, AuditEvent, AuditEvent.action == action)


async def cards_in_chats(shop: Shop, request_id: int) -> dict[int, tuple[str, list[str]]]:
    async with shop.db.session() as session:
        rows = (await session.exec(select(CardMessage).where(
            CardMessage.kind == "part_request", CardMessage.ref_id == request_id))).all()
    out = {}
    for row in rows:
        message = shop.api.messages[(row.chat_id, row.message_id)]
        out[row.chat_id] = (message.text, [data for _, data in message.buttons])
    return out


async def order_number(shop: Shop, order_id: int) -> str:
    async with shop.db.session() as session:
        order = await session.get(WorkOrder, order_id)
        assert order is not None
        return order.number


async def counter(shop: Shop) -> tuple[Person, Person, Person]:
    """An advisor, a technician with an order in progress, and a parts clerk."""
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    clerk = await shop.hire("Wang Clerk", Role.parts_clerk)
    return advisor, tech, clerk


async def test_request_reaches_every_clerk_and_is_issued_against_the_old_part(
        shop: Shop) -> None:
    advisor, tech, clerk = await counter(shop)
    other = await shop.hire("Zhao Clerk", Role.parts_clerk)
    order_id = await order_in_progress(shop, advisor, tech)
    number = await order_number(shop, order_id)

    assert "🔩 Request part" in [label for label, _ in tech.last.buttons]
    replies = await tech.tap("Request part")
    assert replies[-1] == f"{number}: request a part. Which item is it for? /cancel stops at " \
                          "any step."
    assert [label for label, _ in tech.last.buttons] == ["1. Change oil", "2. Replace filter"]
    assert (await tech.tap("2. Replace filter"))[-1].startswith("“Replace filter”: which part?")
    assert (await tech.send("04152-yzza1 oil filter"))[-1] == \
        "How many? A whole number from 1 to 99."
    assert (await tech.tap("2"))[-1].startswith("Send a photo of the old part")
    assert (await tech.send_photo("old-filter"))[-1] == \
        "1 photo kept. Send another, or tap “Send request”."
    replies = await tech.tap("Send request")
    assert replies[-1] == ("🔩 Request #1 sent to the parts counter: 04152-YZZA1 · oil filter "
                           "× 2 for “Replace filter”. You will be told when it is issued.")

    request = await the_request(shop)
    assert (request.part_number, request.part_name, request.quantity, request.status,
            request.old_part_expected) == ("04152-YZZA1", "oil filter", 2, "pending", True)
    for person in (clerk, other):
        text = person.last.text
        for part in (f"🔩 Part request #1 · {number} · 京A12345", "Vehicle: Toyota Camry",
                     "Technician: Zhang Tech", "Item: 2. Replace filter",
                     "Part: 04152-YZZA1 · oil filter", "Quantity: 2",
                     "Old part: 📷 1 photo of the old part", "Requested at 30 Nov 09:00"):
            assert part in text, part
        assert person.last.buttons == [("📤 Issue", "prt:1:issue"),
                                       ("📦 Out of stock", "prt:1:oos"),
                                       ("❌ Decline", "prt:1:decline")]
        assert shop.photos_to(person) == ["old-filter"]
    assert await audited(shop, "part.request") == 1

    shop.advance(minutes=5)
    replies = await clerk.tap("Issue")
    assert replies[-1] == (f"Issue #1 04152-YZZA1 · oil filter × 2 for {number}. Old-for-new: "
                           "what about the old part?")
    assert [label for label, _ in clerk.last.buttons] == [
        "♻️ Old part received", "⏳ Issue now, old part to follow",
        "🆕 No old part (new fitting or consumable)", "⚠️ Old part lost or damaged on purpose"]
    replies = await clerk.tap("Old part received")
    assert "📤 Issued #1: 04152-YZZA1 · oil filter × 2 (old part received). The technician has " \
           "been told." in replies
    for text, buttons in (await cards_in_chats(shop, request.id)).values():
        assert "📤 Issued by Wang Clerk at 30 Nov 09:05." in text
        assert "♻️ Old part received by Wang Clerk at 30 Nov 09:05." in text
        assert buttons == []
    assert tech.last.text == (f"📤 Part issued for {number}, item “2. Replace filter”: "
                              "04152-YZZA1 · oil filter × 2 (by Wang Clerk).")
    assert tech.last.buttons == [("↩️ Part does not match", "prt:1:ret")]
    request = await the_request(shop)
    assert (request.status, request.old_part, request.issued_by, request.issued_channel) == (
        "issued", "received", clerk.staff_id, shop.channel)
    assert await audited(shop, "part.issue") == 1
    assert not any("Part" in t for t in advisor.inbox[-1:])  # the advisor is not bothered

    # The stale card and a second tap learn who issued it.
    assert await other.tap_data("prt:1:issue", other.last) == [
        "Already issued by Wang Clerk at 30 Nov 09:05."]
    assert await other.tap_data("prt:1:decline", other.last) == [
        "Already issued by Wang Clerk at 30 Nov 09:05."]
    assert await audited(shop, "part.issue") == 1


async def test_settling_the_old_part_of_a_request_not_yet_issued_says_so(shop: Shop) -> None:
    """Found by probing: it answered "Already pending by ? at …"."""
    advisor, tech, clerk = await counter(shop)
    order_id = await order_in_progress(shop, advisor, tech)
    await ask_for_part(tech, order_id)
    request = await the_request(shop)
    for action in ("old", "lost"):
        assert await clerk.tap_data(f"prt:{request.id}:{action}", clerk.last) == [
            "This part has not been issued yet; the old part is settled once it is. Nothing "
            "was changed."]
    assert (await the_request(shop)).status == "pending"


async def test_out_of_stock_tells_technician_and_advisor_then_issue_old_part_later(
        shop: Shop) -> None:
    advisor, tech, clerk = await counter(shop)
    order_id = await order_in_progress(shop, advisor, tech)
    number = await order_number(shop, order_id)
    await ask_for_part(tech, order_id, part="刹车片", quantity="1", photos=())
    assert "Old part: no photo" in clerk.last.text
    assert "Part: 刹车片" in clerk.last.text

    replies = await clerk.tap("Out of stock")
    assert replies[-1].startswith(f"#1 刹车片 × 1 for {number} is out of stock. When is it "
                                  "expected?")
    assert await clerk.send("next week") == ["Please send a date like 2026-12-01."]
    assert await clerk.send("2026-11-29") == ["That date has passed; please choose a later one."]
    assert await clerk.send("2026-02-30") == ["Please send a date like 2026-12-01."]
    replies = await clerk.send("2026-12-03")
    assert replies[-1] == ("📦 #1 刹车片 marked out of stock, expected 3 Dec 2026. The technician "
                           "and the advisor have been told.")
    told = (f"📦 Part out of stock for {number} (京A12345), item “1. Change oil”: 刹车片 × 1. "
            "Expected 3 Dec 2026 (parts clerk Wang Clerk).")
    assert tech.last.text == told
    assert advisor.last.text == told
    text, buttons = (await cards_in_chats(shop, 1))[clerk.user_id]
    assert "📦 Out of stock (Wang Clerk, 30 Nov 09:00); expected 3 Dec 2026." in text
    assert buttons == ["prt:1:issue", "prt:1:decline"]
    assert await clerk.tap_data("prt:1:oos", clerk.last) == [
        "Already marked out of stock by Wang Clerk at 30 Nov 09:00."]

    shop.advance(days=3)
    await clerk.tap("Issue")
    replies = await clerk.tap("Issue now, old part to follow")
    assert replies[-1].startswith("📤 Issued #1: 刹车片 × 1 (old part still to be handed in).")
    assert tech.last.text.endswith("\nHand the old part in at the parts counter.")
    text, buttons = (await cards_in_chats(shop, 1))[clerk.user_id]
    assert "⏳ Old part not handed in yet." in text
    assert buttons == ["prt:1:old", "prt:1:lost"]
    request = await the_request(shop)
    assert (request.status, request.old_part, request.old_part_at) == ("issued", "awaiting", None)

    shop.advance(hours=2)
    replies = await clerk.tap("Old part received")
    assert replies[0] == "♻️ Old part received: #1 刹车片."  # at once, then the redraw
    text, buttons = (await cards_in_chats(shop, 1))[clerk.user_id]
    assert "♻️ Old part received by Wang Clerk at 3 Dec 11:00." in text and buttons == []
    assert (await clerk.tap_data("prt:1:old", clerk.last))[-1].startswith(
        "The old part was already settled by Wang Clerk at 3 Dec 11:00: old part received.")
    assert await audited(shop, "part.old_part") == 1
    assert [e for e in ("part.request", "part.out_of_stock", "part.issue")
            if not await audited(shop, e)] == []


async def test_decline_with_a_reason_and_a_new_request_can_follow(shop: Shop) -> None:
    advisor, tech, clerk = await counter(shop)
    order_id = await order_in_progress(shop, advisor, tech)
    number = await order_number(shop, order_id)
    await ask_for_part(tech, order_id)
    replies = await clerk.tap("Decline")
    assert replies[-1] == (f"Decline #1 04152-YZZA1 · oil filter × 2 for {number}. Why? The "
                           "technician reads your reason.")
    assert await clerk.send("   ") == ["Please send some text."]
    assert "at most 1000" in (await clerk.send("x" * 1001))[-1]
    replies = await clerk.send("Use the filter from the service kit")
    assert replies[-1] == "❌ Declined #1 04152-YZZA1 · oil filter. The technician has been told."
    assert tech.last.text == (f"❌ Part request declined for {number}, item “1. Change oil”: "
                              "04152-YZZA1 · oil filter × 2 — Wang Clerk: Use the filter from "
                              "the service kit")
    text, buttons = (await cards_in_chats(shop, 1))[clerk.user_id]
    assert "❌ Declined by Wang Clerk at 30 Nov 09:00: Use the filter from the service kit" in text
    assert buttons == []
    # The technician asks again straight from the answer.
    await tech.tap("Request part")
    await tech.tap("1. Change oil")
    await tech.send("90915-YZZE1")
    await tech.send("1")
    await tech.tap("No old part")
    first, second = await requests(shop)
    assert (first.status, first.decline_reason) == ("declined",
                                                    "Use the filter from the service kit")
    assert (second.status, second.part_number, second.part_name, second.old_part_expected) == (
        "pending", "90915-YZZE1", None, False)
    assert "Old part: none, says the technician (new fitting or consumable)" in clerk.last.text
    await clerk.tap("Issue")
    assert "The technician says there is no old part." in clerk.last.text
    await clerk.tap("No old part (new fitting")
    assert (await requests(shop))[1].old_part == "none"
    text, _buttons = (await cards_in_chats(shop, 2))[clerk.user_id]
    assert "🆕 No old part (new fitting or consumable)." in text


async def test_lost_old_part_is_a_compensation_entry_for_the_supervisors(shop: Shop) -> None:
    advisor, tech, clerk = await counter(shop)
    boss = await shop.hire("Sun Supervisor", Role.supervisor)
    boss2 = await shop.hire("Qian Supervisor", Role.supervisor)
    order_id = await order_in_progress(shop, advisor, tech)
    number = await order_number(shop, order_id)
    await ask_for_part(tech, order_id, quantity="1")
    await clerk.tap("Issue")
    replies = await clerk.tap("Old part lost or damaged on purpose")
    assert replies[-1] == "How much must be made good for the old part, in yuan (e.g. 80)?"
    for nonsense in ("abc", "0", "-5", "12.345", "99999999"):
        assert await clerk.send(nonsense) == [
            "Please send the amount in yuan, e.g. “80” or “80.50”."], nonsense
    assert (await clerk.send("¥80.5"))[-1] == (
        "¥80.50: does the technician replace the part or pay the amount?")
    assert await count(shop, PartCompensation) == 0
    assert (await the_request(shop)).status == "pending"
    replies = await clerk.tap("Pay the amount")
    assert replies[-1].startswith("📤 Issued #1: 04152-YZZA1 · oil filter × 1 (old part lost or "
                                  "damaged on purpose).")
    entry = (await _compensations(shop))[0]
    assert (entry.technician_id, entry.amount_fen, entry.settlement, entry.recorded_by,
            entry.part) == (tech.staff_id, 8050, "pay", clerk.staff_id,
                            "04152-YZZA1 · oil filter")
    for supervisor in (boss, boss2):
        text = supervisor.last.text
        for part in ("⚠️ Compensation entry: old part lost or damaged on purpose",
                     "Technician: Zhang Tech", "Part: 04152-YZZA1 · oil filter × 1",
                     f"Order: {number} · 京A12345", "Amount: ¥80.50 — pay the amount",
                     "Recorded by Wang Clerk at 30 Nov 09:00"):
            assert part in text, part
    assert tech.last.text.endswith("\nA compensation entry was recorded: pay the amount, "
                                   "¥80.50.")
    text, _buttons = (await cards_in_chats(shop, 1))[clerk.user_id]
    assert ("⚠️ Old part lost or damaged on purpose (Wang Clerk, 30 Nov 09:00): Zhang Tech to "
            "pay the amount, ¥80.50.") in text
    assert await audited(shop, "part.compensation") == 1


async def _compensations(shop: Shop) -> list[PartCompensation]:
    async with shop.db.session() as session:
        return list((await session.exec(select(PartCompensation))).all())


async def test_old_part_that_never_came_is_written_off_from_the_list(shop: Shop) -> None:
    advisor, tech, clerk = await counter(shop)
    boss = await shop.hire("Sun Supervisor", Role.supervisor)
    order_id = await order_in_progress(shop, advisor, tech)
    await ask_for_part(tech, order_id)
    await clerk.tap("Issue")
    await clerk.tap("Issue now, old part to follow")
    shop.advance(days=1)
    replies = await clerk.send("/parts")
    assert "♻️ 1 old part still to be handed in:" in replies[-1]
    await clerk.tap("#1 04152-YZZA1")  # the list's button shows the card again
    assert clerk.last.buttons == [("♻️ Old part received", "prt:1:old"),
                                  ("⚠️ Old part lost or damaged", "prt:1:lost")]
    replies = await clerk.tap("Old part lost or damaged")
    assert replies[-1].endswith("the old part is lost or damaged on purpose. How much must be "
                                "made good, in yuan (e.g. 80)?")
    await clerk.send("120")
    replies = await clerk.tap("Replace the part")
    assert replies[-1] == ("⚠️ #1 04152-YZZA1 · oil filter: the old part is written off as lost; "
                           "the supervisors have the compensation entry.")
    assert "Amount: ¥120.00 — replace the part" in boss.last.text
    assert "written off as lost by Wang Clerk" in tech.last.text
    for text, buttons in (await cards_in_chats(shop, 1)).values():
        assert "Zhang Tech to replace the part, ¥120.00." in text and buttons == []
    request = await the_request(shop)
    assert (request.old_part, request.old_part_by) == ("lost", clerk.staff_id)
    assert "♻️ No old parts outstanding." in (await clerk.send("/parts"))[-1]
    # The supervisor's /parts is the month's compensation register.
    replies = await boss.send("/parts")
    assert replies[-1].startswith("⚠️ 1 compensation entry this month, ¥120.00 in all:")
    assert "Zhang Tech · 04152-YZZA1 · oil filter · ¥120.00 — replace the part" in replies[-1]
    # Written off once: the received button on an old copy is refused.
    assert (await clerk.tap_data("prt:1:old", clerk.last))[-1].startswith(
        "The old part was already settled by Wang Clerk")


async def test_two_clerks_issue_at_the_same_moment(shop: Shop) -> None:
    advisor, tech, clerk = await counter(shop)
    other = await shop.hire("Zhao Clerk", Role.parts_clerk)
    order_id = await order_in_progress(shop, advisor, tech)
    await ask_for_part(tech, order_id)
    await clerk.tap("Issue")
    await other.tap("Issue")
    first, second = await asyncio.gather(clerk.tap("Old part received"),
                                         other.tap("No old part (new fitting"))
    request = await the_request(shop)
    assert request.status == "issued"
    assert await audited(shop, "part.issue") == 1
    winner, loser, lost = ((clerk, other, second) if request.issued_by == clerk.staff_id
                           else (other, clerk, first))
    assert f"Already issued by {winner.name} at 30 Nov 09:00." in lost
    assert loser.last.text == f"Already issued by {winner.name} at 30 Nov 09:00."
    outcome = "received" if winner is clerk else "none"
    assert request.old_part == outcome
    for text, buttons in (await cards_in_chats(shop, request.id)).values():
        assert f"📤 Issued by {winner.name} at 30 Nov 09:00." in text and buttons == []
    assert sum("Part issued for" in t for t in tech.inbox) == 1


async def test_a_reason_typed_after_someone_else_decided(shop: Shop) -> None:
    advisor, tech, clerk = await counter(shop)
    other = await shop.hire("Zhao Clerk", Role.parts_clerk)
    order_id = await order_in_progress(shop, advisor, tech)
    await ask_for_part(tech, order_id)
    await clerk.tap("Decline")
    question = clerk.last
    shop.advance(minutes=2)
    await other.tap("Issue")
    await other.tap("Old part received")
    # The clerk's question says at once that the step is over (handlers/chat/deciding.py) …
    at = Translator("en", shop.settings.tz, shop.now()).time(shop.now())
    issued = f"Already issued by Zhao Clerk at {at}."
    assert question.text.endswith(f"\n\n⏹ {issued} This step has ended; nothing you entered in "
                                  "it was saved.")
    # … and what they type next is not taken as a reason.
    assert await clerk.send("We have no such filter") == [issued]
    request = await the_request(shop)
    assert (request.status, request.decline_reason) == ("issued", None)
    assert await audited(shop, "part.decline") == 0
    assert not any("declined" in t for t in tech.inbox)
    # The clerk's conversation is over: the next message is not taken as a reason.
    assert await clerk.send("/cancel") == ["There is nothing to cancel."]


async def test_issue_and_out_of_stock_race(shop: Shop) -> None:
    advisor, tech, clerk = await counter(shop)
    other = await shop.hire("Zhao Clerk", Role.parts_clerk)
    order_id = await order_in_progress(shop, advisor, tech)
    await ask_for_part(tech, order_id)
    await clerk.tap("Issue")
    await other.tap("Out of stock")
    await asyncio.gather(clerk.tap("Old part received"), other.tap("Tomorrow"))
    request = await the_request(shop)
    # Out of stock only moves a pending request; issuing also takes one out of stock. Either
    # way round the part ends up issued, once; "out of stock" is recorded only if it came
    # first, and then the technician hears both.
    assert (request.status, request.issued_by) == ("issued", clerk.staff_id)
    assert await audited(shop, "part.issue") == 1
    stock = await audited(shop, "part.out_of_stock")
    assert stock == (1 if request.stock_at is not None else 0)
    assert sum("Part issued for" in t for t in tech.inbox) == 1
    assert sum("Part out of stock for" in t for t in tech.inbox) == stock
    if not stock:
        assert other.last.text == "Already issued by Wang Clerk at 30 Nov 09:00."


async def test_only_clerks_decide(shop: Shop) -> None:
    advisor, tech, clerk = await counter(shop)
    helper = await shop.hire("Zhao Clerk", Role.parts_clerk)
    order_id = await order_in_progress(shop, advisor, tech)
    await ask_for_part(tech, order_id)
    refused = "Only parts clerks can do this; nothing was changed."
    for person in (tech, advisor):
        for data in ("prt:1:issue", "prt:1:oos", "prt:1:decline", "prt:1:i:received",
                     "prt:1:i:lost", "prt:1:eta:tomorrow", "prt:1:pay:pay", "prt:1:old",
                     "prt:1:lost", "prt:1:show"):
            assert await person.tap_data(data, person.last) == [refused], (person.name, data)
        assert await person.send("/parts") == [refused]
    # A clerk who moved to another job is no clerk any more.
    async with shop.db.session() as session:
        staff = await session.get(Staff, clerk.staff_id)
        assert staff is not None
        staff.roles = ",technician,"
        await session.commit()
    assert await clerk.tap_data("prt:1:issue", clerk.last) == [refused]
    assert (await the_request(shop)).status == "pending"
    assert await audited(shop, "part.issue") == 0
    # A forged decision button with no question open is dead even for a clerk.
    assert await helper.tap_data("prt:1:i:received", helper.last) == [
        "This button is no longer active."]
    assert (await the_request(shop)).status == "pending"
    # A request that does not exist.
    assert await helper.tap_data("prt:99:issue", helper.last) == [
        "That part request no longer exists."]


async def test_bad_input_while_requesting(shop: Shop) -> None:
    advisor, tech, _clerk = await counter(shop)
    order_id = await order_in_progress(shop, advisor, tech)
    other_order = await order_in_progress(shop, advisor, tech)
    await tech.tap(data=f"ord:{order_id}:part")
    assert "not what this step needs" in (await tech.send("Change oil"))[-1]  # a button is due
    async with shop.db.session() as session:
        foreign = (await session.exec(select(OrderItem).where(
            OrderItem.order_id == other_order))).first()
    assert foreign is not None
    replies = await tech.tap_data(f"pr:item:{foreign.id}", tech.last)
    assert "not part of this step" in replies[-1]
    await tech.tap("1. Change oil")
    assert "not what this step needs" in (await tech.send_photo("too-early"))[-1]
    assert await tech.send("   ") == ["Please send some text."]
    assert "at most 200" in (await tech.send("y" * 201))[-1]
    await tech.send("机油滤清器")
    for nonsense, answer in (
        ("0", "The quantity must be at least 1."),
        ("10000", "At most 99 at a time; please check the quantity."),
        ("100", "At most 99 at a time; please check the quantity."),
        ("abc", "Please send the quantity as a whole number from 1 to 99."),
        ("-1", "Please send the quantity as a whole number from 1 to 99."),
        ("1.5", "Please send the quantity as a whole number from 1 to 99."),
    ):
        assert await tech.send(nonsense) == [answer], nonsense
    assert (await tech.send("3个"))[-1].startswith("Send a photo of the old part")
    assert (await tech.send("here it is"))[-1].startswith("This step takes a photo of the old "
                                                          "part, or one of the buttons.")
    for n in range(1, 6):
        await tech.send_photo(f"old-{n}")
    assert await tech.send_photo("old-6") == ["That is enough photos. Tap “Send request”."]
    assert await count(shop, PartRequest) == 0
    await tech.tap("Send request")
    request = await the_request(shop)
    assert (request.part_number, request.part_name, request.quantity) == (None, "机油滤清器", 3)
    async with shop.db.session() as session:
        photos = (await session.exec(select(Attachment).where(
            Attachment.owner == "part_request"))).all()
    assert [p.file_id for p in photos] == [f"old-{n}" for n in range(1, 6)]


async def test_only_the_orders_technician_and_only_in_progress(shop: Shop) -> None:
    advisor, tech, _clerk = await counter(shop)
    stranger = await shop.hire("Li Tech", Role.technician)
    await stranger.send("/orders")  # something in the chat to tap on
    waiting = await open_order(shop, advisor, tech)  # plate not checked yet
    number = await order_number(shop, waiting)
    assert await tech.tap_data(f"ord:{waiting}:part", tech.last) == [
        "This cannot be done now: the order is waiting for the plate check."]
    order_id = await order_in_progress(shop, advisor, tech)
    number = await order_number(shop, order_id)
    assert await stranger.tap_data(f"ord:{order_id}:part", stranger.last) == [
        f"Order {number} is not assigned to you; nothing was changed."]
    await tech.tap("Done: 1.")
    await tech.tap("Done: 2.")
    assert await tech.tap_data(f"ord:{order_id}:part", tech.last) == [
        f"Order {number} has no open item to request a part for."]
    assert await count(shop, PartRequest) == 0


async def test_cancel_at_every_step_saves_nothing(shop: Shop) -> None:
    advisor, tech, clerk = await counter(shop)
    order_id = await order_in_progress(shop, advisor, tech)
    steps = [lambda: tech.tap("1. Change oil"), lambda: tech.send("oil filter"),
             lambda: tech.send("1"), lambda: tech.send_photo("old")]
    for depth in range(len(steps) + 1):
        await tech.tap(data=f"ord:{order_id}:part")
        for step in steps[:depth]:
            await step()
        assert await tech.send("/cancel") == ["Cancelled. Nothing was saved."]
    assert await count(shop, PartRequest) == 0
    assert await count(shop, Attachment, Attachment.owner == "part_request") == 0

    await ask_for_part(tech, order_id)
    for way in ("Issue", "Out of stock", "Decline"):
        await clerk.tap(way, message=(await _card(shop, clerk)))
        assert await clerk.send("/cancel") == ["Cancelled. Nothing was saved."]
    await clerk.tap("Issue", message=(await _card(shop, clerk)))
    await clerk.tap("Old part lost or damaged on purpose")
    assert await clerk.send("/cancel") == ["Cancelled. Nothing was saved."]
    await clerk.tap("Issue", message=(await _card(shop, clerk)))
    await clerk.tap("Old part lost or damaged on purpose")
    await clerk.send("80")
    assert await clerk.send("/cancel") == ["Cancelled. Nothing was saved."]
    # The old question is dead; the card still works.
    assert await clerk.tap("Pay the amount") == ["This button is no longer active."]
    assert await clerk.tap("Old part received") == ["This button is no longer active."]
    assert (await the_request(shop)).status == "pending"
    assert await count(shop, PartCompensation) == 0
    assert await audited(shop, "part.issue") == 0
    await clerk.tap("Issue", message=(await _card(shop, clerk)))
    await clerk.tap("Old part received")
    assert (await the_request(shop)).status == "issued"

    # The return conversation too.
    for depth in range(3):
        await tech.tap(data="prt:1:ret")
        if depth >= 1:
            await tech.send("Wrong thread size")
        if depth >= 2:
            await tech.send_photo("wrong-part")
        assert await tech.send("/cancel") == ["Cancelled. Nothing was saved."]
    assert (await the_request(shop)).status == "issued"
    assert await count(shop, Attachment, Attachment.owner == "part_return") == 0


async def _card(shop: Shop, person: Person) -> object:
    """The person's copy of request #1's card."""
    async with shop.db.session() as session:
        row = (await session.exec(select(CardMessage).where(
            CardMessage.kind == "part_request", CardMessage.staff_id == person.staff_id,
            CardMessage.ref_id == 1))).first()
    assert row is not None
    return shop.api.messages[(row.chat_id, row.message_id)]


async def test_conversations_survive_a_restart(shop: Shop) -> None:
    advisor, tech, clerk = await counter(shop)
    order_id = await order_in_progress(shop, advisor, tech)
    await tech.tap(data=f"ord:{order_id}:part")
    await shop.restart()
    await tech.tap("2. Replace filter")
    await tech.send("oil filter")
    await shop.restart()
    await tech.send("1")
    await tech.send_photo("old-filter")
    await shop.restart()
    await tech.tap("Send request")
    request = await the_request(shop)
    assert (request.part_name, request.quantity) == ("oil filter", 1)
    assert await count(shop, Attachment, Attachment.owner == "part_request") == 1

    await clerk.tap("Issue")
    await shop.restart()
    await clerk.tap("Old part lost or damaged on purpose")
    await shop.restart()
    await clerk.send("45")
    await shop.restart()
    await clerk.tap("Replace the part")
    request = await the_request(shop)
    assert (request.status, request.old_part) == ("issued", "lost")
    assert (await _compensations(shop))[0].amount_fen == 4500

    await tech.tap("Part does not match")
    await shop.restart()
    await tech.send("Wrong connector")
    await shop.restart()
    await tech.send_photo("wrong-1")
    await shop.restart()
    await tech.tap("Send return")
    request = await the_request(shop)
    assert (request.status, request.return_reason) == ("returned", "Wrong connector")


async def test_part_that_does_not_match_goes_back_uninstalled(shop: Shop) -> None:
    advisor, tech, clerk = await counter(shop)
    other = await shop.hire("Zhao Clerk", Role.parts_clerk)
    stranger = await shop.hire("Li Tech", Role.technician)
    await stranger.send("/orders")  # something in the chat to tap on
    order_id = await order_in_progress(shop, advisor, tech)
    number = await order_number(shop, order_id)
    await ask_for_part(tech, order_id)
    # Not issued yet: nothing to return.
    assert await tech.tap_data("prt:1:ret", tech.last) == [
        "This part has not been issued; only an issued part can be returned."]
    await clerk.tap("Issue")
    await clerk.tap("Old part received")
    assert await stranger.tap_data("prt:1:ret", stranger.last) == [
        f"Order {number} is not assigned to you; nothing was changed."]

    shop.advance(minutes=30)
    replies = await tech.tap("Part does not match")
    assert replies[-1] == ("Return #1 04152-YZZA1 · oil filter uninstalled. Why does it not "
                           "match (e.g. “wrong connector”)? /cancel stops.")
    assert "not what this step needs" in (await tech.send_photo("too-early"))[-1]
    assert await tech.send(" ") == ["Please send some text."]
    assert (await tech.send("Thread is M16, the car needs M20"))[-1].startswith(
        "Send a photo of the part as it was issued")
    assert (await tech.tap("Send return"))[-1] == "Please send a photo of the part first."
    assert (await tech.send("no photo"))[-1].startswith("This step takes photos of the part.")
    assert (await the_request(shop)).status == "issued"
    assert (await tech.send_photo("wrong-part"))[-1] == \
        "1 photo kept. Send another, or tap “Send return”."
    replies = await tech.tap("Send return")
    assert replies[-1] == ("↩️ Return of #1 04152-YZZA1 · oil filter recorded: it goes back to "
                           "the parts counter uninstalled. Need a different part? Request it "
                           "below.")
    request = await the_request(shop)
    assert (request.status, request.returned_by, request.return_reason) == (
        "returned", tech.staff_id, "Thread is M16, the car needs M20")
    for person in (clerk, other):
        text = person.last.text
        for part in ("↩️ Part returned uninstalled — it does not match",
                     f"#1 04152-YZZA1 · oil filter × 2 · {number} · 京A12345",
                     "Technician: Zhang Tech", "Issued by Wang Clerk at 30 Nov 09:00",
                     "Reason: Thread is M16, the car needs M20",
                     "Nothing was installed; please take the part back."):
            assert part in text, part
        assert shop.photos_to(person)[-1] == "wrong-part"
    for text, buttons in (await cards_in_chats(shop, 1)).values():
        assert ("↩️ Returned uninstalled by Zhang Tech at 30 Nov 09:30 — does not match: Thread "
                "is M16, the car needs M20") in text
        assert buttons == []
    assert await audited(shop, "part.return") == 1
    # Returned once; the old button says so.
    assert await tech.tap_data("prt:1:ret", tech.last) == [
        "Already returned uninstalled by Zhang Tech at 30 Nov 09:30."]
    # A new request follows from the answer.
    await tech.tap("Request part")
    await tech.tap("1. Change oil")
    await tech.send("04152-YZZA2 oil filter M20")
    await tech.send("2")
    await tech.tap("Skip photo")
    assert [r.status for r in await requests(shop)] == ["returned", "pending"]
    # Nothing was installed: the item is still open.
    async with shop.db.session() as session:
        item = await session.get(OrderItem, request.item_id)
    assert item is not None and item.status == "open"


async def test_the_parts_list(shop: Shop) -> None:
    advisor, tech, clerk = await counter(shop)
    order_id = await order_in_progress(shop, advisor, tech)
    number = await order_number(shop, order_id)
    assert await clerk.send("/parts") == ["📋 No open part requests.", "📤 Nothing issued today.",
                                          "♻️ No old parts outstanding."]
    await ask_for_part(tech, order_id, part="A-1001 wiper", photos=())  # #1
    shop.advance(minutes=10)
    await ask_for_part(tech, order_id, part="B-2002 bulb", photos=())  # #2
    shop.advance(minutes=10)
    await ask_for_part(tech, order_id, part="C-3003 fuse", photos=())  # #3
    await clerk.tap("Issue", message=await _card_of(shop, clerk, 1))
    await clerk.tap("Issue now, old part to follow")
    await clerk.tap("Out of stock", message=await _card_of(shop, clerk, 3))
    await clerk.send("2026-12-04")
    replies = await clerk.send("/parts")
    open_list, issued, awaiting = replies[-3:]
    assert open_list.splitlines() == [
        "📋 2 open part requests (oldest first):",
        f"#2 30 Nov 09:10 · {number} · B-2002 · bulb × 2 · Zhang Tech",
        f"#3 30 Nov 09:20 · {number} · C-3003 · fuse × 2 · Zhang Tech · 📦 expected 4 Dec 2026",
    ]
    assert issued.splitlines()[0] == "📤 1 part issued today:"
    assert awaiting.splitlines() == [
        "♻️ 1 old part still to be handed in:",
        f"#1 30 Nov 09:00 · {number} · A-1001 · wiper × 2 · Zhang Tech"]
    await clerk.tap("#2 B-2002")
    assert clerk.last.text.startswith("🔩 Part request #2")
    assert [d for _, d in clerk.last.buttons] == ["prt:2:issue", "prt:2:oos", "prt:2:decline"]
    await clerk.tap("Decline")
    await clerk.send("Not needed")
    # The shown copy is a card like the others: the decision redrew it.
    text, buttons = (await cards_in_chats(shop, 2))[clerk.user_id]
    assert "❌ Declined by Wang Clerk" in text and buttons == []
    # Tomorrow: nothing issued "today", the old part still outstanding.
    shop.advance(days=1)
    replies = await clerk.send("/parts")
    assert replies[-2] == "📤 Nothing issued today."
    assert replies[-3].splitlines()[0] == "📋 1 open part request (oldest first):"
    assert replies[-1].splitlines()[0] == "♻️ 1 old part still to be handed in:"


async def _card_of(shop: Shop, person: Person, request_id: int) -> object:
    async with shop.db.session() as session:
        row = (await session.exec(select(CardMessage).where(
            CardMessage.kind == "part_request", CardMessage.staff_id == person.staff_id,
            CardMessage.ref_id == request_id))).first()
    assert row is not None
    return shop.api.messages[(row.chat_id, row.message_id)]


async def test_clerk_cannot_act_on_a_closed_order(shop: Shop) -> None:
    advisor, tech, clerk = await counter(shop)
    order_id = await order_in_progress(shop, advisor, tech)
    await ask_for_part(tech, order_id)
    await clerk.tap("Issue")  # the question is open when the order is cancelled
    async with shop.db.session() as session:
        order = await session.get(WorkOrder, order_id)
        assert order is not None
        order.status = OrderStatus.cancelled
        number = order.number
        await session.commit()
    closed = f"Order {number} is closed; nothing was changed."
    assert closed in await clerk.tap("Old part received")
    assert await clerk.tap("Out of stock") == [closed]
    assert (await the_request(shop)).status == "pending"


@pytest.mark.telegram_only
async def test_no_clerk_in_chat(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await shop.hire("Unbound Clerk", Role.parts_clerk, bind=False)
    order_id = await order_in_progress(shop, advisor, tech)
    replies = await ask_for_part(tech, order_id, photos=())
    assert replies[-1] == ("🔩 Request #1 saved: 04152-YZZA1 · oil filter × 2 for “Change oil”. "
                           "No parts clerk could be reached in chat; please tell the parts "
                           "counter.")
    assert (await the_request(shop)).status == "pending"


async def test_parts_summary_for_the_monthly_report(shop: Shop) -> None:
    advisor, tech, clerk = await counter(shop)
    start = shop.now()
    order_id = await order_in_progress(shop, advisor, tech)
    for part in ("A-1001 wiper", "B-2002 bulb", "C-3003 fuse", "D-4004 belt"):
        await ask_for_part(tech, order_id, part=part, photos=())
    await clerk.tap("Issue", message=await _card_of(shop, clerk, 1))
    await clerk.tap("Old part received")
    await clerk.tap("Issue", message=await _card_of(shop, clerk, 2))
    await clerk.tap("Old part lost or damaged on purpose")
    await clerk.send("30")
    await clerk.tap("Pay the amount")
    await clerk.tap("Out of stock", message=await _card_of(shop, clerk, 3))
    await clerk.tap("Tomorrow")
    await clerk.tap("Decline", message=await _card_of(shop, clerk, 4))
    await clerk.send("Wrong part family")
    await tech.tap(data="prt:1:ret")
    await tech.send("Too short")
    await tech.send_photo("short")
    await tech.tap("Send return")
    async with shop.db.session() as session:
        summary = await parts_summary(session, start=start, end=shop.now() + timedelta(seconds=1))
        before = await parts_summary(session, start=start - timedelta(days=1), end=start)
    assert (summary.requests, summary.issued, summary.out_of_stock, summary.declined,
            summary.returned, summary.compensations, summary.compensation_fen) == (
        4, 2, 1, 1, 1, 1, 3000)
    assert (before.requests, before.compensations, before.compensation_fen) == (0, 0, 0)
    request = (await requests(shop))[2]
    assert request.expected_on is not None and request.expected_on.isoformat() == "2026-12-01"
