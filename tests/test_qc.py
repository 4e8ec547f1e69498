"""W7: the technician's self-check, the team leader's check, the inspector's final inspection,
rework with its counts, and handing an order on to the next process — walked in chat."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import col, select

from models.audit import AuditEvent
from models.card import CardMessage
from models.qc import ItemSelfCheck, OrderHandoff, QcCheck, rework_counts
from models.staff import Role
from models.work_order import ItemStatus, OrderItem, OrderStatus, WorkOrder
from tests.flows import open_order, order_in_progress, pending_check, self_check
from tests.shop import Person, Shop

pytestmark = pytest.mark.both_channels

NUMBER = "WO261130-00001"
EMPTY = "boxes are still empty: tick done, tested and cleaned up for every item first."


async def crew(shop: Shop) -> tuple[Person, Person, Person, Person]:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    leader = await shop.hire("Wang Leader", Role.team_leader)
    inspector = await shop.hire("Zhao Inspector", Role.inspector)
    return advisor, tech, leader, inspector


async def finished(shop: Shop, advisor: Person, tech: Person) -> int:
    """An order in progress with both items done: ready for the self-check."""
    order_id = await order_in_progress(shop, advisor, tech)
    await tech.tap("Done: 1.")
    await tech.tap("Done: 2.")
    return order_id


async def order_of(shop: Shop, order_id: int) -> WorkOrder:
    async with shop.db.session() as session:
        order = await session.get(WorkOrder, order_id)
        assert order is not None
        return order


async def items(shop: Shop, order_id: int) -> list[OrderItem]:
    async with shop.db.session() as session:
        return list((await session.exec(select(OrderItem).where(
            OrderItem.order_id == order_id).order_by(col(OrderItem.position)))).all())


async def checks(shop: Shop, order_id: int) -> list[QcCheck]:
    async with shop.db.session() as session:
        return list((await session.exec(select(QcCheck).where(
            QcCheck.order_id == order_id).order_by(col(QcCheck.id)))).all())


async def actions(shop: Shop, action: str) -> int:
    async with shop.db.session() as session:
        return len((await session.exec(select(AuditEvent).where(
            AuditEvent.action == action))).all())


async def card_copies(shop: Shop, check_id: int) -> list[tuple[int, str, list[str]]]:
    """Every copy of a check's card: (chat, text, button data)."""
    async with shop.db.session() as session:
        rows = (await session.exec(select(CardMessage).where(
            CardMessage.kind == "qc_check", CardMessage.ref_id == check_id))).all()
    out = []
    for row in rows:
        message = shop.api.messages[(row.chat_id, row.message_id)]
        out.append((row.chat_id, message.text, [data for _, data in message.buttons]))
    return out


async def test_self_check_leader_and_inspector_then_the_car_is_delivered(shop: Shop) -> None:
    advisor, tech, leader, inspector = await crew(shop)
    order_id = await finished(shop, advisor, tech)

    await tech.tap("Self-check and hand over")
    sheet = tech.last
    assert sheet.text.splitlines()[0] == (
        f"🏁 Self-check of {NUMBER}: for every item tick done, tested and cleaned up, then "
        "hand it to the team leader.")
    assert "1. Change oil: ⬜ done · ⬜ tested · ⬜ cleaned up" in sheet.text
    assert "6 boxes to tick." in sheet.text
    assert await tech.tap("Self-checked — hand over") == [f"6 {EMPTY}"]
    await tech.tap("⬜ 1. done")
    assert "1. Change oil: ✅ done · ⬜ tested · ⬜ cleaned up" in tech.last.text
    await tech.tap("✅ 1. done")  # a second tap unticks
    assert "1. Change oil: ⬜ done" in tech.last.text
    for label in ("⬜ 1. done", "⬜ 1. tested", "⬜ 1. cleaned up", "⬜ 2. done",
                  "⬜ 2. tested"):
        await tech.tap(label)
    assert "1 box to tick." in tech.last.text
    assert await tech.tap("Self-checked — hand over") == [
        "1 box is still empty: tick done, tested and cleaned up for every item first."]
    assert (await order_of(shop, order_id)).status == OrderStatus.in_progress
    await tech.tap("⬜ 2. cleaned up")
    await tech.tap("Self-checked — hand over")
    assert tech.last.text == (f"Self-check recorded for {NUMBER}. 1 team leader has it for the "
                              "check; the advisor has been told.")
    assert advisor.last.text == (f"🏁 {NUMBER} (京A12345) was self-checked by Zhang Tech and "
                                 "waits for QC.")
    assert (await order_of(shop, order_id)).status == OrderStatus.self_checked
    async with shop.db.session() as session:
        ticks = (await session.exec(select(ItemSelfCheck))).all()
    assert len(ticks) == 2 and all(t.complete and t.staff_id == tech.staff_id for t in ticks)

    card = leader.last
    assert card.text.splitlines()[:4] == [
        f"🔍 Team leader check: {NUMBER} · 京A12345", "Vehicle: Toyota Camry",
        "Technician: Zhang Tech", "Self-checked at 30 Nov 09:00"]
    assert "✅ 1. Change oil (done 30 Nov 09:00)" in card.text
    assert [label for label, _ in card.buttons] == ["✅ Pass", "🔁 Rework"]
    assert not any(text.startswith("🔍") for text in inspector.inbox)
    assert await inspector.send("/qc") == ["Nothing waits for your check."]
    listed = await leader.send("/qc")
    assert listed[0] == "1 order waits for your check:"
    assert listed[1].startswith(f"🔍 Team leader check: {NUMBER}")

    shop.advance(minutes=10)
    assert "Passed. 1 inspector has it for the final inspection." in (
        await leader.tap("✅ Pass"))
    leader_check = (await checks(shop, order_id))[0]
    copies = await card_copies(shop, leader_check.id)  # type: ignore[arg-type]
    assert len(copies) == 2  # the pushed card and the one /qc showed
    for _chat, text, buttons in copies:
        assert text.endswith("✅ Passed by Wang Leader at 30 Nov 09:10.") and buttons == []
    assert "✅ Wang Leader (team leader) passed WO261130-00001; it goes to the final " \
        "inspection." in tech.inbox
    assert (await order_of(shop, order_id)).status == OrderStatus.leader_passed
    inspection = inspector.last
    assert inspection.text.startswith(f"🔍 Final inspection: {NUMBER} · 京A12345")
    assert "Passed by the team leader Wang Leader at 30 Nov 09:10" in inspection.text
    assert await advisor.send(f"/deliver {NUMBER}") == [
        "This cannot be done now: the order is passed by the team leader."]

    shop.advance(minutes=10)
    replies = await inspector.tap("✅ Pass")
    assert "Passed. The advisor has been told the car is ready for delivery." in replies
    assert (await order_of(shop, order_id)).status == OrderStatus.inspected
    # The advisor is told, and their order card follows below it with the delivery button.
    assert (f"🚗 {NUMBER} (京A12345, 王先生) passed the final inspection by Zhao Inspector at "
            "30 Nov 09:20: the car is ready for delivery.") in advisor.inbox
    ready = advisor.last
    assert ready.text.startswith(f"Work order {NUMBER} · 京A12345")
    assert "Status: inspected, ready for delivery" in ready.text
    assert ready.buttons == [("🚗 Delivered to the customer", f"ord:{order_id}:deliver")]
    assert tech.last.text == (f"✅ Zhao Inspector passed the final inspection of {NUMBER}: the "
                              "car is ready for delivery.")
    await advisor.tap("Delivered to the customer")
    await advisor.tap("Yes, delivered")
    assert advisor.last.text.startswith(f"🚗 {NUMBER} delivered to 王先生.")
    assert (await order_of(shop, order_id)).status == OrderStatus.delivered
    for action in ("order.self_check", "order.leader_pass", "order.inspector_pass",
                   "order.deliver"):
        assert await actions(shop, action) == 1, action
    assert await actions(shop, "qc.pass") == 2 and await actions(shop, "qc.open") == 2


async def test_rework_by_the_leader_and_by_the_inspector_is_counted(shop: Shop) -> None:
    advisor, tech, leader, inspector = await crew(shop)
    order_id = await finished(shop, advisor, tech)
    first, second = await items(shop, order_id)
    await self_check(tech, order_id)

    assert await leader.tap("🔁 Rework") == [
        f"{NUMBER}: which item goes back to Zhang Tech for rework? /cancel stops."]
    assert [label for label, _ in leader.last.buttons] == ["1. Change oil", "2. Replace filter"]
    assert await leader.tap("2. Replace filter") == [
        "“Replace filter”: what is wrong? The technician will read your reason."]
    assert await leader.send("   ") == ["Please send some text."]
    assert "at most 1000, please" in (await leader.send("x" * 1001))[-1]
    replies = await leader.send("Filter housing leaks oil")
    assert replies[-1] == f"🔁 “Replace filter” on {NUMBER} went back to Zhang Tech for rework."
    assert (await order_of(shop, order_id)).status == OrderStatus.in_progress
    assert [i.status for i in await items(shop, order_id)] == [ItemStatus.done, ItemStatus.open]
    assert (f"🔁 Team leader check of {NUMBER}: Wang Leader sent “Replace filter” back for "
            "rework:\nFilter housing leaks oil\nIt is open on your card again; finish it, then "
            "self-check again.") in tech.inbox
    assert "⬜ 2. Replace filter" in tech.last.text
    [(_chat, text, buttons)] = await card_copies(shop, (await checks(shop, order_id))[0].id)  # type: ignore[arg-type]
    assert text.endswith("🔁 Sent back for rework by Wang Leader at 30 Nov 09:00: “Replace "
                         "filter” — Filter housing leaks oil") and buttons == []

    # Round two: the reworked item's boxes are empty again, the other's stay ticked.
    await tech.tap("Done: 2.")
    await tech.tap("Self-check and hand over")
    assert "1. Change oil: ✅ done · ✅ tested · ✅ cleaned up" in tech.last.text
    assert "2. Replace filter: ⬜ done · ⬜ tested · ⬜ cleaned up" in tech.last.text
    await tech.tap("Tick every box")
    await tech.tap("Self-checked — hand over")
    assert "🔁 Sent back for rework 1 time so far." in leader.last.text
    await leader.tap("✅ Pass")
    await inspector.tap("🔁 Rework")
    await inspector.tap("1. Change oil")
    await inspector.send("Oil level above the maximum mark")
    assert (await order_of(shop, order_id)).status == OrderStatus.in_progress
    # The message, then the order card anew below it (the older copy says so: an edit).
    assert (f"🔁 Final inspection of {NUMBER}: Zhao Inspector sent “Change oil” back for "
            "rework:") in tech.inbox[-3]
    assert tech.inbox[-2].endswith("⤵️ See the newer card below.")
    assert "⬜ 1. Change oil" in tech.last.text

    # Round three goes through.
    await tech.tap("Done: 1.")
    await self_check(tech, order_id)
    assert "🔁 Sent back for rework 2 times so far." in leader.last.text
    await leader.tap("✅ Pass")
    await inspector.tap("✅ Pass")
    assert (await order_of(shop, order_id)).status == OrderStatus.inspected

    assert [(c.stage, c.status) for c in await checks(shop, order_id)] == [
        ("leader", "rework"), ("leader", "passed"), ("inspector", "rework"),
        ("leader", "passed"), ("inspector", "passed")]
    async with shop.db.session() as session:
        counts = await rework_counts(session, order_id)
    assert counts.total == 2
    assert counts.by_item == {first.id: 1, second.id: 1}
    assert counts.by_technician == {tech.staff_id: 2}
    assert await actions(shop, "qc.rework") == 2 and await actions(shop, "order.rework") == 2


async def test_two_inspectors_passing_at_once_one_wins(shop: Shop) -> None:
    advisor, tech, leader, inspector = await crew(shop)
    other = await shop.hire("Qian Inspector", Role.inspector)
    order_id = await finished(shop, advisor, tech)
    await self_check(tech, order_id)
    await leader.tap("✅ Pass")
    first, second = await asyncio.gather(inspector.tap("✅ Pass"), other.tap("✅ Pass"))
    check = (await checks(shop, order_id))[-1]
    assert check.status == "passed"
    winner, lost = ((inspector, second) if check.decided_by == inspector.staff_id
                    else (other, first))
    assert f"Already passed by {winner.name} at 30 Nov 09:00." in lost
    assert (await order_of(shop, order_id)).status == OrderStatus.inspected
    assert await actions(shop, "order.inspector_pass") == 1
    assert sum("is ready for delivery" in t for t in advisor.inbox) == 1
    for _chat, text, buttons in await card_copies(shop, check.id):  # type: ignore[arg-type]
        assert f"✅ Passed by {winner.name}" in text and buttons == []


async def test_only_the_right_people_decide(shop: Shop) -> None:
    advisor, tech, leader, inspector = await crew(shop)
    lead_tech = await shop.hire("Chen Lead", Role.technician, Role.team_leader)
    order_id = await finished(shop, advisor, tech)
    await self_check(tech, order_id)
    check = await pending_check(shop, order_id)
    card = leader.last
    not_leader = "Only team leaders do this check; nothing was changed."
    assert await inspector.send("/qc") == ["Nothing waits for your check."]
    for person in (tech, advisor, inspector):
        assert await person.tap_data(f"qc:{check}:pass", card) == [not_leader], person.name
        assert await person.tap_data(f"qc:{check}:rework", card) == [not_leader], person.name
        assert await person.tap_data(f"qcr:{check}:1", card) == [not_leader], person.name
    assert await tech.send("/qc") == ["Only team leaders and inspectors check orders."]
    assert await leader.tap_data("qc:99999:pass", card) == [
        "That order or item no longer exists."]
    assert (await order_of(shop, order_id)).status == OrderStatus.self_checked

    # A team leader who did the work does not check it; the other leader does.
    own = await finished(shop, advisor, lead_tech)
    await self_check(lead_tech, own)
    own_check = await pending_check(shop, own)
    assert "Self-check recorded for WO261130-00002. 1 team leader has it" in lead_tech.last.text
    assert await lead_tech.tap_data(f"qc:{own_check}:pass", lead_tech.last) == [
        "WO261130-00002 is your own work: someone else checks it; nothing was changed."]
    listed = await lead_tech.send("/qc")
    assert listed[0] == "1 order waits for your check:" and NUMBER in listed[1]
    assert (await order_of(shop, own)).status == OrderStatus.self_checked
    # The inspector's stage needs an inspector: a leader cannot pass it.
    await leader.tap(data=f"qc:{own_check}:pass")
    final = await pending_check(shop, own)
    assert await leader.tap_data(f"qc:{final}:pass", leader.last) == [
        "Only inspectors do the final inspection; nothing was changed."]
    assert (await order_of(shop, own)).status == OrderStatus.leader_passed


async def test_double_taps_and_decided_cards(shop: Shop) -> None:
    advisor, tech, leader, _inspector = await crew(shop)
    order_id = await finished(shop, advisor, tech)
    await self_check(tech, order_id)
    check = await pending_check(shop, order_id)
    card, data = leader.find_button("✅ Pass")
    await leader.tap_data(data, card)
    assert await leader.tap_data(data, card) == ["Already passed by Wang Leader at 30 Nov 09:00."]
    assert await leader.tap_data(f"qc:{check}:rework", card) == [
        "Already passed by Wang Leader at 30 Nov 09:00."]
    assert await actions(shop, "qc.pass") == 1
    # The self-check buttons are spent once the order has moved on.
    assert await tech.tap_data(f"ord:{order_id}:checked", tech.last) == [
        "This cannot be done now: the order is passed by the team leader."]
    assert await tech.tap_data(f"ord:{order_id}:tickall", tech.last) == [
        "This cannot be done now: the order is passed by the team leader."]


async def test_rework_cancel_restart_and_a_stale_item_button(shop: Shop) -> None:
    advisor, tech, leader, _inspector = await crew(shop)
    order_id = await finished(shop, advisor, tech)
    await self_check(tech, order_id)
    check = await pending_check(shop, order_id)

    await leader.tap("🔁 Rework")
    assert await leader.send("Looks dirty") == [
        "That is not what this step needs. Please answer the question above, or send /cancel."]
    assert await leader.send("/cancel") == ["Cancelled. Nothing was saved."]
    assert (await checks(shop, order_id))[0].status == "pending"

    await leader.tap("🔁 Rework")
    question, item_data = leader.find_button("1. Change oil")
    assert await leader.tap_data(f"qcr:{check}:99999", question) == [
        "That item is not done on this order; choose one of the buttons."]
    await leader.tap_data(item_data, question)
    await shop.restart()
    replies = await leader.send("Drain plug not torqued")
    assert replies[-1] == f"🔁 “Change oil” on {NUMBER} went back to Zhang Tech for rework."
    assert (await checks(shop, order_id))[0].reason == "Drain plug not torqued"
    assert await leader.tap_data(item_data, question) == [
        "Already sent back for rework by Wang Leader at 30 Nov 09:00."]
    assert await leader.tap_data(f"qc:{check}:pass", question) == [
        "Already sent back for rework by Wang Leader at 30 Nov 09:00."]


async def test_the_checklist_survives_a_restart_and_refuses_strangers(shop: Shop) -> None:
    advisor, tech, _leader, _inspector = await crew(shop)
    other = await shop.hire("Wu Tech", Role.technician)
    order_id = await finished(shop, advisor, tech)
    await tech.tap("Self-check and hand over")
    await tech.tap("⬜ 1. done")
    await shop.restart()
    await tech.tap("⬜ 1. tested")
    assert "1. Change oil: ✅ done · ✅ tested · ⬜ cleaned up" in tech.last.text
    await other.send("/orders")
    item = (await items(shop, order_id))[0]
    for data in (f"ord:{order_id}:check", f"sck:{item.id}:cleaned", f"ord:{order_id}:tickall",
                 f"ord:{order_id}:checked"):
        assert await other.tap_data(data, other.last) == [
            f"Order {NUMBER} is not assigned to you; nothing was changed."], data
    assert "⬜ cleaned up" in tech.last.text


async def test_self_check_with_no_team_leader_waits_in_qc(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await finished(shop, advisor, tech)
    await self_check(tech, order_id)
    assert tech.last.text == (f"Self-check recorded for {NUMBER}, but no team leader could be "
                              "reached; it waits in /qc. The advisor has been told.")
    leader = await shop.hire("Wang Leader", Role.team_leader)
    listed = await leader.send("/qc")
    assert listed[0] == "1 order waits for your check:"
    await leader.tap("✅ Pass")
    assert (await order_of(shop, order_id)).status == OrderStatus.leader_passed


async def test_handing_on_to_the_next_process(shop: Shop) -> None:
    advisor, tech, leader, _inspector = await crew(shop)
    other = await shop.hire("Wu Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    await tech.tap("Start 1.")
    shop.advance(minutes=30)

    assert await tech.tap("Hand on to the next process") == [
        f"{NUMBER}: hand it on to which technician? They get the order card with your note and "
        "carry on the work; the order leaves your /orders and a job clock you have running on "
        "it stops. The advisor is told. /cancel stops."]
    assert [label for label, _ in tech.last.buttons] == ["Wu Tech"]
    assert await tech.tap("Wu Tech") == [
        "A note for Wu Tech: what is done, what comes next (a bay, a part, a test)?"]
    assert await tech.send("/orders") == [
        "Finish this step first, or send /cancel to stop. Nothing was lost."]
    assert await tech.send("   ") == ["Please send some text."]
    replies = await tech.send("Oil drained; wheel alignment in bay 3 next")
    assert replies[-1] == (
        f"➡️ {NUMBER} (京A12345) is now with Wu Tech. They have the order card and your note, "
        "and carry on the work; the self-check and QC come when they finish.\n"
        "It has left your /orders, and a job clock you had running on it stopped.\n"
        "The advisor Liu Advisor has been told.")

    order = await order_of(shop, order_id)
    assert (order.status, order.technician_id) == (OrderStatus.in_progress, other.staff_id)
    assert (f"➡️ Zhang Tech handed {NUMBER} (京A12345) on to you, with this note:\nOil "
            "drained; wheel alignment in bay 3 next\n\nYour order card for it follows: carry on "
            "with the items still open; when they are done, tap “🏁 Self-check and hand over” to "
            "send it to QC.") in other.inbox
    assert other.last.text.startswith(f"Work order {NUMBER}")
    assert "Done: 1. Change oil" in [label for label, _ in other.last.buttons][1]
    assert advisor.last.text == (f"➡️ {NUMBER} (京A12345) went from Zhang Tech to Wu Tech: Oil "
                                 "drained; wheel alignment in bay 3 next\nThe work goes on "
                                 "with Wu Tech; you will be told when the car has passed its "
                                 "checks and is ready to hand back.")
    # The clock Zhang left running stopped with the hand-over.
    item = (await items(shop, order_id))[0]
    assert item.clock_started_at is None and item.clock_seconds == 30 * 60
    # The previous technician's card is spent; the new one works on.
    assert await tech.tap_data(f"itm:{item.id}:done", tech.last) == [
        f"Order {NUMBER} is not assigned to you; nothing was changed."]
    await other.tap("Done: 1.")
    async with shop.db.session() as session:
        [handoff] = (await session.exec(select(OrderHandoff))).all()
    assert (handoff.from_staff_id, handoff.to_staff_id, handoff.by_staff_id) == (
        tech.staff_id, other.staff_id, tech.staff_id)
    assert await actions(shop, "order.handoff") == 1
    assert leader.inbox == []


async def test_next_process_without_anyone_to_take_it_and_bad_picks(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    assert await tech.tap("Hand on to the next process") == [
        f"There is no other active technician to hand {NUMBER} on to."]
    other = await shop.hire("Wu Tech", Role.technician)
    await tech.tap("Hand on to the next process")
    pick = tech.last
    assert await tech.tap_data(f"nxt:{order_id}:{advisor.staff_id}", pick) == [
        "Liu Advisor is not an active technician."]
    assert await tech.tap_data(f"nxt:{order_id}:{tech.staff_id}", pick) == [
        "Zhang Tech already has this order."]
    assert (await order_of(shop, order_id)).technician_id == tech.staff_id
    await tech.tap("Hand on to the next process")
    await tech.tap("Wu Tech")
    assert await tech.send("/cancel") == ["Cancelled. Nothing was saved."]
    assert (await order_of(shop, order_id)).technician_id == tech.staff_id
    assert await tech.tap_data(f"nxt:{order_id}:{other.staff_id}", pick) == [
        "This button is no longer active."]
    waiting = await open_order(shop, advisor, tech, plate="京B54321")
    assert await tech.tap_data(f"ord:{waiting}:next", tech.last) == [
        "This cannot be done now: the order is waiting for the plate check."]
