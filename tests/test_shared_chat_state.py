"""Several workers receive one bot's updates (webhooks behind a load balancer): with
``SHARED_CHAT_STATE`` a person's conversation goes on whichever process gets their next
message, because each update reads the step and the drafts as the other process saved them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import col, select

from bot.application import build_application
from bot.messenger import Messenger
from bot.services import Services
from bot.settings import Settings
from models.db import Database
from models.staff import Role
from models.work_order import WorkOrder
from tests.conftest import START
from tests.shop import Shop


@pytest.fixture
async def two(db: Database, settings: Settings) -> AsyncIterator[tuple[Shop, Any, Any]]:
    """One shop (one Bot API, one database) and two processes' applications."""
    shared = settings.model_copy(update={"shared_chat_state": True, "default_locale": "en"})
    shop = Shop(db, shared, START)
    await shop.start()
    first = shop.app
    other = Services(settings=shared, db=db, clock=shop.clock,
                     messenger=Messenger(shared, shop.clock))
    second = build_application(other, request=shop.api, rate_limiter=False, run_jobs=False)
    second.add_error_handler(shop._record_error)
    await second.initialize()
    yield shop, first, second
    await second.shutdown()
    shop.app = first
    await shop.stop()
    assert shop.errors == []


async def test_a_conversation_whose_steps_alternate_between_two_processes(
    two: tuple[Shop, Any, Any],
) -> None:
    shop, first, second = two
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    steps = ["/neworder", "京A12345", "王先生", "13812345678", "Toyota Camry",
             "Noise when braking", "Change oil\nReplace filter"]
    first_prompt: list[str] = []
    for number, text in enumerate(steps):
        shop.app = (first, second)[number % 2]
        replies = await advisor.send(text)
        first_prompt = first_prompt or replies
        assert not any("Finish this step first" in r for r in replies), (text, replies)
    shop.app = second
    await advisor.tap(tech.name)
    async with shop.db.session() as session:
        order = (await session.exec(select(WorkOrder).order_by(col(WorkOrder.id).desc()))).one()
    assert (order.plate, order.customer_name, order.vehicle_model, order.complaint) == (
        "京A12345", "王先生", "Toyota Camry", "Noise when braking")

    # The process that saw the start of it knows it ended: /neworder starts afresh there.
    shop.app = first
    assert await advisor.send("/neworder") == first_prompt
