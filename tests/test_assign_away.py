"""A5 and A11: the supervisor assigns customers to clerks and records absences; while a clerk
is away their customers' reminders go to the stand-in, and afterwards back to them."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from jobs import archive_reminders
from models.absence import Absence
from models.audit import Actor, AuditEvent
from models.call_log import log_call
from models.customer import Customer
from models.staff import Role
from tests.flows import customer_visit
from tests.shop import Person, Shop

pytestmark = pytest.mark.both_channels


async def team(shop: Shop) -> tuple[Person, Person, Person, Person]:
    boss = await shop.hire("Boss Ma", Role.supervisor)
    zhang = await shop.hire("张三", Role.tracking_clerk)
    li = await shop.hire("李四", Role.tracking_clerk)
    tech = await shop.hire("Zhang Tech", Role.technician)
    return boss, zhang, li, tech


async def clerk_of(shop: Shop, customer_id: int) -> int | None:
    async with shop.db.session() as session:
        customer = await session.get(Customer, customer_id)
        assert customer is not None
        return customer.clerk_id


async def absences(shop: Shop) -> list[Absence]:
    async with shop.db.session() as session:
        return list((await session.exec(select(Absence).order_by(col(Absence.id)))).all())


# --- /assign ---------------------------------------------------------------------------------


async def test_assign_one_customer(shop: Shop) -> None:
    boss, zhang, li, _ = await team(shop)
    customer_id, _ = await customer_visit(shop, zhang.staff_id)  # type: ignore[arg-type]

    assert await boss.send("/assign") == [
        "Assign customers to a tracking clerk: one customer, or every customer of one clerk? "
        "/cancel stops."]
    assert await boss.tap("One customer") == ["Send the customer's plate, phone number or name."]
    assert await boss.send("京Z99999") == [
        "No vehicle with plate 京Z99999 is on file.\nSend another search."]
    assert await boss.send("京A12345") == ["王先生 (clerk now: 张三). Assign to which clerk?"]
    assert [label for label, _ in boss.last.buttons] == ["✓ 张三", "李四"]
    assert await boss.tap("李四") == ["✅ 王先生 is now with 李四 (before: 张三)."]
    assert li.last.text == "👤 Boss Ma assigned the customer 王先生 to you."
    assert li.last.buttons == [("🗂 Archive", f"cus:{customer_id}:view")]
    assert await clerk_of(shop, customer_id) == li.staff_id
    assert not any("assigned" in text for text in zhang.inbox)
    async with shop.db.session() as session:
        event = (await session.exec(select(AuditEvent).where(
            AuditEvent.action == "customer.assign"))).one()
    assert (event.staff_id, event.before, event.after) == (
        boss.staff_id, str(zhang.staff_id), str(li.staff_id))

    # /assign with a search goes straight to the clerk; the new clerk opens the archive.
    assert await boss.send("/assign 13812345678") == [
        "王先生 (clerk now: 李四). Assign to which clerk?"]
    await boss.send("/cancel")
    assert (await li.tap("Archive"))[-1].startswith("🗂 Customer archive · 王先生\n")


async def test_assign_all_customers_of_a_clerk(shop: Shop) -> None:
    boss, zhang, li, _ = await team(shop)
    first, _ = await customer_visit(shop, zhang.staff_id)  # type: ignore[arg-type]
    second, _ = await customer_visit(shop, zhang.staff_id, name="王女士",  # type: ignore[arg-type]
                                     phone="13900001111", plate="京B54321")
    await boss.send("/assign")
    assert await boss.tap("All customers of a clerk") == ["Move all customers of which clerk?"]
    assert [label for label, _ in boss.last.buttons] == ["张三 (2)"]
    assert await boss.tap("张三 (2)") == ["Move every customer of 张三 to which clerk?"]
    assert [label for label, _ in boss.last.buttons] == ["李四"]
    assert await boss.tap("李四") == ["✅ Moved 2 customers from 张三 to 李四."]
    assert li.last.text == "👥 Boss Ma moved 2 customers of 张三 to you."
    assert [await clerk_of(shop, c) for c in (first, second)] == [li.staff_id] * 2


async def test_only_supervisors_assign_and_only_to_clerks(shop: Shop) -> None:
    boss, zhang, li, tech = await team(shop)
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    customer_id, _ = await customer_visit(shop, zhang.staff_id)  # type: ignore[arg-type]
    for person in (zhang, tech, advisor):
        assert await person.send("/assign") == [
            "Only supervisors can do this; nothing was changed."]
        assert await person.send("/away 张三 2026-12-01 2026-12-05 李四") == [
            "Only supervisors can do this; nothing was changed."]

    await boss.send("/assign 京A12345")
    buttons = boss.last
    # A forged tap naming someone who is not a tracking clerk is refused; the step stays.
    assert await boss.tap_data(f"asg:to:{tech.staff_id}", buttons) == [
        "Zhang Tech is not an active tracking clerk."]
    assert await boss.tap_data("asg:to:999", buttons) == ["? is not an active tracking clerk."]
    assert await clerk_of(shop, customer_id) == zhang.staff_id
    assert await boss.send("李四") == [
        "That is not what this step needs. Please answer the question above, or send /cancel."]
    assert await boss.tap("李四") == ["✅ 王先生 is now with 李四 (before: 张三)."]
    assert await boss.tap_data(f"asg:to:{zhang.staff_id}", buttons) == [
        "This button is no longer active."]
    assert await clerk_of(shop, customer_id) == li.staff_id

    # Moving everyone to someone who is not a clerk is refused as well.
    await boss.send("/assign")
    await boss.tap("All customers of a clerk")
    await boss.tap("李四 (1)")
    assert await boss.tap_data(f"asg:to:{tech.staff_id}", boss.last) == [
        "Zhang Tech is not an active tracking clerk."]
    assert await boss.tap_data(f"asg:to:{li.staff_id}", boss.last) == [
        "Those are the same clerk; choose another one."]
    assert await boss.send("/cancel") == ["Cancelled. Nothing was saved."]
    assert await clerk_of(shop, customer_id) == li.staff_id


async def test_assign_survives_a_restart(shop: Shop) -> None:
    boss, zhang, li, _ = await team(shop)
    customer_id, _ = await customer_visit(shop, zhang.staff_id)  # type: ignore[arg-type]
    await boss.send("/assign")
    await shop.restart()
    await boss.tap("One customer")
    await shop.restart()
    await boss.send("王先生")
    await shop.restart()
    assert await boss.tap("李四") == ["✅ 王先生 is now with 李四 (before: 张三)."]
    assert await clerk_of(shop, customer_id) == li.staff_id


# --- /away -----------------------------------------------------------------------------------


async def test_away_in_one_line_routes_reminders_to_the_stand_in_and_back(shop: Shop) -> None:
    boss, zhang, li, _ = await team(shop)
    assert await boss.send("/away 张三 2026-12-01 2026-12-05 李四") == [
        "✅ Recorded: 张三 is away from 1 Dec 2026 to 5 Dec 2026; 李四 stands in. Both have been "
        "told."]
    assert zhang.last.text == (
        "📅 Boss Ma recorded your absence from 1 Dec 2026 to 5 Dec 2026. 李四 takes your "
        "customers' follow-ups meanwhile.")
    assert li.last.text == (
        "📅 You stand in for 张三 from 1 Dec 2026 to 5 Dec 2026: their customers' reminders "
        "come to you, marked with their name.")
    [absence] = await absences(shop)
    assert (absence.clerk_id, absence.standin_id, absence.created_by) == (
        zhang.staff_id, li.staff_id, boss.staff_id)

    # Monday 30 Nov: 张三 logs a consultation and is still at work that day.
    await customer_visit(shop, zhang.staff_id)  # type: ignore[arg-type]
    shop.advance(hours=4)
    assert await archive_reminders.run(shop.services, shop.now()) == 1
    assert zhang.last.text.startswith("📋 The archive of 王先生 is incomplete.")
    zhang_count, li_count = len(zhang.inbox), len(li.inbox)

    # Tuesday 1 Dec, 09:00: away. The stand-in gets it, with whose customer it is.
    shop.advance(hours=20)
    assert await archive_reminders.run(shop.services, shop.now()) == 1
    assert li.last.text.startswith(
        "👥 You are standing in for 张三: this is their customer.\n"
        "📋 The archive of 王先生 is incomplete.")
    assert li.last.buttons == [("✏️ Complete the archive", "cus:1:edit")]
    assert len(zhang.inbox) == zhang_count
    # The card says who stands in; the stand-in's call is kept under their name.
    assert "Clerk: 张三 (away today; 李四 stands in)" in (await li.send("/customer 京A12345"))[-1]
    async with shop.db.session() as session:
        from models.staff import Staff

        standin = await session.get(Staff, li.staff_id)
        assert standin is not None
        settings = shop.settings
        await log_call(
            session, clerk=standin, customer_id=1, followup_id=None, reached=True, topics=[],
            satisfaction=4, notes="Asked for the address", request=None,
            answered_on_call=False, now=shop.now(), actor=Actor(li.staff_id, "telegram"),
            calendar=settings.calendar, second_call_window=settings.second_call_window)
        await session.commit()
    assert await li.tap("Calls") == [
        "📞 Calls with 王先生, newest first:\n"
        "• 1 Dec 09:00 李四 for 张三: reached, satisfaction 4/5 — Asked for the address"]

    # Saturday 5 Dec, the last day away: still the stand-in (and the archive is now late).
    shop.advance(days=4)
    assert await archive_reminders.run(shop.services, shop.now()) == 2
    assert boss.last.text.splitlines()[1] == "Clerk: 张三"
    assert li.last.text.startswith("👥 You are standing in for 张三")
    assert len(zhang.inbox) == zhang_count
    # Monday 7 Dec: back to the clerk, without a note.
    shop.advance(days=2)
    assert await archive_reminders.run(shop.services, shop.now()) == 1
    assert zhang.last.text.startswith("📋 The archive of 王先生 is incomplete.")
    assert len(li.inbox) == li_count + 4  # two reminders, the card and the calls


async def test_away_in_one_line_refuses_bad_input_and_saves_nothing(shop: Shop) -> None:
    boss, zhang, li, tech = await team(shop)
    await shop.hire("Clerk Wu", Role.tracking_clerk)
    cases = {
        "/away 张三 2026-11-29 2026-12-05 李四": "The absence must start today or later and "
                                             "end on or after its start.",
        "/away 张三 2026-12-05 2026-12-01 李四": "The absence must start today or later and "
                                             "end on or after its start.",
        "/away 张三 2026-13-01 2026-12-05 李四": "Please send a date like 2026-12-01.",
        "/away 王五 2026-12-01 2026-12-05 李四": "“王五” does not name exactly one staff member. "
                                            "Check the spelling, or use their staff code.",
        "/away 张三 2026-12-01 2026-12-05 赵六": "“赵六” does not name exactly one staff member. "
                                            "Check the spelling, or use their staff code.",
        "/away 张三 2026-12-01 2026-12-05 Zhang Tech": "Zhang Tech is not an active tracking "
                                                     "clerk.",
        "/away Zhang Tech 2026-12-01 2026-12-05 李四": "Zhang Tech is not an active tracking "
                                                     "clerk.",
        "/away 张三 2026-12-01 2026-12-05 张三": "The stand-in must be someone other than the "
                                             "absent clerk.",
        "/away 张三 2026-12-01": "Please write it like this: /away 张三 2026-12-01 2026-12-05 李四 "
                               "(who, first day, last day, stand-in), or send /away alone.",
        "/away 张三 2026-12-01 李四 2026-12-05": "Please write it like this: /away 张三 2026-12-01 "
                                              "2026-12-05 李四 (who, first day, last day, "
                                              "stand-in), or send /away alone.",
    }
    for line, answer in cases.items():
        assert await boss.send(line) == [answer], line
    assert await absences(shop) == []
    assert zhang.inbox == [] and li.inbox == [] and tech.inbox == []

    # Today is allowed; a second absence that overlaps it is not.
    assert (await boss.send("/away 张三 2026-11-30 2026-12-02 李四"))[-1].startswith(
        "✅ Recorded: 张三 is away from 30 Nov 2026 to 2 Dec 2026")
    assert await boss.send("/away 张三 2026-12-02 2026-12-04 Clerk Wu") == [
        "That clerk is already away from 30 Nov 2026 to 2 Dec 2026."]
    assert len(await absences(shop)) == 1


async def test_away_conversation_lists_then_asks(shop: Shop) -> None:
    boss, zhang, li, _ = await team(shop)
    wu = await shop.hire("Clerk Wu", Role.tracking_clerk)
    await boss.send("/away 李四 2026-12-07 2026-12-08 Clerk Wu")

    assert await boss.send("/away") == [
        "Absences now and to come:\n• 李四: 7 Dec 2026 to 8 Dec 2026, stand-in Clerk Wu\n\n"
        "Who will be away? /cancel stops."]
    assert [label for label, _ in boss.last.buttons] == ["Clerk Wu", "张三", "李四"]
    assert await boss.tap_data(f"awy:c:{boss.staff_id}", boss.last) == [
        "Boss Ma is not an active tracking clerk."]
    assert await boss.tap("张三") == ["张三 is away from which day? (e.g. 2026-11-30)"]
    assert await boss.send("tomorrow") == ["Please send a date like 2026-12-01."]
    assert await boss.send("2026-11-29") == [
        "The absence must start today or later and end on or after its start."]
    await shop.restart()
    assert await boss.send("2026-12-02") == ["And the last day away (that day included)?"]
    assert await boss.send("2026-12-01") == [
        "The absence must start today or later and end on or after its start."]
    assert await boss.send("2026-12-04") == ["Who stands in?"]
    assert [label for label, _ in boss.last.buttons] == ["Clerk Wu", "李四"]
    assert await boss.send("李四") == [
        "That is not what this step needs. Please answer the question above, or send /cancel."]
    await shop.restart()
    assert await boss.tap_data(f"awy:s:{zhang.staff_id}", boss.last) == [
        "The stand-in must be someone other than the absent clerk."]
    assert await boss.tap("李四") == [
        "✅ Recorded: 张三 is away from 2 Dec 2026 to 4 Dec 2026; 李四 stands in. Both have been "
        "told."]
    assert zhang.last.text.startswith("📅 Boss Ma recorded your absence from 2 Dec 2026")
    assert li.last.text.startswith("📅 You stand in for 张三 from 2 Dec 2026 to 4 Dec 2026")
    assert await boss.send("/cancel") == ["There is nothing to cancel."]

    # An overlap sends the supervisor back to the first day; /cancel keeps nothing.
    await boss.send("/away")
    await boss.tap("李四")
    await boss.send("2026-12-08")
    await boss.send("2026-12-09")
    assert await boss.tap("张三") == [
        "That clerk is already away from 7 Dec 2026 to 8 Dec 2026.\n"
        "Send another first day, or /cancel."]
    assert await boss.send("/cancel") == ["Cancelled. Nothing was saved."]
    assert len(await absences(shop)) == 2
    assert not any("9 Dec 2026" in text for text in wu.inbox + zhang.inbox)


async def test_an_absence_that_ended_is_no_longer_listed(shop: Shop) -> None:
    boss, _, _, _ = await team(shop)
    await boss.send("/away 张三 2026-11-30 2026-11-30 李四")
    shop.advance(days=1)
    replies = await boss.send("/away")
    assert replies[-1].startswith("No absence is recorded from today on.\n\nWho will be away?")
    await boss.send("/cancel")
    assert (await boss.send("/away 张三 2026-12-01 2026-12-01 李四"))[-1].startswith(
        "✅ Recorded: 张三 is away from 1 Dec 2026 to 1 Dec 2026")
