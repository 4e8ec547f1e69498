"""Taps are answered at once (issue 11): a decision's tap — approving an extra item (W5),
acknowledging a fault (W4), issuing a part, passing a QC check (W7) — has its callback query
answered (the spinner stops, and on WeCom the tapper's short answer goes out) before the cards
are redrawn and the other people are told.

The order is read from what the bot asks of its Bot API, as it asks it: the fake Bot API's
record of calls on Telegram; on WeCom, the calls the bot's Bot API (``WeComRequest``) is given,
before it turns them into WeCom messages."""

from __future__ import annotations

from typing import Any

import pytest

from models.staff import Role
from tests.flows import order_in_progress, pending_check, self_check
from tests.shop import Person, Shop
from tests.test_extra_item import ask_for_extra
from tests.test_fault_report import report
from tests.test_parts import ask_for_part

pytestmark = pytest.mark.both_channels


class BotCalls:
    """(Bot API method, chat id) of every call the bot makes, in order, on either channel."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self.wecom: list[tuple[str, int | None]] = []
        if shop.channel == "wecom":
            request: Any = shop.request  # type: ignore[attr-defined]
            original = request.do_request

            async def recording(*args: Any, **kwargs: Any) -> Any:
                url = kwargs.get("url", args[0] if args else "")
                data = kwargs.get("request_data", args[2] if len(args) > 2 else None)
                params = dict(data.parameters) if data is not None else {}
                chat = params.get("chat_id")
                self.wecom.append((str(url).rsplit("/", 1)[-1],
                                   int(chat) if chat is not None else None))
                return await original(*args, **kwargs)

            request.do_request = recording

    def all(self) -> list[tuple[str, int | None]]:
        if self.shop.channel == "wecom":
            return list(self.wecom)
        return [(call.method, call.chat_id) for call in self.shop.api.calls]

    async def during(self, tap: Any) -> list[tuple[str, int | None]]:
        before = len(self.all())
        await tap
        return self.all()[before:]


def answered_before_others(calls: list[tuple[str, int | None]], tapper: Person,
                           others: list[Person]) -> None:
    """The tap's answer is the first thing the bot does that anyone sees; every one of
    ``others`` heard of it, after."""
    methods = [method for method, _ in calls]
    assert methods.count("answerCallbackQuery") == 1, methods
    answered = methods.index("answerCallbackQuery")
    told = [i for i, (_, chat) in enumerate(calls) if chat is not None and chat != tapper.user_id]
    assert told, "nobody else was told"
    assert answered < min(told), calls
    assert {person.user_id for person in others} <= {calls[i][1] for i in told}, calls


async def test_decisions_answer_the_tap_before_telling_anyone(shop: Shop) -> None:
    calls = BotCalls(shop)
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    clerk = await shop.hire("Wang Clerk", Role.parts_clerk)
    leader = await shop.hire("Qian Leader", Role.team_leader)
    inspector = await shop.hire("Zhao Inspector", Role.inspector)
    order_id = await order_in_progress(shop, advisor, tech)

    # W5: the consent tap decides; the technician hears after the spinner stopped.
    await ask_for_extra(tech, order_id)
    await advisor.tap("Approve")
    answered_before_others(await calls.during(advisor.tap("phone")), advisor, [tech])
    assert "✅ Approved: “Replace wiper blades”" in advisor.last.text

    # W4: acknowledging a fault report.
    await report(tech, "Rear brake hose cracked")
    answered_before_others(await calls.during(advisor.tap("Acknowledge")), advisor, [tech])

    # A part issued.
    await ask_for_part(tech, order_id)
    await clerk.tap("Issue")
    answered_before_others(await calls.during(clerk.tap("Issue now, old part to follow")),
                           clerk, [tech])
    assert "📤 Issued #1" in clerk.last.text

    # W7: the team leader passes; the inspector gets the card, the technician is told.
    for position in (1, 2, 3):
        await tech.tap(f"Done: {position}.")
    await self_check(tech, order_id)
    check = await pending_check(shop, order_id)
    during = await calls.during(leader.tap(data=f"qc:{check}:pass"))
    answered_before_others(during, leader, [inspector, tech])
    # The inspector's pass: the advisor (ready for delivery) and the technician, after.
    check = await pending_check(shop, order_id)
    during = await calls.during(inspector.tap(data=f"qc:{check}:pass"))
    answered_before_others(during, inspector, [advisor, tech])
    assert "Passed. 1 inspector has it for the final inspection." in shop.api.alerts()
