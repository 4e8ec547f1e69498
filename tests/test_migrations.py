"""The migrations build exactly the tables the models describe, and run both ways.

Each test gets an empty database of its own: a SQLite file, and with ``TEST_DATABASE_URL`` a
PostgreSQL schema of its own, so the shared ``public`` schema of the other tests is untouched.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table)
from bot import migrate
from models.db import Database

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL.startswith("postgres") else [])


@pytest.fixture(params=BACKENDS)
async def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'migrations.db'}")
        yield database
        await database.dispose()
        return
    schema = f"migration_test_{uuid.uuid4().hex[:8]}"
    admin = Database(PG_URL)
    async with admin.engine.begin() as connection:
        await connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    database = Database(PG_URL, connect_args={"server_settings": {"search_path": schema}})
    try:
        yield database
    finally:
        await database.dispose()
        async with admin.engine.begin() as connection:
            await connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.dispose()


async def differences(db: Database) -> list[Any]:
    """What autogenerate would write into a new revision: nothing, when models match."""

    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))

    async with db.engine.connect() as connection:
        return await connection.run_sync(compare)


async def table_names(db: Database) -> set[str]:
    async with db.engine.connect() as connection:
        return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))


async def downgrade(db: Database, revision: str) -> None:
    config = migrate.alembic_config(db.url)

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with db.engine.begin() as connection:
        await connection.run_sync(run)


async def test_models_match_the_migrations(empty_db: Database) -> None:
    await migrate.upgrade(empty_db)
    assert await differences(empty_db) == []


async def test_upgrade_is_idempotent(empty_db: Database) -> None:
    await migrate.upgrade(empty_db)
    tables = await table_names(empty_db)
    await migrate.upgrade(empty_db)
    assert await migrate.is_current(empty_db)
    assert await table_names(empty_db) == tables
    assert set(SQLModel.metadata.tables) <= tables


async def test_downgrade_to_base_and_up_again(empty_db: Database) -> None:
    await migrate.upgrade(empty_db)
    await downgrade(empty_db, "base")
    assert await migrate.current_revision(empty_db) is None
    assert await table_names(empty_db) <= {"alembic_version"}
    await migrate.upgrade(empty_db)
    assert await migrate.is_current(empty_db)
    assert await differences(empty_db) == []


async def test_every_revision_steps_down_and_up(empty_db: Database) -> None:
    """Each revision's downgrade undoes exactly its upgrade, not only the whole chain's."""
    script = ScriptDirectory.from_config(migrate.alembic_config())
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    for revision in revisions:
        await migrate.upgrade(empty_db, revision)
        tables = await table_names(empty_db)
        await downgrade(empty_db, "-1")
        await migrate.upgrade(empty_db, revision)
        assert await migrate.current_revision(empty_db) == revision
        assert await table_names(empty_db) == tables
    assert await differences(empty_db) == []


def test_one_head() -> None:
    """Two heads would mean two branches nobody merged; ``upgrade head`` would fail."""
    assert len(ScriptDirectory.from_config(migrate.alembic_config()).get_heads()) == 1
