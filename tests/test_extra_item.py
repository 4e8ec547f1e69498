"""W5 "request extra item": the technician asks, an advisor approves (with the customer's
consent) or rejects (with a reason), the first decision wins, and undecided requests go to the
other on-duty advisors after 15 minutes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import col, select

import jobs.extra_item_escalation
from models.attachment import Attachment
from models.audit import AuditEvent
from models.card import CardMessage
from models.extra_item import ExtraItemRequest
from models.staff import Role, Staff
from models.work_order import OrderItem, OrderStatus, WorkOrder
from tests.flows import order_in_progress, self_check
from tests.shop import Person, Shop

pytestmark = pytest.mark.both_channels


async def ask_for_extra(
    tech: Person, order_id: int, *, description: str = "Replace wiper blades",
    reason: str = "Both blades are torn and smear the screen", photos: tuple[str, ...] = (),
    estimate: str | None = "300 150",
) -> list[str]:
    """The technician's whole request through chat; returns the last step's replies."""
    await tech.tap(data=f"ord:{order_id}:extra")
    await tech.send(description)
    await tech.send(reason)
    for photo in photos:
        await tech.send_photo(photo)
    await tech.tap("Continue" if photos else "Skip")
    if estimate is None:
        return await tech.tap("Skip")
    return await tech.send(estimate)


async def the_request(shop: Shop) -> ExtraItemRequest:
    async with shop.db.session() as session:
        return (await session.exec(select(ExtraItemRequest))).one()


async def count(shop: Shop, model: type, *where: object) -> int:
    async with shop.db.session() as session:
        return len((await session.exec(select(model).where(*where))).all())  # type: ignore[call-overload]


async def decisions_audited(shop: Shop) -> int:
    return await count(shop, AuditEvent, AuditEvent.action == "extra.decide")


async def escalate(shop: Shop) -> int:
    return await jobs.extra_item_escalation.run(shop.services, shop.now())


async def cards_in_chats(shop: Shop, request_id: int) -> dict[int, tuple[str, list[str]]]:
    async with shop.db.session() as session:
        rows = (await session.exec(select(CardMessage).where(
            CardMessage.kind == "extra_item", CardMessage.ref_id == request_id))).all()
    out = {}
    for row in rows:
        message = shop.api.messages[(row.chat_id, row.message_id)]
        out[row.chat_id] = (message.text, [data for _, data in message.buttons])
    return out


async def set_duty(shop: Shop, person: Person, on_duty: bool) -> None:
    async with shop.db.session() as session:
        staff = await session.get(Staff, person.staff_id)
        assert staff is not None
        staff.on_duty = on_duty
        await session.commit()


async def test_request_reaches_the_advisor_as_a_card(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    replies = await ask_for_extra(tech, order_id, photos=("wiper-1", "wiper-2"))
    assert replies[0].startswith("⏳ “Replace wiper blades” was sent to the advisor and waits "
                                 "for approval.")
    card = tech.last
    assert "⏳ 3. [extra] Replace wiper blades (waiting for approval)" in card.text
    assert not [label for label, _ in card.buttons if "Done: 3." in label]

    request = await the_request(shop)
    async with shop.db.session() as session:
        order = await session.get(WorkOrder, order_id)
        photos = (await session.exec(select(Attachment).where(
            Attachment.owner == "extra_item"))).all()
    assert order is not None
    assert (request.parts_fen, request.labour_fen, request.status) == (30000, 15000, "pending")
    assert [p.file_id for p in photos] == ["wiper-1", "wiper-2"]
    text = advisor.last.text
    for part in (order.number, "Plate: 京A12345 · Toyota Camry", "Technician: Zhang Tech",
                 "Item: Replace wiper blades", "Reason: Both blades are torn",
                 "Estimate: parts ¥300.00, labour ¥150.00", "at 30 Nov 09:00"):
        assert part in text, part
    assert advisor.last.buttons == [("✅ Approve", f"xtr:{request.id}:ok"),
                                    ("❌ Reject", f"xtr:{request.id}:no")]
    album = ["sendMediaGroup"] if shop.channel == "telegram" else ["sendPhoto", "sendPhoto"]
    sent = [c.method for c in shop.api.sent_to(advisor.user_id)][-len(album) - 1:]
    assert sent == [*album, "sendMessage"]  # the photos, then the card

    # A pending item cannot be done, even with a forged button, and blocks the self-check.
    async with shop.db.session() as session:
        item = await session.get(OrderItem, request.item_id)
    assert item is not None and item.status == "pending"
    replies = await tech.tap_data(f"itm:{item.id}:done", tech.last)
    assert replies == ["“Replace wiper blades” is waiting for the advisor's approval and "
                       "cannot be marked done yet."]
    await tech.tap("Done: 1.")
    await tech.tap("Done: 2.")
    assert await tech.tap("Self-check and hand over") == [
        "1 item is still open; finish it before the self-check."]


async def test_approve_by_phone_after_escalation(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    other = await shop.hire("Chen Advisor", Role.advisor)
    away = await shop.hire("Off Advisor", Role.advisor)
    await set_duty(shop, away, False)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    await ask_for_extra(tech, order_id, photos=("wiper-1",), estimate=None)
    request = await the_request(shop)
    assert "Estimate: none given" in advisor.last.text

    shop.advance(minutes=14)
    assert await escalate(shop) == 0
    assert not other.inbox
    shop.advance(minutes=2)
    assert await escalate(shop) == 1
    assert "Item: Replace wiper blades" in other.last.text
    # How long it waited and whose customer it is; the order's advisor is told it went wider.
    assert "⏰ Not decided for 16 minutes; sent to every advisor on duty." in other.last.text
    assert "👤 Liu Advisor's customer (the order's advisor)" in other.last.text
    assert other.last.buttons == [("✅ Approve", f"xtr:{request.id}:ok"),
                                  ("❌ Reject", f"xtr:{request.id}:no")]
    assert advisor.last.text.startswith("ℹ️ The extra item \"Replace wiper blades\" on ")
    assert "waited 16 minutes for a decision; it went to every advisor on duty" in \
        advisor.last.text
    assert [c.method for c in shop.api.sent_to(other.user_id)] == ["sendPhoto", "sendMessage"]
    assert not away.inbox  # off duty: not disturbed (see jobs/extra_item_escalation.py)
    # Running again sends nothing more, and the order's advisor never gets a second copy.
    shop.advance(minutes=1)
    calls = len(shop.api.calls)
    assert await escalate(shop) == 0
    assert len(shop.api.calls) == calls
    assert set(await cards_in_chats(shop, request.id)) == {advisor.user_id, other.user_id}
    assert sum("it went to every advisor on duty" in t for t in advisor.inbox) == 1  # once

    replies = await advisor.tap("Approve")
    assert replies == [f"{(await order_number(shop, order_id))}: approve “Replace wiper "
                       "blades”. How did the customer consent?"]
    labels = [label for label, _ in advisor.last.buttons]
    assert labels == ["📞 phone", "🤝 in person", "💬 WeChat", "✏️ other"]
    await advisor.tap("phone")
    assert advisor.last.text.startswith("✅ Approved: “Replace wiper blades”")
    assert advisor.last.buttons == []
    for text, buttons in (await cards_in_chats(shop, request.id)).values():
        assert "✅ Approved by Liu Advisor at 30 Nov 09:17 (consent: phone)" in text
        assert buttons == []
    assert any("was approved by Liu Advisor. You may start on it." in t for t in tech.inbox)
    assert "⬜ 3. [extra] Replace wiper blades" in tech.last.text
    request = await the_request(shop)
    assert (request.status, request.consent_method, request.decided_channel) == (
        "approved", "phone", shop.channel)
    assert await decisions_audited(shop) == 1

    replies = await tech.tap("Done: 3. Replace wiper")
    assert replies[0] == "Done: Replace wiper blades"
    assert "✅ 3. [extra] Replace wiper blades" in tech.last.text


async def order_number(shop: Shop, order_id: int) -> str:
    async with shop.db.session() as session:
        order = await session.get(WorkOrder, order_id)
        assert order is not None
        return order.number


async def test_other_consent_needs_a_note(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    await ask_for_extra(tech, order_id)
    await advisor.tap("Approve")
    assert "not what this step needs" in (await advisor.send("phone"))[-1]  # a button is due
    assert await advisor.tap("other") == ["How did the customer consent? A few words, please."]
    assert await advisor.send("   ") == ["Please send some text."]
    assert "not what this step needs" in (await advisor.send_photo("signature"))[-1]
    assert (await the_request(shop)).status == "pending"
    await advisor.send("His wife agreed at the counter")
    request = await the_request(shop)
    assert (request.status, request.consent_method, request.consent_note) == (
        "approved", "other", "His wife agreed at the counter")
    text, buttons = (await cards_in_chats(shop, request.id))[advisor.user_id]
    assert "(consent: other — His wife agreed at the counter)" in text and buttons == []


async def test_reject_with_a_reason(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    await ask_for_extra(tech, order_id)
    request = await the_request(shop)
    replies = await advisor.tap("Reject")
    assert replies[-1].endswith("reject “Replace wiper blades”. Why? The technician will read "
                                "your reason.")
    assert await advisor.send("   ") == ["Please send some text."]
    replies = await advisor.send("Customer will replace them himself")
    assert replies[-1].startswith("❌ Rejected: “Replace wiper blades”")
    text, buttons = (await cards_in_chats(shop, request.id))[advisor.user_id]
    assert "❌ Rejected by Liu Advisor at 30 Nov 09:00: Customer will replace them himself" in text
    assert buttons == []
    assert any("was rejected by Liu Advisor: Customer will replace them himself" in t
               for t in tech.inbox)
    assert "❌ 3. [extra] Replace wiper blades (rejected — do not do)" in tech.last.text
    replies = await tech.tap_data(f"itm:{request.item_id}:done", tech.last)
    assert replies == ["“Replace wiper blades” was rejected by the advisor and must not be done."]
    # A rejected item does not hold the order: once the listed items are done, hand over.
    await tech.tap("Done: 1.")
    await tech.tap("Done: 2.")
    await self_check(tech, order_id)
    async with shop.db.session() as session:
        order = await session.get(WorkOrder, order_id)
    assert order is not None and order.status == OrderStatus.self_checked
    request = await the_request(shop)
    assert (request.status, request.reject_reason) == ("rejected",
                                                       "Customer will replace them himself")


async def escalated_request(shop: Shop) -> tuple[Person, Person, Person, int]:
    """An extra item the order's advisor left for 16 minutes, so a second advisor on duty has
    the card too; returns (advisor, other advisor, technician, order id)."""
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    other = await shop.hire("Chen Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    await ask_for_extra(tech, order_id)
    shop.advance(minutes=16)
    assert await escalate(shop) == 1
    return advisor, other, tech, order_id


async def test_two_advisors_decide_at_the_same_moment(shop: Shop) -> None:
    advisor, other, tech, _order_id = await escalated_request(shop)
    await advisor.tap("Approve")
    # Chen is told Liu is on it (test_extra_item_steps.py); he decides it himself anyway.
    assert (await other.tap("Approve"))[-1].startswith("✋ Liu Advisor is on it since")
    await other.tap("Decide it myself")
    first, second = await asyncio.gather(advisor.tap("phone"), other.tap("in person"))
    request = await the_request(shop)
    assert request.status == "approved"
    assert await decisions_audited(shop) == 1
    winner, loser, lost = ((advisor, other, second) if request.decided_by == advisor.staff_id
                           else (other, advisor, first))
    assert f"Already approved by {winner.name} at 30 Nov 09:16." in lost
    assert loser.last.text == f"Already approved by {winner.name} at 30 Nov 09:16."
    consent = "phone" if winner is advisor else "in person"
    for text, buttons in (await cards_in_chats(shop, request.id)).values():
        assert f"Approved by {winner.name} at 30 Nov 09:16 (consent: {consent})" in text
        assert buttons == []
    assert sum("was approved by" in t for t in tech.inbox) == 1


async def test_double_tap_and_a_stale_card(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    await ask_for_extra(tech, order_id)
    request = await the_request(shop)
    card = advisor.last
    await advisor.tap("Approve")
    question, data = advisor.find_button("phone")
    await advisor.tap_data(data, question)
    shop.advance(minutes=3)
    assert await advisor.tap_data(data, question) == [
        "Already approved by Liu Advisor at 30 Nov 09:00."]
    assert await advisor.tap_data(f"xtr:{request.id}:no", card) == [
        "Already approved by Liu Advisor at 30 Nov 09:00."]
    assert await decisions_audited(shop) == 1
    assert (await the_request(shop)).decided_at == shop.now() - timedelta(minutes=3)


async def test_only_advisors_decide(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    await ask_for_extra(tech, order_id)
    request = await the_request(shop)
    refused = "Only advisors can do this; nothing was changed."
    for data in (f"xtr:{request.id}:ok", f"xtr:{request.id}:no", f"xtr:{request.id}:c:phone",
                 f"xtr:{request.id}:c:other"):
        assert await tech.tap_data(data, tech.last) == [refused], data
    # Even while the technician is in the middle of another conversation.
    await tech.tap(data=f"ord:{order_id}:extra")
    replies = await tech.tap_data(f"xtr:{request.id}:c:phone", tech.last)
    assert "not part of this step" in replies[-1]
    assert (await the_request(shop)).status == "pending"
    assert await decisions_audited(shop) == 0


async def test_cancel_at_every_step_saves_nothing(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    steps = [lambda: tech.send("Replace wiper blades"), lambda: tech.send("Torn"),
             lambda: tech.send_photo("wiper")]
    for depth in range(len(steps) + 2):
        await tech.tap(data=f"ord:{order_id}:extra")
        for step in steps[:depth]:
            await step()
        if depth == len(steps) + 1:
            await tech.tap("Continue")  # now at the estimate
        assert await tech.send("/cancel") == ["Cancelled. Nothing was saved."]
    assert await count(shop, ExtraItemRequest) == 0
    assert await count(shop, OrderItem, col(OrderItem.kind) == "extra") == 0
    assert await count(shop, Attachment, Attachment.owner == "extra_item") == 0

    await ask_for_extra(tech, order_id)
    for way in ("Approve", "Reject"):
        await advisor.tap(way)
        assert await advisor.send("/cancel") == ["Cancelled. Nothing was saved."]
    await advisor.tap("Approve")
    await advisor.tap("other")
    assert await advisor.send("/cancel") == ["Cancelled. Nothing was saved."]
    # The old consent question is dead; the card still works.
    assert await advisor.tap("phone") == ["This button is no longer active."]
    assert (await the_request(shop)).status == "pending"
    assert await decisions_audited(shop) == 0
    await advisor.tap("Approve")
    await advisor.tap("WeChat")
    assert (await the_request(shop)).consent_method == "wechat"


async def test_wrong_input_keeps_the_step(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    await tech.tap(data=f"ord:{order_id}:extra")
    assert "not what this step needs" in (await tech.send_photo("too-early"))[-1]
    assert "at most 200" in (await tech.send("x" * 201))[-1]
    await tech.send("Replace wiper blades")
    assert "at most 1000" in (await tech.send("y" * 1001))[-1]
    await tech.send("Torn")
    assert "not what this step needs" in (await tech.send("here is a photo"))[-1]
    await tech.tap("Skip")
    for nonsense in ("abc", "-5", "1 2 3", "12.345", "1e30", "1E+28", "9" * 30, "NaN", "inf"):
        assert await tech.send(nonsense) == [
            "Please send the estimate as one or two amounts in yuan, parts then labour, "
            "e.g. “300 150”."], nonsense
    assert await count(shop, ExtraItemRequest) == 0
    await tech.send("¥300")
    request = await the_request(shop)
    assert (request.parts_fen, request.labour_fen) == (30000, 0)
    assert "Estimate: parts ¥300.00, labour ¥0.00" in advisor.last.text


async def test_an_order_no_longer_in_progress(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    other = await shop.hire("Chen Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    await ask_for_extra(tech, order_id)
    await advisor.tap("Approve")  # the question is open when the order is cancelled
    async with shop.db.session() as session:
        order = await session.get(WorkOrder, order_id)
        assert order is not None
        order.status = OrderStatus.cancelled
        number = order.number
        await session.commit()
    closed = f"Order {number} is closed; nothing was changed."
    assert closed in await advisor.tap("phone")
    assert await advisor.tap("Reject") == [closed]
    assert await tech.tap_data(f"ord:{order_id}:extra", tech.last) == [closed]
    shop.advance(minutes=16)
    assert await escalate(shop) == 0
    assert not other.inbox
    assert (await the_request(shop)).status == "pending"


async def test_conversations_survive_a_restart(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    await tech.tap(data=f"ord:{order_id}:extra")
    await tech.send("Replace wiper blades")
    await shop.restart()
    await tech.send("Torn")
    await tech.send_photo("wiper")
    await shop.restart()
    await tech.tap("Continue")
    await shop.restart()
    await tech.send("80 20")
    request = await the_request(shop)
    assert (request.description, request.reason, request.parts_fen) == (
        "Replace wiper blades", "Torn", 8000)
    assert await count(shop, Attachment, Attachment.owner == "extra_item") == 1
    await advisor.tap("Approve")
    await shop.restart()
    await advisor.tap("in person")
    request = await the_request(shop)
    assert (request.status, request.consent_method) == ("approved", "in_person")
    text, buttons = (await cards_in_chats(shop, request.id))[advisor.user_id]
    assert "(consent: in person)" in text and buttons == []
