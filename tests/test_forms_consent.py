"""Issue 16 in A13's archive form (客户档案基本资料表): under 维修养护项目, each extra item of the
visit's order and how the customer consented — by phone, or on their own phone with the name
they signed and when — or why it was declined."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.forms import Form, export
from bot.i18n import Translator
from models.audit import Actor
from models.customer_link import CustomerChoice, DeclineReason, customer_decides, make_link
from models.db import id_of
from models.extra_item import ConsentMethod, decide
from models.report import month_period
from models.staff import Role, Staff
from models.work_order import ItemStatus, OrderItem
from tests.flows import pending_check, self_check
from tests.shop import Shop
from tests.test_customer_link_chat import two_extras
from tests.test_extra_item import ask_for_extra
from tests.test_forms import read

pytestmark = pytest.mark.both_channels


async def test_the_archive_form_says_how_each_extra_item_was_consented_to(shop: Shop) -> None:
    advisor, tech, order_id, requests = await two_extras(shop)
    await shop.hire("Clerk Li", Role.tracking_clerk)
    leader = await shop.hire("Wang Leader", Role.team_leader)
    inspector = await shop.hire("Zhao Inspector", Role.inspector)
    await ask_for_extra(tech, order_id, description="Replace cabin filter", reason="Dusty",
                        estimate="80 20")
    async with shop.db.session() as session:
        me = await session.get(Staff, advisor.staff_id)
        assert me is not None
        actor = Actor(me.id, "telegram")
        await decide(session, request_id=id_of(requests[0]), advisor=me, approve=True,
                     consent_method=ConsentMethod.phone, now=shop.now(), actor=actor)
        link, _token, items = await make_link(session, order_id=order_id, advisor=me,
                                              now=shop.now(), hours=24, actor=actor)
        shop.advance(minutes=20)
        await customer_decides(
            session, link=link, choices=[
                CustomerChoice(items[0].request_id, True),
                CustomerChoice(items[1].request_id, False, DeclineReason.price)],
            name="Wang Wei", note=None, ip=None, user_agent=None, now=shop.now())
        await session.commit()
        todo = (await session.exec(select(OrderItem.id).where(
            OrderItem.order_id == order_id, OrderItem.status == ItemStatus.open))).all()
    for item_id in todo:
        await tech.tap_data(f"itm:{item_id}:done", tech.last)
    await self_check(tech, order_id)
    await leader.tap(data=f"qc:{await pending_check(shop, order_id)}:pass")
    await inspector.tap(data=f"qc:{await pending_check(shop, order_id)}:pass")
    await advisor.send("/deliver")
    await advisor.tap(data=f"ord:{order_id}:deliver")
    await advisor.tap("Yes, delivered")

    november = month_period(shop.settings.calendar, 2026, 11)
    cells = {}
    for locale in ("en", "zh_CN"):
        async with shop.db.session() as session:
            _sheets, rows = read(await export(Form.archive, session, november.start,
                                              november.end, Translator(locale, shop.settings.tz)))
        assert len(rows) == 2
        cells[locale] = rows[1][8].splitlines()  # 维修养护项目 / Service items
    assert cells["en"][-3:] == [
        "Extra item Replace wiper blades: approved 30 Nov 2026 09:00, consent: phone",
        "Extra item Replace brake pads: approved by the customer on their phone, signed Wang "
        "Wei, 30 Nov 2026 09:20",
        "Extra item Replace cabin filter: declined by the customer on their phone, signed "
        "Wang Wei, 30 Nov 2026 09:20 (too expensive)",
    ]
    assert cells["zh_CN"][-2] == (
        "追加项目 Replace brake pads：客户本人手机确认同意，签名 Wang Wei，2026年11月30日 09:20")
