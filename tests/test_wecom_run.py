"""``workshop-bot run`` with WeCom configured, and ``workshop-bot wecom menu``, as an operator
runs them: the bot a subprocess, WeCom a fake API on 127.0.0.1, callbacks real signed HTTP."""

from __future__ import annotations

import os
import signal
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
from tests.test_run import free_port
from tests.wecom_shop import AGENT_ID, CORP_ID, SECRET, TOKEN, envelope, new_aes_key

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 20.0


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with fake_wecom_in_thread(CORP_ID, SECRET) as fake:
        yield fake


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
            ready = httpx.get(base + "/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["channels"] == {"telegram": "running", "wecom": "running"}
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


# --- workshop-bot wecom check ------------------------------------------------------------------


def test_wecom_check_says_ok_when_wecom_agrees(
    env: dict[str, str], fake: FakeWeCom, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_agent(AGENT_ID, "车间助手")
    fake.secret_agent = AGENT_ID
    assert cli.main(["wecom", "check"]) == 0
    assert capsys.readouterr().out == f"WeCom: corp {CORP_ID}, agent {AGENT_ID} (车间助手) ok\n"
    [token] = fake.calls("gettoken")
    assert token.query == {"corpid": CORP_ID, "corpsecret": SECRET}
    [agent] = fake.calls("agent/get")
    assert agent.query["agentid"] == str(AGENT_ID) and agent.query["access_token"]
    # As an operator runs it: a process of its own, no database needed.
    done = subprocess.run([sys.executable, "-m", "bot", "wecom", "check"], cwd=tmp_path,
                          env={**env, "DATABASE_URL": "sqlite:////nonexistent/folder/x.db"},
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (
        0, f"WeCom: corp {CORP_ID}, agent {AGENT_ID} (车间助手) ok\n", "")


@pytest.mark.parametrize(("setup", "expected"), [
    ({"WECOM_CORP_ID": "ww-not-ours"},
     ["WECOM_CORP_ID 'ww-not-ours' is not a WeCom corp id (WeCom gettoken: errcode 40013)"]),
    ({"WECOM_SECRET": "not-the-secret"},
     [f"WECOM_SECRET is not a secret of corp {CORP_ID} (WeCom gettoken: errcode 40001)"]),
    ({"WECOM_AGENT_ID": "1000009"},
     [f"WECOM_AGENT_ID 1000009 is not an app of corp {CORP_ID} (WeCom agent/get: errcode "
      "40056)"]),
    ({"secret_agent": 1000003},
     [f"WECOM_SECRET is not the secret of agent {AGENT_ID} (WeCom agent/get: errcode 301002)"]),
    ({"blocked_ip": "203.0.113.7"},
     ["WeCom refuses calls from this server's IP address 203.0.113.7 (WeCom agent/get: "
      "errcode 60020): add it to the app's trusted IPs (企业可信IP"]),
    ({"closed": True, "visible": ()},
     [f"the app (agent {AGENT_ID}) is disabled (已停用)",
      f"nobody can open the app (agent {AGENT_ID}): its visible range (可见范围) is empty"]),
    ({"WECOM_API_BASE": "http://127.0.0.1:9/cgi-bin"},  # nothing listens on the discard port
     ["cannot reach the WeCom API at http://127.0.0.1:9/cgi-bin ("]),
    ({"WECOM_API_BASE": "http://127.0.0.1:{port}/not-wecom"},
     ["the WeCom API at http://127.0.0.1:"]),
])
def test_wecom_check_names_each_problem_in_one_line(
    env: dict[str, str], fake: FakeWeCom, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, setup: dict[str, object], expected: list[str],
) -> None:
    fake.add_agent(AGENT_ID, closed=bool(setup.get("closed")),
                   visible=setup.get("visible", ("lisi",)))  # type: ignore[arg-type]
    fake.secret_agent = setup.get("secret_agent", AGENT_ID)  # type: ignore[assignment]
    fake.blocked_ip = setup.get("blocked_ip")  # type: ignore[assignment]
    for name, value in setup.items():
        if name.startswith("WECOM_"):
            monkeypatch.setenv(name, str(value).format(port=fake.port))
    assert cli.main(["wecom", "check"]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == len(expected), err
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith("workshop-bot: " + start), line


def test_wecom_check_without_wecom_settings(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN",
                 "WECOM_AES_KEY"):
        monkeypatch.delenv(name)
    assert cli.main(["wecom", "check"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == ("workshop-bot: WeCom is not set up: set WECOM_CORP_ID, WECOM_AGENT_ID, "
                    "WECOM_SECRET, WECOM_TOKEN, WECOM_AES_KEY (see the README's WeCom section)")
    monkeypatch.setenv("WECOM_CORP_ID", CORP_ID)  # one of five: the rest are named
    assert cli.main(["wecom", "check"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == ("workshop-bot: bad settings: the WeCom channel needs WECOM_AGENT_ID, "
                    "WECOM_SECRET, WECOM_TOKEN, WECOM_AES_KEY as well")
