"""``workshop-bot run`` with WeCom configured, and ``workshop-bot wecom menu``, as an operator
runs them: the bot a subprocess, WeCom a fake API on 127.0.0.1, callbacks real signed HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot import cli
from bot.wecom.crypto import WeComCrypto
from tests.fakewecom import FakeWeCom, fake_wecom_in_thread
from tests.wecom_shop import AGENT_ID, CORP_ID, SECRET, TOKEN, envelope, new_aes_key

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 20.0


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with fake_wecom_in_thread(CORP_ID, SECRET) as fake:
        yield fake


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeWeCom) -> dict[str, str]:
    """A migrated SQLite file and WeCom settings only: no Telegram token anywhere."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("TELEGRAM_", "WECOM_", "HTTP_")):
            monkeypatch.delenv(name)
    values = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'workshop.db'}",
        "WECOM_CORP_ID": CORP_ID, "WECOM_AGENT_ID": str(AGENT_ID), "WECOM_SECRET": SECRET,
        "WECOM_TOKEN": TOKEN, "WECOM_AES_KEY": new_aes_key(), "WECOM_API_BASE": fake.base_url,
        "HTTP_PORT": str(free_port()), "DEFAULT_LOCALE": "en", "LOG_LEVEL": "INFO",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["db", "upgrade"]) == 0
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def wait_for(check: object, log: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the bot exited early:\n{log.read_text()}"
        try:
            if check():  # type: ignore[operator]
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out:\n{log.read_text()}")


def test_run_serves_wecom_without_a_telegram_token(
    env: dict[str, str], fake: FakeWeCom, tmp_path: Path
) -> None:
    base = f"http://127.0.0.1:{env['HTTP_PORT']}"
    crypto = WeComCrypto(TOKEN, env["WECOM_AES_KEY"], CORP_ID)
    log = tmp_path / "bot.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: httpx.get(base + "/healthz").status_code == 200, log, process)
        timestamp = str(int(time.time()))
        echostr = crypto.encrypt("4242")
        verified = httpx.get(base + "/wecom/callback", params={
            "msg_signature": crypto.sign(timestamp, "7", echostr), "timestamp": timestamp,
            "nonce": "7", "echostr": echostr})
        assert (verified.status_code, verified.text) == (200, "4242")
        query, body = envelope(crypto, {
            "ToUserName": CORP_ID, "FromUserName": "lisi", "CreateTime": int(time.time()),
            "MsgType": "text", "Content": "/orders", "MsgId": 1, "AgentID": AGENT_ID,
        }, timestamp=int(time.time()))
        answer = httpx.post(base + "/wecom/callback", params=query, content=body)
        assert answer.status_code == 200 and answer.text == ""
        wait_for(lambda: fake.sent("lisi"), log, process)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=DEADLINE) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=DEADLINE)
    [reply] = fake.sent("lisi")
    assert reply["text"]["content"].startswith("This bot is for the workshop's staff.")
    output = log.read_text()
    assert "Traceback" not in output, output
    assert f"WeCom callback at http://127.0.0.1:{env['HTTP_PORT']}/wecom/callback" in output


def test_run_with_a_wrong_secret_says_so(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WECOM_SECRET", "not-the-secret")
    assert cli.main(["run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "rejected WECOM_CORP_ID/WECOM_SECRET" in err[0]


def test_incomplete_wecom_settings_are_one_line(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WECOM_SECRET")
    assert cli.main(["run"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "the WeCom channel needs WECOM_SECRET as well" in line
    monkeypatch.setenv("WECOM_SECRET", SECRET)
    monkeypatch.setenv("WECOM_AES_KEY", "too-short")
    assert cli.main(["staff", "list"]) == 2
    assert "WECOM_AES_KEY: the EncodingAESKey has 43 characters" in capsys.readouterr().err


def test_wecom_menu_creates_the_app_menu(
    env: dict[str, str], fake: FakeWeCom, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["wecom", "menu"]) == 0
    assert "WeCom menu created for agent 1000002: 3 groups, 15 items." in capsys.readouterr().out
    [call] = fake.calls("menu/create")
    assert call.query["agentid"] == str(AGENT_ID)
    groups = call.body["button"]
    assert len(groups) == 3 and all(len(g["sub_button"]) <= 5 for g in groups)
    keys = [item["key"] for group in groups for item in group["sub_button"]]
    assert "orders" in keys and all(item["type"] == "click" for group in groups
                                    for item in group["sub_button"])


def test_wecom_menu_needs_the_settings(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN",
                 "WECOM_AES_KEY"):
        monkeypatch.delenv(name)
    assert cli.main(["wecom", "menu"]) == 2
    assert "set WECOM_CORP_ID" in capsys.readouterr().err


def test_run_serves_telegram_and_wecom_together(
    env: dict[str, str], fake: FakeWeCom, tmp_path: Path
) -> None:
    from tests.test_run import STRANGER_ID, FakeTelegram
    from tests.test_run import TOKEN as TELEGRAM_TOKEN

    telegram = FakeTelegram()
    telegram.thread.start()
    env = {**env, "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN, "TELEGRAM_API_BASE_URL": telegram.base_url}
    base = f"http://127.0.0.1:{env['HTTP_PORT']}"
    crypto = WeComCrypto(TOKEN, env["WECOM_AES_KEY"], CORP_ID)
    log = tmp_path / "bot.log"
    try:
        with log.open("wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp_path,
                                       env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: httpx.get(base + "/healthz").status_code == 200, log, process)
            query, body = envelope(crypto, {
                "ToUserName": CORP_ID, "FromUserName": "wangwu", "CreateTime": int(time.time()),
                "MsgType": "text", "Content": "hello", "MsgId": 2, "AgentID": AGENT_ID,
            }, timestamp=int(time.time()))
            assert httpx.post(base + "/wecom/callback", params=query, content=body).text == ""
            wait_for(lambda: fake.sent("wangwu") and telegram.sent_to(STRANGER_ID), log,
                     process)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=DEADLINE) == 0, log.read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=DEADLINE)
    finally:
        telegram.server.shutdown()
        telegram.server.server_close()
    assert "invite code" in telegram.sent_to(STRANGER_ID)[0]
    assert "invite code" in fake.sent("wangwu")[0]["text"]["content"]
    output = log.read_text()
    assert "Traceback" not in output, output
    assert f"polling {telegram.base_url}" in output and "WeCom callback at" in output
