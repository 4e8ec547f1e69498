"""W7 "➡️ Hand on to the next process" says to whom and what happens next: to the one who hands
it on, to the next technician (whose card follows), to the previous technician when a team leader
moved it, and to the advisor. The plain walk is in tests/test_qc.py."""

from __future__ import annotations

import pytest

from models.staff import Role
from tests.flows import order_in_progress
from tests.shop import Shop

pytestmark = pytest.mark.both_channels

NUMBER = "WO261130-00001"


async def test_a_team_leader_moves_an_order(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    other = await shop.hire("Wu Tech", Role.technician)
    leader = await shop.hire("Wang Leader", Role.team_leader)
    order_id = await order_in_progress(shop, advisor, tech)

    await leader.send("/qc")  # a message of their own to tap on (WeCom)
    await leader.tap_data(f"ord:{order_id}:next", leader.last)
    await leader.tap("Wu Tech")
    replies = await leader.send("Brakes bled; road test next")
    assert replies[-1] == (
        f"➡️ {NUMBER} (京A12345) is now with Wu Tech. They have the order card and your note, "
        "and carry on the work; the self-check and QC come when they finish.\n"
        "Zhang Tech has been told; a job clock they had running on it stopped.\n"
        "The advisor Liu Advisor has been told.")
    assert tech.inbox[-1] == (
        f"➡️ Wang Leader handed {NUMBER} (京A12345) on to Wu Tech: it has left your /orders, "
        "and a job clock you had running on it stopped.")
    # The next technician: the note with what to do, then the card with that button on it.
    assert f"handed {NUMBER} (京A12345) on to you, with this note:\nBrakes bled" in \
        other.inbox[-2]
    assert "tap “🏁 Self-check and hand over” to send it to QC." in other.inbox[-2]
    assert other.last.text.startswith(f"Work order {NUMBER}")
    assert any("🏁 Self-check and hand over" in label for label, _ in other.last.buttons)
    assert advisor.last.text.endswith(
        "The work goes on with Wu Tech; you will be told when the car has passed its checks "
        "and is ready to hand back.")


async def test_in_chinese(shop: Shop) -> None:
    advisor = await shop.hire("刘顾问", Role.advisor, locale="zh_CN")
    tech = await shop.hire("张师傅", Role.technician, locale="zh_CN")
    other = await shop.hire("吴师傅", Role.technician, locale="zh_CN")
    order_id = await order_in_progress(shop, advisor, tech)
    [prompt] = await tech.tap_data(f"ord:{order_id}:next", tech.last)
    assert "/orders" in prompt and "/cancel" in prompt and "服务顾问" in prompt
    await tech.tap("吴师傅")
    replies = await tech.send("机油已放，下一步四轮定位")
    assert replies[-1].startswith(f"➡️ {NUMBER}（京A12345）现由 吴师傅 负责")
    assert "刘顾问" in replies[-1]
    assert "“🏁 自检并交出”" in other.inbox[-2]
    assert "交车" in advisor.last.text
