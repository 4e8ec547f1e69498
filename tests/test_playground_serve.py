"""``workshop-bot playground`` in-process: the demo shop in ./data/playground.db, the real bot
polling the chat service, the page, the clock bar's API and a clean stop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.playground import serve
from bot.playground.demo_shop import FIRST_USER_ID
from bot.settings import Settings
from tests.test_run import free_port

WAIT = 15.0
ADVISOR = FIRST_USER_ID  # the demo shop's first person


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # ./data/playground.db is this test's own
    return tmp_path


@asynccontextmanager
async def playground(**options: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The playground served until the block ends, once it is ready (the bot polling)."""
    port = free_port()
    settings = Settings(_env_file=None, timezone="Asia/Shanghai")  # type: ignore[call-arg]
    stop = asyncio.Event()
    serving = asyncio.create_task(serve.serve(settings, serve.Options(port=port, **options),
                                              line="ready", stop=stop))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=WAIT) as client:
        try:
            async with asyncio.timeout(WAIT):
                while True:
                    assert not serving.done(), serving.exception()
                    try:
                        if (await client.get("/readyz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.05)
            yield client
        finally:
            stop.set()
            await asyncio.wait_for(serving, WAIT)


async def answer(client: httpx.AsyncClient, user_id: int, text: str) -> str:
    """The bot's message containing ``text`` in the chat, once there (the jobs may send the
    person something else meanwhile)."""
    async with asyncio.timeout(WAIT):
        while True:
            chat = (await client.get(f"/playground/api/chats/{user_id}")).json()
            for message in chat["messages"]:
                if message["from"] == "bot" and text in message["text"]:
                    return str(message["text"])
            await asyncio.sleep(0.05)


async def test_the_playground_serves_the_bot_the_page_and_the_clock(
        here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with playground(lang="en") as client:
        home = await client.get("/", follow_redirects=False)
        assert home.status_code == 307 and home.headers["location"] == "/playground/"
        page = (await client.get("/playground/")).text
        assert 'data-testid="clock-next09"' in page
        assert (await client.get("/healthz")).json()["ok"] is True
        # The customer's page is served too: an advisor's link opens here (issue 16).
        unknown = await client.get("/c/not-a-real-token")
        assert unknown.status_code == 404 and "Star Motors" in unknown.text
        people = (await client.get("/playground/api/people")).json()["people"]
        assert len(people) == 11 and people[0]["id"] == ADVISOR
        assert people[0]["roles"] == "Service advisor" and people[0]["language"] == "en"
        chat = (await client.get(f"/playground/api/chats/{ADVISOR}")).json()
        assert "neworder" in {command["command"] for command in chat["menu"]}  # post_init ran
        await client.post(f"/playground/api/chats/{ADVISOR}/messages", json={"text": "/help"})
        assert "/help — What I can do" in await answer(client, ADVISOR, "/neworder — ")

        before = (await client.get("/playground/api/clock")).json()
        assert before["offset_seconds"] == 0 and before["now"].endswith("+08:00")
        moved = (await client.post("/playground/api/clock", json={"advance": "1h"})).json()
        assert moved["offset_seconds"] == 3600 and isinstance(moved["sent"], int)
        assert (await client.get("/playground/api/clock")).json()["offset_seconds"] == 3600
        refused = await client.post("/playground/api/clock", json={"advance": "-1d"})
        assert refused.status_code == 400 and refused.json()["error"] == "bad_request"
    assert capsys.readouterr().out == "ready\n"
    assert (here / "data" / "playground.db").is_file()


async def test_a_second_start_keeps_the_shop_and_reset_starts_a_new_one(here: Path) -> None:
    async with playground() as client:
        people = (await client.get("/playground/api/people")).json()["people"]
        assert people[0]["language"] == "zh_CN"
    async with playground(lang="en") as client:  # the shop as it was left: still in Chinese
        assert (await client.get("/playground/api/people")).json()["people"] == people
    async with playground(lang="en", reset=True) as client:
        assert (await client.get("/playground/api/people")).json()["people"][0]["language"] \
            == "en"


async def test_the_page_sets_the_language_the_bot_speaks_to_a_person(here: Path) -> None:
    async with playground() as client:  # a shop in Chinese
        chosen = await client.post(f"/playground/api/chats/{ADVISOR}/language",
                                   json={"lang": "en"})
        assert chosen.json() == {"id": ADVISOR, "language": "en", "roles": "Service advisor"}
        people = (await client.get("/playground/api/people")).json()["people"]
        assert (people[0]["roles"], people[0]["language"]) == ("Service advisor", "en")
        assert people[1]["language"] == "zh_CN"  # the others as they were
        menu = (await client.get(f"/playground/api/chats/{ADVISOR}")).json()["menu"]
        assert "My open work orders" in {command["description"] for command in menu}
        await client.post(f"/playground/api/chats/{ADVISOR}/messages", json={"text": "/help"})
        assert "/help — What I can do" in await answer(client, ADVISOR, "/neworder — ")
        refused = await client.post(f"/playground/api/chats/{ADVISOR}/language",
                                    json={"lang": "fr"})
        assert refused.status_code == 400
        nobody = await client.post("/playground/api/chats/1/language", json={"lang": "en"})
        assert (nobody.status_code, nobody.json()["error"]) == (404, "unknown_person")


async def test_a_port_in_use_is_one_error(here: Path) -> None:
    port = free_port()
    server = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", port)
    try:
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            await serve.serve(settings, serve.Options(port=port), line="never")
    finally:
        server.close()
        await server.wait_closed()
