"""Control characters in what people and the DMS send (found by fuzzing: a NUL made PostgreSQL
refuse the write — a chat step failed, the intake answered HTTP 500). Every text bound to a
statement loses them at the database layer (``models.db``), so no input can crash a write and
nothing else is lost."""

from __future__ import annotations

from sqlmodel import select

from bot.intake import EXAMPLE, PATH
from models.db import clean_text
from models.fault_report import FaultReport
from models.staff import Role
from models.work_order import WorkOrder
from tests.flows import order_in_progress
from tests.shop import Shop
from tests.test_intake import AUTH, serving, staffed


def test_clean_text_keeps_tabs_and_lines() -> None:
    assert clean_text("a\x00b\x07c\td\ne\r\nf\x7f") == "abc\td\ne\r\nf"


async def test_a_nul_in_a_chat_step_is_dropped_not_fatal(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    await tech.tap(data=f"ord:{order_id}:fault")
    await tech.send("Brake\x00 pads worn\x1b to the metal")
    await tech.send("/done")
    async with shop.db.session() as session:
        report = (await session.exec(select(FaultReport))).one()
    assert report.description == "Brake pads worn to the metal"
    assert "Brake pads worn to the metal" in advisor.last.text
    # The person's half-finished drafts (persisted as JSON) survive a NUL too.
    await tech.tap(data=f"ord:{order_id}:extra")
    await tech.send("Wiper\x00 blades")
    await shop.restart()
    await tech.send("Torn")
    assert "photo" in tech.last.text.lower()


async def test_the_intake_takes_an_order_with_a_nul(shop: Shop) -> None:
    await staffed(shop)
    body = {**EXAMPLE, "customer_name": "王\u0000先生", "complaint": "异响\u0000",
            "vehicle_model": "Camry\u0000"}
    async with serving(shop) as client:
        answer = await client.post(PATH, json=body, headers=AUTH)
    assert answer.status_code == 201, answer.text
    async with shop.db.session() as session:
        order = (await session.exec(select(WorkOrder))).one()
    assert (order.customer_name, order.complaint) == ("王先生", "异响")
