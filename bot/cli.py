"""The ``workshop-bot`` command (also ``python -m bot``): run the bot, migrate, onboard staff.

Operators read this output, so a failure is one line on stderr and exit status 2, never a
traceback. Every command except ``db …`` refuses to touch a database whose schema is not the
one this code expects.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from bot.export_cli import add_export_command
from bot.import_cli import add_import_command
from bot.ops_cli import add_ops_commands
from bot.outbox_cli import add_outbox_command

if TYPE_CHECKING:  # the rest loads in the commands, so `--help` answers at once
    from bot.playground.serve import Options
    from bot.settings import Settings
    from models.db import Database
    from models.staff import InviteCode, Role, Staff

log = logging.getLogger(__name__)

EXIT_ERROR = 2
UPGRADE_HINT = "run `workshop-bot db upgrade`"
USERNAME_PLACEHOLDER = "<bot_username>"
GET_ME_TIMEOUT = 10.0
EXIT_BROKEN_PIPE = 128 + 13  # as a tool killed by SIGPIPE (``staff list | head -1``)
# The words the help text offers, here so that it needs no model: models.staff.Role and
# bot.settings.LOCALES, in their order (tests/test_cli.py holds them equal).
ROLE_NAMES = ("technician", "team_leader", "inspector", "advisor", "parts_clerk",
              "tracking_clerk", "supervisor", "admin")
LOCALES = ("zh_CN", "en")
T = TypeVar("T")


class CliError(Exception):
    """Something the operator must fix; the message is the one line they see."""


# --- settings and the database -------------------------------------------------------------


def load_settings() -> Settings:
    from pydantic import ValidationError

    from bot.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        problems, named = [], True
        for error in exc.errors():
            message = str(error["msg"]).removeprefix("Value error, ")
            named = named and bool(error["loc"])
            problems.append(f"{str(error['loc'][0]).upper()}: {message}" if error["loc"]
                            else message)  # a rule across settings names them itself
        raise CliError(("bad setting " if named else "bad settings: ") + "; ".join(problems)) \
            from None


def safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


def open_database(settings: Settings) -> Database:
    """The database of ``DATABASE_URL``; a SQLite file gets its folder (``./data/``) made."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from models.db import Database

    url = settings.database_url
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise CliError(f"DATABASE_URL is not a database URL: {url!r}") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql", "postgres"):
        raise CliError(f"DATABASE_URL must be sqlite:///… or postgresql://…, not {safe_url(url)}")
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    try:
        return Database(url)
    except (ArgumentError, SQLAlchemyError, ImportError) as exc:
        raise CliError(f"cannot use DATABASE_URL {safe_url(url)}: {exc}") from None


async def schema_problem(db: Database, *, hint: str = UPGRADE_HINT) -> str | None:
    """Why this database cannot be used as it is, in one line; ``None`` when it is current."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from bot import migrate

    current = await migrate.current_revision(db)
    head = migrate.head_revision()
    if current == head:
        return None
    if current is None:
        return f"the database has no schema yet; {hint} first"
    try:
        ScriptDirectory.from_config(migrate.alembic_config()).get_revision(current)
    except CommandError:
        return (f"the database is at revision {current}, which this version of workshop-bot "
                "does not know; install the newer workshop-bot that wrote it")
    return f"the database schema is out of date ({current}, this code needs {head}); {hint} first"


def with_database(
    settings: Settings,
    work: Callable[[Database], Awaitable[T]],
    *,
    check_schema: bool = True,
    hint: str = UPGRADE_HINT,
) -> T:
    """Open the database, refuse an out-of-date schema, run ``work``, close; on a new loop."""
    from sqlalchemy.exc import SQLAlchemyError

    db = open_database(settings)

    async def body() -> T:
        try:
            if check_schema and (problem := await schema_problem(db, hint=hint)):
                raise CliError(problem)
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(body())
    except BrokenPipeError:
        raise  # stdout closed by the reader (``| head``): main() ends quietly
    except (SQLAlchemyError, OSError) as exc:
        log.debug("database error", exc_info=True)
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CliError(
            f"database {safe_url(settings.database_url)}: {type(exc).__name__}: {first_line}"
        ) from None


# --- db ---------------------------------------------------------------------------------------


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from bot import migrate

    async def work(db: Database) -> tuple[str | None, str | None]:
        before = await migrate.current_revision(db)
        await migrate.upgrade(db)
        return before, await migrate.current_revision(db)

    before, after = with_database(settings, work, check_schema=False)
    if before == after:
        print(f"Database {safe_url(settings.database_url)} is up to date (revision {after}).")
    else:
        print(f"Database {safe_url(settings.database_url)} upgraded: "
              f"{before or 'empty'} -> {after}.")
    return 0


def cmd_db_current(settings: Settings, args: argparse.Namespace) -> int:
    from bot import migrate

    async def work(db: Database) -> tuple[str | None, str | None]:
        return await migrate.current_revision(db), await schema_problem(db)

    current, problem = with_database(settings, work, check_schema=False)
    print(f"Database: {safe_url(settings.database_url)}")
    print(f"Revision: {current or 'none'} (this code needs {migrate.head_revision()})")
    print(f"Status:   {problem or 'up to date'}")
    return 0


# --- run --------------------------------------------------------------------------------------


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.telegram_bot_token and not settings.wecom_configured:
        from bot.playground.serve import DEFAULT_PORT, Options

        # HTTP_PORT, when set, is where this machine expects the bot's one server
        options = Options(port=settings.http_port if "http_port" in settings.model_fields_set
                          else DEFAULT_PORT)
        return start_playground(settings, options, line=(
            f"No TELEGRAM_BOT_TOKEN or WeCom configured: the playground is at {options.url} "
            "(to go live, set TELEGRAM_BOT_TOKEN or the WECOM_* settings; see the README)"))
    from telegram.error import BadRequest, InvalidToken, NetworkError

    from bot import migrate

    async def prepare(db: Database) -> None:
        if args.upgrade:
            await migrate.upgrade(db)
        elif problem := await schema_problem(
            db, hint=f"{UPGRADE_HINT} (or start with `workshop-bot run --upgrade`)"
        ):
            raise CliError(problem)

    with_database(settings, prepare, check_schema=False)

    from bot.run import poll, serve  # the application and its handlers load only when needed
    from bot.wecom.request import WeComUnavailable

    try:
        if settings.serves_http:
            asyncio.run(serve(settings))
        else:
            poll(settings)
    except WeComUnavailable as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"HTTP server: {exc}") from None
    except InvalidToken:
        raise CliError("the Bot API rejected TELEGRAM_BOT_TOKEN; check it with @BotFather") \
            from None
    except BadRequest as exc:  # e.g. setWebhook refusing TELEGRAM_WEBHOOK_URL
        raise CliError(f"the Bot API refused: {exc.message}") from None
    except NetworkError as exc:
        raise CliError(
            f"cannot reach the Bot API at {settings.telegram_api_base_url}: {exc}"
        ) from None
    return 0


def cmd_playground(settings: Settings, args: argparse.Namespace) -> int:
    from bot.playground.serve import Options, exposure_warning, refusal

    if problem := refusal(settings):
        raise CliError(problem)
    options = Options(host=args.host, port=args.port, open_browser=args.open, reset=args.reset,
                      lang=args.lang)
    if warning := exposure_warning(options):
        print(f"workshop-bot: {warning}", file=sys.stderr)
    return start_playground(settings, options,
                            line=f"Playground at {options.url} (Ctrl+C stops it)")


def start_playground(settings: Settings, options: Options, *, line: str) -> int:
    from bot.playground import serve

    try:
        serve.run(settings, options, line=line)
    except OSError as exc:
        raise CliError(f"playground: {exc}") from None
    return 0


def cmd_wecom_menu(settings: Settings, args: argparse.Namespace) -> int:
    """Create the WeCom app's menu; its items send the bot's commands."""
    if not settings.wecom_configured:
        raise CliError("set WECOM_CORP_ID, WECOM_AGENT_ID, WECOM_SECRET, WECOM_TOKEN and "
                       "WECOM_AES_KEY first")
    from telegram.error import NetworkError

    from bot.clock import Clock
    from bot.i18n import Translator
    from bot.wecom.menu import MENU, create_menu
    from bot.wecom.request import WeComApiError, WeComRequest, WeComUnavailable
    from models.db import Database

    async def work() -> None:
        db = Database(settings.database_url)
        request = WeComRequest(settings, db, Clock())
        try:
            await request.check()
            await create_menu(request, Translator(settings.default_locale, settings.tz))
        finally:
            await request.shutdown()
            await db.dispose()

    try:
        asyncio.run(work())
    except (WeComUnavailable, WeComApiError, NetworkError) as exc:
        raise CliError(str(exc)) from None
    items = sum(len(entries) for _, entries in MENU)
    print(f"WeCom menu created for agent {settings.wecom_agent_id}: {len(MENU)} groups, "
          f"{items} items.")
    return 0


def cmd_wecom_check(settings: Settings, args: argparse.Namespace) -> int:
    """Ask WeCom whether the corp id, the secret and the agent id work; a line per problem."""
    from bot.settings import WECOM_REQUIRED
    from bot.wecom.check import check_app

    if not settings.wecom_configured:  # some set but not all: load_settings named the rest
        raise CliError("WeCom is not set up: set " + ", ".join(n.upper() for n in WECOM_REQUIRED)
                       + " (see the README's WeCom section)")
    corp_id, agent_id = str(settings.wecom_corp_id), int(settings.wecom_agent_id or 0)
    result = asyncio.run(check_app(settings.wecom_api_base, corp_id,
                                   str(settings.wecom_secret), agent_id))
    for problem in result.problems:
        print(f"workshop-bot: {problem}", file=sys.stderr)
    if result.problems:
        return EXIT_ERROR
    name = f" ({result.agent_name})" if result.agent_name else ""
    print(f"WeCom: corp {corp_id}, agent {agent_id}{name} ok")
    return 0


# --- staff ------------------------------------------------------------------------------------


def parse_roles(values: Sequence[str]) -> set[Role]:
    """``--role technician --role team-leader`` or ``--role technician,advisor``."""
    from models.staff import Role

    roles: set[Role] = set()
    for value in values:
        for part in value.split(","):
            name = part.strip().lower().replace("-", "_")
            if not name:
                continue
            try:
                roles.add(Role(name))
            except ValueError:
                raise CliError(
                    f"unknown role {part.strip()!r}; roles are: {', '.join(r.value for r in Role)}"
                ) from None
    if not roles:
        raise CliError("give at least one --role")
    return roles


def roles_text(staff: Staff) -> str:
    from models.staff import Role

    return ", ".join(r.value for r in Role if r in staff.role_set) or "-"


async def bot_username(settings: Settings) -> tuple[str | None, str | None]:
    """The bot's @username for the invite link, and why it is missing when it is."""
    if settings.telegram_bot_username:
        return settings.telegram_bot_username.lstrip("@"), None
    if not settings.telegram_bot_token:
        return None, "set TELEGRAM_BOT_USERNAME (or TELEGRAM_BOT_TOKEN) to print the real link"
    from telegram import Bot
    from telegram.error import TelegramError
    from telegram.request import HTTPXRequest

    request = HTTPXRequest(connect_timeout=5.0, read_timeout=5.0)
    bot = Bot(settings.telegram_bot_token, base_url=settings.telegram_api_base_url,
              request=request)
    try:
        async with asyncio.timeout(GET_ME_TIMEOUT):
            me = await bot.get_me()
    except (TelegramError, TimeoutError) as exc:
        reason = str(exc) or "timed out"
        return None, (f"could not ask the Bot API for the bot's username ({reason}); "
                      "set TELEGRAM_BOT_USERNAME")
    finally:
        await request.shutdown()
    return me.username, None


async def print_invite(settings: Settings, invite: InviteCode, *,
                       wecom_userid: str | None = None) -> None:
    """The code, and how the person binds on each channel the shop uses (the next step)."""
    from models.wecom import wecom_chat_id

    expires = invite.expires_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
    print(f"Invite code: {invite.code}  (works once; expires {expires} {settings.timezone})")
    wecom = settings.wecom_configured or wecom_userid is not None
    why_not = None
    if settings.telegram_bot_token or settings.telegram_bot_username or not wecom:
        username, why_not = await bot_username(settings)
        print(f"Telegram:    they open https://t.me/{username or USERNAME_PLACEHOLDER}"
              f"?start={invite.code}")
        print(f"             or send the bot /start {invite.code}")
    if wecom_userid is not None:
        print(f"WeCom:       bound to userid {wecom_userid!r} (chat id "
              f"{wecom_chat_id(wecom_userid)}): they can use the app now, no code needed")
    elif wecom:
        print(f"WeCom:       not bound yet: they send /start {invite.code} to the app "
              "(--wecom-userid USERID on `staff add` binds at once)")
    if why_not:
        print(f"Note: {why_not}.")


def staff_label(staff: Staff) -> str:
    code = f", code {staff.code}" if staff.code else ""
    return f"{staff.name} (#{staff.id}{code})"


def cmd_staff_add(settings: Settings, args: argparse.Namespace) -> int:
    from sqlmodel import col, select

    from bot.clock import Clock
    from models.staff import Staff, add_staff, bind_account
    from models.wecom import wecom_chat_id

    roles = parse_roles(args.role)
    if args.locale is not None and args.locale not in LOCALES:
        raise CliError(f"unknown locale {args.locale!r}; choose {' or '.join(LOCALES)}")
    wecom_userid = (args.wecom_userid or "").strip() or None

    async def work(db: Database) -> None:
        now = Clock().now()
        async with db.session() as session:
            namesakes = (await session.exec(
                select(Staff).where(col(Staff.name) == args.name.strip(), col(Staff.active))
                .order_by(col(Staff.id)))).all()
            staff, invite = await add_staff(
                session, name=args.name, roles=roles, now=now,
                invite_ttl=timedelta(days=settings.invite_ttl_days),
                locale=args.locale, code=args.code,
            )
            if wecom_userid:
                await bind_account(session, staff, channel="wecom", user_key=wecom_userid,
                                   chat_id=wecom_chat_id(wecom_userid), now=now)
            await session.commit()
        if namesakes:
            others = ", ".join(staff_label(other) for other in namesakes)
            print(f"workshop-bot: warning: {others} {'is' if len(namesakes) == 1 else 'are'} "
                  "already active under this name; added anyway (name them by id or staff "
                  "code from now on)", file=sys.stderr)
        print(f"Added {staff_label(staff)}: {roles_text(staff)}.")
        await print_invite(settings, invite, wecom_userid=wecom_userid)

    with_database(settings, work)
    return 0


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def print_table(table: list[list[str]]) -> None:
    """Rows (the first is the header) in columns that line up on screen, CJK included."""
    widths = [max(display_width(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(pad(cell, width) for cell, width in zip(row, widths, strict=True))
              .rstrip())


def cmd_staff_list(settings: Settings, args: argparse.Namespace) -> int:
    from sqlmodel import col, select

    from models.staff import ChatAccount, Staff

    async def work(db: Database) -> list[list[str]]:
        async with db.session() as session:
            people = (await session.exec(select(Staff).order_by(col(Staff.id)))).all()
            accounts = (await session.exec(select(ChatAccount))).all()
        channels: dict[int, set[str]] = {}
        for account in accounts:
            channels.setdefault(account.staff_id, set()).add(account.channel)
        return [
            [str(s.id), s.name, s.code or "-", roles_text(s), "yes" if s.active else "no",
             ", ".join(sorted(channels.get(s.id or 0, set()))) or "-"]
            for s in people
        ]

    rows = with_database(settings, work)
    if not rows:
        print("No staff yet. Add someone: workshop-bot staff add --name NAME --role ROLE")
        return 0
    print_table([["ID", "NAME", "CODE", "ROLES", "ACTIVE", "CHANNELS"], *rows])
    return 0


def cmd_staff_set_roles(settings: Settings, args: argparse.Namespace) -> int:
    from bot.clock import Clock
    from models.staff import find_staff, set_roles

    roles = parse_roles(args.role)

    async def work(db: Database) -> None:
        async with db.session() as session:
            staff = await find_staff(session, args.ref)
            before = roles_text(staff)
            await set_roles(session, staff, roles, now=Clock().now())
            await session.commit()
        print(f"{staff_label(staff)}: {before} -> {roles_text(staff)}.")

    with_database(settings, work)
    return 0


def cmd_staff_deactivate(settings: Settings, args: argparse.Namespace) -> int:
    from bot.clock import Clock
    from models.staff import deactivate, find_staff

    async def work(db: Database) -> None:
        async with db.session() as session:
            staff = await find_staff(session, args.ref)
            if not staff.active:
                print(f"{staff_label(staff)} is already deactivated.")
                return
            await deactivate(session, staff, now=Clock().now())
            await session.commit()
        print(f"Deactivated {staff_label(staff)}; the bot no longer answers them.")

    with_database(settings, work)
    return 0


def cmd_staff_invite(settings: Settings, args: argparse.Namespace) -> int:
    """A new code for someone who lost theirs; their older unused codes stop working."""
    from sqlalchemy import update
    from sqlmodel import col, select

    from bot.clock import Clock
    from models.staff import ChatAccount, InviteCode, find_staff, new_invite

    async def work(db: Database) -> None:
        now = Clock().now()
        async with db.session() as session:
            staff = await find_staff(session, args.ref)
            if not staff.active:
                raise CliError(f"{staff_label(staff)} is deactivated; no invite issued")
            await session.exec(
                update(InviteCode)
                .where(col(InviteCode.staff_id) == staff.id, col(InviteCode.used_at).is_(None),
                       col(InviteCode.expires_at) > now)
                .values(expires_at=now)
            )
            invite = await new_invite(session, staff, now=now,
                                      ttl=timedelta(days=settings.invite_ttl_days))
            wecom = (await session.exec(select(ChatAccount).where(
                col(ChatAccount.staff_id) == staff.id, col(ChatAccount.channel) == "wecom"))
            ).first()
            await session.commit()
        print(f"New invite for {staff_label(staff)}; earlier unused codes no longer work.")
        await print_invite(settings, invite, wecom_userid=wecom.user_key if wecom else None)

    with_database(settings, work)
    return 0


# --- the parser -------------------------------------------------------------------------------

Command = Callable[["Settings", argparse.Namespace], int]


def version() -> str:
    """The installed distribution's version (``pyproject.toml``)."""
    try:
        return metadata.version("workshop-bot")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workshop-bot",
        description="After-sales workshop bot. Settings come from the environment and ./.env.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the bot (Telegram long polling, WeCom callback)")
    run.add_argument("--upgrade", action="store_true",
                     help="upgrade the database schema first instead of refusing to start")
    run.set_defaults(handler=cmd_run)

    playground = commands.add_parser(
        "playground", help="try the bot in a browser: a demo shop, no token needed")
    playground.add_argument("--port", type=int, default=8088, help="default: 8088")
    playground.add_argument("--host", default="127.0.0.1",
                            help="default: 127.0.0.1 (this machine only)")
    playground.add_argument("--open", action="store_true", help="open the page in a browser")
    playground.add_argument("--reset", action="store_true",
                            help="start again from a new demo shop (deletes data/playground.db)")
    playground.add_argument("--lang", choices=LOCALES, default=LOCALES[0],
                            help="the demo shop's language (default: zh_CN)")
    playground.set_defaults(handler=cmd_playground)

    wecom = commands.add_parser("wecom", help="the WeCom (企业微信) app").add_subparsers(
        dest="wecom_command", required=True, metavar="ACTION")
    wecom.add_parser("menu", help="create the app's menu (items send commands)").set_defaults(
        handler=cmd_wecom_menu)
    wecom.add_parser("check", help="ask WeCom whether WECOM_CORP_ID, WECOM_SECRET and "
                     "WECOM_AGENT_ID work from this server").set_defaults(handler=cmd_wecom_check)

    db = commands.add_parser("db", help="the database schema").add_subparsers(
        dest="db_command", required=True, metavar="ACTION")
    db.add_parser("upgrade", help="create or upgrade the schema").set_defaults(
        handler=cmd_db_upgrade)
    db.add_parser("current", help="show the schema revision").set_defaults(
        handler=cmd_db_current)

    staff = commands.add_parser("staff", help="onboard and manage staff").add_subparsers(
        dest="staff_command", required=True, metavar="ACTION")
    role_help = f"one of: {', '.join(ROLE_NAMES)} (repeat, or comma-separate)"

    add = staff.add_parser("add", help="add a staff member and print their invite code")
    add.add_argument("--name", required=True)
    add.add_argument("--role", action="append", required=True, help=role_help)
    add.add_argument("--code", help="staff code (工号), unique")
    add.add_argument("--locale", help=f"language: {' or '.join(LOCALES)} "
                                      "(default: the one their Telegram uses)")
    add.add_argument("--wecom-userid", help="bind a WeCom userid now")
    add.set_defaults(handler=cmd_staff_add)

    staff.add_parser("list", help="everyone, with roles and bound channels").set_defaults(
        handler=cmd_staff_list)

    ref_help = "staff id, staff code or exact name"
    set_roles_parser = staff.add_parser("set-roles", help="replace someone's roles")
    set_roles_parser.add_argument("ref", metavar="REF", help=ref_help)
    set_roles_parser.add_argument("--role", action="append", required=True, help=role_help)
    set_roles_parser.set_defaults(handler=cmd_staff_set_roles)

    deactivate_parser = staff.add_parser("deactivate", help="stop the bot answering someone")
    deactivate_parser.add_argument("ref", metavar="REF", help=ref_help)
    deactivate_parser.set_defaults(handler=cmd_staff_deactivate)

    invite = staff.add_parser("invite", help="a new invite code for someone who lost theirs")
    invite.add_argument("ref", metavar="REF", help=ref_help)
    invite.set_defaults(handler=cmd_staff_invite)

    add_export_command(commands)
    add_import_command(commands)
    add_outbox_command(commands)
    add_ops_commands(commands)
    return parser


def configure_logging(settings: Settings, *, verbose: bool) -> None:
    level = logging.getLevelName(settings.log_level.upper())
    if not isinstance(level, int):
        raise CliError(f"bad setting LOG_LEVEL: {settings.log_level!r}")
    from bot import logs

    logging.basicConfig(  # each line with its update or job id, mobile numbers masked
        handlers=[logs.handler(None, settings.log_format)],
        level=level if verbose else max(level, logging.WARNING),
    )
    # httpx logs every request (a line per long poll), APScheduler every job run and Alembic
    # its set-up at INFO; the operator's log keeps the bot's own lines and every warning.
    for chatty in ("httpx", "apscheduler", "alembic"):
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))


def run_command(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)  # --help and --version end here, before any import
    handler: Command = args.handler
    from models.staff import StaffError

    try:
        settings = load_settings()
        configure_logging(settings, verbose=args.command == "run")
        return handler(settings, args)
    except StaffError as exc:
        print(f"workshop-bot: {exc}", file=sys.stderr)
    except CliError as exc:
        print(f"workshop-bot: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    try:
        try:
            return run_command(argv)
        finally:
            sys.stdout.flush()  # here, so that a closed pipe is seen here and not at exit
    except BrokenPipeError:
        # The reader stopped reading (``staff list | head -1``): stop quietly, as other
        # tools do, and keep Python from complaining when it flushes stdout at exit.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_BROKEN_PIPE
