"""/approvals (advisors): every extra item and fault report waiting for me — on my orders, and
when I am on duty the escalated ones of any order — oldest first, each as its card with its
buttons; a decision taken on a copy is a decision like any other, and redraws every copy."""

from __future__ import annotations

import pytest
from sqlmodel import select

from jobs import fault_escalation
from models.extra_item import ExtraItemRequest
from models.fault_report import FaultReport
from models.staff import Role
from tests.flows import order_in_progress
from tests.shop import Person, Shop
from tests.test_decision_steps import at
from tests.test_extra_item import ask_for_extra, escalate, set_duty
from tests.test_fault_report import report

pytestmark = pytest.mark.both_channels


async def approvals(person: Person) -> list[tuple[str, list[str]]]:
    """/approvals: the header, then each card as (text, button labels)."""
    before = {key for key, message in person.api.messages.items()
              if message.chat_id == person.user_id}
    replies = await person.send("/approvals")
    sent = sorted((m for key, m in person.api.messages.items()
                   if m.chat_id == person.user_id and key not in before),
                  key=lambda m: m.message_id)
    assert [m.text for m in sent] == replies
    return [(m.text, [label for label, _ in m.buttons]) for m in sent]


async def test_what_waits_for_an_advisor(shop: Shop) -> None:
    zhao = await shop.hire("Zhao Advisor", Role.advisor)
    wang = await shop.hire("Wang Advisor", Role.advisor)
    zhang = await shop.hire("Zhang Tech", Role.technician)
    li = await shop.hire("Li Tech", Role.technician)
    mine = await order_in_progress(shop, zhao, zhang)
    theirs = await order_in_progress(shop, wang, li)
    assert await approvals(zhao) == [("Nothing is waiting for an advisor's decision.", [])]

    await report(zhang, "Rear brake hose cracked")
    shop.advance(minutes=1)
    await ask_for_extra(li, theirs, description="Replace cabin filter")
    shop.advance(minutes=1)
    await ask_for_extra(zhang, mine)
    # Wang's item waits for Wang alone until it is escalated.
    listed = await approvals(zhao)
    assert listed[0] == ("2 items wait for an advisor's decision, oldest first:", [])
    assert [buttons for _, buttons in listed[1:]] == [["👌 Acknowledge"],
                                                      ["✅ Approve", "❌ Reject"]]
    assert "Rear brake hose cracked" in listed[1][0]
    assert "Item: Replace wiper blades" in listed[2][0]

    shop.advance(minutes=16)
    assert await escalate(shop) == 2
    assert await fault_escalation.run(shop.services, shop.now()) == 1
    await wang.tap("Approve", message=wang.find_button(data=await extra_data(shop, theirs))[0])
    since = at(shop)
    listed = await approvals(zhao)
    assert listed[0][0] == "3 items wait for an advisor's decision, oldest first:"
    texts = [text for text, _ in listed[1:]]
    assert "Rear brake hose cracked" in texts[0]
    assert "Item: Replace cabin filter" in texts[1] and "Item: Replace wiper blades" in texts[2]
    assert texts[1].endswith(f"\n\n✋ Wang Advisor is on it since {since}.")  # asking the customer
    assert "on it" not in texts[2]

    # The copies' buttons are the cards' buttons; a decision on one redraws it like any card.
    await zhao.tap("Acknowledge")
    await zhao.tap("Approve")
    await zhao.tap("phone")
    copies = [m for m in shop.api.messages.values() if m.chat_id == zhao.user_id
              and ("Rear brake hose cracked" in m.text or "Replace wiper blades" in m.text)
              and "Acknowledged by" not in m.text and "Approved by" not in m.text
              and m.buttons]
    assert copies == []
    async with shop.db.session() as session:
        fault = (await session.exec(select(FaultReport))).one()
        extra = (await session.exec(select(ExtraItemRequest).where(
            ExtraItemRequest.order_id == mine))).one()
    assert (fault.acknowledged_by, extra.decided_by) == (zhao.staff_id, zhao.staff_id)
    listed = await approvals(zhao)
    assert len(listed) == 2
    assert listed[0] == ("1 item waits for an advisor's decision, oldest first:", [])
    assert "Item: Replace cabin filter" in listed[1][0]

    # Off duty, only my own orders; technicians have no approvals.
    await set_duty(shop, zhao, False)
    assert await approvals(zhao) == [("Nothing is waiting for an advisor's decision.", [])]
    assert await zhang.send("/approvals") == ["Only advisors can do this; nothing was changed."]


async def extra_data(shop: Shop, order_id: int) -> str:
    async with shop.db.session() as session:
        request = (await session.exec(select(ExtraItemRequest).where(
            ExtraItemRequest.order_id == order_id))).one()
    return f"xtr:{request.id}:ok"


async def test_the_order_card_in_orders_offers_the_decisions(shop: Shop) -> None:
    """/orders: the advisor's own order card has Approve / Reject for the extra item waiting on
    it and Acknowledge for the fault report — the cards' own callback data, so the same
    first-decision-wins handlers answer; once decided, the buttons leave the card."""
    from models.card import CardKind
    from tests.test_decision_steps import at
    from tests.test_living_cards import current_cards

    zhao = await shop.hire("Zhao Advisor", Role.advisor)
    zhang = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, zhao, zhang)
    await ask_for_extra(zhang, order_id)
    shop.advance(minutes=1)
    await report(zhang, "Rear brake hose cracked")
    async with shop.db.session() as session:
        extra = (await session.exec(select(ExtraItemRequest))).one()
        fault = (await session.exec(select(FaultReport))).one()
    reported = at(shop)
    # The card follows the order on its own (edited in place) …
    [card] = await current_cards(shop, zhao, CardKind.order_advisor, order_id)
    assert card.buttons == [("✅ Approve 3.", f"xtr:{extra.id}:ok"),
                            ("❌ Reject 3.", f"xtr:{extra.id}:no"),
                            ("👌 Acknowledge the fault", f"flt:{fault.id}:ack")]
    # … and /orders sends it anew, the older copy stripped.
    await zhao.send("/orders")
    [card] = await current_cards(shop, zhao, CardKind.order_advisor, order_id)
    assert card.message_id == zhao.last.message_id
    assert "⏳ 3. [extra] Replace wiper blades (waiting for approval)" in card.text
    assert (f"🔧 Unlisted fault reported at {reported}, waiting for acknowledgement: Rear "
            "brake hose cracked") in card.text
    assert [label for label, _ in card.buttons] == ["✅ Approve 3.", "❌ Reject 3.",
                                                    "👌 Acknowledge the fault"]

    # Approve on the order card: the consent question, as from the extra item's card.
    replies = await zhao.tap("Approve 3.", message=card)
    assert replies[-1].endswith("approve “Replace wiper blades”. How did the customer consent?")
    await zhao.tap("phone")
    [card] = await current_cards(shop, zhao, CardKind.order_advisor, order_id)
    assert card.buttons == [("👌 Acknowledge the fault", f"flt:{fault.id}:ack")]
    assert "⬜ 3. [extra] Replace wiper blades" in card.text
    # The extra item's own card says who decided; its old button is answered the same way.
    [extra_card] = [m for m in shop.api.messages.values() if m.chat_id == zhao.user_id
                    and "➕ Extra item requested on" in m.text]
    assert "✅ Approved by Zhao Advisor" in extra_card.text and extra_card.buttons == []
    assert await zhao.tap_data(f"xtr:{extra.id}:ok", extra_card) == [
        f"Already approved by Zhao Advisor at {at(shop)}."]

    # Acknowledge on the order card: the fault card follows, the order card has no button.
    await zhao.tap("Acknowledge the fault", message=card)
    [card] = await current_cards(shop, zhao, CardKind.order_advisor, order_id)
    assert card.buttons == [] and "waiting for acknowledgement" not in card.text
    [fault_card] = [m for m in shop.api.messages.values() if m.chat_id == zhao.user_id
                    and m.text.startswith("🔧 Unlisted fault on")]
    assert "✅ Acknowledged by Zhao Advisor" in fault_card.text
    assert fault_card.buttons == [("➕ Propose as extra item", f"fxi:{fault.id}:go")]
    async with shop.db.session() as session:
        extra = (await session.exec(select(ExtraItemRequest))).one()
        fault = (await session.exec(select(FaultReport))).one()
    assert (extra.status, extra.decided_by) == ("approved", zhao.staff_id)
    assert fault.acknowledged_by == zhao.staff_id
    assert sum("was approved by Zhao Advisor" in t for t in zhang.inbox) == 1
    assert sum("acknowledged your fault report" in t for t in zhang.inbox) == 1
