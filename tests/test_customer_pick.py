"""The shared "find a customer, then pick" step (handlers/after_sales/customer_pick.py) as each of
the five conversations uses it: /customer, /assign, /consult, /logcall and /letter.

No match, too many matches, a customer deleted (or merged away) after the list went out, a
forged or old button, someone else's button, /cancel — the same answers everywhere, each flow
with its own callback data and its own next step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlmodel import delete

from handlers.after_sales.customer_pick import MAX_MATCHES, pick_label
from models.customer import Customer, Vehicle, reads_customers
from models.staff import Role, Staff, encode_roles
from tests.shop import Person, Shop

pytestmark = pytest.mark.both_channels

STALE = "This button is no longer active."
GONE = "That customer no longer exists."


@dataclass(frozen=True)
class Flow:
    command: str
    data: str  # the flow's callback data, with {id}
    again: str  # what follows "no customer matches"
    next_step: Callable[[str], str]  # the flow's next step for the chosen customer's name
    conversation: bool = True
    extra: tuple[str, ...] = ()  # buttons under the matches

    def __str__(self) -> str:
        return self.command


CUSTOMER = Flow("/customer", "cus:{id}:view", "Check it and try again, or search by name.",
                lambda name: f"🗂 Customer archive · {name}\n", conversation=False)
ASSIGN = Flow("/assign", "asg:c:{id}", "Send another search.",
              lambda name: f"{name} (clerk now: Ma Boss). Assign to which clerk?")
CONSULT = Flow("/consult", "con:c:{id}", "Send another search, or tap “New customer”.",
               lambda name: f"Consultation for {name}. Which vehicle is it about? Tap its "
                            "plate, send another plate, or tap “Skip”.",
               extra=("🆕 New customer",))
LOGCALL = Flow("/logcall", "cl:cust:{id}", "Send another search.",
               lambda name: f"Inbound call from {name}.")
LETTER = Flow("/letter", "ltr:cu:{id}", "Send another search.",
              lambda name: f"{name}: which kind of letter?")
FLOWS = [CUSTOMER, ASSIGN, CONSULT, LOGCALL, LETTER]
CONVERSATIONS = [flow for flow in FLOWS if flow.conversation]


async def boss_of(shop: Shop) -> Person:
    """A supervisor who is also a tracking clerk: allowed into all five flows."""
    return await shop.hire("Ma Boss", Role.supervisor, Role.tracking_clerk)


async def customer(shop: Shop, name: str, phones: str = "", plates: tuple[str, ...] = (),
                   clerk: Person | None = None) -> int:
    async with shop.db.session() as session:
        row = Customer(name=name, phones=phones, created_at=shop.now(), updated_at=shop.now(),
                       clerk_id=clerk.staff_id if clerk else None)
        session.add(row)
        await session.flush()
        for plate in plates:
            session.add(Vehicle(customer_id=row.id, plate=plate,  # type: ignore[arg-type]
                                created_at=shop.now()))
        await session.commit()
        return row.id  # type: ignore[return-value]


async def remove(shop: Shop, customer_id: int) -> None:
    """The archive goes away (deleted, or merged into another one) after a list was sent."""
    async with shop.db.session() as session:
        await session.exec(delete(Vehicle).where(Vehicle.customer_id == customer_id))  # type: ignore[call-overload]
        await session.exec(delete(Customer).where(Customer.id == customer_id))  # type: ignore[call-overload]
        await session.commit()


async def search(person: Person, flow: Flow, query: str, *, first: bool = True) -> list[str]:
    """The first search rides on the command; later ones are typed (a new /customer)."""
    if first or not flow.conversation:
        return await person.send(f"{flow.command} {query}")
    return await person.send(query)


async def two_wangs(shop: Shop, boss: Person) -> tuple[int, int]:
    mr = await customer(shop, "王先生", "13812345678", ("京A12345",), boss)
    ms = await customer(shop, "王女士", "13900001111", ("沪B54321",), boss)
    return mr, ms


@pytest.mark.parametrize("flow", FLOWS, ids=str)
async def test_no_match_says_what_was_not_found(shop: Shop, flow: Flow) -> None:
    boss = await boss_of(shop)
    await two_wangs(shop, boss)
    assert await search(boss, flow, "京Z 99999") == [
        f"No vehicle with plate 京Z99999 is on file.\n{flow.again}"]
    assert [label for label, _ in boss.last.buttons] == list(flow.extra)
    assert await search(boss, flow, "137-0000-0000", first=False) == [
        f"No customer has the phone number 13700000000.\n{flow.again}"]
    assert await search(boss, flow, "赵", first=False) == [
        f"No customer's name contains “赵”.\n{flow.again}"]
    assert (await search(boss, flow, "x" * 65, first=False))[-1].startswith(
        "That is 65 characters")
    # The step is still there: a good search goes on to the flow's next step.
    assert flow.next_step("王女士") in "\n".join(
        await search(boss, flow, "沪B54321", first=False))


@pytest.mark.parametrize("flow", FLOWS, ids=str)
async def test_several_matches_one_label_style(shop: Shop, flow: Flow) -> None:
    boss = await boss_of(shop)
    mr, ms = await two_wangs(shop, boss)
    many = await customer(shop, "王小明", "", ("京C11111", "京C22222", "京C33333"), boss)
    assert await search(boss, flow, "王") == ["3 customers match “王”. Which one?"]
    assert boss.last.buttons == [
        ("王先生 · 京A12345 · …5678", flow.data.format(id=mr)),
        ("王女士 · 沪B54321 · …1111", flow.data.format(id=ms)),
        ("王小明 · 京C11111 · 京C22222 +1", flow.data.format(id=many)),
    ] + [(label, "con:new") for label in flow.extra]
    assert flow.next_step("王小明") in "\n".join(await boss.tap("王小明"))


@pytest.mark.parametrize("flow", FLOWS, ids=str)
async def test_too_many_matches_ask_for_more(shop: Shop, flow: Flow) -> None:
    boss = await boss_of(shop)
    ids = [await customer(shop, f"王客户{n}", f"1380000000{n}", (), boss)
           for n in range(1, MAX_MATCHES + 2)]
    assert await search(boss, flow, "王客户") == [
        f"More than {MAX_MATCHES} customers match “王客户”; here are the first {MAX_MATCHES}. "
        "Send more of the name, or the plate or phone number, to narrow it down."]
    assert [data for _, data in boss.last.buttons] == [
        flow.data.format(id=i) for i in ids[:MAX_MATCHES]] + ["con:new"] * len(flow.extra)
    last = f"王客户{MAX_MATCHES + 1}"
    assert flow.next_step(last) in "\n".join(await search(boss, flow, last, first=False))


@pytest.mark.parametrize("flow", FLOWS, ids=str)
async def test_a_customer_deleted_after_the_list_went_out(shop: Shop, flow: Flow) -> None:
    boss = await boss_of(shop)
    mr, _ = await two_wangs(shop, boss)
    await search(boss, flow, "王")
    listing = boss.last
    await remove(shop, mr)
    assert await boss.tap("王先生", message=listing) == [GONE]
    # Nothing moved on: the other customer of the same list still works.
    assert flow.next_step("王女士") in "\n".join(await boss.tap("王女士", message=listing))


@pytest.mark.parametrize("flow", CONVERSATIONS, ids=str)
async def test_forged_and_old_buttons_are_out_of_date(shop: Shop, flow: Flow) -> None:
    boss = await boss_of(shop)
    mr, ms = await two_wangs(shop, boss)
    li = await customer(shop, "李先生", "13700002222", ("京D22222",), boss)
    li2 = await customer(shop, "李女士", "13700003333", ("京D33333",), boss)
    await search(boss, flow, "王")
    old = boss.last
    # An id that names nobody, and a real customer that this list did not offer.
    assert await boss.tap_data(flow.data.format(id=999), old) == [STALE]
    assert await boss.tap_data(flow.data.format(id=li), old) == [STALE]
    # A new search replaces the list: the old one's buttons are out of date.
    assert await search(boss, flow, "李", first=False) == ["2 customers match “李”. Which one?"]
    new = boss.last
    assert await boss.tap_data(flow.data.format(id=mr), old) == [STALE]
    # So is a list from an earlier conversation, once a new one has begun.
    assert await boss.send("/cancel") == ["Cancelled. Nothing was saved."]
    await search(boss, flow, "王")
    assert await boss.tap_data(flow.data.format(id=li2), new) == [STALE]
    assert flow.next_step("王女士") in "\n".join(
        await boss.tap_data(flow.data.format(id=ms), boss.last))


async def test_customer_list_buttons_stand_alone(shop: Shop) -> None:
    """/customer's buttons are the card's 🗂 button: no conversation, checked when tapped."""
    boss = await boss_of(shop)
    tech = await shop.hire("Zhang Tech", Role.technician)
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    mr, _ = await two_wangs(shop, boss)
    await boss.send("/customer 王")
    listing = boss.last
    assert await boss.tap_data("cus:999:view", listing) == [GONE]
    refused = ["Only tracking clerks, supervisors and advisors can look up customers."]
    assert await tech.send("/customer 王") == refused
    assert await tech.tap_data(f"cus:{mr}:view", listing) == refused
    await advisor.send("/customer 王")
    assert advisor.last.buttons[0] == ("王先生 · 京A12345 · …5678", f"cus:{mr}:view")
    assert (await advisor.tap("王先生"))[-1].startswith("🗂 Customer archive · 王先生\n")


@pytest.mark.parametrize("flow", CONVERSATIONS, ids=str)
async def test_someone_elses_list_is_not_theirs_to_tap(shop: Shop, flow: Flow) -> None:
    boss = await boss_of(shop)
    other = await shop.hire("Qian Boss", Role.supervisor, Role.tracking_clerk)
    _, ms = await two_wangs(shop, boss)
    await customer(shop, "李先生", "13700002222", ("京D22222",), boss)
    await customer(shop, "李女士", "13700003333", ("京D33333",), boss)
    await search(boss, flow, "王")
    theirs = boss.last
    await search(other, flow, "李")
    assert await other.tap_data(flow.data.format(id=ms), theirs) == [STALE]
    # Neither step moved: each still picks from their own list.
    assert flow.next_step("李女士") in "\n".join(await other.tap("李女士"))
    assert flow.next_step("王女士") in "\n".join(await boss.tap("王女士", message=theirs))


@pytest.mark.parametrize("flow", CONVERSATIONS, ids=str)
async def test_cancel_at_the_list(shop: Shop, flow: Flow) -> None:
    boss = await boss_of(shop)
    await two_wangs(shop, boss)
    await search(boss, flow, "王")
    listing = boss.last
    assert await boss.send("/cancel") == ["Cancelled. Nothing was saved."]
    assert await boss.tap_data(listing.buttons[0][1], listing) == [STALE]
    assert await boss.send("/cancel") == ["There is nothing to cancel."]


def test_labels_keep_plates_and_show_phones_only_to_who_may_read_them() -> None:
    wang = Customer(name="王" * 64, phones="13812345678,010-1234")
    label = pick_label(wang, ["京A12345", "京B12345", "京C12345"], with_phone=True)
    assert label.endswith(" · 京A12345 · 京B12345 +1 · …5678") and len(label) <= 60
    assert pick_label(wang, [], with_phone=False) == "王" * 59 + "…"
    staff = {role: Staff(name="x", roles=encode_roles({role})) for role in Role}
    assert {role for role, person in staff.items() if reads_customers(person)} == {
        Role.tracking_clerk, Role.supervisor, Role.advisor}
