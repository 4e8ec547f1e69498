"""Telegram's webhook on the bot's HTTP server: ``POST TELEGRAM_WEBHOOK_PATH``.

The real Starlette app with the real, started ``Application`` behind the fake Bot API: updates
are posted as Telegram posts them (JSON, the secret token in a header) and go through the
application's update queue to the handlers, so what the fake Bot API records is what people
would see. ``workshop-bot run`` with a webhook is in tests/test_run.py.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from bot import cli
from bot.http import MAX_BODY, SECRET_HEADER, TelegramEndpoint, build_http_app
from bot.i18n import Translator
from models.staff import Role
from tests.shop import Person, Shop

# The webhook is Telegram's own transport; WeCom has its callback (tests/test_wecom_callback.py).
pytestmark = pytest.mark.telegram_only

SECRET = "webhook-Secret_0123456789"
PATH = "/telegram/webhook"
_update_ids = itertools.count(900_001)


@asynccontextmanager
async def webhook(shop: Shop) -> AsyncIterator[httpx.AsyncClient]:
    """The shop's application started (its update fetcher consumes the queue) behind the HTTP
    app with the webhook route, as ``workshop-bot run`` serves it."""
    settings = shop.settings.model_copy(update={
        "telegram_webhook_url": "https://bot.example.com",
        "telegram_webhook_secret": SECRET,
    })
    app = build_http_app(settings, telegram=TelegramEndpoint(settings, shop.app))
    await shop.app.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://bot.test") as client:
            yield client
    finally:
        await shop.app.stop()


def command_update(person: Person, text: str, update_id: int | None = None) -> dict[str, Any]:
    """What Telegram posts when ``person`` sends ``text`` (a command) in their private chat."""
    command = text.split()[0]
    return {
        "update_id": next(_update_ids) if update_id is None else update_id,
        "message": {
            "message_id": next(_update_ids), "date": int(time.time()), "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
            "chat": {"id": person.user_id, "type": "private", "first_name": person.name},
            "from": {"id": person.user_id, "is_bot": False, "first_name": person.name,
                     "language_code": person.language_code},
        },
    }


async def post(shop: Shop, client: httpx.AsyncClient, body: Any, *,
               secret: str | None = SECRET, raw: bytes | None = None) -> httpx.Response:
    """Post like Telegram does, then wait until the application handled what it queued."""
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    if raw is not None:
        response = await client.post(PATH, content=raw,
                                     headers={**headers, "Content-Type": "application/json"})
    else:
        response = await client.post(PATH, json=body, headers=headers)
    await shop.app.update_queue.join()
    return response


def polite_line(shop: Shop) -> str:
    _ = Translator("en", shop.settings.tz)  # the stranger's Telegram language
    return _("This bot is for the workshop's staff. Ask your service manager for an invite "
             "code.")


async def test_a_strangers_start_gets_the_polite_answer(shop: Shop) -> None:
    stranger = shop.stranger()
    async with webhook(shop) as client:
        response = await post(shop, client, command_update(stranger, "/start"))
    assert response.status_code == 200
    assert stranger.inbox == [polite_line(shop)]


async def test_a_wrong_or_missing_secret_is_refused(
    shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = shop.stranger()
    async with webhook(shop) as client:
        wrong = await post(shop, client, command_update(stranger, "/start"),
                           secret="not-" + SECRET)
        missing = await post(shop, client, command_update(stranger, "/start"), secret=None)
        almost = await post(shop, client, command_update(stranger, "/start"),
                            secret=SECRET[:-1])
    assert [wrong.status_code, missing.status_code, almost.status_code] == [403, 403, 403]
    assert stranger.inbox == []
    assert [c.method for c in shop.api.calls if c.method == "sendMessage"] == []
    refused = [r.getMessage() for r in caplog.records if "webhook" in r.getMessage()]
    assert len(refused) == 3 and "wrong secret token" in refused[0], refused
    assert "no secret token" in refused[1], refused


async def test_bad_json_and_not_an_update_are_400(shop: Shop) -> None:
    stranger = shop.stranger()
    async with webhook(shop) as client:
        broken = await post(shop, client, None, raw=b'{"update_id": 1, "message": ')
        a_list = await post(shop, client, [command_update(stranger, "/start")])
        no_id = await post(shop, client, {"message": command_update(stranger, "/x")["message"]})
        not_utf8 = await post(shop, client, None, raw=b"\xff\xfe{}")
    assert [broken.status_code, a_list.status_code, no_id.status_code,
            not_utf8.status_code] == [400, 400, 400, 400]
    assert stranger.inbox == []


async def test_a_body_over_one_mebibyte_is_413(shop: Shop) -> None:
    stranger = shop.stranger()
    update = command_update(stranger, "/start")
    update["padding"] = "x" * MAX_BODY
    async with webhook(shop) as client:
        response = await post(shop, client, update)
    assert response.status_code == 413
    assert stranger.inbox == []


async def test_a_redelivered_update_is_handled_once(shop: Shop) -> None:
    stranger = shop.stranger()
    update = command_update(stranger, "/start")
    async with webhook(shop) as client:
        first = await post(shop, client, update)
        again = await post(shop, client, update)
        # Another update from the same person is still handled.
        other = await post(shop, client, command_update(stranger, "/help"))
    assert [first.status_code, again.status_code, other.status_code] == [200, 200, 200]
    assert stranger.inbox == [polite_line(shop), polite_line(shop)]


async def test_staff_bind_and_work_through_the_webhook(shop: Shop) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician, bind=False)
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    async with webhook(shop) as client:
        bound = await post(shop, client, command_update(tech, f"/start {tech.invite_code}"))
        orders = await post(shop, client, command_update(tech, "/orders"))
        on_duty = await post(shop, client, command_update(advisor, "/onduty"))
    assert [bound.status_code, orders.status_code, on_duty.status_code] == [200, 200, 200]
    assert tech.inbox[0].startswith("Welcome, Zhang Tech! Your account is bound.")
    assert tech.inbox[-1] == "You have no open work orders."
    assert advisor.inbox == ["You are on duty: escalated reports and approvals reach you."]


@pytest.mark.parametrize(("secret", "problem"), [
    ("has space", "must be 1-256 characters of A-Z, a-z, 0-9, _ and -"),
    ("x" * 257, "must be 1-256 characters of A-Z, a-z, 0-9, _ and -"),
    ("", "must be set when TELEGRAM_WEBHOOK_URL is set"),
])
def test_a_bad_secret_is_one_line(
    secret: str, problem: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://bot.example.com")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", secret)
    assert cli.main(["staff", "list"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"workshop-bot: bad setting TELEGRAM_WEBHOOK_SECRET: {problem}"), line


def test_the_longest_secret_and_a_plain_url_are_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.settings import Settings

    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://bot.example.com/")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "aZ09_-" * 42 + "abcd")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_PATH", "/tg")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.telegram_webhook == "https://bot.example.com/tg"
