"""/neworder as the front desk uses it, including everything people get wrong."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from models.staff import Role
from models.work_order import OrderItem, WorkOrder
from tests.flows import open_order
from tests.shop import Person, Shop

pytestmark = pytest.mark.both_channels


async def fill_until_items(advisor: Person, plate: str = "京A12345") -> None:
    await advisor.send("/neworder")
    await advisor.send(plate)
    await advisor.send("王先生")
    await advisor.send("138 1234 5678")
    await advisor.send("Toyota Camry 2.0")
    await advisor.send("Squeak from the front left wheel when braking")


async def test_advisor_opens_order_and_technician_gets_card(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await fill_until_items(advisor, plate="京a·12345")
    replies = await advisor.send("1. Replace front brake pads\n2. Check brake discs")
    assert replies[-1] == "Assign to which technician?"
    await advisor.tap("Zhang Tech")
    assert "opened and sent to Zhang Tech" in advisor.last.text
    card = tech.last
    assert "Camry" in card.text and "京A12345" not in card.text  # the plate stays hidden
    assert "13812345678" not in card.text  # technicians never see the phone
    assert [label for label, _ in card.buttons] == ["🔎 Confirm plate"]
    async with shop.db.session() as session:
        order = (await session.exec(select(WorkOrder))).one()
        items = (await session.exec(select(OrderItem).order_by(OrderItem.position))).all()
    assert order.plate == "京A12345" and order.customer_phone == "13812345678"
    assert [i.description for i in items] == ["Replace front brake pads", "Check brake discs"]


async def test_unusual_plate_needs_explicit_confirm(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    await shop.hire("Zhang Tech", Role.technician)
    await advisor.send("/neworder")
    replies = await advisor.send("WJ 12345")
    assert "not a mainland plate format" in replies[-1]
    replies = await advisor.tap("No, type again")
    assert replies[-1] == "Send the plate number again."
    await advisor.send("WJ12345")
    replies = await advisor.tap("Yes, use WJ12345")
    assert "Customer's name?" in replies[-1]


async def test_bad_input_is_explained_and_nothing_is_lost(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    await shop.hire("Zhang Tech", Role.technician)
    await advisor.send("/neworder")
    assert "is not a plate number" in (await advisor.send("!!"))[-1]
    assert "not what this step needs" in (await advisor.send_photo("ph-1"))[-1]
    assert "Finish this step first" in (await advisor.send("/orders"))[-1]
    await advisor.send("京A12345")
    assert "at most 64" in (await advisor.send("x" * 65))[-1]
    await advisor.send("王先生")
    assert "does not look like a phone number" in (await advisor.send("call me"))[-1]
    await advisor.send("010-12345678")
    await advisor.send("Camry")
    assert "at most 1000" in (await advisor.send("y" * 4096))[-1]
    await advisor.send("noise")
    assert "at least one item" in (await advisor.send("\n \n"))[-1]
    assert "At most 30 items" in (await advisor.send("\n".join(f"item {i}" for i in range(31))))[-1]
    assert "at most 200 characters" in (await advisor.send("z" * 201))[-1]
    replies = await advisor.send("Change oil")
    assert replies[-1] == "Assign to which technician?"
    await advisor.tap("Zhang Tech")
    async with shop.db.session() as session:
        order = (await session.exec(select(WorkOrder))).one()
    assert order.customer_phone == "01012345678" and order.complaint == "noise"


async def test_cancel_at_every_step_saves_nothing(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    await shop.hire("Zhang Tech", Role.technician)
    answers = ["京A12345", "王先生", "13812345678", "Camry", "noise", "Change oil"]
    for step in range(len(answers) + 1):
        await advisor.send("/neworder")
        for answer in answers[:step]:
            await advisor.send(answer)
        assert (await advisor.send("/cancel"))[-1] == "Cancelled. Nothing was saved."
    async with shop.db.session() as session:
        assert (await session.exec(select(WorkOrder))).all() == []
    assert (await advisor.send("/cancel"))[-1] == "There is nothing to cancel."


async def test_only_advisors_open_orders(shop: Shop) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    assert (await tech.send("/neworder")) == ["Only advisors can do this; nothing was changed."]


async def test_no_technician_keeps_the_draft(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    await fill_until_items(advisor)
    replies = await advisor.send("Change oil")
    assert "no active technician" in replies[-1]
    await shop.hire("Late Tech", Role.technician)
    await advisor.tap("Refresh")
    await advisor.tap("Late Tech")
    assert "opened and sent to Late Tech" in advisor.last.text


async def test_draft_survives_a_restart(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await advisor.send("/neworder")
    await advisor.send("京A12345")
    await advisor.send("王先生")
    await shop.restart()
    replies = await advisor.send("13812345678")
    assert replies == ["Vehicle model?"]
    await advisor.send("Camry")
    await advisor.send("noise")
    await advisor.send("Change oil")
    await advisor.tap("Zhang Tech")
    assert "🔎 Confirm plate" in [label for label, _ in tech.last.buttons]


async def test_the_order_number_carries_the_shops_date_not_utcs(shop: Shop) -> None:
    """00:04 on 7 December in Shanghai is still 6 December in UTC: the number says the 7th."""
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    shop.clock.set(datetime(2026, 12, 6, 16, 4, tzinfo=UTC))  # 2026-12-07 00:04 in Shanghai
    order_id = await open_order(shop, advisor, tech)
    async with shop.db.session() as session:
        order = await session.get(WorkOrder, order_id)
    assert order is not None
    assert order.number == f"WO261207-{order_id:05d}"
    assert order.number in advisor.last.text
