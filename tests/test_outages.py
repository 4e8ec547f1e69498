"""The database unreachable or read-only: the access gate fails closed (found by probing: it
failed open, and PTB ran every handler without a staff member, each answering with an error)."""

from __future__ import annotations

from typing import Any, NoReturn

import pytest
from sqlalchemy import event
from sqlmodel import select

import handlers.staff.access
import jobs.after_sales
import models.db
from models.staff import Role
from models.work_order import WorkOrder
from tests.flows import customer_visit
from tests.shop import Shop
from tests.test_followup_calls import go

pytestmark = pytest.mark.both_channels


async def unreachable(*args: Any, **kwargs: Any) -> NoReturn:
    raise ConnectionRefusedError("the database refuses connections")


async def test_the_gate_fails_closed_with_one_answer(
    shop: Shop, shop_channel: str, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    monkeypatch.setattr(handlers.staff.access, "seen_on", unreachable)
    # Who it is cannot be read, so neither can their language: Telegram's language code, or
    # the shop's default on WeCom (which sends none).
    answer = ("The workshop system cannot be reached just now; nothing was changed. Please try "
              "again in a moment." if shop_channel == "telegram"
              else "车间系统暂时无法连接，未做任何更改。请稍后再试。")
    for text in ("/orders", "hello", "/help"):
        assert await tech.send(text) == [answer]
    assert "the access gate could not identify" in caplog.text
    monkeypatch.undo()
    assert "no open work orders" in (await tech.send("/orders"))[-1]


async def saved_state(shop: Shop, name: str) -> object | None:
    from sqlmodel import select

    from models.conversation_store import ConversationState

    async with shop.db.session() as session:
        row = (await session.exec(select(ConversationState).where(
            ConversationState.name == name))).first()
    return None if row is None else row.state


@pytest.mark.telegram_only
async def test_a_refused_persistence_write_is_retried_not_lost(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PTB hands each conversation change to the persistence once: a write the database
    refused used to be forgotten, so a restart resumed at an older step. Driven on the
    persistence itself, as PTB calls it."""
    from bot.persistence import DatabasePersistence

    persistence = DatabasePersistence(shop.db, "telegram")
    real = DatabasePersistence._write_state

    async def refuse(self: DatabasePersistence, *args: Any) -> None:
        raise ConnectionRefusedError("the database refuses connections")

    monkeypatch.setattr(DatabasePersistence, "_write_state", refuse)
    with pytest.raises(ConnectionRefusedError):
        await persistence.update_conversation("extra_item", (7, 7), 1)
    assert await saved_state(shop, "extra_item") is None  # refused: not in the database
    monkeypatch.setattr(DatabasePersistence, "_write_state", real)

    await persistence.update_user_data(7, {"draft": "kept"})  # the next save takes it along
    assert await saved_state(shop, "extra_item") == 1
    assert (await DatabasePersistence(shop.db, "telegram").get_user_data())[7] == {
        "draft": "kept"}

    # Refused at shutdown too: flush tries once more.
    monkeypatch.setattr(DatabasePersistence, "_write_state", refuse)
    with pytest.raises(ConnectionRefusedError):
        await persistence.update_conversation("extra_item", (7, 7), 2)
    monkeypatch.setattr(DatabasePersistence, "_write_state", real)
    await persistence.flush()
    assert await saved_state(shop, "extra_item") == 2


class ReadOnly:
    """The database refuses every write while ``on`` (a read-only SQLite file, a PostgreSQL
    standby): the driver's own error, raised where the statement would run."""

    def __init__(self, shop: Shop) -> None:
        self.on = False
        self.refused = 0
        self.engine = shop.db.engine.sync_engine
        dbapi = self.engine.dialect.loaded_dbapi

        def refuse(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if self.on and statement.lstrip().split(None, 1)[0].upper() in WRITES:
                self.refused += 1
                raise dbapi.OperationalError("attempt to write a readonly database")

        self.refuse = refuse
        event.listen(self.engine, "before_cursor_execute", refuse)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self.refuse)


WRITES = {"INSERT", "UPDATE", "DELETE"}
OUTAGE = ("The workshop system cannot be reached just now; nothing was changed. Please try "
          "again in a moment.")


async def test_a_read_only_database_gets_one_clear_answer_and_half_applies_nothing(
    shop: Shop, shop_channel: str,
) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor, locale="en")
    tech = await shop.hire("Zhang Tech", Role.technician)
    for text in ("/neworder", "京A12345", "王先生", "13812345678", "Toyota Camry",
                 "Noise when braking", "Change oil"):
        await advisor.send(text)
    outage = ReadOnly(shop)
    try:
        outage.on = True
        if shop_channel == "wecom":
            # The callback cannot be recorded, so it is not acknowledged: WeCom sends it again.
            with pytest.raises(AssertionError, match="503"):
                await advisor.tap(tech.name)
        else:
            replies = await advisor.tap(tech.name)
            assert replies == [OUTAGE]
            assert shop.errors and all(models.db.unreachable(e) for e in shop.errors)
            shop.errors.clear()  # the outage, told to the advisor and the log
        assert outage.refused > 0
        async with shop.db.session() as session:
            assert (await session.exec(select(WorkOrder))).all() == []
        outage.on = False
        await advisor.tap(tech.name)  # the same step, once the database is back
    finally:
        outage.close()
    async with shop.db.session() as session:
        orders = (await session.exec(select(WorkOrder))).all()
    assert [(o.plate, o.customer_name) for o in orders] == [("京A12345", "王先生")]
    assert "Traceback" not in "".join(advisor.inbox)


async def test_jobs_pause_in_an_outage_and_send_each_reminder_once_after(shop: Shop) -> None:
    clerk = await shop.hire("Clerk Li", Role.tracking_clerk, locale="en")
    assert clerk.staff_id is not None
    await customer_visit(shop, clerk.staff_id)
    go(shop, "12-03 09:00")
    outage = ReadOnly(shop)
    try:
        outage.on = True
        for _ in range(3):  # three runs of the job while the database refuses writes
            await jobs.after_sales.run(shop.services, shop.now())
            shop.advance(minutes=1)
        assert not any("[FU-" in text for text in clerk.inbox)  # no claim, so no send
        outage.on = False
        await jobs.after_sales.run(shop.services, shop.now())
    finally:
        outage.close()
    assert len([text for text in clerk.inbox if "[FU-" in text]) == 1
