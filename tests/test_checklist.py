"""N1–N7 before and during work: the pre-work checklist after the plate check, the gate on the
work, and the lifting watcher (N5) with its alert to the team leaders."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import col, select

import jobs.lifting_watch
from models.audit import AuditEvent
from models.checklist import (
    Box,
    ChecklistTick,
    JobType,
    SiteChecklist,
    checklist_summary,
    required_boxes,
)
from models.lifting import LiftWatch
from models.staff import Role, Staff
from models.work_order import OrderItem, WorkOrder
from tests.fakebotapi import SentMessage
from tests.flows import complete_checklist, open_order
from tests.shop import Person, Shop

pytestmark = pytest.mark.both_channels

LABELS = {
    JobType.outside: "Outside the car",
    JobType.inside: "Inside the car",
    JobType.lift: "Lift or stands",
    JobType.fluids: "Opens fuel, oil or water parts",
    JobType.disassembly: "Removes assemblies",
}
BOXES = {
    Box.ppe: "N1 Protective equipment worn correctly",
    Box.cover: "N6 Protection cover fitted; stay out of the car",
    Box.seat_cover: "N7 Seat cover fitted",
    Box.floor_mat: "N7 Floor mat fitted",
    Box.wheel_cover: "N7 Steering-wheel cover fitted",
    Box.stands: "N2 Lift and stands firm, not overloaded",
    Box.drip_pans: "N4 Drip pans in place",
    Box.trays: "N3 Trays ready for removed assemblies",
}


async def plate_checked(shop: Shop, advisor: Person, tech: Person) -> tuple[int, list[str]]:
    """An order whose plate ``tech`` has just confirmed; returns its id and the replies."""
    order_id = await open_order(shop, advisor, tech)
    await tech.tap(data=f"ord:{order_id}:plate")
    return order_id, await tech.send("京A12345")


async def the_order(shop: Shop, order_id: int) -> WorkOrder:
    async with shop.db.session() as session:
        order = await session.get(WorkOrder, order_id)
        assert order is not None
        return order


async def actions(shop: Shop, prefix: str) -> list[str]:
    async with shop.db.session() as session:
        rows = (await session.exec(select(AuditEvent.action).where(
            col(AuditEvent.action).startswith(prefix)).order_by(col(AuditEvent.id)))).all()
    return list(rows)


def checklist_of(tech: Person, order_id: int) -> SentMessage:
    """The newest message with this order's checklist buttons."""
    return max((m for m in tech.api.messages.values() if m.chat_id == tech.user_id
                and any(data.startswith(f"ckl:{order_id}:") for _, data in m.buttons)),
               key=lambda m: m.message_id)


async def test_the_checklist_comes_after_the_plate_and_gates_the_work(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id, replies = await plate_checked(shop, advisor, tech)
    number = (await the_order(shop, order_id)).number
    assert replies[0] == (f"✅ Plate confirmed. Tick the pre-work checklist before starting "
                          f"work on {number}.")
    assert replies[1].splitlines() == [
        f"📋 Pre-work checklist · {number} · 京A12345",
        "What kind of job is this? Tap every kind that applies, then “Next”."]
    assert "Complaint: Noise when braking" in replies[2]  # the card comes last (W2)
    checklist = tech.find_button(data=f"ckl:{order_id}:next")[0]
    assert [label for label, _ in checklist.buttons] == [
        "☐ " + LABELS[t] for t in JobType] + ["➡️ Next"]

    # Work cannot start: an item cannot be marked done yet.
    refused = [f"Order {number}: tick the pre-work checklist first (send /checklist to see it)."
               " Nothing was changed."]
    # The card offers no Done before the checklist; an old or forged tap is refused too.
    assert not any("Done: 1." in label for label, _ in tech.last.buttons)
    async with shop.db.session() as session:
        first = (await session.exec(select(OrderItem).where(OrderItem.order_id == order_id)
                                    .order_by(col(OrderItem.position)))).first()
    assert first is not None
    done_first = f"itm:{first.id}:done"
    assert await tech.tap_data(done_first, tech.last) == refused
    assert await tech.tap("Next") == ["Choose at least one kind of job first."]

    await tech.tap("☐ Outside the car")
    await tech.tap("☐ Inside the car")
    assert [label for label, _ in checklist.buttons][:2] == [
        "☑ Outside the car", "☑ Inside the car"]
    await tech.tap("Next")
    checklist = checklist_of(tech, order_id)
    assert checklist.text.splitlines()[1:] == [
        "Job: Outside the car, Inside the car",
        "Tick each box when it is done, then “Start work”."]
    assert [label for label, _ in checklist.buttons] == [
        "☐ " + BOXES[b] for b in (Box.ppe, Box.cover, Box.seat_cover, Box.floor_mat,
                                  Box.wheel_cover)] + ["✅ Start work", "⬅️ Job types"]
    for box in (Box.ppe, Box.cover, Box.seat_cover):
        shop.advance(seconds=20)
        await tech.tap(data=f"ckl:{order_id}:b:{box.value}:1")
    assert await tech.tap(data=f"ckl:{order_id}:go") == [
        "Still to tick: Floor mat fitted; Steering-wheel cover fitted."]
    assert await tech.tap_data(done_first, tech.last) == refused
    await tech.tap(data=f"ckl:{order_id}:b:{Box.floor_mat.value}:1")
    await tech.tap(data=f"ckl:{order_id}:b:{Box.wheel_cover.value}:1")
    shop.advance(minutes=1)
    checklist = checklist_of(tech, order_id)
    await tech.tap(data=f"ckl:{order_id}:go")

    assert checklist.buttons == []
    assert checklist.text.splitlines() == [
        f"📋 Pre-work checklist · {number} · 京A12345",
        "Job: Outside the car, Inside the car",
        *["☑ " + BOXES[b] for b in (Box.ppe, Box.cover, Box.seat_cover, Box.floor_mat,
                                    Box.wheel_cover)],
        "",
        "✅ Complete at 30 Nov 09:02. Work can start: mark the items on the order card."]
    order = await the_order(shop, order_id)
    assert order.checklist_done_at == shop.now()
    await tech.tap("Done: 1. Change oil")
    assert "✅ 1. Change oil" in tech.last.text

    async with shop.db.session() as session:
        checklist_row = (await session.exec(select(SiteChecklist))).one()
        ticks = (await session.exec(select(ChecklistTick).order_by(
            col(ChecklistTick.id)))).all()
    assert checklist_row.job_types == "outside,inside"
    assert checklist_row.completed_by == tech.staff_id
    assert [(t.box, t.ticked_by) for t in ticks] == [
        (b.value, tech.staff_id) for b in (Box.ppe, Box.cover, Box.seat_cover, Box.floor_mat,
                                           Box.wheel_cover)]
    assert ticks[0].ticked_at < ticks[2].ticked_at  # each tick keeps its own time
    assert await actions(shop, "checklist.") == [
        "checklist.type", "checklist.type", *["checklist.tick"] * 5, "checklist.complete"]
    replies = await tech.tap_data(f"ckl:{order_id}:b:ppe:0", checklist)
    assert replies[0] == f"The pre-work checklist of {number} is already complete."
    assert checklist.buttons == []


async def test_each_kind_of_job_requires_its_own_boxes(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id, _ = await plate_checked(shop, advisor, tech)
    expected = {
        JobType.outside: [Box.ppe, Box.cover],  # N1, N6
        JobType.inside: [Box.ppe, Box.seat_cover, Box.floor_mat, Box.wheel_cover],  # N7
        JobType.lift: [Box.ppe, Box.stands],  # N2
        JobType.fluids: [Box.ppe, Box.drip_pans],  # N4
        JobType.disassembly: [Box.ppe, Box.trays],  # N3
    }
    for job_type, boxes in expected.items():
        assert required_boxes({job_type}) == boxes
        await tech.tap(data=f"ckl:{order_id}:t:{job_type.value}:1")
        await tech.tap(data=f"ckl:{order_id}:next")
        shown = [label for label, _ in checklist_of(tech, order_id).buttons][:-2]
        assert shown == ["☐ " + BOXES[b] for b in boxes], job_type
        await tech.tap(data=f"ckl:{order_id}:back")
        await tech.tap(data=f"ckl:{order_id}:t:{job_type.value}:0")
    assert required_boxes(set(JobType)) == list(Box)


async def test_ticks_set_a_state_so_double_taps_and_old_copies_do_nothing_more(
    shop: Shop
) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id, _ = await plate_checked(shop, advisor, tech)
    first = checklist_of(tech, order_id)
    await tech.tap_data(f"ckl:{order_id}:t:fluids:1", first)
    await tech.tap_data(f"ckl:{order_id}:t:fluids:1", first)  # a double tap: chosen once
    await tech.tap(data=f"ckl:{order_id}:t:lift:1")
    await tech.tap(data=f"ckl:{order_id}:next")
    message = checklist_of(tech, order_id)
    await tech.tap_data(f"ckl:{order_id}:b:drip_pans:1", message)
    await tech.tap_data(f"ckl:{order_id}:b:drip_pans:1", message)
    await tech.tap_data(f"ckl:{order_id}:b:stands:1", message)
    async with shop.db.session() as session:
        ticks = (await session.exec(select(ChecklistTick.box))).all()
    assert sorted(ticks) == ["drip_pans", "stands"]
    # Untick, then drop a kind of job: the ticks only it required go with it.
    await tech.tap(data=f"ckl:{order_id}:b:stands:0")
    await tech.tap(data=f"ckl:{order_id}:b:stands:1")
    await tech.tap(data=f"ckl:{order_id}:back")
    await tech.tap(data=f"ckl:{order_id}:t:fluids:0")
    async with shop.db.session() as session:
        ticks = (await session.exec(select(ChecklistTick.box))).all()
        checklist = (await session.exec(select(SiteChecklist))).one()
    assert ticks == ["stands"] and checklist.job_types == "lift"
    # A box the checklist does not need (an old copy of the message) is refused.
    assert await tech.tap_data(f"ckl:{order_id}:b:drip_pans:1", message) == [
        "That box is not part of this checklist now; nothing was changed."]
    assert (await actions(shop, "checklist.")).count("checklist.untick") == 1


async def test_only_the_technician_or_a_team_leader_fills_it_in(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    other = await shop.hire("Wang Tech", Role.technician)
    leader = await shop.hire("Zhao Leader", Role.team_leader)
    order_id, _ = await plate_checked(shop, advisor, tech)
    number = (await the_order(shop, order_id)).number
    await other.send("/orders")
    assert await other.tap_data(f"ckl:{order_id}:t:outside:1", other.last) == [
        f"Order {number} is not assigned to you; nothing was changed."]
    assert await advisor.tap_data(f"ckl:{order_id}:go", advisor.last) == [
        f"Order {number} is not assigned to you; nothing was changed."]
    assert await tech.tap_data("ckl:99999:t:outside:1", tech.last) == [
        "That order or item no longer exists."]
    assert await tech.tap_data(f"ckl:{order_id}:t:nonsense:1", tech.last) == [
        "This button is no longer active."]
    await leader.send("/orders")  # a team leader may act for the technician
    replies = await leader.tap_data(f"ckl:{order_id}:t:outside:1", leader.last)
    assert "☑ Outside the car" in [label for label, _ in leader.last.buttons], replies
    async with shop.db.session() as session:
        checklist = (await session.exec(select(SiteChecklist))).one()
    assert checklist.job_types == "outside"

    waiting = await open_order(shop, advisor, tech, plate="京B54321")
    assert await tech.tap_data(f"ckl:{waiting}:t:outside:1", tech.last) == [
        "This cannot be done now: the order is waiting for the plate check."]


async def test_start_work_twice_at_once_counts_once(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    leader = await shop.hire("Zhao Leader", Role.team_leader)
    order_id, _ = await plate_checked(shop, advisor, tech)
    number = (await the_order(shop, order_id)).number
    await tech.tap(data=f"ckl:{order_id}:t:outside:1")
    await tech.tap(data=f"ckl:{order_id}:next")
    await tech.tap(data=f"ckl:{order_id}:b:ppe:1")
    await tech.tap(data=f"ckl:{order_id}:b:cover:1")
    message = checklist_of(tech, order_id)
    await leader.send("/orders")
    await asyncio.gather(tech.tap_data(f"ckl:{order_id}:go", message),
                         leader.tap_data(f"ckl:{order_id}:go", leader.last))
    assert (await actions(shop, "checklist.complete")) == ["checklist.complete"]
    already = f"The pre-work checklist of {number} is already complete."
    assert shop.api.alerts().count(already) == 1


async def test_checklist_command_and_a_restart_in_the_middle(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id, _ = await plate_checked(shop, advisor, tech)
    await tech.tap(data=f"ckl:{order_id}:t:inside:1")
    await shop.restart()
    await tech.tap(data=f"ckl:{order_id}:next")
    await tech.tap(data=f"ckl:{order_id}:b:ppe:1")
    await shop.restart()
    replies = await tech.send("/checklist")
    assert replies[-1].splitlines()[1] == "Job: Inside the car"
    assert [label for label, _ in tech.last.buttons][:2] == [
        "☑ " + BOXES[Box.ppe], "☐ " + BOXES[Box.seat_cover]]
    for box in (Box.seat_cover, Box.floor_mat, Box.wheel_cover):
        await tech.tap(data=f"ckl:{order_id}:b:{box.value}:1")
    await tech.tap(data=f"ckl:{order_id}:go")
    assert (await the_order(shop, order_id)).checklist_done_at is not None
    assert await tech.send("/checklist") == [
        "None of your orders at work is waiting for its pre-work checklist."]
    assert await tech.send("/cancel") == ["There is nothing to cancel."]
    # The order card's checklist button (ord:<id>:list) shows it, complete.
    replies = await tech.tap_data(f"ord:{order_id}:list", tech.last)
    assert "✅ Complete at" in replies[-1]


# --- lifting (N5) ---------------------------------------------------------------------------


async def lifting_job(shop: Shop) -> tuple[Person, Person, Person, Person, int]:
    """An order at work whose checklist says "lift"; returns advisor, technician, another
    technician (the watcher), a team leader and the order id."""
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    watcher = await shop.hire("Wang Tech", Role.technician)
    leader = await shop.hire("Zhao Leader", Role.team_leader)
    order_id, _ = await plate_checked(shop, advisor, tech)
    await complete_checklist(tech, order_id, ("outside", "lift"))
    return advisor, tech, watcher, leader, order_id


async def watches(shop: Shop) -> list[LiftWatch]:
    async with shop.db.session() as session:
        return list((await session.exec(select(LiftWatch).order_by(col(LiftWatch.id)))).all())


async def test_a_lift_starts_when_the_named_watcher_confirms(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    watcher = await shop.hire("Wang Tech", Role.technician)
    leader = await shop.hire("Zhao Leader", Role.team_leader)
    off = await shop.hire("Off Tech", Role.technician)
    async with shop.db.session() as session:
        staff = await session.get(Staff, off.staff_id)
        assert staff is not None
        staff.on_duty = False
        await session.commit()
    order_id, _ = await plate_checked(shop, advisor, tech)
    number = (await the_order(shop, order_id)).number
    replies = await complete_checklist(tech, order_id, ("lift",))
    assert replies[-1] == (f"{number} uses a lift. Who watches it (N5)? They confirm in chat "
                           "before you raise the vehicle.")
    assert [label for label, _ in tech.last.buttons] == ["Wang Tech", "Zhao Leader"]

    replies = await tech.tap("Wang Tech")
    assert replies[-1] == (f"Waiting for Wang Tech to confirm watching the lift on {number}. "
                           "Do not raise the vehicle until they do. Without a confirmation in "
                           "5 minutes the team leaders are told.")
    [watch] = await watches(shop)
    card = watcher.last
    assert card.text.splitlines() == [
        f"🏗 Lift watch · {number} · 京A12345 (Toyota Camry)",
        "Zhang Tech asks Wang Tech to watch the vehicle while it is raised (N5). Requested at "
        "30 Nov 09:00.",
        "Go to the vehicle, then confirm."]
    assert card.buttons == [("👀 I am watching", f"lfw:{watch.id}:ok")]

    # Only the named watcher confirms; a team leader takes over only from the alert.
    assert await tech.tap_data(f"lfw:{watch.id}:ok", tech.last) == [
        "Only the person named as the watcher can confirm; nothing was changed."]
    assert await advisor.tap_data(f"lfw:{watch.id}:take", advisor.last) == [
        "Only team leaders can take a watch over; nothing was changed."]
    shop.advance(minutes=2)
    replies = await watcher.tap("I am watching")
    assert replies[-1] == f"Confirmed: you are watching the lift on {number}."
    assert card.buttons == [] and card.text.endswith(
        "✅ Wang Tech confirmed watching at 30 Nov 09:02; the lift is recorded as started.")
    assert tech.last.text == (f"✅ Wang Tech is watching: the lift on {number} is recorded as "
                              "started at 30 Nov 09:02. You may raise the vehicle.")
    assert await watcher.tap_data(f"lfw:{watch.id}:ok", card) == [
        "Wang Tech already confirmed watching this lift at 30 Nov 09:02."]
    [watch] = await watches(shop)
    assert (watch.status, watch.confirmed_by, watch.confirmed_at) == (
        "confirmed", watcher.staff_id, shop.now())
    assert await actions(shop, "lift.") == ["lift.request", "lift.confirm"]
    shop.advance(minutes=10)
    assert await jobs.lifting_watch.run(shop.services, shop.now()) == 0
    assert leader.inbox == [] or all("Lift watch" not in t for t in leader.inbox)


async def test_no_confirmation_in_five_minutes_alerts_the_team_leaders_once(shop: Shop) -> None:
    _, tech, watcher, leader, order_id = await lifting_job(shop)
    number = (await the_order(shop, order_id)).number
    await tech.tap("Wang Tech")
    watcher_card = watcher.last
    [watch] = await watches(shop)
    shop.advance(minutes=4)
    assert await jobs.lifting_watch.run(shop.services, shop.now()) == 0
    assert all("Lift watch" not in t for t in leader.inbox)

    shop.advance(minutes=1)
    assert await jobs.lifting_watch.run(shop.services, shop.now()) == 1
    alert = leader.last
    assert alert.text.splitlines()[1] == (
        "⚠️ Zhang Tech named Wang Tech as the watcher 5 minutes ago; nobody has confirmed. No "
        "lifting without a watcher (N5).")
    assert alert.buttons == [("👀 I'll watch it", f"lfw:{watch.id}:take")]
    assert tech.last.text == (f"⏰ Wang Tech has not confirmed watching the lift on {number} "
                              "for 5 minutes; the team leaders have been told. Do not raise the "
                              "vehicle until someone confirms.")
    calls = len(shop.api.calls)
    assert await jobs.lifting_watch.run(shop.services, shop.now()) == 0
    shop.advance(minutes=30)
    assert await jobs.lifting_watch.run(shop.services, shop.now()) == 0
    assert len(shop.api.calls) == calls

    # The team leader takes the watch over; the watcher's card no longer asks.
    replies = await leader.tap("I'll watch it")
    assert replies[-1] == f"Confirmed: you are watching the lift on {number}."
    for message in (alert, watcher_card):
        assert message.buttons == []
        assert "✅ Zhao Leader confirmed watching at" in message.text
    assert "✅ Zhao Leader is watching" in tech.last.text
    assert await watcher.tap_data(f"lfw:{watch.id}:ok", watcher.last) == [
        "Zhao Leader already confirmed watching this lift at 30 Nov 09:35."]
    assert await actions(shop, "lift.") == ["lift.request", "lift.alert", "lift.take_over"]


async def test_naming_someone_else_withdraws_the_first_request(shop: Shop) -> None:
    _, tech, watcher, leader, _ = await lifting_job(shop)
    await tech.tap("Wang Tech")
    card = watcher.last
    await tech.tap("Name someone else")
    await tech.tap("Zhao Leader")
    first, second = await watches(shop)
    assert (first.status, second.status) == ("cancelled", "requested")
    assert card.buttons == [] and "Withdrawn at 30 Nov 09:00: Zhang Tech named someone else." \
        in card.text
    assert await watcher.tap_data(f"lfw:{first.id}:ok", card) == [
        "This request was withdrawn by Zhang Tech at 30 Nov 09:00; nothing was changed."]
    await leader.tap("I am watching")
    async with shop.db.session() as session:
        summary = await checklist_summary(session, start=shop.now() - timedelta(hours=1),
                                          end=shop.now() + timedelta(hours=1))
    assert (summary.checklists, summary.lifts, summary.lifts_confirmed,
            summary.watcher_alerts) == (1, 1, 1, 0)


async def test_a_watcher_must_be_on_shift_and_someone_else(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id, _ = await plate_checked(shop, advisor, tech)
    number = (await the_order(shop, order_id)).number
    replies = await complete_checklist(tech, order_id, ("lift",))
    assert replies[-1] == (f"{number} uses a lift, but nobody else is on shift to watch it "
                           "(N5). Do not lift alone: ask your team leader, then tap Refresh.")
    assert await tech.tap_data(f"lft:{order_id}:w:{tech.staff_id}", tech.last) == [
        "Zhang Tech cannot watch this lift now (not on shift, or not on the floor). Choose "
        "someone else."]
    assert await tech.tap_data(f"lft:{order_id}:w:{advisor.staff_id}", tech.last) == [
        "Liu Advisor cannot watch this lift now (not on shift, or not on the floor). Choose "
        "someone else."]
    await shop.hire("Wang Tech", Role.technician)
    await tech.tap("Refresh")
    assert [label for label, _ in tech.last.buttons] == ["Wang Tech"]
    assert await watches(shop) == []

    # An order whose checklist has no lift has no watcher.
    other = await open_order(shop, advisor, tech, plate="京B54321")
    await tech.tap(data=f"ord:{other}:plate")
    await tech.send("京B54321")
    await complete_checklist(tech, other)
    other_number = (await the_order(shop, other)).number
    assert await tech.tap_data(f"lft:{other}:ask", tech.last) == [
        f"The pre-work checklist of {other_number} does not include a lift or stands; nothing "
        "was changed."]


async def test_a_lift_request_survives_a_restart(shop: Shop) -> None:
    _, tech, watcher, leader, _ = await lifting_job(shop)
    await tech.tap("Wang Tech")
    await shop.restart()
    shop.advance(minutes=6)
    assert await jobs.lifting_watch.run(shop.services, shop.now()) == 1
    await shop.restart()
    assert await jobs.lifting_watch.run(shop.services, shop.now()) == 0
    await watcher.tap("I am watching")
    [watch] = await watches(shop)
    assert watch.status == "confirmed" and watch.alerted_at is not None
    assert leader.last.buttons == []  # the alert card shows it is confirmed now


async def test_the_watcher_and_a_team_leader_at_once(shop: Shop) -> None:
    _, tech, watcher, leader, _ = await lifting_job(shop)
    await tech.tap("Wang Tech")
    shop.advance(minutes=5)
    await jobs.lifting_watch.run(shop.services, shop.now())
    [watch] = await watches(shop)
    first, second = await asyncio.gather(
        watcher.tap_data(f"lfw:{watch.id}:ok", watcher.last),
        leader.tap_data(f"lfw:{watch.id}:take", leader.last))
    events = await actions(shop, "lift.")
    assert events.count("lift.confirm") + events.count("lift.take_over") == 1
    assert sum("already confirmed" in text for text in shop.api.alerts()) == 1
    assert any("Confirmed: you are watching" in text for text in first + second)
    assert sum("is watching" in text for text in tech.inbox) == 1
