"""``workshop-bot run`` really long-polls the Bot API at ``TELEGRAM_API_BASE_URL``.

A tiny Bot API server (stdlib ``http.server`` in a thread) stands in for Telegram or a local
Bot API server; the bot runs as a subprocess, exactly as an operator starts it.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from bot import cli

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:TEST-TOKEN"
BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "Workshop",
            "username": "workshop_fake_bot"}
STRANGER_ID = 4242
DEADLINE = 20.0


class FakeTelegram:
    """Answers getMe, deleteWebhook, setWebhook, setMyCommands, getUpdates and sendMessage
    like Telegram."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.rejected_tokens: set[str] = set()
        self.bad_requests: dict[str, str] = {}  # method -> Telegram's description of a 400
        self.slow: dict[str, float] = {}  # method -> seconds before its answer (done anyway)
        self.gateway_errors: dict[str, int] = {}  # method -> how many more calls get a 502
        self._lock = threading.Lock()
        self._updates = [{
            "update_id": 1,
            "message": {
                "message_id": 1, "date": int(time.time()), "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
                "chat": {"id": STRANGER_ID, "type": "private", "first_name": "Stranger"},
                "from": {"id": STRANGER_ID, "is_bot": False, "first_name": "Stranger",
                         "language_code": "en"},
            },
        }]
        self._message_ids = itertools.count(100)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                token, _, method = self.path.removeprefix("/bot").rpartition("/")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace")
                params: dict[str, Any] = {}
                if "x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
                    params = {k: v[0] for k, v in parse_qs(body).items()}
                status, answer = fake.answer(token, method, params)
                payload = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the bot stopped during a long poll, as it does on SIGINT

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/bot"

    def answer(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        with self._lock:
            self.calls.append((method, params))
        if token in self.rejected_tokens:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if self.gateway_errors.get(method):
            with self._lock:
                self.gateway_errors[method] -= 1
                self.calls.pop()  # refused before Telegram did anything
            return 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}
        if method in self.slow:
            time.sleep(self.slow[method])  # done, answered late
        if method in self.bad_requests:
            return 400, {"ok": False, "error_code": 400,
                         "description": self.bad_requests[method]}
        result: Any = True
        if method == "getMe":
            result = {**BOT_USER, "can_join_groups": False,
                      "can_read_all_group_messages": False, "supports_inline_queries": False}
        elif method == "getUpdates":
            offset = int(params.get("offset") or 0)
            with self._lock:
                result = [u for u in self._updates if u["update_id"] >= offset]
            if not result:  # a short long-poll, so stopping never waits long
                time.sleep(min(float(params.get("timeout") or 0), 0.3))
        elif method == "sendMessage":
            result = {"message_id": next(self._message_ids), "date": int(time.time()),
                      "chat": {"id": int(params["chat_id"]), "type": "private"},
                      "from": BOT_USER, "text": params.get("text", "")}
        return 200, {"ok": True, "result": result}

    def methods(self) -> list[str]:
        with self._lock:
            return [method for method, _ in self.calls]

    def sent_to(self, chat_id: int) -> list[str]:
        with self._lock:
            return [p.get("text", "") for m, p in self.calls
                    if m == "sendMessage" and int(p.get("chat_id", 0)) == chat_id]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, telegram: FakeTelegram) -> dict[str, str]:
    """A migrated SQLite file and the settings pointing at the fake Bot API."""
    monkeypatch.chdir(tmp_path)
    values = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'workshop.db'}",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": telegram.base_url,
        "LOG_LEVEL": "INFO",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TELEGRAM_BOT_USERNAME", raising=False)
    assert cli.main(["db", "upgrade"]) == 0
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def start_bot(env: dict[str, str], tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / "bot.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
            stdout=out, stderr=subprocess.STDOUT,
        )
    return process, log


def test_run_polls_the_configured_bot_api(
    telegram: FakeTelegram, env: dict[str, str], tmp_path: Path
) -> None:
    process, log = start_bot(env, tmp_path)
    try:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline and process.poll() is None:
            if "getUpdates" in telegram.methods() and telegram.sent_to(STRANGER_ID):
                break
            time.sleep(0.1)
        assert process.poll() is None, f"the bot exited early:\n{log.read_text()}"
        assert telegram.sent_to(STRANGER_ID), (
            f"no answer to the stranger; calls {telegram.methods()}\n{log.read_text()}")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=DEADLINE) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=DEADLINE)
    methods = telegram.methods()
    for method in ("getMe", "deleteWebhook", "setMyCommands", "getUpdates", "sendMessage"):
        assert method in methods, f"{method} never called; calls {methods}"
    assert "invite code" in telegram.sent_to(STRANGER_ID)[0].lower() or \
        "邀请码" in telegram.sent_to(STRANGER_ID)[0]
    output = log.read_text()
    assert "Traceback" not in output, output
    assert f"polling {telegram.base_url}" in output


def test_run_with_a_rejected_token_says_so(
    telegram: FakeTelegram, env: dict[str, str], tmp_path: Path
) -> None:
    telegram.rejected_tokens.add(TOKEN)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=DEADLINE,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr, result.stderr
    assert "rejected TELEGRAM_BOT_TOKEN" in result.stderr.strip().splitlines()[-1]


def test_staff_add_asks_get_me_for_the_link(
    telegram: FakeTelegram, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert cli.main(["staff", "add", "--name", "张三", "--role", "technician"]) == 0
    out = capsys.readouterr().out
    assert "https://t.me/workshop_fake_bot?start=" in out
    assert "getMe" in telegram.methods()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_run_serves_the_dms_intake_next_to_polling(
    telegram: FakeTelegram, env: dict[str, str], tmp_path: Path
) -> None:
    """With INTAKE_API_KEY set, `run` polls Telegram and answers POST /api/work-orders."""

    from bot.intake import EXAMPLE, PATH

    assert cli.main(["staff", "add", "--name", "Liu Advisor", "--role", "advisor",
                     "--code", EXAMPLE["advisor_code"]]) == 0
    assert cli.main(["staff", "add", "--name", "Zhang Tech", "--role", "technician",
                     "--code", EXAMPLE["technician_code"]]) == 0
    port = free_port()
    process, log = start_bot({**env, "INTAKE_API_KEY": "k" * 24, "HTTP_PORT": str(port)},
                             tmp_path)
    try:
        deadline = time.monotonic() + DEADLINE
        answer = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answer = httpx.post(f"http://127.0.0.1:{port}{PATH}", json=EXAMPLE,
                                    headers={"X-API-Key": "k" * 24}, timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert answer is not None, f"the intake never answered:\n{log.read_text()}"
        assert answer.status_code == 201, answer.text
        assert answer.json()["order"]["number"] == EXAMPLE["order_number"].upper()
        while time.monotonic() < deadline and "getUpdates" not in telegram.methods():
            time.sleep(0.1)
        assert "getUpdates" in telegram.methods(), "Telegram is not polled next to the server"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=DEADLINE) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=DEADLINE)
    assert "Traceback" not in log.read_text(), log.read_text()


def test_run_with_http_port_set_serves_health_next_to_polling(
    telegram: FakeTelegram, env: dict[str, str], tmp_path: Path
) -> None:
    """Telegram alone, polled, but ``HTTP_PORT`` set (as the image sets it): ``/healthz`` and
    ``/readyz`` answer, so a container's HEALTHCHECK has something to ask."""
    port = free_port()
    process, log = start_bot({**env, "HTTP_PORT": str(port)}, tmp_path)
    try:
        deadline = time.monotonic() + DEADLINE
        health = ready = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
                if ready.status_code == 200 and "getUpdates" in telegram.methods():
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        assert health is not None and health.status_code == 200, log.read_text()
        assert health.json()["ok"] is True
        assert ready is not None and ready.status_code == 200, (ready and ready.text,
                                                                log.read_text())
        assert "getUpdates" in telegram.methods(), "Telegram is not polled next to the server"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=DEADLINE) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=DEADLINE)
    output = log.read_text()
    assert "Traceback" not in output, output
    assert f"health at http://127.0.0.1:{port}/healthz" in output, output


# --- a webhook instead of polling --------------------------------------------------------------

WEBHOOK_SECRET = "run-test_Secret-42"


def _post_until_answered(port: int, update: dict[str, Any], secret: str,
                         process: subprocess.Popen[bytes]) -> Any:
    """Post ``update`` as Telegram would, retrying while the bot's server is not up yet."""

    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline and process.poll() is None:
        try:
            return httpx.post(f"http://127.0.0.1:{port}/telegram/webhook", json=update,
                              headers={"X-Telegram-Bot-Api-Secret-Token": secret}, timeout=5)
        except httpx.TransportError:
            time.sleep(0.2)
    return None


def test_run_with_a_webhook_sets_it_and_answers_posted_updates(
    telegram: FakeTelegram, env: dict[str, str], tmp_path: Path
) -> None:
    """TELEGRAM_WEBHOOK_URL: setWebhook with URL+path and the secret, no getUpdates, and an
    update posted to the HTTP port is answered; stopping leaves the webhook in place."""
    port = free_port()
    process, log = start_bot({**env, "HTTP_PORT": str(port),
                              "TELEGRAM_WEBHOOK_URL": "https://bot.example.com/",
                              "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET}, tmp_path)
    update = telegram._updates[0]
    try:
        refused = _post_until_answered(port, update, "wrong", process)
        assert refused is not None, f"the webhook never answered:\n{log.read_text()}"
        assert refused.status_code == 403
        answer = _post_until_answered(port, update, WEBHOOK_SECRET, process)
        assert answer is not None and answer.status_code == 200, log.read_text()
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline and not telegram.sent_to(STRANGER_ID):
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=DEADLINE) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=DEADLINE)
    assert len(telegram.sent_to(STRANGER_ID)) == 1, (
        f"one answer to the stranger; calls {telegram.methods()}\n{log.read_text()}")
    [webhook] = [params for method, params in telegram.calls if method == "setWebhook"]
    assert webhook["url"] == "https://bot.example.com/telegram/webhook"
    assert webhook["secret_token"] == WEBHOOK_SECRET
    assert "message" in json.loads(webhook["allowed_updates"])
    methods = telegram.methods()
    assert "getUpdates" not in methods and "deleteWebhook" not in methods, methods
    output = log.read_text()
    assert "Traceback" not in output, output
    assert "Telegram webhook https://bot.example.com/telegram/webhook set" in output
    assert "polling" not in output


def test_run_with_a_webhook_but_no_secret_refuses_in_one_line(
    telegram: FakeTelegram, env: dict[str, str], tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, capture_output=True, text=True,
        env={**env, "TELEGRAM_WEBHOOK_URL": "https://bot.example.com"}, timeout=DEADLINE,
    )
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("workshop-bot: bad setting TELEGRAM_WEBHOOK_SECRET: must be set "
                           "when TELEGRAM_WEBHOOK_URL is set"), line
    assert telegram.methods() == []


def test_run_with_a_webhook_telegram_refuses_says_so(
    telegram: FakeTelegram, env: dict[str, str], tmp_path: Path
) -> None:
    telegram.bad_requests["setWebhook"] = "Bad Request: bad webhook: Failed to resolve host"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, capture_output=True, text=True,
        env={**env, "HTTP_PORT": str(free_port()),
             "TELEGRAM_WEBHOOK_URL": "https://nowhere.invalid",
             "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET},
        timeout=DEADLINE,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    # python-telegram-bot drops "Bad Request: " and capitalizes what follows
    assert last == "workshop-bot: the Bot API refused: Bad webhook: failed to resolve host", last
