"""W4 → W5: the advisor turns an acknowledged fault report into a proposed extra item with a
price (``handlers/floor/fault_proposal.py``); its photos go with it to the customer's link."""

from __future__ import annotations

import re

import pytest
from sqlmodel import col, select

from models.attachment import Attachment
from models.audit import Actor, AuditEvent
from models.customer_link import CustomerLinkItem
from models.db import id_of
from models.extra_item import Decision, ExtraItemRequest
from models.fault_report import FaultReport, FaultStatus, propose_from_fault
from models.rules import Refused
from models.staff import Role, Staff
from models.work_order import ItemStatus, OrderItem, OrderStatus, WorkOrder
from tests.flows import order_in_progress
from tests.shop import Person, Shop
from tests.test_fault_report import DESCRIPTION, only_report, report

pytestmark = pytest.mark.both_channels


async def acknowledged_fault(shop: Shop) -> tuple[Person, Person, int, FaultReport]:
    shop.settings.public_base_url = "https://service.example.com"
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    await report(tech, photos=("fault-1", "fault-2"))
    await advisor.tap("Acknowledge")
    return advisor, tech, order_id, await only_report(shop)


async def test_the_advisor_proposes_a_fault_with_a_price_once(shop: Shop) -> None:
    advisor, tech, order_id, fault = await acknowledged_fault(shop)
    async with shop.db.session() as session:
        order = await session.get(WorkOrder, order_id)
    assert order is not None
    number = order.number
    card = advisor.find_button("Propose as extra item")[0]
    assert card.buttons == [("➕ Propose as extra item", f"fxi:{fault.id}:go")]

    # Only an advisor: a forged tap by the technician is refused on the server.
    assert await tech.tap_data(f"fxi:{fault.id}:go", tech.last) == [
        "Only advisors can do this; nothing was changed."]

    shop.advance(minutes=5)
    assert (await advisor.tap("Propose as extra item"))[-1] == (
        f"{number}: propose the fault as an extra item: “{DESCRIPTION}”. The customer will see "
        "the technician's description and photos. Its price in yuan: parts, then labour (e.g. "
        "“300 150”; one amount is parts only). /cancel stops.")
    assert (await advisor.send("a lot"))[-1].startswith("Please send the estimate as one or two")
    replies = await advisor.send("380 120")
    assert (f"➕ “{DESCRIPTION}” is on {number} as an extra item waiting for approval; the "
            "technician has been told.") in replies

    async with shop.db.session() as session:
        request = (await session.exec(select(ExtraItemRequest))).one()
        item = await session.get(OrderItem, request.item_id)
        saved = await session.get(FaultReport, fault.id)
        photos = (await session.exec(select(Attachment).where(
            Attachment.owner == "extra_item", Attachment.owner_id == request.id)
            .order_by(col(Attachment.id)))).all()
        events = [(e.action, e.staff_id, (e.detail or {}).get("request")) for e in (
            await session.exec(select(AuditEvent).where(
                col(AuditEvent.action).in_(["fault.propose", "extra.request"]))
                .order_by(col(AuditEvent.id)))).all()]
    assert item is not None and saved is not None
    # Requested by the technician who found it (they are told the decision), priced by the
    # advisor, with the fault's words and photos.
    assert (request.requested_by, request.parts_fen, request.labour_fen, request.status) == (
        tech.staff_id, 38000, 12000, Decision.pending)
    assert request.description == DESCRIPTION == request.reason
    assert (item.status, item.position, item.description) == (ItemStatus.pending, 3, DESCRIPTION)
    assert [p.file_id for p in photos] == ["fault-1", "fault-2"]
    assert saved.status == FaultStatus.proposed
    assert events == [("extra.request", advisor.staff_id, None),
                      ("fault.propose", advisor.staff_id, request.id)]

    # The fault card says so and offers nothing more; the technician is told.
    assert card.text.endswith(
        "\n➕ Proposed as an extra item by Liu Advisor at 30 Nov 09:05: parts ¥380.00, "
        "labour ¥120.00.")
    assert card.buttons == []
    assert (f"➕ Liu Advisor proposed the fault you reported on {number} as an extra item: "
            f"“{DESCRIPTION}” (parts ¥380.00, labour ¥120.00). Do not start on it until it is "
            "approved.") in tech.inbox
    assert f"⏳ 3. [extra] {DESCRIPTION} (waiting for approval)" in tech.last.text

    # The advisor has the item's card, and “Ask the customer” covers it with the photos.
    extra_card = advisor.find_button(data=f"xtr:{request.id}:ok")[0]
    assert extra_card.buttons == [("✅ Approve", f"xtr:{request.id}:ok"),
                                  ("❌ Reject", f"xtr:{request.id}:no"),
                                  ("📱 Ask the customer", f"cln:{order_id}:ask")]
    await advisor.send("/orders")
    assert f"⏳ 3. [extra] {DESCRIPTION} (waiting for approval)" in advisor.last.text
    assert re.search(r"/c/[A-Za-z0-9_-]+", (await advisor.tap("Ask the customer"))[-1])
    async with shop.db.session() as session:
        on_link = (await session.exec(select(CustomerLinkItem))).one()
    assert on_link.request_id == request.id
    assert on_link.photo_ids == [p.id for p in photos]

    # Once per report: the old button says who proposed it.
    assert await advisor.tap_data(f"fxi:{fault.id}:go", card) == [
        f"This fault was already proposed as an extra item (“{DESCRIPTION}”) by Liu Advisor at "
        "30 Nov 09:05; nothing was changed."]
    async with shop.db.session() as session:
        assert len((await session.exec(select(ExtraItemRequest))).all()) == 1


async def test_a_second_advisor_proposing_meanwhile_wins_and_the_first_is_told(
        shop: Shop) -> None:
    advisor, _tech, _order_id, fault = await acknowledged_fault(shop)
    other = await shop.hire("Chen Advisor", Role.advisor)
    await advisor.tap("Propose as extra item")
    # Chen proposes it first (from the card escalated to every advisor on duty).
    await other.send("/help")
    await other.tap_data(f"fxi:{fault.id}:go", other.last)
    await other.send("100")
    assert (await advisor.send("200 50")) == [
        f"This fault was already proposed as an extra item (“{DESCRIPTION}”) by Chen Advisor "
        "at 30 Nov 09:00; nothing was changed."]
    async with shop.db.session() as session:
        request = (await session.exec(select(ExtraItemRequest))).one()
    assert (request.parts_fen, request.labour_fen) == (10000, 0)


async def test_a_report_not_yet_acknowledged_is_acknowledged_by_the_proposal(
        shop: Shop) -> None:
    """The rule itself: proposing an unacknowledged report acknowledges it (a later tap on
    Acknowledge says who); an order no longer in progress takes no proposal."""
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    await report(tech)
    await report(tech, description="Wiper arm bent")
    first, second = await reports(shop)
    async with shop.db.session() as session:
        me = await session.get(Staff, advisor.staff_id)
        assert me is not None
        _order, request = await propose_from_fault(
            session, report_id=id_of(first), advisor=me, parts_fen=5000, labour_fen=0,
            now=shop.now(), actor=Actor(me.id, shop.channel))
        await session.commit()
        saved = await session.get(FaultReport, first.id)
    assert saved is not None and request.order_id == order_id
    assert (saved.status, saved.acknowledged_by) == (FaultStatus.proposed, advisor.staff_id)
    assert await advisor.tap_data(f"flt:{first.id}:ack", advisor.last) == [
        "Already acknowledged by Liu Advisor at 30 Nov 09:00."]

    async with shop.db.session() as session:
        order = await session.get(WorkOrder, order_id)
        me = await session.get(Staff, advisor.staff_id)
        assert order is not None and me is not None
        order.status = OrderStatus.self_checked  # handed over: no more extra items on it
        session.add(order)
        await session.flush()
        with pytest.raises(Refused) as refused:
            await propose_from_fault(
                session, report_id=id_of(second), advisor=me, parts_fen=100, labour_fen=0,
                now=shop.now(), actor=Actor(me.id, shop.channel))
    assert refused.value.code == "wrong_status"


async def reports(shop: Shop) -> list[FaultReport]:
    async with shop.db.session() as session:
        return list((await session.exec(select(FaultReport).order_by(col(FaultReport.id)))).all())
