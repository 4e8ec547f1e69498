"""When a handler fails: the person hears whether their last step was saved, the admins hear
what broke (each in their language, through the messenger), and the same error reaches the
admins at most once every ten minutes by the shop's clock."""

from __future__ import annotations

from typing import Any, NoReturn

import pytest
from sqlmodel import select

import handlers.floor.extra_item
import handlers.floor.orders
import jobs.escalation
import jobs.outbox
from models.extra_item import ExtraItemRequest
from models.outbox import OutboxMessage
from models.staff import Role, Staff
from tests.flows import order_in_progress
from tests.shop import Person, Shop

pytestmark = pytest.mark.both_channels

NOTHING_CHANGED = "Something went wrong on our side; nothing was changed. Please try again."
SAVED = ("Something went wrong on our side. Your last step was saved, but the rest did not "
         "finish; please check before trying again.")


def failing(error: Exception) -> Any:
    """A stand-in for a models function that raises ``error`` when called."""

    async def fail(*args: Any, **kwargs: Any) -> NoReturn:
        raise error

    return fail


async def deactivate(shop: Shop, person: Person) -> None:
    async with shop.db.session() as session:
        staff = await session.get(Staff, person.staff_id)
        assert staff is not None
        staff.active = False
        await session.commit()


def reports(person: Person) -> list[str]:
    return [text for text in person.inbox if text.startswith("⚠️")]


async def test_the_person_and_once_in_ten_minutes_the_admins_are_told(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await shop.hire("Wang Admin", Role.admin)
    boss = await shop.hire("Zhao Boss", Role.admin, locale="zh_CN")
    gone = await shop.hire("Old Admin", Role.admin)
    await deactivate(shop, gone)
    tech = await shop.hire("Zhang Tech", Role.technician)
    monkeypatch.setattr(handlers.floor.orders, "orders_of_technician",
                        failing(RuntimeError("the database fell over")))

    assert await tech.send("/orders") == [NOTHING_CHANGED]
    [report] = reports(admin)
    lines = report.splitlines()
    assert lines[0] == (f"⚠️ The bot failed while handling command /orders on {shop.channel}: "
                        "RuntimeError: the database fell over")
    assert lines[1] == f"From: Zhang Tech (user id {tech.user_id})"
    assert lines[2].startswith("Where in the code: handlers/floor/orders.py:")
    assert lines[3] == ("The same error is reported here at most once every 10 minutes; the "
                        "log has every one.")
    [chinese] = reports(boss)
    assert chinese.startswith(f"⚠️ 机器人在 {shop.channel} 上处理命令 /orders时出错：RuntimeError")
    assert "代码位置：handlers/floor/orders.py:" in chinese
    assert gone.inbox == []  # a deactivated admin hears nothing

    # The same error again within ten minutes: the person is told, the admins are not.
    shop.advance(minutes=9, seconds=59)
    assert await tech.send("/orders") == [NOTHING_CHANGED]
    assert len(reports(admin)) == len(reports(boss)) == 1
    # Another error (another type) is news at once.
    monkeypatch.setattr(handlers.floor.orders, "orders_of_technician",
                        failing(LookupError("no such order")))
    assert await tech.send("/orders") == [NOTHING_CHANGED]
    assert reports(admin)[-1].startswith(
        f"⚠️ The bot failed while handling command /orders on {shop.channel}: LookupError")
    # Ten minutes after it was first told, the first error is told again.
    monkeypatch.setattr(handlers.floor.orders, "orders_of_technician",
                        failing(RuntimeError("still down")))
    shop.advance(seconds=1)
    assert await tech.send("/orders") == [NOTHING_CHANGED]
    assert len(reports(admin)) == 3
    assert reports(admin)[-1].splitlines()[0].endswith("RuntimeError: still down")
    assert [type(e) for e in shop.errors] == [RuntimeError, RuntimeError, LookupError,
                                              RuntimeError]
    shop.errors.clear()


async def test_a_step_that_saved_before_it_failed_says_so(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await shop.hire("Wang Admin", Role.admin)
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    # The request is committed and the advisor's card sent; showing the order again fails.
    monkeypatch.setattr(handlers.floor.extra_item, "show_order",
                        failing(RuntimeError("items unreadable")))
    await tech.tap(data=f"ord:{order_id}:extra")
    await tech.send("Replace wiper blades")
    await tech.send("Both blades are torn")
    await tech.tap("Skip")
    assert await tech.send("300 150") == [
        "⏳ “Replace wiper blades” was sent to the advisor and waits for approval. Do not start "
        "on it until it is approved.", SAVED]
    async with shop.db.session() as session:
        request = (await session.exec(select(ExtraItemRequest))).one()
    assert request.description == "Replace wiper blades"
    assert "Item: Replace wiper blades" in advisor.last.text
    [report] = reports(admin)
    assert report.splitlines()[0] == (
        f"⚠️ The bot failed while handling a text message on {shop.channel}: "
        "RuntimeError: items unreadable")
    assert "Some of it had already been saved when it failed." in report.splitlines()

    # The next update starts afresh: a failure that saved nothing says so.
    await tech.send("/cancel")
    monkeypatch.setattr(handlers.floor.orders, "orders_of_technician",
                        failing(RuntimeError("the database fell over")))
    assert await tech.send("/orders") == [NOTHING_CHANGED]
    assert "Some of it had already been saved" not in reports(admin)[-1]
    assert len(shop.errors) == 2
    shop.errors.clear()


@pytest.mark.telegram_only  # the jobs run on the primary application
@pytest.mark.filterwarnings("ignore:Tasks created via `Application.create_task`")
async def test_a_failing_job_is_told_to_the_admins_only(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scheduler runs the job as it would: ``Job.run``, whose error goes to the handler."""
    admin = await shop.hire("Wang Admin", Role.admin)
    tech = await shop.hire("Zhang Tech", Role.technician)
    monkeypatch.setattr(jobs.escalation, "run", failing(RuntimeError("escalation broke")))
    [job] = shop.app.job_queue.get_jobs_by_name(f"escalation:{shop.channel}")
    calls = len(shop.api.calls)
    await job.run(shop.app)
    [report] = reports(admin)
    assert report.splitlines()[0] == (
        f"⚠️ The bot failed while handling scheduled job escalation:{shop.channel} on "
        f"{shop.channel}: RuntimeError: escalation broke")
    assert not [line for line in report.splitlines() if line.startswith("From:")]
    assert tech.inbox == []
    assert len(shop.api.calls) == calls + 1  # the one report, nothing else
    assert len(shop.errors) == 1
    shop.errors.clear()


@pytest.mark.telegram_only
async def test_a_report_telegram_refuses_waits_in_the_outbox(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await shop.hire("Wang Admin", Role.admin)
    tech = await shop.hire("Zhang Tech", Role.technician)
    monkeypatch.setattr(handlers.floor.orders, "orders_of_technician",
                        failing(RuntimeError("the database fell over")))
    shop.api.limited[admin.user_id] = 1  # Telegram: "too many requests, retry after 30"
    assert await tech.send("/orders") == [NOTHING_CHANGED]
    await shop.services.messenger.flush()
    async with shop.db.session() as session:
        [kept] = (await session.exec(select(OutboxMessage))).all()
    assert kept.chat_id == admin.user_id
    assert kept.payload["text"].startswith("⚠️ The bot failed while handling command /orders")
    shop.advance(seconds=31)
    assert await jobs.outbox.run(shop.services, shop.now()) == 1
    assert admin.last.text == kept.payload["text"]
    shop.errors.clear()
