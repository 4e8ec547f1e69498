"""Copies of the database: taken while the bot runs, kept in a folder, put back when it stops.

SQLite is copied with its online backup API (``sqlite3.Connection.backup``): one consistent
snapshot, taken while the bot reads and writes (WAL readers do not block writers). The copy is
written next to its target and moved into place when complete, so a failed backup leaves no
half-written file. PostgreSQL is dumped by ``pg_dump`` (custom format, for ``pg_restore``).

A running bot holds a shared lock (``flock``) on ``<database file>.lock`` for as long as it
runs; several workers on one file each hold one. A restore takes the lock exclusively and
without waiting, so it is refused while any bot runs on that file, and a bot starting during a
restore waits for it to finish. The lock goes with the process, so a crashed bot leaves none.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

try:
    import fcntl
except ImportError:  # Windows: no lock; the README says to stop the bot before a restore
    fcntl = None  # type: ignore[assignment]

PG_DUMP = "pg_dump"
BUSY_TIMEOUT_MS = 10_000


class BackupError(Exception):
    """Why a backup or a restore could not be done, in one line."""


class BotRunning(BackupError):
    pass


def sqlite_file(database_url: str) -> Path | None:
    """The file of a ``sqlite:///…`` URL; ``None`` for PostgreSQL or an in-memory database."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return None
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def is_postgresql(database_url: str) -> bool:
    try:
        return make_url(database_url).get_backend_name() in ("postgresql", "postgres")
    except ArgumentError:
        return False


def lock_file(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


@contextlib.contextmanager
def running_on(database_url: str) -> Iterator[None]:
    """Held by ``workshop-bot run`` for as long as it runs (shared: several workers may)."""
    database = sqlite_file(database_url)
    if database is None or fcntl is None:
        yield
        return
    database.parent.mkdir(parents=True, exist_ok=True)
    with lock_file(database).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)  # waits while a restore runs
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def nobody_running(database: Path) -> Iterator[None]:
    """The exclusive lock a restore holds; ``BotRunning`` when a bot runs on ``database``."""
    if fcntl is None:
        yield
        return
    with lock_file(database).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BotRunning(
                f"a bot is running on {database} (it holds {lock_file(database)}); "
                "stop it first") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _writable_folder(target: Path) -> None:
    folder = target.parent
    if not folder.is_dir():
        raise BackupError(f"cannot write {target}: the folder {folder} does not exist")


@contextlib.contextmanager
def _file_next_to(target: Path) -> Iterator[Path]:
    """A temporary file in ``target``'s folder, moved onto ``target`` when the block ends
    without an error, removed otherwise."""
    _writable_folder(target)
    try:
        handle, name = tempfile.mkstemp(prefix=f".{target.name}-", suffix=".part",
                                        dir=target.parent)
    except OSError as exc:
        raise BackupError(f"cannot write in {target.parent}: {exc.strerror or exc}") from None
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, target)
    except OSError as exc:
        raise BackupError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        temporary.unlink(missing_ok=True)


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return connection


def _check(path: Path) -> None:
    connection = _connect(path)
    try:
        problem = connection.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a SQLite database: {exc}") from None
    finally:
        connection.close()
    if problem != "ok":
        raise BackupError(f"{path} is damaged: {problem}")


def _copy(source: Path, target: Path) -> None:
    """The online backup from ``source`` into the new file ``target`` (in one step: one
    consistent snapshot, the bot's writes go on meanwhile)."""
    source_db = _connect(source)
    try:
        target_db = sqlite3.connect(target)
        try:
            source_db.backup(target_db)
        finally:
            target_db.close()
    except sqlite3.Error as exc:
        raise BackupError(f"backup of {source} failed: {exc}") from None
    finally:
        source_db.close()


def backup_sqlite(source: Path, target: Path) -> int:
    """Copy the database ``source`` to ``target`` while it is in use; returns the bytes."""
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    with _file_next_to(target) as temporary:
        _copy(source, temporary)
        _check(temporary)
    return target.stat().st_size


def revision_of(path: Path) -> str | None:
    """The Alembic revision written in a SQLite file (``None``: no schema)."""
    connection = _connect(path)
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    return str(row[0]) if row else None


def restore_sqlite(backup: Path, target: Path) -> None:
    """Put ``backup`` in place of ``target``; refused while a bot runs on ``target``."""
    if not backup.is_file():
        raise BackupError(f"there is no backup at {backup}")
    _check(backup)
    if backup.resolve() == target.resolve():
        raise BackupError(f"{backup} is the database itself")
    _writable_folder(target)
    with nobody_running(target), _file_next_to(target) as temporary:
        _copy(backup, temporary)
        # The old file's write-ahead log and index belong to it, not to the restored one.
        for leftover in (target.with_name(target.name + "-wal"),
                         target.with_name(target.name + "-shm")):
            leftover.unlink(missing_ok=True)


# --- PostgreSQL -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dump:
    """``pg_dump``'s command line and the environment it needs (the password stays out of the
    command line: it goes in ``PGPASSWORD``)."""

    argv: list[str]
    password: str | None

    def shown(self) -> str:
        line = " ".join(_quoted(part) for part in self.argv)
        return f"PGPASSWORD=… {line}" if self.password else line


def _quoted(part: str) -> str:
    import shlex

    return shlex.quote(part)


def pg_dump(database_url: str, target: Path) -> Dump:
    url = make_url(database_url)
    plain = URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                       database=url.database, query=url.query)  # no password, no driver
    return Dump([PG_DUMP, "--format=custom", "--no-owner", f"--file={target}",
                 f"--dbname={plain.render_as_string(hide_password=False)}"], url.password)


def pg_dump_available() -> bool:
    return shutil.which(PG_DUMP) is not None


def run_pg_dump(dump: Dump, target: Path) -> int:
    """Run it into a file next to ``target``, then move it into place; returns the bytes."""
    env = dict(os.environ)
    if dump.password:
        env["PGPASSWORD"] = dump.password
    with _file_next_to(target) as temporary:
        argv = [f"--file={temporary}" if part.startswith("--file=") else part
                for part in dump.argv]
        try:
            done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise BackupError(f"cannot run {PG_DUMP}: {exc}") from None
        if done.returncode != 0:
            first = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[0]
            raise BackupError(f"{PG_DUMP} failed: {first}")
    return target.stat().st_size


# --- the daily backups ------------------------------------------------------------------------

DAILY_STEM = "workshop-"


def daily_name(day: date, database_url: str) -> str:
    return f"{DAILY_STEM}{day.isoformat()}{'.dump' if is_postgresql(database_url) else '.db'}"


def backup_to(database_url: str, target: Path) -> int:
    """Back up the database of ``database_url`` to ``target``; returns the bytes written."""
    source = sqlite_file(database_url)
    if source is not None:
        return backup_sqlite(source, target)
    if not is_postgresql(database_url):
        raise BackupError("only a SQLite file or PostgreSQL can be backed up")
    dump = pg_dump(database_url, target)
    if not pg_dump_available():
        raise BackupError(f"{PG_DUMP} is not installed; run: {dump.shown()}")
    return run_pg_dump(dump, target)


def prune(folder: Path, keep: int) -> list[Path]:
    """Remove all but the newest ``keep`` daily backups in ``folder``; returns what went."""
    daily = sorted(path for path in folder.glob(f"{DAILY_STEM}*")
                   if path.suffix in (".db", ".dump") and path.is_file())
    gone = daily[:-keep] if keep > 0 else daily
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


def daily_backup(database_url: str, folder: str, day: date, keep: int
                 ) -> tuple[Path, int, list[Path]]:
    """Today's backup into ``folder`` (made when missing), then all but the newest ``keep``
    removed: the file, its bytes and the files removed."""
    path = Path(folder).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot make the backup folder {path}: {exc.strerror or exc}") \
            from None
    target = path / daily_name(day, database_url)
    size = backup_to(database_url, target)
    return target, size, prune(path, keep)
