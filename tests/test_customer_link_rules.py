"""W5 from the customer's phone, the rules (``models/customer_link.py``): a link to the order's
pending extra items, only its hash stored; per-item decisions recorded with the customer's
name, address and browser; the first decision wins against the front desk; an expired, used
or changed link refuses. The chat and the page are tested in ``test_customer_consent.py``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from models.audit import Actor
from models.customer_link import (
    CustomerChoice,
    CustomerLink,
    CustomerLinkItem,
    DeclineReason,
    LinkState,
    customer_decides,
    find_link,
    form_key_matches,
    make_link,
    mask_plate,
    token_hash,
    view_link,
)
from models.extra_item import (
    ConsentMethod,
    Decision,
    ExtraItemRequest,
    decide,
    decision_of,
    request_extra_item,
)
from models.rules import Refused
from models.staff import Role, Staff
from tests.flows import order_in_progress
from tests.shop import Person, Shop


async def two_requests(shop: Shop) -> tuple[Person, Person, int, list[int]]:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    ids = []
    async with shop.db.session() as session:
        technician = await session.get(Staff, tech.staff_id)
        assert technician is not None
        for description, parts, labour in (("Wiper blades", 12000, 3000),
                                           ("Brake pads", 48000, 20000)):
            _, request = await request_extra_item(
                session, order_id=order_id, technician=technician, description=description,
                reason="worn", photos=[], parts_fen=parts, labour_fen=labour,
                now=shop.now(), actor=Actor(tech.staff_id, "telegram"))
            ids.append(request.id)
        await session.commit()
    return advisor, tech, order_id, [i for i in ids if i is not None]


async def new_link(shop: Shop, advisor: Person, order_id: int) -> str:
    async with shop.db.session() as session:
        staff = await session.get(Staff, advisor.staff_id)
        assert staff is not None
        _link, token, items = await make_link(session, order_id=order_id, advisor=staff,
                                             now=shop.now(), hours=24,
                                             actor=Actor(advisor.staff_id, "telegram"))
        await session.commit()
    assert len(items) == 2
    return token


async def test_a_link_stores_only_its_hash_and_freezes_what_it_shows(shop: Shop) -> None:
    advisor, _tech, order_id, _ids = await two_requests(shop)
    token = await new_link(shop, advisor, order_id)
    assert len(token) >= 32  # 24 random bytes, URL-safe
    async with shop.db.session() as session:
        link = (await session.exec(select(CustomerLink))).one()
        assert link.token_hash == token_hash(token) != token
        assert form_key_matches(link, link.form_key) and len(link.form_key) == 32
        assert not form_key_matches(link, "") and not form_key_matches(link, None)
        assert not form_key_matches(link, link.form_key[:-1] + "x")
        assert await find_link(session, token) is not None
        assert await find_link(session, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        assert await find_link(session, "") is None
        view = await view_link(session, link, shop.now())
    assert view.state is LinkState.open
    assert [i.item.description for i in view.items] == ["Wiper blades", "Brake pads"]
    assert view.total_fen == 12000 + 3000 + 48000 + 20000


async def test_the_customer_approves_one_and_declines_another(shop: Shop) -> None:
    advisor, _tech, order_id, ids = await two_requests(shop)
    token = await new_link(shop, advisor, order_id)
    async with shop.db.session() as session:
        link = await find_link(session, token)
        assert link is not None
        outcomes = await customer_decides(
            session, link=link, name=" 王先生\x00 ", note="call me first",
            choices=[CustomerChoice(ids[0], True),
                     CustomerChoice(ids[1], False, DeclineReason.price)],
            ip="203.0.113.5", user_agent="Mozilla/5.0 MicroMessenger", now=shop.now())
        await session.commit()
    assert [(o.decided, o.status) for o in outcomes] == [(True, Decision.approved),
                                                        (True, Decision.rejected)]
    async with shop.db.session() as session:
        first = await session.get(ExtraItemRequest, ids[0])
        second = await session.get(ExtraItemRequest, ids[1])
        assert first is not None and second is not None
        assert first.consent_method == ConsentMethod.customer_link
        assert first.decided_by is None and first.decided_channel == "customer_link"
        assert second.reject_reason == "customer: price"
        assert (await decision_of(session, first)).name == "王先生"
        items = (await session.exec(select(CustomerLinkItem))).all()
        assert {(i.decision, i.signed_name, i.ip) for i in items} == {
            ("approved", "王先生", "203.0.113.5"), ("rejected", "王先生", "203.0.113.5")}
        link = (await session.exec(select(CustomerLink))).one()
        assert link.closed_at is not None  # used up
        assert (await view_link(session, link, shop.now())).state is LinkState.decided
        # A replayed POST: refused, nothing changes.
        with pytest.raises(Refused) as refused:
            await customer_decides(session, link=link, name="王先生", note=None,
                                   choices=[CustomerChoice(ids[0], False)], ip=None,
                                   user_agent=None, now=shop.now())
        assert refused.value.code == "customer_link_closed"


async def test_the_advisor_first_keeps_the_decision(shop: Shop) -> None:
    advisor, _tech, order_id, ids = await two_requests(shop)
    token = await new_link(shop, advisor, order_id)
    async with shop.db.session() as session:
        staff = await session.get(Staff, advisor.staff_id)
        assert staff is not None
        await decide(session, request_id=ids[0], advisor=staff, approve=False, now=shop.now(),
                     actor=Actor(advisor.staff_id, "telegram"), reject_reason="not needed")
        await session.commit()
    async with shop.db.session() as session:
        link = await find_link(session, token)
        assert link is not None
        outcomes = await customer_decides(
            session, link=link, name="王先生", note=None,
            choices=[CustomerChoice(ids[0], True), CustomerChoice(ids[1], True)],
            ip=None, user_agent=None, now=shop.now())
        await session.commit()
    assert [(o.decided, o.status) for o in outcomes] == [(False, Decision.rejected),
                                                        (True, Decision.approved)]
    # And the advisor tapping after the customer hears who decided.
    async with shop.db.session() as session:
        staff = await session.get(Staff, advisor.staff_id)
        assert staff is not None
        with pytest.raises(Refused) as refused:
            await decide(session, request_id=ids[1], advisor=staff, approve=True,
                         now=shop.now(), actor=Actor(advisor.staff_id, "telegram"),
                         consent_method=ConsentMethod.phone)
    assert refused.value.code == "already_decided"
    assert refused.value.params["name"] == "王先生"


async def test_an_expired_or_changed_link_refuses(shop: Shop) -> None:
    advisor, _tech, order_id, ids = await two_requests(shop)
    token = await new_link(shop, advisor, order_id)
    async with shop.db.session() as session:
        request = await session.get(ExtraItemRequest, ids[1])
        assert request is not None
        request.parts_fen = 58000  # the price changed after the link was made
        session.add(request)
        await session.commit()
    async with shop.db.session() as session:
        link = await find_link(session, token)
        assert link is not None
        assert (await view_link(session, link, shop.now())).changed
        with pytest.raises(Refused) as refused:
            await customer_decides(session, link=link, name="王先生", note=None,
                                   choices=[CustomerChoice(ids[0], True)], ip=None,
                                   user_agent=None, now=shop.now())
        assert refused.value.code == "customer_link_changed"
        later = shop.now() + timedelta(hours=24)
        assert (await view_link(session, link, later)).state is LinkState.expired
        with pytest.raises(Refused) as refused:
            await customer_decides(session, link=link, name="王先生", note=None,
                                   choices=[CustomerChoice(ids[0], True)], ip=None,
                                   user_agent=None, now=later)
        assert refused.value.code == "customer_link_closed"
        # Nothing was decided by any of it.
        assert all(r.status == Decision.pending for r in
                   (await session.exec(select(ExtraItemRequest))).all())


async def test_items_not_on_the_link_and_a_missing_name_are_refused(shop: Shop) -> None:
    advisor, _tech, order_id, ids = await two_requests(shop)
    token = await new_link(shop, advisor, order_id)
    async with shop.db.session() as session:
        link = await find_link(session, token)
        assert link is not None
        for choices, name, key in (
                ([CustomerChoice(ids[1] + 100, True)], "王先生", "customer_link_items"),
                ([CustomerChoice(ids[0], True), CustomerChoice(ids[0], False)], "王先生",
                 "customer_link_items"),
                ([], "王先生", "customer_link_items"),
                ([CustomerChoice(ids[0], True)], " \x01 ", "customer_name_missing")):
            with pytest.raises(Refused) as refused:
                await customer_decides(session, link=link, name=name, note=None,
                                       choices=choices, ip=None, user_agent=None,
                                       now=shop.now())
            assert refused.value.code == key


async def test_nothing_pending_makes_no_link(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    async with shop.db.session() as session:
        staff = await session.get(Staff, advisor.staff_id)
        assert staff is not None
        with pytest.raises(Refused) as refused:
            await make_link(session, order_id=order_id, advisor=staff, now=shop.now(),
                            hours=24, actor=Actor(advisor.staff_id, "telegram"))
    assert refused.value.code == "nothing_for_the_customer"


def test_plates_are_masked() -> None:
    assert mask_plate("京A·12345") == "京A·***45"
    assert mask_plate("粤B·D12345") == "粤B·****45"
    assert mask_plate("京A1") == "***"  # too short to show any of it
