"""The technician's day on one order: plate check (W1), the items (W2, W3), self-check (W7)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models.attachment import Attachment
from models.audit import AuditEvent
from models.order_note import OrderNote
from models.staff import Role
from models.work_order import OrderStatus, WorkOrder
from tests.flows import complete_checklist, open_order, order_in_progress, self_check
from tests.shop import Shop

pytestmark = pytest.mark.both_channels


async def _order(shop: Shop, order_id: int) -> WorkOrder:
    async with shop.db.session() as session:
        order = await session.get(WorkOrder, order_id)
        assert order is not None
        return order


async def test_plate_match_starts_work_and_shows_the_job(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await open_order(shop, advisor, tech)
    await tech.tap("Confirm plate")
    assert "Photo kept" in (await tech.send_photo("plate-photo"))[-1]
    replies = await tech.send("京 a12345")
    assert replies[0].startswith("✅ Plate confirmed.")
    card = tech.last
    assert "Complaint: Noise when braking" in card.text and "Change oil" in card.text
    labels = [label for label, _ in card.buttons]
    assert "⚠️ Items don't match the fault" in labels and "📋 Pre-work checklist" in labels
    assert "✅ Done: 1. Change oil" not in labels  # no work before the checklist (N1–N7)
    await complete_checklist(tech, order_id)
    await tech.tap("Refresh")
    assert "✅ Done: 1. Change oil" in [label for label, _ in tech.last.buttons]
    order = await _order(shop, order_id)
    assert order.status == OrderStatus.in_progress and order.started_at == shop.now()
    async with shop.db.session() as session:
        photos = (await session.exec(select(Attachment))).all()
    assert [p.file_id for p in photos] == ["plate-photo"] and photos[0].owner == "plate_check"


async def test_mismatch_alerts_advisor_and_three_lock(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await open_order(shop, advisor, tech)
    await tech.tap("Confirm plate")
    assert "does not look like a plate" in (await tech.send("hello"))[-1]  # not counted
    replies = await tech.send("京B99999")
    told = [r for r in replies if "does not match the order" in r]
    assert len(told) == 1 and "(1 of 3)" in told[0]
    # The retry is the order card's own button, anew below the message: the only live one.
    confirm = [m for m in tech.api.messages.values() if m.chat_id == tech.user_id
               and any(data == f"ord:{order_id}:plate" for _, data in m.buttons)]
    assert [m.message_id for m in confirm] == [tech.last.message_id]
    assert "❌ Plates typed so far that did not match: 1." in tech.last.text
    assert "order says 京A12345, Zhang Tech typed 京B99999 (attempt 1 of 3)" in advisor.last.text
    for _ in range(2):
        await tech.tap("Confirm plate")
        replies = await tech.send("京B99999")
    assert any("is now locked" in reply for reply in replies)
    assert (await _order(shop, order_id)).status == OrderStatus.locked
    assert not any(data == f"ord:{order_id}:plate" for m in tech.api.messages.values()
                   if m.chat_id == tech.user_id for _, data in m.buttons)  # nothing to retry
    alerts = await tech.tap_data(f"ord:{order_id}:plate", tech.last)
    assert "locked" in alerts[-1]
    # The technician cannot clear it; the advisor can.
    assert "Only advisors" in (await tech.tap_data(f"ord:{order_id}:unlock", tech.last))[-1]
    await advisor.tap("Clear the plate lock")
    assert "Lock cleared" in advisor.last.text
    assert (await _order(shop, order_id)).status == OrderStatus.open
    await tech.tap("Confirm plate")
    await tech.send("京A12345")
    assert (await _order(shop, order_id)).status == OrderStatus.in_progress


async def test_items_dont_match_goes_to_the_advisor(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    await tech.tap("Items don't match the fault")
    assert "Please send some text." in (await tech.send("   "))[-1]
    assert (await tech.send("The noise is the wheel bearing, not the pads"))[-1] == (
        "Sent to the advisor.")
    assert "wheel bearing" in advisor.last.text and "Zhang Tech" in advisor.last.text
    async with shop.db.session() as session:
        note = (await session.exec(select(OrderNote))).one()
    assert note.order_id == order_id and note.kind == "items_mismatch"


async def test_items_done_then_self_check(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    alerts = await tech.tap("Self-check and hand over")
    assert alerts == ["2 items are still open; finish them before the self-check."]
    await tech.tap("Done: 1. Change oil")
    assert "✅ 1. Change oil" in tech.last.text
    card, done_data = tech.find_button("Done: 2.")
    await tech.tap("Done: 2. Replace filter")
    # A second tap (an old copy of the card, a double tap) changes nothing.
    replies = await tech.tap_data(done_data, card)
    assert replies == ["“Replace filter” is already done."]
    await self_check(tech, order_id)
    assert "Self-check recorded" in tech.last.text
    assert "self-checked by Zhang Tech and waits for QC" in advisor.last.text
    assert (await _order(shop, order_id)).status == OrderStatus.self_checked
    replies = await tech.tap_data(f"itm:{order_id}:done", tech.last)
    assert replies and "cannot be done now" in replies[-1]


async def test_someone_elses_order_is_refused(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    other = await shop.hire("Wang Tech", Role.technician)
    order_id = await open_order(shop, advisor, tech)
    # Someone forwarded the card, or forged the data: the server checks who is tapping.
    await other.send("/orders")
    replies = await other.tap_data(f"ord:{order_id}:plate", other.last)
    assert replies == [f"Order {(await _order(shop, order_id)).number} is not assigned to you; "
                       "nothing was changed."]
    assert (await _order(shop, order_id)).status == OrderStatus.open


async def test_unknown_and_deleted_records(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await order_in_progress(shop, advisor, tech)
    replies = await tech.tap_data("itm:99999:done", tech.last)
    assert replies == ["That order or item no longer exists."]
    replies = await tech.tap_data("nonsense:1", tech.last)
    assert replies == ["This button is no longer active."]


async def test_plate_check_survives_a_restart(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await open_order(shop, advisor, tech)
    await tech.tap("Confirm plate")
    await tech.send_photo("before-restart")
    await shop.restart()
    await tech.send("京A12345")
    assert (await _order(shop, order_id)).status == OrderStatus.in_progress
    async with shop.db.session() as session:
        photos = (await session.exec(select(Attachment.file_id))).all()
        events = (await session.exec(select(AuditEvent.action))).all()
    assert photos == ["before-restart"]
    assert "order.plate_check" in events


async def test_a_command_in_the_middle_and_another_card(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    first = await order_in_progress(shop, advisor, tech)
    await tech.tap("Items don't match the fault")
    replies = await tech.send("/orders")
    assert replies == ["Finish this step first, or send /cancel to stop. Nothing was lost."]
    replies = await tech.tap_data(f"ord:{first}:fault", tech.last)
    assert "not part of this step" in replies[-1]
    assert (await tech.send("/cancel"))[-1] == "Cancelled. Nothing was saved."
    assert "Change oil" in (await tech.send("/orders"))[-1]


async def test_buttons_on_a_closed_order(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    card, done_data = tech.find_button("Done: 1.")
    async with shop.db.session() as session:
        order = await session.get(WorkOrder, order_id)
        assert order is not None
        order.status = OrderStatus.cancelled
        await session.commit()
    for data in (done_data, f"ord:{order_id}:flag", f"ord:{order_id}:check"):
        replies = await tech.tap_data(data, card)
        assert replies == [f"Order {order.number} is closed; nothing was changed."], data
