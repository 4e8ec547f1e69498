"""What the conversation persistence writes after an update (``bot/application.py``'s saving
step, ``bot/persistence.py``): everything the update changed in one session and one commit, by
UPSERT without reading first; nothing at all when it changed nothing kept there; a write the
database refused goes with the next update's write and is logged, never left stale.

Counted with SQLAlchemy's engine events while the saving step runs, on real updates through
the Application."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import select
from telegram.ext import TypeHandler

from bot.application import PERSIST_GROUP
from bot.persistence import DatabasePersistence
from models.card import CardBook, CardKind, CardMessage, begin_book, current_book, end_book
from models.conversation_store import ConversationState, UserDataRow
from models.extra_item import ExtraItemRequest
from models.staff import Role
from tests.flows import order_in_progress
from tests.shop import Person, Shop


class Counted:
    """Statements, commits and sessions (pool checkouts) of the saving step, per update."""

    def __init__(self, shop: Shop) -> None:
        self.engine = shop.db.engine.sync_engine
        self.on = False
        self.counts: Counter[str] = Counter()
        self.statements: list[str] = []
        self.refuse_next_write = False
        self.refused = 0
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._commit)
        event.listen(self.engine.pool, "checkout", self._checkout)
        for handler in shop.app.handlers[PERSIST_GROUP]:
            assert isinstance(handler, TypeHandler)
            handler.callback = self._while_saving(handler.callback)

    def _while_saving(self, callback: Any) -> Any:
        async def saving(update: Any, context: Any) -> Any:
            self.on = True
            try:
                return await callback(update, context)
            finally:
                self.on = False

        return saving

    def _statement(self, _connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not self.on:
            return
        if self.refuse_next_write and statement.lstrip().upper().startswith("INSERT"):
            self.refuse_next_write = False
            self.refused += 1
            raise self.engine.dialect.loaded_dbapi.OperationalError(
                "attempt to write a readonly database")
        self.counts["statements"] += 1
        self.statements.append(" ".join(statement.split()))

    def _commit(self, _connection: Any) -> None:
        if self.on:
            self.counts["commits"] += 1

    def _checkout(self, *_: Any) -> None:
        if self.on:
            self.counts["sessions"] += 1

    def take(self) -> tuple[int, int, int]:
        """(statements, commits, sessions) since the last ``take``."""
        figures = (self.counts["statements"], self.counts["commits"], self.counts["sessions"])
        self.counts, self.statements = Counter(), []
        return figures

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._commit)
        event.remove(self.engine.pool, "checkout", self._checkout)


@pytest.fixture
async def counted(shop: Shop) -> AsyncIterator[Counted]:
    counter = Counted(shop)
    yield counter
    counter.close()


async def saved(shop: Shop, tech: Person) -> tuple[object | None, dict[str, Any] | None]:
    """The technician's extra-item conversation state and drafts, as the database has them."""
    async with shop.db.session() as session:
        state = (await session.exec(select(ConversationState).where(
            ConversationState.name == "extra_item",
            ConversationState.key == f"[{tech.user_id}, {tech.user_id}]"))).first()
        data = (await session.exec(select(UserDataRow).where(
            UserDataRow.user_id == tech.user_id))).first()
    return (None if state is None else state.state, None if data is None else data.data)


def in_memory(shop: Shop, tech: Person) -> tuple[object | None, dict[str, Any]]:
    conversations = shop.app._conversation_handler_conversations["extra_item"]
    return (conversations.get((tech.user_id, tech.user_id)),
            shop.app.user_data.get(tech.user_id, {}))


async def test_an_update_that_moves_a_conversation_is_one_session_and_one_commit(
    shop: Shop, counted: Counted,
) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    counted.take()

    for step in ("tap", "Replace wiper blades", "Both blades are torn"):
        if step == "tap":
            await tech.tap(data=f"ord:{order_id}:extra")
        else:
            await tech.send(step)
        statements = list(counted.statements)
        count, commits, sessions = counted.take()
        assert (commits, sessions) == (1, 1), (step, statements)
        # The state and the drafts, each one upsert, nothing read first.
        assert count == 2, (step, statements)
        assert all(s.upper().startswith("INSERT") and "ON CONFLICT" in s.upper()
                   for s in statements), statements
        # Written with this update, not the next: state and drafts at the same step.
        state, data = await saved(shop, tech)
        assert (state, data) == in_memory(shop, tech)
        assert data and (step == "tap" or "Replace wiper blades" in str(data))


async def test_an_update_that_changes_nothing_kept_writes_nothing(
    shop: Shop, counted: Counted,
) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    await tech.tap(data=f"ord:{order_id}:extra")
    await tech.send("Replace wiper blades")
    counted.take()

    # Others' updates outside any conversation: no conversation state, no drafts change.
    for _ in range(3):
        assert await advisor.send("/help")
        assert counted.take() == (0, 0, 0), counted.statements
    # The technician's drafts stay as they are; the next step writes again.
    await tech.send("Both blades are torn")
    assert counted.take()[1:] == (1, 1)


async def test_the_card_copies_an_update_sent_go_with_its_one_commit(
    shop: Shop, counted: Counted,
) -> None:
    """/orders sends the advisor a living card per order: the copies are recorded in the
    saving step's transaction (``models.card.CardBook``), not in commits of their own, and the
    next /orders retires them there too; the cards are then edited, not sent again."""
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    watch = shop.db.engine.sync_engine
    commits: list[bool] = []
    event.listen(watch, "commit", lambda _c: commits.append(counted.on))
    counted.take()
    for _ in range(2):
        before = len(advisor.inbox)
        assert await advisor.send("/orders")
        assert len(advisor.inbox) > before
        statements = list(counted.statements)
        assert counted.take()[1:] == (1, 1), statements
        assert any("card_message" in s for s in statements), statements
        assert commits == [True], commits  # the update's only commit is the saving step's
        commits.clear()
    async with shop.db.session() as session:
        copies = (await session.exec(select(CardMessage).where(
            CardMessage.kind == CardKind.order_advisor, CardMessage.ref_id == order_id))).all()
    assert len(copies) == 1  # the older copy was retired with the newer one's commit
    assert copies[0].message_id == advisor.last.message_id


async def test_a_refused_write_goes_with_the_next_update_and_is_logged(
    shop: Shop, counted: Counted, caplog: pytest.LogCaptureFixture,
) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    await tech.tap(data=f"ord:{order_id}:extra")
    before = await saved(shop, tech)
    counted.take()

    counted.refuse_next_write = True
    await tech.send("Replace wiper blades")  # the person's step goes on in memory
    assert counted.refused == 1
    assert "kept for the next write" in caplog.text
    assert len(shop.errors) == 1  # the error handler heard of it (the admins are told)
    shop.errors.clear()
    assert await saved(shop, tech) == before  # refused: the database has the older step
    counted.take()

    # Someone else's update, which changes nothing of its own, takes it along.
    await advisor.send("/help")
    assert counted.take()[1:] == (1, 1)
    assert await saved(shop, tech) == in_memory(shop, tech)
    await advisor.send("/help")
    assert counted.take() == (0, 0, 0)

    # A redeploy resumes at the step the technician had reached.
    await shop.restart()
    await tech.send("Both blades are torn and smear the screen")
    await tech.tap("Skip")
    await tech.send("300 150")
    async with shop.db.session() as session:
        request = (await session.exec(select(ExtraItemRequest))).one()
    assert request.description == "Replace wiper blades"


async def test_a_process_that_reads_another_ones_drafts_writes_a_change_back(
    shop: Shop,
) -> None:
    """Several workers (``SHARED_CHAT_STATE``): what a process last read, not what it last
    wrote, is what a change is measured against."""
    first = DatabasePersistence(shop.db, "telegram")
    second = DatabasePersistence(shop.db, "telegram")
    for persistence in (first, second):
        await persistence.get_conversations("extra_item")
        await persistence.get_user_data()

    await first.update_conversation("extra_item", (7, 7), 1)
    await first.update_user_data(7, {"draft": "one"})
    assert await second.load_person(7, 7) == ({"extra_item": 1}, {"draft": "one"})
    await second.update_conversation("extra_item", (7, 7), 2)
    await second.update_user_data(7, {"draft": "two"})

    assert await first.load_person(7, 7) == ({"extra_item": 2}, {"draft": "two"})
    await first.update_conversation("extra_item", (7, 7), 1)  # back to what it wrote before
    await first.update_user_data(7, {"draft": "one"})
    assert await DatabasePersistence(shop.db, "telegram").load_person(7, 7) == (
        {"extra_item": 1}, {"draft": "one"})


async def test_a_task_started_during_an_update_records_its_cards_itself() -> None:
    """A task started while an update is handled (a job scheduled from it) inherits the
    update's context, but not its card book: its copies go into its own session, or they
    would wait for a saving step that never comes."""
    begin_book()
    outer = current_book()
    assert outer is not None

    async def elsewhere() -> CardBook | None:
        return current_book()

    assert await asyncio.create_task(elsewhere()) is None
    assert end_book() is outer
    assert current_book() is None
