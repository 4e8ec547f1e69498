"""The escalation job runs W4 (fault reports) and W5 (extra items): one part failing does not
keep the other's escalations from going out."""

from __future__ import annotations

from typing import Any, NoReturn

import pytest

import jobs.escalation
import jobs.extra_item_escalation
import jobs.fault_escalation
from models.staff import Role
from tests.flows import order_in_progress
from tests.shop import Person, Shop


async def fail(*args: Any, **kwargs: Any) -> NoReturn:
    raise RuntimeError("this part is broken")


async def a_fault_and_an_extra_item_waiting(shop: Shop, advisor: Person, tech: Person) -> None:
    """Both undecided for 16 minutes: due for W4 (10 minutes) and for W5 (15 minutes)."""
    order_id = await order_in_progress(shop, advisor, tech)
    await tech.tap("Report unlisted fault")
    await tech.send("Brake pads worn to the metal")
    await tech.send("/done")
    await tech.tap(data=f"ord:{order_id}:extra")
    await tech.send("Replace wiper blades")
    await tech.send("Both blades are torn")
    await tech.tap("Skip")
    await tech.tap("Skip")
    shop.advance(minutes=16)


async def test_a_failing_fault_part_still_lets_extra_items_go_wider(
    shop: Shop, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    other = await shop.hire("Chen Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    admin = await shop.hire("Ma Admin", Role.admin)
    await a_fault_and_an_extra_item_waiting(shop, advisor, tech)
    monkeypatch.setattr(jobs.fault_escalation, "due_for_escalation", fail)

    assert await jobs.escalation.run(shop.services, shop.now()) == 1
    assert "Item: Replace wiper blades" in other.last.text
    assert not [text for text in other.inbox if "Brake pads" in text]
    assert "escalation job jobs.fault_escalation failed" in caplog.text
    # The job caught it, so the error handler never saw it: the admins hear of it from the job.
    told = [text for text in admin.inbox if "jobs.fault_escalation" in text]
    assert len(told) == 1 and "RuntimeError: this part is broken" in told[0]
    assert await jobs.escalation.run(shop.services, shop.now()) == 0  # still broken: not again
    assert len([text for text in admin.inbox if "jobs.fault_escalation" in text]) == 1

    # Mended, the next run sends the fault report; the extra item is not sent twice.
    monkeypatch.undo()
    assert await jobs.escalation.run(shop.services, shop.now()) == 1
    assert "Brake pads worn to the metal" in other.last.text
    assert len([text for text in other.inbox if "Item: Replace wiper blades" in text]) == 1


async def test_a_failing_extra_item_part_still_lets_faults_go_wider(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    other = await shop.hire("Chen Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    await a_fault_and_an_extra_item_waiting(shop, advisor, tech)
    monkeypatch.setattr(jobs.extra_item_escalation, "due_for_escalation", fail)

    assert await jobs.escalation.run(shop.services, shop.now()) == 1
    assert "Brake pads worn to the metal" in other.last.text
    assert not [text for text in other.inbox if "Item: Replace wiper blades" in text]
