"""W5 from the customer's phone, the advisor's side in chat (``handlers/floor/customer_link.py``):
"📱 Ask the customer" on the extra-item card and the order card (only with PUBLIC_BASE_URL), the
link and the message to forward in the customer's language, the refusals; the customer's
decision on the cards and in the order's history; the report's extra-item figures."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlmodel import col, select

from bot.i18n import Translator
from bot.report_files import report_xlsx
from handlers.after_sales.cards.report import workshop_blocks
from handlers.floor.cards import extra_item_card
from models.audit import Actor
from models.customer_link import (
    CustomerChoice,
    CustomerLinkItem,
    DeclineReason,
    customer_decides,
    find_link,
)
from models.db import id_of
from models.extra_item import ConsentMethod, ExtraItemRequest, decide
from models.report import extra_item_summary, period_report
from models.staff import Role, Staff
from models.work_order import WorkOrder
from tests.flows import order_in_progress
from tests.shop import Person, Shop
from tests.test_extra_item import ask_for_extra

pytestmark = pytest.mark.both_channels

BASE = "https://service.example.com"
URL = re.compile(re.escape(BASE) + r"/c/([A-Za-z0-9_-]+)")


async def two_extras(shop: Shop, advisor_locale: str = "en"
                     ) -> tuple[Person, Person, int, list[ExtraItemRequest]]:
    advisor = await shop.hire("Liu Advisor", Role.advisor, locale=advisor_locale)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    await ask_for_extra(tech, order_id)
    await ask_for_extra(tech, order_id, description="Replace brake pads",
                        reason="Worn to 2 mm", estimate="480 200")
    async with shop.db.session() as session:
        requests = list((await session.exec(
            select(ExtraItemRequest).order_by(col(ExtraItemRequest.id)))).all())
    return advisor, tech, order_id, requests


def links_on(shop: Shop) -> None:
    shop.settings.public_base_url = BASE
    shop.settings.shop_name = "Star Motors"


async def test_no_button_without_a_public_base_url(shop: Shop) -> None:
    advisor, _tech, order_id, requests = await two_extras(shop)
    assert advisor.last.buttons == [("✅ Approve", f"xtr:{requests[1].id}:ok"),
                                    ("❌ Reject", f"xtr:{requests[1].id}:no")]
    await advisor.send("/orders")
    assert not [data for _, data in advisor.last.buttons if data.startswith("cln:")]
    # A button from before PUBLIC_BASE_URL was unset makes no link.
    replies = await advisor.tap_data(f"cln:{order_id}:ask", advisor.last)
    assert replies == ["Customer links are not set up in this shop (PUBLIC_BASE_URL); please "
                       "ask the customer yourself. Nothing was changed."]
    async with shop.db.session() as session:
        assert (await session.exec(select(CustomerLinkItem))).first() is None


async def test_the_advisor_sends_a_link_and_the_customer_decides(shop: Shop) -> None:
    links_on(shop)
    advisor, tech, order_id, requests = await two_extras(shop)
    ask = ("📱 Ask the customer", f"cln:{order_id}:ask")
    assert advisor.last.buttons == [("✅ Approve", f"xtr:{requests[1].id}:ok"),
                                    ("❌ Reject", f"xtr:{requests[1].id}:no"), ask]
    await advisor.send("/orders")
    assert ask in advisor.last.buttons  # the order card offers it too, once for the order

    # A technician's forged tap is refused on the server.
    assert await tech.tap_data(f"cln:{order_id}:ask", tech.last) == [
        "Only advisors can do this; nothing was changed."]

    replies = await advisor.tap("Ask the customer")
    async with shop.db.session() as session:
        order = await session.get(WorkOrder, order_id)
    assert order is not None
    assert replies[-2] == (
        f"🔗 {order.number}: a link for the customer to approve or decline 2 extra items, "
        "valid until 1 Dec 09:00. Forward the next message to the customer (WeChat or SMS); "
        "their decision will show on the cards.")
    # The customer's language is the shop's (zh_CN here), the plate masked.
    forward = replies[-1]
    assert forward.startswith("Star Motors：您的爱车 京A·***45 在维修中发现需要追加的项目，"
                              "请点击链接确认：https://service.example.com/c/")
    assert forward.endswith("（24 小时内有效）")
    token = URL.findall(forward)[0]
    async with shop.db.session() as session:
        link = await find_link(session, token)
        assert link is not None and link.order_id == order_id
        on_link = (await session.exec(select(CustomerLinkItem.request_id).where(
            CustomerLinkItem.link_id == link.id))).all()
    assert sorted(on_link) == [r.id for r in requests]

    # A second tap makes a fresh link; the first stays good until it expires.
    second = URL.findall((await advisor.tap("Ask the customer"))[-1])[0]
    async with shop.db.session() as session:
        assert second != token and await find_link(session, second) is not None

    shop.advance(minutes=42)
    async with shop.db.session() as session:
        link = await find_link(session, token)
        assert link is not None
        await customer_decides(
            session, link=link, choices=[
                CustomerChoice(id_of(requests[0]), True),
                CustomerChoice(id_of(requests[1]), False, DeclineReason.price)],
            name="Wang Wei", note=None, ip="127.0.0.1", user_agent="test", now=shop.now())
        await session.commit()

    # Nothing waits any more: a tap on the old button says so.
    assert await advisor.tap_data(f"cln:{order_id}:ask", advisor.last) == [
        "No extra item on this order waits for a decision; there is nothing to ask the "
        "customer. Nothing was changed."]

    # The order's history, on the advisor's card.
    await advisor.send("/orders")
    text = advisor.last.text
    assert ("📱 3. Replace wiper blades: approved by the customer (Wang Wei) on the customer "
            "link at 30 Nov 09:42") in text
    assert ("📱 4. Replace brake pads: declined by the customer (Wang Wei) on the customer "
            "link at 30 Nov 09:42 — too expensive") in text
    assert not [data for _, data in advisor.last.buttons if data.startswith("cln:")]

    # The extra-item cards, in both languages.
    async with shop.db.session() as session:
        order = await session.get(WorkOrder, order_id)
        approved = await session.get(ExtraItemRequest, requests[0].id)
        declined = await session.get(ExtraItemRequest, requests[1].id)
        technician = await session.get(Staff, tech.staff_id)
    assert order is not None and approved is not None and declined is not None
    en = Translator("en", shop.settings.tz, shop.now())
    zh = Translator("zh_CN", shop.settings.tz, shop.now())
    text, markup = extra_item_card(en, order, approved, technician, ask_customer=True)
    assert markup is None
    assert ("✅ Approved at 30 Nov 09:42 (consent: the customer, on their phone (Wang Wei))"
            in text)
    text, _ = extra_item_card(zh, order, approved, technician)
    assert "✅ 已于 11月30日 09:42 同意（确认方式：客户本人手机确认（Wang Wei））" in text
    text, _ = extra_item_card(en, order, declined, technician, signed_name="Wang Wei")
    assert ("❌ Rejected by Wang Wei at 30 Nov 09:42: the customer declined: too expensive"
            in text)
    text, _ = extra_item_card(zh, order, declined, technician)
    assert "客户拒绝：价格太高" in text


async def test_in_chinese_for_the_advisor_and_in_english_for_the_customer(shop: Shop) -> None:
    links_on(shop)
    shop.settings.default_locale = "en"  # the shop's customers read English
    advisor, _tech, order_id, _requests = await two_extras(shop, advisor_locale="zh_CN")
    assert ("📱 请客户确认", f"cln:{order_id}:ask") in advisor.last.buttons
    replies = await advisor.tap("请客户确认")
    assert "已生成客户确认链接，共 2 个追加项目，有效期至 12月1日 09:00" in replies[-2]
    assert replies[-1].startswith(
        "Star Motors: while servicing your car 京A·***45 we found additional work that needs "
        f"your approval. Please open the link to confirm: {BASE}/c/")
    assert replies[-1].endswith("(valid for 24 hours)")
    async with shop.db.session() as session:
        assert await find_link(session, URL.findall(replies[-1])[0]) is not None

    await advisor.send("/orders")
    async with shop.db.session() as session:
        link = await find_link(session, URL.findall(replies[-1])[0])
        assert link is not None
        requests = list((await session.exec(select(ExtraItemRequest))).all())
        await customer_decides(
            session, link=link, choices=[CustomerChoice(id_of(r), False, DeclineReason.later)
                                         for r in requests],
            name="王伟", note=None, ip=None, user_agent=None, now=shop.now())
        await session.commit()
    await advisor.send("/orders")
    assert ("📱 3. Replace wiper blades：客户（王伟）于 11月30日 09:00 通过客户确认链接拒绝——"
            "以后再做" in advisor.last.text)


async def test_the_report_counts_online_and_front_desk_decisions(shop: Shop) -> None:
    advisor, tech, order_id, requests = await two_extras(shop)
    asked = shop.now()
    start = asked - timedelta(minutes=1)
    async with shop.db.session() as session:
        me = await session.get(Staff, advisor.staff_id)
        assert me is not None
        # The front desk approves the first after 10 minutes (by phone) …
        await decide(session, request_id=id_of(requests[0]), advisor=me, approve=True,
                     now=asked + timedelta(minutes=10), actor=Actor(me.id, "telegram"),
                     consent_method=ConsentMethod.phone)
        await session.commit()
    shop.advance(minutes=30)
    links_on(shop)
    await ask_for_extra(tech, order_id, description="Replace cabin filter", reason="Dirty")
    await advisor.tap("Ask the customer")
    token = URL.findall(advisor.last.text)[0]
    shop.advance(minutes=20)
    async with shop.db.session() as session:
        link = await find_link(session, token)
        assert link is not None
        pending = list((await session.exec(select(ExtraItemRequest).where(
            ExtraItemRequest.status == "pending").order_by(col(ExtraItemRequest.id)))).all())
        # … the customer declines the brake pads and approves the cabin filter.
        await customer_decides(
            session, link=link,
            choices=[CustomerChoice(id_of(pending[0]), False, DeclineReason.second_opinion),
                     CustomerChoice(id_of(pending[1]), True)],
            name="Wang Wei", note=None, ip=None, user_agent=None, now=shop.now())
        await session.commit()
        end = shop.now() + timedelta(hours=1)
        summary = await extra_item_summary(session, start=start, end=end)
        # Before the period began nothing was proposed or decided.
        before = await extra_item_summary(session, start=start - timedelta(days=1),
                                          end=start - timedelta(hours=1))
        report = await period_report(session, start=start, end=end, now=end)
    assert (summary.proposed, summary.approved_online, summary.approved_front_desk,
            summary.declined_online, summary.declined_front_desk) == (3, 1, 1, 1, 0)
    # Waits: 10 min (phone), 50 min (the brake pads, declined online), 20 min (the filter).
    assert summary.median_minutes == 20.0
    assert summary.approval_rate == pytest.approx(2 / 3)
    assert (before.proposed, before.median_minutes, before.approval_rate) == (0, None, None)

    en = Translator("en", shop.settings.tz, shop.now())
    text = "\n".join(workshop_blocks(en, report))
    for line in ("🔧 Extra items and the customer's consent (W5)", "• Extra items proposed: 3",
                 "• Approved by the customer online: 1", "• Approved by the front desk: 1",
                 "• Declined by the customer online: 1",
                 "• Median minutes from request to decision: 20", "• Approval rate: 67%"):
        assert line in text, line
    sheet = load_workbook(io.BytesIO(report_xlsx(report, en)))["Workshop"]
    rows = {(row[1], row[2]) for row in sheet.iter_rows(values_only=True)}
    assert ("Approved by the customer online", 1) in rows
    assert ("Median minutes from request to decision", 20.0) in rows
