"""A2: the customer archive — opened by a delivery or a consultation, found with /customer,
completed in a short conversation, and chased by the archive reminder job until it is."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from jobs import archive_reminders
from models.audit import AuditEvent
from models.customer import Customer, Vehicle, Visit
from models.followup import FollowUp, FollowUpKind
from models.staff import Role
from models.work_order import OrderStatus, WorkOrder
from tests.flows import customer_visit, open_order, order_ready_for_delivery
from tests.shop import Person, Shop

pytestmark = pytest.mark.both_channels

NUMBER = "WO261130-00001"
MISSING = ("address, vehicle type, maintenance cycle, next maintenance date, services wanted")


async def ready_order(shop: Shop, advisor: Person, tech: Person) -> int:
    """An order whose work is done and has passed QC (W7): ready to go back to the customer."""
    leader = await shop.hire("Wang Leader", Role.team_leader)
    inspector = await shop.hire("Zhao Inspector", Role.inspector)
    return await order_ready_for_delivery(shop, advisor, tech, leader, inspector)


async def staff(shop: Shop) -> tuple[Person, Person, Person, Person]:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    clerk = await shop.hire("Clerk Li", Role.tracking_clerk)
    boss = await shop.hire("Boss Ma", Role.supervisor)
    return advisor, tech, clerk, boss


async def rows(shop: Shop, model: type) -> list:  # type: ignore[type-arg]
    async with shop.db.session() as session:
        return list((await session.exec(select(model).order_by(col(model.id)))).all())


async def delivered(shop: Shop, advisor: Person, tech: Person) -> int:
    order_id = await ready_order(shop, advisor, tech)
    await advisor.send("/deliver")
    await advisor.tap(data=f"ord:{order_id}:deliver")
    await advisor.tap("Yes, delivered")
    return order_id


async def test_delivery_by_the_card_button_opens_the_archive_and_tells_the_clerk(
    shop: Shop,
) -> None:
    advisor, tech, clerk, _ = await staff(shop)
    order_id = await ready_order(shop, advisor, tech)

    await advisor.send("/orders")
    card = advisor.last
    assert card.buttons == [("🚗 Delivered to the customer", f"ord:{order_id}:deliver")]
    assert await advisor.tap("Delivered to the customer") == [
        f"Hand {NUMBER} (京A12345) back to 王先生? The customer's tracking clerk will call 3 "
        "to 7 days from today."]
    assert [label for label, _ in advisor.last.buttons] == ["✅ Yes, delivered", "Not yet"]
    await advisor.tap("Yes, delivered")
    assert advisor.last.text == (
        f"🚗 {NUMBER} delivered to 王先生.\nClerk Li follows up and has been told.\n"
        "First call due 3 Dec 2026 to 7 Dec 2026.")
    assert advisor.last.buttons == []
    assert clerk.last.text == (
        f"🚗 New visit: 王先生 · 京A12345, order {NUMBER} delivered on 30 Nov 2026.\n"
        "What: Change oil; Replace filter\n"
        "First call due 3 Dec 2026 to 7 Dec 2026.\n"
        f"Complete the archive within 2 days — missing: {MISSING}.")
    assert clerk.last.buttons == [("✏️ Complete the archive", "cus:1:edit")]

    [customer] = await rows(shop, Customer)
    [vehicle] = await rows(shop, Vehicle)
    [visit] = await rows(shop, Visit)
    [first] = await rows(shop, FollowUp)
    [order] = await rows(shop, WorkOrder)
    assert (customer.name, customer.phones, customer.clerk_id) == (
        "王先生", "13812345678", clerk.staff_id)
    assert (vehicle.plate, vehicle.model, vehicle.customer_id) == ("京A12345", "Toyota Camry",
                                                                   customer.id)
    assert vehicle.last_service_on is not None and vehicle.last_service_on.isoformat() == (
        "2026-11-30")
    assert (visit.kind, visit.order_id, visit.summary) == ("repair", order_id,
                                                          "Change oil; Replace filter")
    assert visit.archive_due_at == shop.now() + timedelta(days=2)
    assert visit.archive_completed_at is None
    assert (first.kind, first.visit_id, first.customer_id) == (FollowUpKind.first_call,
                                                               visit.id, customer.id)
    assert order.status == OrderStatus.delivered and order.customer_id == customer.id
    async with shop.db.session() as session:
        actions = [e.action for e in (await session.exec(
            select(AuditEvent).where(col(AuditEvent.action).in_(
                ["customer.open", "visit.open", "order.deliver"])))).all()]
    assert actions == ["customer.open", "visit.open", "order.deliver"]

    # Delivered once: the card's button and the spent confirmation say so.
    assert await advisor.tap_data(f"ord:{order_id}:deliver", card) == [
        f"Order {NUMBER} was already delivered."]
    assert await advisor.tap_data(f"ord:{order_id}:delivered", advisor.last) == [
        f"Order {NUMBER} was already delivered."]
    assert len(await rows(shop, Visit)) == 1
    assert [t for t in clerk.inbox if "New visit" in t] == [clerk.last.text]


async def test_deliver_command_lists_and_names_orders_and_refuses_what_is_not_ready(
    shop: Shop,
) -> None:
    advisor, tech, clerk, _ = await staff(shop)
    other = await shop.hire("Chen Advisor", Role.advisor)

    assert await advisor.send("/deliver") == [
        "None of your orders is ready to hand back yet. A car can be delivered once its work "
        "has been checked."]
    order_id = await ready_order(shop, advisor, tech)
    waiting = await open_order(shop, advisor, tech, plate="京B54321")
    assert await advisor.send("/deliver") == ["Which car goes back to its customer?"]
    assert advisor.last.buttons == [(f"{NUMBER} · 京A12345 · 王先生", f"ord:{order_id}:deliver")]
    assert await other.send("/deliver") == [
        "None of your orders is ready to hand back yet. A car can be delivered once its work "
        "has been checked."]

    assert await advisor.send("/deliver WO261130-99999") == [
        "There is no work order WO261130-99999. Send /deliver to see your cars that are "
        "ready."]
    assert await advisor.send("/deliver WO261130-00002") == [
        "This cannot be done now: the order is waiting for the plate check."]
    assert await advisor.tap_data(f"ord:{waiting}:deliver", advisor.last) == [
        "This cannot be done now: the order is waiting for the plate check."]
    assert await advisor.tap_data(f"ord:{waiting}:delivered", advisor.last) == [
        "This cannot be done now: the order is waiting for the plate check."]
    assert await tech.send("/deliver") == ["Only advisors can do this; nothing was changed."]
    await clerk.send("/help")  # on WeCom a forged click needs a message of the clerk's own
    assert await clerk.tap_data(f"ord:{order_id}:delivered", advisor.last) == [
        "Only advisors can do this; nothing was changed."]

    # Any advisor at the desk may hand the car back, by its number (any case).
    replies = await other.send("/deliver wo261130-00001")
    assert replies[-1].startswith(f"Hand {NUMBER} (京A12345) back to 王先生?")
    await other.tap("Yes, delivered")
    assert other.last.text.startswith(f"🚗 {NUMBER} delivered to 王先生.")
    assert "New visit: 王先生" in clerk.last.text
    assert await advisor.send(f"/deliver {NUMBER}") == [f"Order {NUMBER} was already delivered."]
    assert len(await rows(shop, Visit)) == 1


async def test_a_second_delivery_of_the_same_car_reuses_the_customer(shop: Shop) -> None:
    advisor, tech, clerk, _ = await staff(shop)
    first_order = await delivered(shop, advisor, tech)
    shop.advance(days=10)
    second_order = await delivered(shop, advisor, tech)

    [customer] = await rows(shop, Customer)
    assert len(await rows(shop, Vehicle)) == 1
    visits = await rows(shop, Visit)
    assert [(v.customer_id, v.order_id) for v in visits] == [
        (customer.id, first_order), (customer.id, second_order)]
    firsts = [f for f in await rows(shop, FollowUp) if f.kind == FollowUpKind.first_call]
    assert [f.visit_id for f in firsts] == [v.id for v in visits]
    assert clerk.last.text.startswith(
        "🚗 New visit: 王先生 · 京A12345, order WO261210-00002 delivered on 10 Dec 2026.")

    await clerk.send("/customer 京A12345")
    history = clerk.last.text.split("Service history:\n")[1].split("\n\n")[0]
    assert history.splitlines() == [
        "• 10 Dec 2026 repair WO261210-00002: Change oil; Replace filter",
        f"• 30 Nov 2026 repair {NUMBER}: Change oil; Replace filter",
    ]


async def test_consult_for_an_existing_customer(shop: Shop) -> None:
    _, _, clerk, _ = await staff(shop)
    other = await shop.hire("Clerk Wu", Role.tracking_clerk)
    customer_id, _ = await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    shop.advance(days=1)

    assert (await other.send("/consult"))[-1].startswith("New consultation. Who is the customer?")
    assert await other.send("京Z99999") == [
        "No vehicle with plate 京Z99999 is on file.\nSend another search, or tap “New "
        "customer”."]
    assert await other.send("13812345678") == [
        "Consultation for 王先生. Which vehicle is it about? Tap its plate, send another plate, "
        "or tap “Skip”."]
    assert [label for label, _ in other.last.buttons] == ["京A12345", "Skip"]
    assert await other.tap("京A12345") == ["What did the customer ask about?"]
    replies = await other.send("Price of winter tyres")
    assert replies == [
        "✅ Consultation logged for 王先生.\nFirst call due 4 Dec 2026 to 8 Dec 2026.\n"
        "Clerk Li follows up and has been told.\n"
        "Still missing: address, vehicle model, vehicle type, maintenance cycle, next "
        "maintenance date, services wanted."]
    assert other.last.buttons == [("✏️ Complete the archive", f"cus:{customer_id}:edit")]
    assert clerk.last.text.startswith(
        "💬 New consultation: 王先生 · 京A12345 on 1 Dec 2026.\nWhat: Price of winter tyres\n")

    visits = await rows(shop, Visit)
    assert [(v.customer_id, v.kind, v.summary) for v in visits][-1] == (
        customer_id, "consultation", "Price of winter tyres")
    [customer] = await rows(shop, Customer)
    assert customer.clerk_id == clerk.staff_id  # a consultation does not move the customer


async def test_consult_for_a_new_customer_with_bad_input_on_the_way(shop: Shop) -> None:
    _, _, clerk, _ = await staff(shop)
    await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    newcomer = await shop.hire("Clerk Wu", Role.tracking_clerk)

    await newcomer.send("/consult")
    assert await newcomer.send("李女士") == [
        "No customer's name contains “李女士”.\nSend another search, or tap “New customer”."]
    assert await newcomer.tap("New customer") == ["New customer's name?"]
    assert "at most 64" in (await newcomer.send("x" * 65))[-1]
    assert await newcomer.send("李女士") == ["Their phone number?"]
    assert await newcomer.send("12") == [
        "That does not look like a phone number (e.g. 13812345678 or 010-12345678). Please "
        "send it again."]
    assert await newcomer.send("139 0000 1111") == [
        "The plate of their vehicle (e.g. 京A12345), or tap “Skip”."]
    assert await newcomer.send("XYZ") == [
        "“XYZ” is not a mainland plate. Please check it and send it again.\n"
        "Send another plate, or tap “Skip”."]
    assert await newcomer.send("京A12345") == [
        "Plate 京A12345 belongs to another customer's vehicle.\n"
        "Send another plate, or tap “Skip”."]
    assert await newcomer.send("/customer 王") == [
        "Finish this step first, or send /cancel to stop. Nothing was lost."]
    assert await newcomer.send("京B 54321") == ["What did the customer ask about?"]
    assert (await newcomer.send("   "))[-1] == "Please send some text."
    replies = await newcomer.send("Wants a quote for a full service")
    assert replies == [
        "✅ Consultation logged for 李女士.\nFirst call due 3 Dec 2026 to 7 Dec 2026.\n"
        "Still missing: address, vehicle model, vehicle type, maintenance cycle, next "
        "maintenance date, services wanted."]

    customers = await rows(shop, Customer)
    assert [(c.name, c.phones, c.clerk_id) for c in customers][-1] == (
        "李女士", "13900001111", newcomer.staff_id)
    vehicles = await rows(shop, Vehicle)
    assert vehicles[-1].plate == "京B54321" and vehicles[-1].customer_id == customers[-1].id
    firsts = [f for f in await rows(shop, FollowUp) if f.customer_id == customers[-1].id]
    assert [f.kind for f in firsts] == [FollowUpKind.first_call]


async def test_consult_with_a_known_phone_goes_into_that_archive(shop: Shop) -> None:
    _, _, clerk, boss = await staff(shop)
    await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    await boss.send("/consult")
    await boss.tap("New customer")
    await boss.send("Mr Wang")
    await boss.send("13812345678")
    await boss.tap("Skip")
    replies = await boss.send("Asked about the warranty")
    assert replies[-1].startswith(
        "✅ Consultation logged for 王先生.\nThat phone number was already on file, so it went "
        "into the archive of 王先生.\n")
    assert "Clerk Li follows up and has been told." in replies[-1]
    assert len(await rows(shop, Customer)) == 1
    assert clerk.last.text.startswith("💬 New consultation: 王先生 · — on 30 Nov 2026.")


async def test_consult_cancel_and_who_may_consult(shop: Shop) -> None:
    advisor, tech, clerk, _ = await staff(shop)
    assert await tech.send("/consult") == [
        "Only tracking clerks and supervisors can do this; nothing was changed."]
    assert await advisor.send("/consult") == [
        "Only tracking clerks and supervisors can do this; nothing was changed."]
    await clerk.send("/consult")
    await clerk.tap("New customer")
    await clerk.send("李女士")
    await clerk.send("13900001111")
    assert await clerk.send("/cancel") == ["Cancelled. Nothing was saved."]
    assert await clerk.tap("Skip") == ["This button is no longer active."]
    assert await clerk.send("/cancel") == ["There is nothing to cancel."]
    assert await rows(shop, Customer) == [] and await rows(shop, Visit) == []


async def test_customer_search_by_plate_phone_and_name(shop: Shop) -> None:
    advisor, _, clerk, boss = await staff(shop)
    customer_id, _ = await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    await customer_visit(shop, clerk.staff_id, name="王女士", phone="13900001111",  # type: ignore[arg-type]
                         plate="京B54321")

    card = (await clerk.send("/customer 京a 12345"))[-1]
    assert card == (
        "🗂 Customer archive · 王先生\n"
        "Phones: 13812345678\n"
        "Address: —\n"
        "Clerk: Clerk Li\n"
        "Services wanted: —\n"
        "\n"
        "Vehicles:\n"
        "• 京A12345 · — · —\n"
        "  Cycle: — · last service: — · next maintenance: —\n"
        "\n"
        "Service history:\n"
        "• 30 Nov 2026 consultation: Asked about the 40,000 km service\n"
        "\n"
        "Open follow-ups:\n"
        "• First call · 3 Dec 2026 to 7 Dec 2026\n"
        "\n"
        "Calls:\n"
        "• none yet\n"
        "\n"
        "Still missing: address, vehicle model, vehicle type, maintenance cycle, next "
        "maintenance date, services wanted.")
    assert clerk.last.buttons == [("✏️ Edit", f"cus:{customer_id}:edit"),
                                  ("📞 Calls", f"cus:{customer_id}:calls")]
    assert (await clerk.send("/customer 138-1234-5678"))[-1] == card
    assert (await boss.send("/customer 王先生"))[-1] == card

    assert await clerk.send("/customer 王") == ["2 customers match “王”. Which one?"]
    assert clerk.last.buttons == [("王先生 · 京A12345 · …5678", f"cus:{customer_id}:view"),
                                  ("王女士 · 京B54321 · …1111", f"cus:{customer_id + 1}:view")]
    assert (await clerk.tap("王女士"))[-1].startswith("🗂 Customer archive · 王女士\n")

    assert await clerk.send("/customer 京Z99999") == [
        "No vehicle with plate 京Z99999 is on file.\nCheck it and try again, or search by name."]
    assert await clerk.send("/customer 13700000000") == [
        "No customer has the phone number 13700000000.\nCheck it and try again, or search by "
        "name."]
    assert await clerk.send("/customer 赵") == [
        "No customer's name contains “赵”.\nCheck it and try again, or search by name."]
    assert await clerk.send("/customer") == [
        "Send /customer with a plate, phone number or name, e.g. /customer 京A12345."]
    assert (await clerk.send("/customer " + "x" * 65))[-1].startswith("That is 65 characters")

    # Advisors read the card but do not edit it.
    assert (await advisor.send("/customer 京A12345"))[-1] == card
    assert advisor.last.buttons == [("📞 Calls", f"cus:{customer_id}:calls")]
    assert await advisor.tap_data(f"cus:{customer_id}:edit", advisor.last) == [
        "Only tracking clerks and supervisors can do this; nothing was changed."]
    assert await clerk.tap("Calls") == ["📞 Calls with 王女士, newest first:\nNo call is logged "
                                        "yet."]


async def test_technicians_never_see_a_customer(shop: Shop) -> None:
    _, tech, clerk, _ = await staff(shop)
    customer_id, _ = await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    refused = ["Only tracking clerks, supervisors and advisors can look up customers."]
    assert await tech.send("/customer 京A12345") == refused
    assert await tech.send("/customer 13812345678") == refused
    message = tech.last
    assert await tech.tap_data(f"cus:{customer_id}:view", message) == refused
    assert await tech.tap_data(f"cus:{customer_id}:calls", message) == refused
    assert await tech.tap_data(f"cus:{customer_id}:edit", message) == [
        "Only tracking clerks and supervisors can do this; nothing was changed."]
    assert not any("13812345678" in text for text in tech.inbox)
    await clerk.send("/customer 京A12345")
    await clerk.tap("Edit")
    await clerk.tap("Address")
    await clerk.send("北京市朝阳区建国路1号")
    assert not any("建国路" in text or "13812345678" in text for text in tech.inbox)


async def test_edit_the_archive_field_by_field(shop: Shop) -> None:
    _, _, clerk, _ = await staff(shop)
    await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    await clerk.send("/customer 京A12345")

    replies = await clerk.tap("Edit")
    assert replies == [
        "✏️ Archive of 王先生. Which field? ❗ marks what is missing. Tap “Done” when finished; "
        "/cancel stops.\nStill missing: address, vehicle model, vehicle type, maintenance "
        "cycle, next maintenance date, services wanted."]
    assert [label for label, _ in clerk.last.buttons] == [
        "Name", "Phones", "❗ Address", "Add a vehicle (plate)", "❗ Vehicle model",
        "❗ Vehicle type", "❗ Cycle (months)", "❗ Cycle (km)", "❗ Next maintenance date",
        "❗ Services wanted", "✅ Done"]

    assert await clerk.tap("Address") == ["Send the customer's address."]
    assert (await clerk.send("x" * 201))[-1].startswith("That is 201 characters; at most 200")
    assert await clerk.send("北京市朝阳区建国路1号") == [
        "Saved — Address: 北京市朝阳区建国路1号\nStill missing: vehicle model, vehicle type, "
        "maintenance cycle, next maintenance date, services wanted.\nAnother field, or "
        "tap “Done”?"]
    assert await clerk.send("more text") == [
        "That is not what this step needs. Please answer the question above, or send /cancel."]

    assert await clerk.tap("Cycle (months)") == [
        "京A12345: Send the maintenance cycle in months (e.g. 6)."]
    assert await clerk.send("many") == ["Please send a whole number in a sensible range."]
    assert await clerk.send("0") == ["Please send a whole number in a sensible range."]
    assert (await clerk.send("6"))[-1].startswith("Saved — Cycle (months): 6\n")
    await clerk.tap("Next maintenance date")
    assert await clerk.send("next spring") == ["Please send a date like 2026-12-01."]
    assert (await clerk.send("2027-05-30"))[-1].startswith("Saved — Next maintenance date: ")
    await clerk.tap("Phones")
    assert await clerk.send("12") == [
        "That does not look like a phone number (e.g. 13812345678 or 010-12345678). Please "
        "send it again."]
    assert (await clerk.send("13812345678, 010-87654321"))[-1].startswith(
        "Saved — Phones: 13812345678, 010-87654321\n")
    await clerk.tap("Vehicle model")
    await clerk.send("Toyota Camry")
    await clerk.tap("Vehicle type")
    await clerk.send("sedan")
    # The vehicle field can be switched before typing: tap another field instead.
    await clerk.tap("Services wanted")
    assert await clerk.tap("Name") == ["Send the customer's name.\nNow: 王先生"]
    await clerk.tap("Services wanted")
    assert await clerk.send("Pick-up and delivery") == [
        "Saved — Services wanted: Pick-up and delivery\n✅ The archive is complete.\n"
        "Another field, or tap “Done”?"]
    assert not any(label.startswith("❗") for label, _ in clerk.last.buttons)
    replies = await clerk.tap("Done")
    assert replies[-1].endswith("✅ The archive is complete.")
    assert "Phones: 13812345678, 01087654321" in replies[-1]
    assert "• 京A12345 · Toyota Camry · sedan\n  Cycle: 6 months · last service: — · next " \
        "maintenance: 30 May 2027" in replies[-1]

    [customer] = await rows(shop, Customer)
    [visit] = await rows(shop, Visit)
    assert customer.address == "北京市朝阳区建国路1号"
    assert customer.archive_completed_at == shop.now()
    assert visit.archive_completed_at == shop.now()
    async with shop.db.session() as session:
        edits = (await session.exec(select(AuditEvent).where(
            AuditEvent.action == "customer.edit"))).all()
    assert len(edits) == 7 and all(e.staff_id == clerk.staff_id for e in edits)
    assert await clerk.send("/cancel") == ["There is nothing to cancel."]


async def test_edit_a_second_vehicle_and_the_plates_rules(shop: Shop) -> None:
    _, _, clerk, _ = await staff(shop)
    customer_id, _ = await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    await customer_visit(shop, clerk.staff_id, name="王女士", phone="13900001111",  # type: ignore[arg-type]
                         plate="京B54321")
    await clerk.send("/customer 京A12345")
    await clerk.tap("Edit")
    assert await clerk.tap("Add a vehicle (plate)") == [
        "Send the plate of the customer's vehicle (e.g. 京A12345). A new plate adds a vehicle."]
    assert await clerk.send("京B54321") == ["Plate 京B54321 belongs to another customer's vehicle."]
    assert await clerk.send("ABC") == [
        "“ABC” is not a mainland plate. Please check it and send it again."]
    assert (await clerk.send("沪C 88888"))[-1].startswith(
        "Saved — Add a vehicle (plate): 沪C 88888")
    assert await clerk.tap("Vehicle model") == ["Vehicle model: of which vehicle?"]
    assert [label for label, _ in clerk.last.buttons] == ["京A12345", "沪C88888"]
    assert await clerk.send("Tesla") == [
        "That is not what this step needs. Please answer the question above, or send /cancel."]
    assert await clerk.tap("沪C88888") == ["沪C88888: Send the vehicle model (e.g. Toyota Camry)."]
    await clerk.send("Tesla Model 3")
    # A button of another archive does not change which one is being edited.
    assert await clerk.tap_data(f"cus:{customer_id + 1}:f:name", clerk.last) == [
        "That button is not part of this step. Finish the step or send /cancel."]
    await clerk.tap("Done")

    vehicles = [v for v in await rows(shop, Vehicle) if v.customer_id == customer_id]
    assert [(v.plate, v.model) for v in vehicles] == [("京A12345", None),
                                                     ("沪C88888", "Tesla Model 3")]


async def test_cancel_an_edit_and_a_restart_in_the_middle(shop: Shop) -> None:
    _, _, clerk, _ = await staff(shop)
    await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    await clerk.send("/customer 京A12345")
    await clerk.tap("Edit")
    await clerk.tap("Address")
    assert await clerk.send("/cancel") == ["Cancelled. Nothing was saved."]
    assert await clerk.tap("Services wanted") == ["This button is no longer active."]
    [customer] = await rows(shop, Customer)
    assert customer.address is None

    await clerk.tap("Edit")
    await shop.restart()
    await clerk.tap("Address")
    await shop.restart()
    assert (await clerk.send("上海市徐汇区1号"))[-1].startswith("Saved — Address: 上海市徐汇区1号")
    [customer] = await rows(shop, Customer)
    assert customer.address == "上海市徐汇区1号"

    # /consult survives a restart too.
    await clerk.tap("Done")
    await clerk.send("/consult")
    await shop.restart()
    await clerk.send("京A12345")
    await shop.restart()
    await clerk.tap("Skip")
    assert (await clerk.send("Asked about tyres"))[-1].startswith(
        "✅ Consultation logged for 王先生.")


async def test_archive_reminders_in_working_hours_until_complete(shop: Shop) -> None:
    advisor, tech, clerk, boss = await staff(shop)
    await delivered(shop, advisor, tech)  # Monday 30 Nov, 09:00; due Wednesday 09:00
    told_at_delivery = len(clerk.inbox)

    async def run() -> int:
        return await archive_reminders.run(shop.services, shop.now())

    assert await run() == 0  # the clerk was just told at the delivery
    shop.advance(hours=3, minutes=59)
    assert await run() == 0
    shop.advance(minutes=1)  # 13:00
    assert await run() == 1
    reminder = clerk.last
    assert reminder.text == (
        "📋 The archive of 王先生 is incomplete.\n"
        "Visit on 30 Nov 2026: Change oil; Replace filter\n"
        f"Missing: {MISSING}.\n"
        "Please complete it by 2 Dec 09:00.")
    assert reminder.buttons == [("✏️ Complete the archive", "cus:1:edit")]
    assert await run() == 0
    shop.advance(hours=3)  # 16:00
    assert await run() == 0
    shop.advance(hours=1)  # 17:00
    assert await run() == 1
    shop.advance(hours=4)  # 21:00: after hours
    assert await run() == 0
    shop.advance(hours=11, minutes=30)  # Tuesday 08:30
    assert await run() == 0
    shop.advance(minutes=30)  # Tuesday 09:00
    assert await run() == 1
    assert len(clerk.inbox) == told_at_delivery + 3
    assert boss.inbox == []

    # Wednesday 09:00, two days after the visit: one more reminder, and the supervisor is told.
    shop.advance(days=1)
    assert await run() == 2
    assert boss.last.text == (
        "⚠️ The archive of 王先生 is still incomplete 2 days after the visit of 30 Nov 2026.\n"
        "Clerk: Clerk Li\n"
        "Missing: address, vehicle type, maintenance cycle, next maintenance date, services "
        "wanted.")
    assert boss.last.buttons == [("🗂 Archive", "cus:1:view")]
    assert clerk.last.text.endswith("It was due 2 Dec 09:00.")
    shop.advance(minutes=1)
    assert await run() == 0
    shop.advance(hours=4)
    assert await run() == 1  # the clerk again; the supervisor was told once
    assert len(boss.inbox) == 1
    [visit] = await rows(shop, Visit)
    assert visit.archive_late_reported_at is not None

    # The reminder's button opens the form; a complete archive stops the reminders.
    await clerk.tap("Complete the archive", message=reminder)
    for field, value in (("Address", "北京市朝阳区建国路1号"), ("Vehicle type", "sedan"),
                         ("Cycle (km)", "5000"), ("Next maintenance date", "2027-05-30"),
                         ("Services wanted", "Car wash")):
        await clerk.tap(field)
        replies = await clerk.send(value)
    assert "✅ The archive is complete." in replies[-1]
    await clerk.tap("Done")
    inbox = len(clerk.inbox)
    for _ in range(3):
        shop.advance(hours=5)
        assert await run() == 0
    assert len(clerk.inbox) == inbox and len(boss.inbox) == 1


async def test_an_archive_found_complete_is_marked_not_reminded(shop: Shop) -> None:
    _, _, clerk, boss = await staff(shop)
    customer_id, _ = await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    async with shop.db.session() as session:  # completed outside the bot, e.g. an import
        customer = await session.get(Customer, customer_id)
        assert customer is not None
        customer.address, customer.services_wanted = "北京", "Car wash"
        vehicle = (await session.exec(select(Vehicle))).one()
        vehicle.model, vehicle.vehicle_type, vehicle.cycle_km = "Camry", "sedan", 5000
        vehicle.next_maintenance_on = (shop.now() + timedelta(days=90)).date()
        await session.commit()
    shop.advance(days=2, hours=4)
    inbox = len(clerk.inbox)
    assert await archive_reminders.run(shop.services, shop.now()) == 0
    [visit] = await rows(shop, Visit)
    assert visit.archive_completed_at == shop.now() and visit.archive_late_reported_at is None
    assert len(clerk.inbox) == inbox and boss.inbox == []


async def test_a_customer_without_a_clerk_goes_to_the_supervisor(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    boss = await shop.hire("Boss Ma", Role.supervisor)
    await delivered(shop, advisor, tech)
    assert advisor.last.text == (
        f"🚗 {NUMBER} delivered to 王先生.\nNo tracking clerk is assigned to this customer yet; "
        "the supervisor will be reminded.\nFirst call due 3 Dec 2026 to 7 Dec 2026.")
    shop.advance(hours=4)
    assert await archive_reminders.run(shop.services, shop.now()) == 1
    assert boss.last.text.startswith(
        "⚠️ 王先生 has no active tracking clerk; assign one with /assign.\n"
        "📋 The archive of 王先生 is incomplete.")
