"""``workshop-bot doctor``, ``workshop-bot backup PATH`` and ``workshop-bot restore PATH``.

``doctor`` checks what the bot needs, one line each (settings, the database and its schema,
Telegram's ``getMe``, WeCom's ``gettoken``, the time zone, a font that draws Chinese for the
charts, the compiled catalogs, free disk space, the clock against the platforms' clocks, the
plate OCR when its extra is installed) and exits 1 when something is wrong. ``backup`` copies
the database while the bot runs (SQLite's online backup API; PostgreSQL by ``pg_dump``);
``restore`` puts a SQLite backup back, refused while a bot runs on that file (``bot.backups``).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.clock import Clock

if TYPE_CHECKING:  # the rest loads in the commands, so `--help` answers at once
    from bot.settings import Settings

EXIT_PROBLEM = 1
CHECK_TIMEOUT = 10.0  # seconds a database or an API may take to answer
GIB = 1 << 30
LOW_DISK = GIB  # warn under this much free space
NO_DISK = 100 << 20  # fail under this
CLOCK_WARN_SECONDS = 60.0
KNOWN_MSGID = "Cancelled. Nothing was saved."  # a message every catalog translates
CHINESE = "王"  # a character every Chinese staff list needs


def add_ops_commands(subparsers: Any) -> None:
    """Add ``doctor``, ``backup`` and ``restore`` to the ``workshop-bot`` command."""
    doctor = subparsers.add_parser(
        "doctor", help="check settings, database, channels, font, catalogs, disk, clock")
    doctor.set_defaults(handler=cmd_doctor)

    backup = subparsers.add_parser(
        "backup", help="copy the database now (safe while the bot runs)")
    backup.add_argument("path", metavar="PATH",
                        help="the file to write, or a folder (a dated name is made)")
    backup.set_defaults(handler=cmd_backup)

    restore = subparsers.add_parser(
        "restore", help="put a SQLite backup in place of DATABASE_URL's file (bot stopped)")
    restore.add_argument("path", metavar="PATH", help="the backup file")
    restore.set_defaults(handler=cmd_restore)


# --- backup and restore -----------------------------------------------------------------------


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from bot import backups
    from bot.cli import CliError, safe_url

    url = settings.database_url
    if backups.sqlite_file(url) is None and not backups.is_postgresql(url):
        raise CliError(f"cannot back up {safe_url(url)}: only a SQLite file or PostgreSQL")
    target = Path(args.path).expanduser()
    if target.is_dir():
        stamp = Clock().now().astimezone(settings.tz).strftime("%Y%m%d-%H%M%S")
        suffix = ".dump" if backups.is_postgresql(url) else ".db"
        target = target / f"workshop-{stamp}{suffix}"
    try:
        size = backups.backup_to(url, target)
    except backups.BackupError as exc:
        raise CliError(str(exc)) from None
    source = backups.sqlite_file(url)
    if source is not None:
        revision = backups.revision_of(target) or "none"
        print(f"Backed up {source} to {target} ({size} bytes, schema revision {revision}).")
    else:
        print(f"Dumped {safe_url(url)} to {target} ({size} bytes; restore with pg_restore).")
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    from bot import backups, migrate
    from bot.cli import UPGRADE_HINT, CliError, safe_url

    url = settings.database_url
    target = backups.sqlite_file(url)
    backup = Path(args.path).expanduser()
    if target is None:
        if backups.is_postgresql(url):
            plain = safe_url(url).replace("+asyncpg", "")
            raise CliError(f"restore is for SQLite; for PostgreSQL stop the bot and run: "
                           f"pg_restore --clean --if-exists --no-owner --dbname={plain} "
                           f"{backup}")
        raise CliError(f"cannot restore into {safe_url(url)}: DATABASE_URL is not a SQLite file")
    try:
        backups.restore_sqlite(backup, target)
    except backups.BackupError as exc:
        raise CliError(str(exc)) from None
    revision = backups.revision_of(target)
    print(f"Restored {backup} into {target} (schema revision {revision or 'none'}).")
    if revision != migrate.head_revision():
        print(f"Next: {UPGRADE_HINT} before `workshop-bot run`.")
    return 0


# --- doctor -----------------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    state: str  # ok, warn, FAIL, skip
    detail: str

    def line(self) -> str:
        return f"{self.state:<5} {self.name:<9} {self.detail}"


@dataclass
class ApiClock:
    """The Date header of an API's answer, and when the question went and the answer came."""

    api: str
    server: datetime
    asked: datetime
    answered: datetime

    def skew(self) -> float:
        """Seconds the API's clock is ahead of ours (Date has whole seconds)."""
        ours = self.asked + (self.answered - self.asked) / 2
        return (self.server - ours).total_seconds()


def _first_line(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _api_clock(api: str, headers: Any, asked: datetime, answered: datetime) -> ApiClock | None:
    try:
        server = parsedate_to_datetime(headers.get("date", ""))
    except (TypeError, ValueError, IndexError):
        return None
    return ApiClock(api, server, asked, answered) if server.tzinfo is not None else None


def check_settings(settings: Settings) -> Check:
    channels = []
    if settings.wecom_configured:
        channels.append(f"WeCom (agent {settings.wecom_agent_id})")
    if settings.telegram_bot_token:
        channels.append("Telegram " + ("(webhook)" if settings.telegram_webhook else
                                       "(long polling)"))
    if not channels:
        return Check("settings", "FAIL", "neither TELEGRAM_BOT_TOKEN nor the five WECOM_ "
                                         "settings are set: `run` has no channel to serve")
    return Check("settings", "ok", "loaded; channels: " + ", ".join(channels))


async def check_database(settings: Settings) -> tuple[Check, Check]:
    """The database answers; its schema is the one this code needs."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot import backups, migrate
    from bot.cli import CliError, safe_url, schema_problem
    from models.db import Database

    url = settings.database_url
    skipped = Check("schema", "skip", "the database did not answer")
    source = backups.sqlite_file(url)
    if source is not None and not source.is_file():
        return (Check("database", "FAIL", f"there is no database at {source}; run "
                                          "`workshop-bot db upgrade`"), skipped)
    try:
        db = Database(url)
    except (ImportError, ValueError, SQLAlchemyError, CliError) as exc:
        return Check("database", "FAIL", f"cannot use {safe_url(url)}: {exc}"), skipped
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            current = await migrate.current_revision(db)
            problem = await schema_problem(db)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        return (Check("database", "FAIL", f"{safe_url(url)} does not answer: "
                                          f"{_first_line(exc)}"), skipped)
    finally:
        await db.dispose()
    answered = Check("database", "ok", f"{safe_url(url)} answers")
    if problem:
        return answered, Check("schema", "FAIL", problem)
    return answered, Check("schema", "ok", f"revision {current} (current)")


async def check_telegram(settings: Settings, clock: Clock) -> tuple[Check, ApiClock | None]:
    import httpx

    if not settings.telegram_bot_token:
        return Check("telegram", "skip", "TELEGRAM_BOT_TOKEN is not set"), None
    base = settings.telegram_api_base_url
    asked = clock.now()
    try:
        async with httpx.AsyncClient(timeout=CHECK_TIMEOUT) as client:
            answer = await client.post(f"{base}{settings.telegram_bot_token}/getMe")
    except httpx.HTTPError as exc:
        return Check("telegram", "FAIL", f"cannot reach the Bot API at {base}: "
                                         f"{_first_line(exc)}"), None
    api_clock = _api_clock("the Telegram Bot API", answer.headers, asked, clock.now())
    try:
        data = answer.json()
    except ValueError:
        data = {}
    if answer.status_code == 401:
        return (Check("telegram", "FAIL", "the Bot API rejected TELEGRAM_BOT_TOKEN; check it "
                                          "with @BotFather"), api_clock)
    if not isinstance(data, dict) or not data.get("ok"):
        reason = data.get("description") if isinstance(data, dict) else None
        return (Check("telegram", "FAIL", f"getMe answered HTTP {answer.status_code}: "
                                          f"{reason or answer.text[:80]}"), api_clock)
    username = (data.get("result") or {}).get("username", "?")
    return Check("telegram", "ok", f"getMe: @{username}"), api_clock


async def check_wecom(settings: Settings, clock: Clock) -> tuple[Check, ApiClock | None]:
    import httpx

    if not settings.wecom_configured:
        return Check("wecom", "skip", "WECOM_CORP_ID and the rest are not set"), None
    base = settings.wecom_api_base
    asked = clock.now()
    try:
        async with httpx.AsyncClient(timeout=CHECK_TIMEOUT) as client:
            answer = await client.get(f"{base}/gettoken", params={
                "corpid": settings.wecom_corp_id, "corpsecret": settings.wecom_secret})
    except httpx.HTTPError as exc:
        return Check("wecom", "FAIL", f"cannot reach {base}: {_first_line(exc)}"), None
    api_clock = _api_clock("the WeCom API", answer.headers, asked, clock.now())
    try:
        data = answer.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return (Check("wecom", "FAIL", f"gettoken answered HTTP {answer.status_code}, not "
                                       "JSON"), api_clock)
    if data.get("errcode") != 0 or not data.get("access_token"):
        return (Check("wecom", "FAIL", f"gettoken refused WECOM_CORP_ID/WECOM_SECRET: "
                                       f"{data.get('errcode')} {data.get('errmsg')}"),
                api_clock)
    return Check("wecom", "ok", f"gettoken: an access token for corp "
                                f"{settings.wecom_corp_id}"), api_clock


def check_timezone(settings: Settings, clock: Clock) -> Check:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        return Check("timezone", "FAIL", f"TIMEZONE {settings.timezone!r}: {exc}")
    local = clock.now().astimezone(zone)
    return Check("timezone", "ok", f"{settings.timezone}: local time "
                                   f"{local.strftime('%Y-%m-%d %H:%M')} "
                                   f"(UTC{local.strftime('%z')[:3]}:{local.strftime('%z')[3:]})")


def chart_font() -> tuple[str, str] | None:
    """A font matplotlib knows that draws Chinese (the charts' font first): name and file."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    from bot.report_files import cjk_font

    preferred = cjk_font()
    entries = sorted(font_manager.fontManager.ttflist,
                     key=lambda entry: preferred is None or entry.name != preferred[0])
    for entry in entries:
        try:
            if FT2Font(entry.fname).get_char_index(ord(CHINESE)):
                return entry.name, entry.fname
        except (OSError, RuntimeError, ValueError):
            continue
    return None


def check_font() -> Check:
    found = chart_font()
    if found is None:
        return Check("font", "FAIL", f"missing: no font matplotlib knows draws {CHINESE}; "
                                     "the charts show staff as #1, #2 (install a CJK font, "
                                     "e.g. fonts-noto-cjk)")
    name, path = found
    return Check("font", "ok", f"{name} draws Chinese ({path})")


def check_catalogs() -> Check:
    from bot.i18n import DOMAIN, LOCALE_DIR, translations
    from bot.settings import LOCALES

    if translations("zh_CN").gettext(KNOWN_MSGID) == KNOWN_MSGID:
        return Check("catalogs", "FAIL", f"zh_CN does not translate (no catalog under "
                                         f"{LOCALE_DIR}): everyone would read English")
    missing = [locale for locale in LOCALES
               if not (LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file()]
    if missing:
        return Check("catalogs", "warn", f"{', '.join(LOCALES)} load, but {', '.join(missing)} "
                                         "not compiled (.mo): built from .po at every start")
    return Check("catalogs", "ok", f"{', '.join(LOCALES)} compiled and loading")


def data_folder(settings: Settings) -> Path:
    """Where the bot keeps its files: the SQLite file's folder, else ./data."""
    from bot import backups

    source = backups.sqlite_file(settings.database_url)
    folder = (source.parent if source is not None else Path("data")).resolve()
    while not folder.exists():  # not made yet: the disk it will be on
        folder = folder.parent
    return folder


def check_disk(settings: Settings) -> Check:
    folder = data_folder(settings)
    try:
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        return Check("disk", "FAIL", f"cannot read the free space of {folder}: {exc}")
    text = f"{free / GIB:.1f} GiB free under {folder}"
    if free < NO_DISK:
        return Check("disk", "FAIL", text)
    if free < LOW_DISK:
        return Check("disk", "warn", f"{text} (under {LOW_DISK / GIB:.0f} GiB)")
    return Check("disk", "ok", text)


def check_clock(settings: Settings, clocks: list[ApiClock]) -> Check:
    if not clocks:
        return Check("clock", "skip", "no platform API answered to compare with")
    worst = max(clocks, key=lambda c: abs(c.skew()))
    skew = worst.skew()
    side = "behind" if skew > 0 else "ahead of"
    text = f"{abs(skew):.0f} s {side} {worst.api}'s clock"
    if abs(skew) > settings.wecom_max_clock_skew_seconds:
        return Check("clock", "FAIL", f"{text}: WeCom refuses callbacks beyond "
                                      f"{settings.wecom_max_clock_skew_seconds} s and reminders "
                                      "go out at the wrong time; sync it (NTP)")
    if abs(skew) > CLOCK_WARN_SECONDS:
        return Check("clock", "warn", f"{text}; sync it (NTP)")
    return Check("clock", "ok", text)


def check_plate_ocr(clock: Clock) -> Check:
    """The ``ocr`` extra (W1 from a photo): its model loaded once and a drawn plate read. Not
    installed is no problem: plates are then typed."""
    from bot.plate_reader import available, load_check

    ok, line = load_check(clock)
    if not available():
        return Check("plate-ocr", "skip", line)
    return Check("plate-ocr", "ok" if ok else "FAIL", line)


async def _checks(settings: Settings, clock: Clock) -> list[Check]:
    database, schema = await check_database(settings)
    (telegram, telegram_clock), (wecom, wecom_clock) = await asyncio.gather(
        check_telegram(settings, clock), check_wecom(settings, clock))
    clocks = [c for c in (telegram_clock, wecom_clock) if c is not None]
    return [check_settings(settings), database, schema, telegram, wecom,
            check_timezone(settings, clock), check_font(), check_catalogs(),
            check_disk(settings), check_clock(settings, clocks),
            await asyncio.to_thread(check_plate_ocr, clock)]


def cmd_doctor(settings: Settings, args: argparse.Namespace) -> int:
    """One line per check; exit 1 when one failed (warnings alone exit 0)."""
    checks = asyncio.run(_checks(settings, Clock()))
    for check in checks:
        print(check.line())
    failed = [c.name for c in checks if c.state == "FAIL"]
    warned = [c.name for c in checks if c.state == "warn"]
    if failed:
        print(f"{len(failed)} problem(s): {', '.join(failed)}")
        return EXIT_PROBLEM
    print("All checks passed" + (f" ({len(warned)} warning(s): {', '.join(warned)})."
                                 if warned else "."))
    return 0

