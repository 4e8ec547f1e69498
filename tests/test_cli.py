"""The ``workshop-bot`` command, in-process (``bot.cli.main``) and once as a real subprocess."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from alembic import command
from sqlalchemy.engine import Connection
from sqlmodel import select

from bot import cli, migrate
from bot.settings import Settings
from models.db import Database
from models.staff import ChatAccount, InviteCode, Role, Staff
from models.wecom import wecom_chat_id
from tests.shop import Shop
from tests.test_run import free_port

ROOT = Path(__file__).resolve().parent.parent
CODE = re.compile(r"Invite code: ([A-Z0-9]{10})")


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SQLite file; the working directory holds no ``.env`` and no Telegram settings."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'data' / 'workshop.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_USERNAME", "TELEGRAM_API_BASE_URL",
                 "TIMEZONE", "DEFAULT_LOCALE", "INVITE_TTL_DAYS", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    return url


@pytest.fixture
def migrated(db_url: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert cli.main(["db", "upgrade"]) == 0
    assert "upgraded: empty -> " in capsys.readouterr().out
    return db_url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("workshop-bot: ")
    return lines[0]


def staff_rows(url: str) -> list[Staff]:
    async def read() -> list[Staff]:
        db = Database(url)
        async with db.session() as session:
            rows = list((await session.exec(select(Staff).order_by(Staff.id))).all())
        await db.dispose()
        return rows

    return asyncio.run(read())


def downgrade(url: str, revision: str = "base") -> None:
    async def down() -> None:
        db = Database(url)
        config = migrate.alembic_config(db.url)

        def run_down(connection: Connection) -> None:
            config.attributes["connection"] = connection
            command.downgrade(config, revision)

        async with db.engine.begin() as connection:
            await connection.run_sync(run_down)
        await db.dispose()

    asyncio.run(down())


# --- db ---------------------------------------------------------------------------------------


def test_db_upgrade_creates_the_data_folder_and_is_idempotent(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "db", "current")
    assert code == 0 and "no schema yet" in out
    assert (tmp_path / "data").is_dir()
    assert run(capsys, "db", "upgrade")[0] == 0
    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0 and f"up to date (revision {migrate.head_revision()})" in out
    code, out, _ = run(capsys, "db", "current")
    assert "Status:   up to date" in out


def test_default_database_is_a_sqlite_file_under_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert run(capsys, "db", "upgrade")[0] == 0
    assert (tmp_path / "data" / "workshop.db").is_file()


# --- staff ------------------------------------------------------------------------------------


def test_staff_add_prints_code_expiry_and_link(
    migrated: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "@acme_workshop_bot")
    code, out, err = run(capsys, "staff", "add", "--name", "张三", "--role", "technician",
                         "--code", "T001", "--locale", "zh_CN")
    assert code == 0, err
    assert "Added 张三 (#1, code T001): technician." in out
    invite = CODE.search(out)
    assert invite, out
    assert f"https://t.me/acme_workshop_bot?start={invite.group(1)}" in out
    assert "Asia/Shanghai" in out and "works once" in out
    [staff] = staff_rows(migrated)
    assert staff.role_set == {Role.technician} and staff.locale == "zh_CN"


def test_staff_add_without_username_or_token_prints_a_placeholder(
    migrated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "staff", "add", "--name", "Li Si", "--role", "advisor")
    assert code == 0
    assert "https://t.me/<bot_username>?start=" in out
    assert "set TELEGRAM_BOT_USERNAME" in out


def test_unreachable_get_me_still_prints_the_invite(
    migrated: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:TEST-TOKEN")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:9/bot")  # discard port
    code, out, _ = run(capsys, "staff", "add", "--name", "Wang Wu", "--role", "inspector")
    assert code == 0
    assert CODE.search(out) and "<bot_username>" in out
    assert "could not ask the Bot API" in out


def test_invite_code_from_the_cli_binds_once_via_start(
    migrated: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "acme_workshop_bot")
    _, out, _ = run(capsys, "staff", "add", "--name", "Zhao Liu", "--role", "technician",
                    "--locale", "en")
    match = CODE.search(out)
    assert match
    code = match.group(1)
    settings = Settings(_env_file=None, telegram_bot_token="123456:TEST-TOKEN",  # type: ignore[call-arg]
                        database_url=migrated)

    async def chat() -> tuple[list[str], list[str]]:
        db = Database(migrated)
        shop = Shop(db, settings, datetime.now(UTC))
        await shop.start()
        try:
            first = await shop.stranger("Zhao Liu").send(f"/start {code}")
            second = await shop.stranger("Someone Else").send(f"/start {code}")
        finally:
            await shop.stop()
            await db.dispose()
        assert shop.errors == []
        return first, second

    first, second = asyncio.run(chat())
    assert "Welcome, Zhao Liu" in first[0]
    assert "already been used" in second[0]


def test_staff_list_set_roles_deactivate(
    migrated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "staff", "list")
    assert code == 0 and "No staff yet" in out
    run(capsys, "staff", "add", "--name", "张三", "--role", "technician", "--code", "T001")
    run(capsys, "staff", "add", "--name", "Li Si", "--role", "advisor,team-leader",
        "--wecom-userid", "lisi")

    code, out, _ = run(capsys, "staff", "set-roles", "T001", "--role", "technician",
                       "--role", "team_leader")
    assert code == 0
    assert "technician -> technician, team_leader" in out
    code, out, _ = run(capsys, "staff", "deactivate", "张三")
    assert code == 0 and "Deactivated 张三" in out
    code, out, _ = run(capsys, "staff", "deactivate", "1")
    assert code == 0 and "already deactivated" in out

    code, out, _ = run(capsys, "staff", "list")
    assert code == 0
    header, first, second = out.strip().splitlines()
    assert header.split() == ["ID", "NAME", "CODE", "ROLES", "ACTIVE", "CHANNELS"]
    assert first.split() == ["1", "张三", "T001", "technician,", "team_leader", "no", "-"]
    assert second.split() == ["2", "Li", "Si", "-", "team_leader,", "advisor", "yes", "wecom"]
    # The columns line up on screen: 张三 takes four cells, like "Li S".
    assert cli.display_width(first[: first.index("T001")]) == second.index("-")


def test_wecom_userid_gets_a_stable_bounded_chat_id(
    migrated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "staff", "add", "--name", "Li Si", "--role", "advisor", "--wecom-userid", "lisi")
    expected = wecom_chat_id("lisi")
    assert expected == wecom_chat_id("lisi") != wecom_chat_id("lisi2")
    assert 0 < expected < 2**53

    async def accounts() -> list[ChatAccount]:
        db = Database(migrated)
        async with db.session() as session:
            rows = list((await session.exec(select(ChatAccount))).all())
        await db.dispose()
        return rows

    [account] = asyncio.run(accounts())
    assert (account.channel, account.user_key, account.chat_id) == ("wecom", "lisi", expected)


def test_new_invite_replaces_the_lost_one(
    migrated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(capsys, "staff", "add", "--name", "Sun Qi", "--role", "technician")
    old = CODE.search(out)
    code, out, _ = run(capsys, "staff", "invite", "Sun Qi")
    new = CODE.search(out)
    assert code == 0 and old and new and old.group(1) != new.group(1)

    async def invites() -> dict[str, datetime]:
        db = Database(migrated)
        async with db.session() as session:
            rows = (await session.exec(select(InviteCode))).all()
        await db.dispose()
        return {row.code: row.expires_at for row in rows}

    expiry = asyncio.run(invites())
    now = datetime.now(UTC)
    assert expiry[old.group(1)] <= now < expiry[new.group(1)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["staff", "add", "--name", "X", "--role", "boss"], "unknown role 'boss'"),
        (["staff", "add", "--name", "X", "--role", "technician", "--locale", "fr"],
         "unknown locale 'fr'"),
        (["staff", "add", "--name", " ", "--role", "technician"], "name is empty"),
        (["staff", "set-roles", "nobody", "--role", "advisor"], "no staff member 'nobody'"),
        (["staff", "set-roles", "1", "--role", "advisor", "--role", "chef"], "unknown role"),
        (["staff", "deactivate", "42"], "no staff member '42'"),
        (["staff", "invite", "nobody"], "no staff member 'nobody'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    migrated: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    run(capsys, "staff", "add", "--name", "Zhou Ba", "--role", "technician")
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in one_line_error(err)


def test_taken_staff_code_and_deactivated_invite(
    migrated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "staff", "add", "--name", "Wu Jiu", "--role", "technician", "--code", "T9")
    code, _, err = run(capsys, "staff", "add", "--name", "Zheng Shi", "--role", "technician",
                       "--code", "T9")
    assert code == 2 and "'T9' is taken" in one_line_error(err)
    run(capsys, "staff", "deactivate", "T9")
    code, _, err = run(capsys, "staff", "invite", "T9")
    assert code == 2 and "deactivated" in one_line_error(err)


# --- refusing a database that is not current ---------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [["staff", "list"], ["staff", "add", "--name", "X", "--role", "technician"],
     ["staff", "deactivate", "1"], ["staff", "set-roles", "1", "--role", "advisor"],
     ["staff", "invite", "1"]],
)
def test_staff_commands_refuse_an_empty_database(
    db_url: str, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert "workshop-bot db upgrade" in one_line_error(err)


def test_run_without_token_starts_the_playground(
    migrated: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.playground import serve

    started: list[tuple[Settings, serve.Options, str]] = []
    monkeypatch.setattr(serve, "run", lambda settings, options, *, line: started.append(
        (settings, options, line)))
    code, out, err = run(capsys, "run")
    assert (code, out, err) == (0, "", "")
    [(settings, options, line)] = started
    assert settings.telegram_bot_token is None and settings.database_url == migrated
    assert options == serve.Options()  # this machine only, port 8088, a shop in Chinese
    assert line.startswith("No TELEGRAM_BOT_TOKEN or WeCom configured: the playground is at "
                           "http://127.0.0.1:8088/playground/")
    assert "TELEGRAM_BOT_TOKEN or the WECOM_* settings" in line


def test_the_playground_never_runs_beside_real_tokens(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:REAL-TOKEN")
    code, out, err = run(capsys, "playground")
    assert code == 2 and out == ""
    assert "never runs beside real tokens" in one_line_error(err)


def test_the_playground_warns_when_others_can_reach_it(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.playground import serve

    started: list[serve.Options] = []
    monkeypatch.setattr(serve, "run", lambda settings, options, *, line: started.append(options))
    code, _, err = run(capsys, "playground", "--host", "0.0.0.0", "--port", "9999", "--reset",
                         "--lang", "en", "--open")
    assert code == 0
    assert started == [serve.Options("0.0.0.0", 9999, open_browser=True, reset=True, lang="en")]
    assert "anyone on that network can use it" in one_line_error(err)


def test_run_refuses_an_out_of_date_schema(
    migrated: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:TEST-TOKEN")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:9/bot")
    downgrade(migrated, "-1")  # one revision back: the previous release's schema (or none)
    code, _, err = run(capsys, "run")
    assert code == 2
    line = one_line_error(err)
    assert "workshop-bot db upgrade" in line and "--upgrade" in line


def test_run_upgrade_flag_migrates_first(
    migrated: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:TEST-TOKEN")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:9/bot")  # nothing listens
    downgrade(migrated)
    code, _, err = run(capsys, "run", "--upgrade")
    assert code == 2
    assert "cannot reach the Bot API at http://127.0.0.1:9/bot" in one_line_error(err)
    code, out, _ = run(capsys, "db", "current")
    assert "Status:   up to date" in out


def test_run_refuses_a_database_from_newer_code(
    migrated: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:TEST-TOKEN")

    async def stamp() -> None:
        db = Database(migrated)
        async with db.engine.begin() as connection:
            await connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff'")
        await db.dispose()

    asyncio.run(stamp())
    code, _, err = run(capsys, "run")
    assert code == 2 and "does not know" in one_line_error(err)


def test_bad_settings_are_one_line(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TIMEZONE", "Mars/Olympus")
    code, _, err = run(capsys, "db", "current")
    assert code == 2
    assert "TIMEZONE: unknown time zone 'Mars/Olympus'" in one_line_error(err)


@pytest.mark.parametrize(
    ("url", "message"),
    [("nonsense", "not a database URL"), ("mysql://x@localhost/shop", "must be sqlite"),
     ("postgresql://shop:secret@127.0.0.1:9/shop", "ConnectionRefusedError")],
)
def test_unusable_database_url_is_one_line(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    url: str, message: str,
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    code, _, err = run(capsys, "staff", "list")
    assert code == 2
    line = one_line_error(err)
    assert message in line and "secret" not in line


def test_env_file_is_read(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATABASE_URL")
    (tmp_path / ".env").write_text(f"DATABASE_URL=sqlite:///{tmp_path / 'from-env.db'}\n")
    assert run(capsys, "db", "upgrade")[0] == 0
    assert (tmp_path / "from-env.db").is_file()


# --- as an operator runs it ---------------------------------------------------------------------


def test_as_a_subprocess(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL=f"sqlite:///{tmp_path / 'workshop.db'}")
    help_text = subprocess.run([sys.executable, "-m", "bot", "--help"], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=60, check=True).stdout
    for name in ("run", "db", "staff"):
        assert name in help_text
    shown = subprocess.run([sys.executable, "-m", "bot", "--version"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60, check=True).stdout
    assert shown.startswith("workshop-bot ") and shown.split()[1][0].isdigit(), shown
    upgraded = subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=60)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "upgraded" in upgraded.stdout
    # No token: the playground, on HTTP_PORT when that is set, until SIGTERM.
    port = free_port()
    env["HTTP_PORT"] = str(port)
    with subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as no_token:
        try:
            assert no_token.stdout is not None
            line = no_token.stdout.readline()
            url = f"http://127.0.0.1:{port}/playground/"
            assert line.startswith(f"No TELEGRAM_BOT_TOKEN or WeCom configured: the playground "
                                   f"is at {url} "), line
            people = httpx.get(f"{url}api/people", timeout=10).json()["people"]
            assert len(people) == 11
        finally:
            no_token.send_signal(signal.SIGTERM)
            stopped = no_token.wait(timeout=30)
        assert stopped == 0, no_token.stderr.read() if no_token.stderr else ""
    assert (tmp_path / "data" / "playground.db").is_file()


# --- the README says what the code does ------------------------------------------------------


def test_readme_documents_every_setting_and_the_ci_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"`{name.upper()}`" in readme, f"README's configuration table lacks {name}"
    assert "`TEST_DATABASE_URL`" in readme
    assert "bash .ci/run" in readme
    for role in Role:
        assert f"`{role.value}`" in readme, f"README's roles table lacks {role.value}"


def test_outbox_lists_what_waits_and_retries_what_failed(
    migrated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime

    from models import outbox

    code, out, _ = run(capsys, "outbox")
    assert code == 0 and out.strip() == "0 waiting, 0 failed"
    kept_at = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)

    async def keep() -> None:
        db = Database(migrated)
        async with db.session() as session:
            session.add(outbox.new_message(
                channel="wecom", chat_id=11, kind="wecom", now=kept_at, error="45009",
                payload={"userid": "zhangsan", "msgtype": "text",
                         "content": {"content": "WO-1: 请确认车牌"}, "task_id": "t1"}))
            failed = outbox.new_message(
                channel="telegram", chat_id=22, kind="file", now=kept_at,
                payload={"filename": "report-2026-10.xlsx"}, data=b"PK")
            failed.failed_at, failed.last_error = kept_at, "Forbidden: bot was blocked"
            session.add(failed)
            await session.commit()
        await db.dispose()

    asyncio.run(keep())
    code, out, _ = run(capsys, "outbox")
    lines = out.strip().splitlines()
    assert code == 0 and lines[0] == "1 waiting, 1 failed"
    assert lines[1].split()[:3] == ["ID", "CHANNEL", "CHAT"]
    assert "WO-1: 请确认车牌" in lines[2] and "45009" in lines[2]
    assert "[file] report-2026-10.xlsx" in lines[3] and "failed 11-30 09:00" in lines[3]
    code, out, _ = run(capsys, "outbox", "--failed")
    assert len(out.strip().splitlines()) == 3 and "report-2026-10" in out

    code, _, err = run(capsys, "outbox", "retry")
    assert code != 0 and "outbox retry ID" in one_line_error(err)
    code, out, _ = run(capsys, "outbox", "retry", "2")
    assert code == 0 and out.startswith("1 failed message back in the queue")
    code, out, _ = run(capsys, "outbox")
    assert out.splitlines()[0] == "2 waiting, 0 failed"
    code, out, _ = run(capsys, "outbox", "retry", "--all")
    assert out.startswith("0 failed messages back")


# --- answering at once, and the next step -------------------------------------------------------

HEAVY = ("sqlalchemy", "sqlmodel", "telegram", "alembic", "matplotlib", "openpyxl", "models",
         "pydantic", "babel")


def imported_by(argv: list[str], tmp_path: Path) -> tuple[set[str], str]:
    """The top-level packages ``python -X importtime -m bot ARGV`` imports, and its stdout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "bot", *argv],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert len(lines) > 10, done.stderr  # -X importtime did report
    names = {line.rsplit("|", 1)[1].strip().split(".")[0] for line in lines[1:]}
    return names, done.stdout


@pytest.mark.parametrize("argv", [["--help"], ["staff", "--help"], ["staff", "add", "--help"],
                                  ["export", "--help"], ["import", "orders", "--help"],
                                  ["import", "--help"],
                                  ["wecom", "--help"], ["outbox", "--help"], ["--version"]])
def test_help_imports_nothing_heavy(argv: list[str], tmp_path: Path) -> None:
    names, out = imported_by(argv, tmp_path)
    assert "bot" in names and out.strip()
    assert not names & set(HEAVY), sorted(names & set(HEAVY))


def test_the_help_texts_words_are_the_models(tmp_path: Path) -> None:
    from bot import export_cli, settings
    from bot.forms import Form

    assert cli.ROLE_NAMES == tuple(role.value for role in Role)
    assert cli.LOCALES == settings.LOCALES
    assert export_cli.FORM_NAMES == tuple(form.value for form in Form)
    _, out = imported_by(["staff", "add", "--help"], tmp_path)
    assert "supervisor, admin" in " ".join(out.split()) and "zh_CN or en" in out


@pytest.fixture
def no_wecom(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("WECOM_"):
            monkeypatch.delenv(name)


def wecom_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.wecom_shop import AGENT_ID, CORP_ID, SECRET, TOKEN, new_aes_key

    for name, value in (("WECOM_CORP_ID", CORP_ID), ("WECOM_AGENT_ID", str(AGENT_ID)),
                        ("WECOM_SECRET", SECRET), ("WECOM_TOKEN", TOKEN),
                        ("WECOM_AES_KEY", new_aes_key())):
        monkeypatch.setenv(name, value)


def test_staff_add_says_how_they_bind_on_each_channel(
    migrated: str, no_wecom: None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "acme_workshop_bot")
    code, out, _ = run(capsys, "staff", "add", "--name", "Telegram Only", "--role", "advisor")
    invite = CODE.search(out)
    assert code == 0 and invite
    assert f"Telegram:    they open https://t.me/acme_workshop_bot?start={invite.group(1)}" in out
    assert f"or send the bot /start {invite.group(1)}" in out and "WeCom" not in out

    monkeypatch.delenv("TELEGRAM_BOT_USERNAME")
    wecom_env(monkeypatch)  # a WeCom-only shop: no Telegram link to print
    code, out, _ = run(capsys, "staff", "add", "--name", "WeCom Later", "--role", "advisor")
    invite = CODE.search(out)
    assert code == 0 and invite and "t.me" not in out and "Note" not in out
    assert (f"WeCom:       not bound yet: they send /start {invite.group(1)} to the app "
            "(--wecom-userid USERID on `staff add` binds at once)") in out

    code, out, _ = run(capsys, "staff", "add", "--name", "WeCom Now", "--role", "technician",
                       "--wecom-userid", "wangwu")
    assert code == 0 and "t.me" not in out
    [line] = [line for line in out.splitlines() if line.startswith("WeCom:")]
    assert line == (f"WeCom:       bound to userid 'wangwu' (chat id {wecom_chat_id('wangwu')})"
                    ": they can use the app now, no code needed")

    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "acme_workshop_bot")  # both channels
    code, out, _ = run(capsys, "staff", "invite", "WeCom Later")
    assert code == 0 and "Telegram:    they open https://t.me/acme_workshop_bot" in out
    assert "WeCom:       not bound yet" in out
    code, out, _ = run(capsys, "staff", "invite", "WeCom Now")
    assert code == 0 and "WeCom:       bound to userid 'wangwu'" in out


def test_staff_add_warns_of_an_active_namesake_and_still_adds(
    migrated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "staff", "add", "--name", "张三", "--role", "technician")
    run(capsys, "staff", "deactivate", "1")
    code, out, err = run(capsys, "staff", "add", "--name", " 张三 ", "--role", "technician")
    assert code == 0 and err == "" and "Added 张三 (#2)" in out  # a left colleague's name
    code, out, err = run(capsys, "staff", "add", "--name", "张三", "--role", "advisor",
                         "--code", "A7")
    assert code == 0 and "Added 张三 (#3, code A7): advisor." in out
    [warning] = err.strip().splitlines()
    assert warning == ("workshop-bot: warning: 张三 (#2) is already active under this name; "
                       "added anyway (name them by id or staff code from now on)")
    assert [(s.name, s.active) for s in staff_rows(migrated)] == [
        ("张三", False), ("张三", True), ("张三", True)]
    code, _, err = run(capsys, "staff", "deactivate", "张三")
    assert code == 2 and "3 staff are called '张三'; use the id" in one_line_error(err)


@pytest.mark.parametrize(("argv", "codes"), [
    (["staff", "list"], {cli.EXIT_BROKEN_PIPE}), (["db", "current"], {cli.EXIT_BROKEN_PIPE}),
    (["--help"], {0, cli.EXIT_BROKEN_PIPE}),  # argparse ignores the failed write itself
])
def test_a_closed_stdout_ends_quietly(
    migrated: str, capsys: pytest.CaptureFixture[str], argv: list[str], codes: set[int]
) -> None:
    """``workshop-bot staff list | head -1``: the reader has gone before the output comes."""
    for n in range(3):
        run(capsys, "staff", "add", "--name", f"Person {n}", "--role", "technician")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "bot", *argv], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # long before the command has anything to write
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) in codes
    assert err == ""
    shell = subprocess.run(f"'{sys.executable}' -m bot staff list | head -1", shell=True,
                           env=env, capture_output=True, text=True, timeout=60)
    assert shell.stdout.split() == ["ID", "NAME", "CODE", "ROLES", "ACTIVE", "CHANNELS"]
    assert shell.stderr == ""
