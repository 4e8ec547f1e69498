"""Engine, sessions and the column types every table shares."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, SessionTransaction
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, always hands back an aware UTC datetime (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class _Row(Protocol):
    @property
    def id(self) -> int | None: ...


def id_of(row: _Row) -> int:
    """The primary key of a stored row.

    SQLModel types ``id`` as ``int | None`` because the database assigns it on flush; every caller
    holds a row it loaded or flushed, so ``None`` here is a bug, said clearly rather than passed on.
    """
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: add and flush it first")
    return row.id


def select_columns(*columns: Any) -> Select[*tuple[Any, ...]]:
    """``sqlmodel.select`` of five columns or more: the same statement, typed (sqlmodel's
    overloads stop at four)."""
    return Select(*columns)


def async_url(url: str) -> str:
    """Give a plain ``sqlite://`` or ``postgresql://`` URL its async driver."""
    parsed = make_url(url)
    driver = parsed.drivername
    if driver in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif driver in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs at checkpoints, not at every commit: a commit survives the bot's
    # crash (it is in the WAL file), a power cut may undo the last moments' (never corrupts).
    # About a tenth more updates per second (bench/approval.py); PostgreSQL for more.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# --- text the database can keep ----------------------------------------------------------------
# A NUL (and the other control characters but tab, newline and carriage return) pasted into a
# chat or sent by the DMS makes PostgreSQL refuse the whole write. Every text bound to any
# statement, and every string inside a JSON value, loses them here: one place for every input.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: str) -> str:
    """``value`` without the control characters a database may refuse."""
    return _CONTROLS.sub("", value)


def _cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return _CONTROLS.sub("", value) if _CONTROLS.search(value) else value
    if isinstance(value, dict):
        return {key: _cleaned(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_cleaned(item) for item in value)
    return value


def _clean_parameters(_connection: Any, _cursor: Any, statement: str, parameters: Any,
                      _context: Any, _executemany: bool) -> tuple[str, Any]:
    return statement, _cleaned(parameters)


def _json(value: Any) -> str:
    return json.dumps(_cleaned(value))


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    kwargs.setdefault("json_serializer", _json)
    # A failed statement's text (logged, told to the admins) leaves out its values: customers'
    # phone numbers and addresses.
    kwargs.setdefault("hide_parameters", True)
    engine = create_async_engine(async_url(url), **kwargs)
    event.listen(engine.sync_engine, "before_cursor_execute", _clean_parameters, retval=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


# --- which commits a piece of work made ------------------------------------------------------
# The error handler tells a person "nothing was changed" only when the update's handlers
# committed nothing; these events count the commits that wrote something, per asyncio task.


class CommitWatch:
    """The commits that wrote something, made by one task since it began watching for
    ``owner`` (an update: its handlers run in the task that processes it)."""

    def __init__(self, owner: object) -> None:
        self.owner = owner
        self.task = _current_task()
        self.commits = 0


_watch: ContextVar[CommitWatch | None] = ContextVar("commit_watch", default=None)
_WROTE = "workshop.wrote"  # in ``Session.info``: the open transaction wrote something


def unreachable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be used just now (connections refused, a
    read-only or locked file, a dropped connection) rather than a fault in what was asked."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    seen: BaseException | None = error
    for _ in range(5):  # the error, or what it was raised from
        if seen is None:
            return False
        if isinstance(seen, OperationalError | InterfaceError | ConnectionError | TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def watch_commits(owner: object) -> CommitWatch:
    """Count from now on the commits this task makes for ``owner``."""
    watch = CommitWatch(owner)
    _watch.set(watch)
    return watch


def commits_made(owner: object) -> int:
    """How many commits that wrote something this task made since it began watching for
    ``owner``; 0 when it never did (work that failed before the watch began)."""
    watch = _watch.get()
    return watch.commits if watch is not None and watch.owner is owner else 0


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no event loop: a synchronous caller
        return None


class WatchedSession(Session):
    """The synchronous session behind every ``Database.session()``, with the events below."""


@event.listens_for(WatchedSession, "after_flush")
def _flushed(session: Session, _flush_context: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(WatchedSession, "do_orm_execute")
def _executing(state: ORMExecuteState) -> None:
    if not state.is_select:  # update(), delete(), insert(), text(): take it as a write
        state.session.info[_WROTE] = True


@event.listens_for(WatchedSession, "after_soft_rollback")
def _rolled_back(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:  # the whole transaction, not a savepoint
        session.info.pop(_WROTE, None)


async def commit_writes(session: AsyncSession) -> None:
    """Commit if the transaction wrote something or has changes pending (the caller's too);
    one that only read needs no COMMIT (nor the pool round trip after it)."""
    sync = session.sync_session
    if sync.new or sync.dirty or sync.deleted or sync.info.get(_WROTE):
        await session.commit()


@event.listens_for(WatchedSession, "after_commit")
def _committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: nothing is durable until the outer commit
    if not session.info.pop(_WROTE, False):
        return
    watch = _watch.get()
    if watch is not None and watch.task is _current_task():
        watch.commits += 1


class Database:
    """One engine and its session factory; ``session()`` is one unit of work."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._factory = async_sessionmaker(
            self.engine, class_=AsyncSession, sync_session_class=WatchedSession,
            expire_on_commit=False,
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._factory() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()

