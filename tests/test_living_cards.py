"""One living card per order (issue 11): the technician's and the advisor's order cards are
edited as the order moves, a new copy strips the older ones of their buttons, and the
plate-mismatch alert says when the right plate was confirmed."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models.card import CardKind, CardMessage
from models.work_order import OrderStatus, WorkOrder
from tests.fakebotapi import SentMessage
from tests.flows import complete_checklist, open_order, pending_check, self_check
from tests.shop import Person, Shop

pytestmark = pytest.mark.both_channels


def order_messages(person: Person, order: WorkOrder) -> list[SentMessage]:
    """The messages in ``person``'s chat that belong to ``order`` (they name it, or their
    buttons do), oldest first."""
    mine = [m for m in person.api.messages.values() if m.chat_id == person.user_id]
    marks = (f"ord:{order.id}:", f"ckl:{order.id}:")
    return sorted((m for m in mine if order.number in m.text
                   or any(data.startswith(marks) for _, data in m.buttons)),
                  key=lambda m: m.message_id)


def live(person: Person, order: WorkOrder) -> list[SentMessage]:
    """Those of them that still offer buttons."""
    return [m for m in order_messages(person, order) if m.buttons]


async def current_cards(shop: Shop, person: Person, kind: CardKind, order_id: int
                        ) -> list[SentMessage]:
    """The messages the bot keeps as ``person``'s current card for the order."""
    async with shop.db.session() as session:
        rows = (await session.exec(select(CardMessage).where(
            CardMessage.kind == kind, CardMessage.ref_id == order_id,
            CardMessage.staff_id == person.staff_id))).all()
    return [person.api.messages[(row.chat_id, row.message_id)] for row in rows]


async def the_order(shop: Shop, order_id: int) -> WorkOrder:
    async with shop.db.session() as session:
        order = await session.get(WorkOrder, order_id)
    assert order is not None
    return order


async def test_an_order_walked_to_delivery_leaves_one_card_each(shop: Shop) -> None:
    from models.staff import Role

    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    leader = await shop.hire("Wang Leader", Role.team_leader)
    inspector = await shop.hire("Zhao Inspector", Role.inspector)
    order_id = await open_order(shop, advisor, tech)
    order = await the_order(shop, order_id)

    [tech_card] = await current_cards(shop, tech, CardKind.order_technician, order_id)
    [advisor_card] = await current_cards(shop, advisor, CardKind.order_advisor, order_id)
    assert [m.message_id for m in live(tech, order)] == [tech_card.message_id]
    assert "Status: waiting for the plate check" in advisor_card.text

    # W1: the plate; the advisor's card follows (no longer "waiting for the plate check").
    await tech.tap(data=f"ord:{order_id}:plate")
    await tech.send("京A12345")
    [advisor_card] = await current_cards(shop, advisor, CardKind.order_advisor, order_id)
    assert "Status: in progress" in advisor_card.text
    [tech_card] = await current_cards(shop, tech, CardKind.order_technician, order_id)
    assert tech_card.message_id == tech.last.message_id  # below the checklist
    assert "⤵️ See the newer card below." in order_messages(tech, order)[0].text

    # N1–N7, then the card anew below the checklist: the only one with buttons.
    await complete_checklist(tech, order_id)
    assert [m.message_id for m in live(tech, order)] == [tech.last.message_id]

    # W5: an extra item, approved: the technician's card shows it waiting, then open.
    await tech.tap(data=f"ord:{order_id}:extra")
    await tech.send("Replace wiper blades")
    await tech.send("Both blades are torn")
    await tech.tap("Skip")
    await tech.tap("Skip")
    [advisor_card] = await current_cards(shop, advisor, CardKind.order_advisor, order_id)
    assert "(waiting for approval)" in advisor_card.text
    # The advisor's order card offers the decision too (the extra item card's callback data).
    assert [label for label, _ in advisor_card.buttons] == ["✅ Approve 3.", "❌ Reject 3."]
    assert len(live(tech, order)) == 1
    await advisor.tap("Approve")
    await advisor.tap("phone")
    [tech_card] = await current_cards(shop, tech, CardKind.order_technician, order_id)
    assert "⬜ 3. [extra] Replace wiper blades" in tech_card.text
    assert "(waiting for approval)" not in tech_card.text
    assert [m.message_id for m in live(tech, order)] == [tech_card.message_id]
    assert live(advisor, order) == []  # the extra item's card is decided

    # W3: the items, each redrawing the one card in place.
    for position in (1, 2, 3):
        await tech.tap(f"Done: {position}.")
        assert [m.message_id for m in live(tech, order)] == [tech_card.message_id]

    # W7: self-check, the team leader, the inspector.
    await self_check(tech, order_id)
    [advisor_card] = await current_cards(shop, advisor, CardKind.order_advisor, order_id)
    assert "Status: self-checked, waiting for QC" in advisor_card.text
    assert live(tech, order) == []  # nothing left for the technician to tap
    await leader.tap(data=f"qc:{await pending_check(shop, order_id)}:pass")
    await inspector.tap(data=f"qc:{await pending_check(shop, order_id)}:pass")
    [advisor_card] = await current_cards(shop, advisor, CardKind.order_advisor, order_id)
    assert [m.message_id for m in live(advisor, order)] == [advisor_card.message_id]
    assert advisor_card.buttons == [("🚗 Delivered to the customer",
                                     f"ord:{order_id}:deliver")]

    # Delivery: both cards say so, and no button for the order is left anywhere.
    await advisor.tap("Delivered to the customer")
    await advisor.tap("Yes, delivered")
    assert (await the_order(shop, order_id)).status == OrderStatus.delivered
    for person, kind in ((tech, CardKind.order_technician), (advisor, CardKind.order_advisor)):
        [card] = await current_cards(shop, person, kind, order_id)
        assert "Status: delivered" in card.text, person.name
        assert live(person, order) == [], person.name
    assert "Report unlisted fault" not in str([m.buttons for m in order_messages(tech, order)])
    # Each person has one card of each kind for the order, and no live button for it is left
    # anywhere: not on the team leader's or the inspector's check cards either.
    for person in (tech, advisor, leader, inspector):
        assert live(person, order) == [], person.name
    for person in (leader, inspector):
        [check] = await qc_cards(shop, person)
        assert order.number in check.text and check.buttons == [], person.name
    if shop.channel == "wecom":  # no older copy of any card keeps a live button on WeCom
        assert shop.api.stale_cards() == []  # type: ignore[attr-defined]


async def qc_cards(shop: Shop, person: Person) -> list[SentMessage]:
    """The QC check cards the bot keeps in ``person``'s chat."""
    async with shop.db.session() as session:
        rows = (await session.exec(select(CardMessage).where(
            CardMessage.kind == CardKind.qc_check,
            CardMessage.staff_id == person.staff_id))).all()
    return [person.api.messages[(row.chat_id, row.message_id)] for row in rows]


async def test_the_mismatch_alert_is_answered_by_the_right_plate(shop: Shop) -> None:
    from models.staff import Role

    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await open_order(shop, advisor, tech)
    await tech.tap(data=f"ord:{order_id}:plate")
    await tech.send("京B99999")
    [alert] = await current_cards(shop, advisor, CardKind.plate_mismatch, order_id)
    assert "Zhang Tech typed 京B99999 (attempt 1 of 3)" in alert.text
    await tech.tap(data=f"ord:{order_id}:plate")
    await tech.send("京C88888")
    alerts = await current_cards(shop, advisor, CardKind.plate_mismatch, order_id)
    assert len(alerts) == 1 and "(attempt 2 of 3)" in alerts[0].text
    await tech.tap(data=f"ord:{order_id}:plate")
    await tech.send("京A12345")
    [alert] = await current_cards(shop, advisor, CardKind.plate_mismatch, order_id)
    assert "wrong plates typed: 京B99999, 京C88888." in alert.text
    assert "✅ Right plate confirmed at 30 Nov 09:00." in alert.text
    assert alert.buttons == []


async def test_three_mismatches_lock_and_clearing_answers_the_alert(shop: Shop) -> None:
    from models.staff import Role

    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await open_order(shop, advisor, tech)
    for _ in range(3):
        await tech.tap(data=f"ord:{order_id}:plate")
        await tech.send("京B99999")
    [alert] = await current_cards(shop, advisor, CardKind.plate_mismatch, order_id)
    assert "The order is locked until you clear it." in alert.text
    [card] = await current_cards(shop, advisor, CardKind.order_advisor, order_id)
    assert card.buttons == [("🔓 Clear the plate lock", f"ord:{order_id}:unlock")]
    await advisor.tap("Clear the plate lock")
    [alert] = await current_cards(shop, advisor, CardKind.plate_mismatch, order_id)
    assert "🔓 Lock cleared at" in alert.text and alert.buttons == []
    [card] = await current_cards(shop, advisor, CardKind.order_advisor, order_id)
    assert card.buttons == []
    order = await the_order(shop, order_id)
    assert [m.buttons for m in live(advisor, order)] == []


async def test_orders_sends_the_card_anew_and_strips_the_older_copy(shop: Shop) -> None:
    from models.staff import Role

    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await open_order(shop, advisor, tech)
    order = await the_order(shop, order_id)
    [first] = await current_cards(shop, tech, CardKind.order_technician, order_id)
    await tech.send("/orders")
    [card] = await current_cards(shop, tech, CardKind.order_technician, order_id)
    assert card.message_id != first.message_id and card.message_id == tech.last.message_id
    assert [m.message_id for m in live(tech, order)] == [card.message_id]
    assert tech.api.messages[(first.chat_id, first.message_id)].text.endswith(
        "⤵️ See the newer card below.")
    await advisor.send("/orders")
    assert len(await current_cards(shop, advisor, CardKind.order_advisor, order_id)) == 1
