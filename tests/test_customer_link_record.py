"""Issue 16: ``/customer`` shows what the customer decided on their links — one line per item
with the order, approved or declined (and why), the name they signed and when."""

from __future__ import annotations

import pytest

from bot.i18n import Translator
from handlers.after_sales.cards.archive import archive_card, archive_facts
from models.audit import Actor
from models.customer import Customer, Vehicle
from models.customer_link import (
    CustomerChoice,
    DeclineReason,
    customer_decides,
    customer_decisions_of,
    make_link,
)
from models.db import id_of
from models.staff import Role, Staff
from models.work_order import WorkOrder
from tests.shop import Shop
from tests.test_customer_link_chat import two_extras

pytestmark = pytest.mark.both_channels


async def test_customer_shows_the_items_decided_on_a_link(shop: Shop) -> None:
    advisor, _tech, order_id, requests = await two_extras(shop)
    clerk = await shop.hire("Clerk Li", Role.tracking_clerk)
    now = shop.now()
    async with shop.db.session() as session:
        me = await session.get(Staff, advisor.staff_id)
        order = await session.get(WorkOrder, order_id)
        assert me is not None and order is not None
        customer = Customer(name="王先生", phones="13812345678", created_at=now, updated_at=now)
        other = Customer(name="Someone Else", created_at=now, updated_at=now)
        session.add_all([customer, other])
        await session.flush()
        session.add_all([Vehicle(customer_id=id_of(customer), plate="京A12345", created_at=now),
                         Vehicle(customer_id=id_of(other), plate="沪B99999", created_at=now)])
        link, _token, _items = await make_link(session, order_id=order_id, advisor=me, now=now,
                                               hours=24, actor=Actor(me.id, "telegram"))
        shop.advance(minutes=30)
        await customer_decides(
            session, link=link, choices=[
                CustomerChoice(id_of(requests[0]), True),
                CustomerChoice(id_of(requests[1]), False, DeclineReason.second_opinion)],
            name="Wang Wei", note=None, ip="127.0.0.1", user_agent="test", now=shop.now())
        await session.commit()
        assert await customer_decisions_of(session, id_of(other)) == []
        number = order.number

    lines = [f"{number} Replace wiper blades: ✅ approved, signed Wang Wei, 30 Nov 09:30",
             f"{number} Replace brake pads: ❌ declined (wants a second opinion), signed Wang "
             "Wei, 30 Nov 09:30"]
    await clerk.send("/customer 京A12345")
    text = clerk.last.text
    # Newest first (decided together: the later item first).
    assert "\n\nDecided by the customer on their phone:\n• " + "\n• ".join(
        reversed(lines)) + "\n" in text

    # In Chinese for a Chinese reader.
    async with shop.db.session() as session:
        facts = await archive_facts(session, id_of(customer), now=shop.now())
    zh, _ = archive_card(Translator("zh_CN", shop.settings.tz, shop.now()), facts,
                         editable=False)
    assert "客户手机确认记录：" in zh
    assert (f"• {number} Replace brake pads：❌ 拒绝（想再听听别家的意见），签名 Wang Wei，"
            "11月30日 09:30") in zh
