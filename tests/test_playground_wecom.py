"""The playground's channel switch (issue 15): a technician switched to WeCom talks to the bot's
WeCom application through the real transport — signed, encrypted callbacks in, the local WeCom
API out — and the page's chat shows what the WeCom app shows; switched back, Telegram again."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import select
from starlette.applications import Starlette

from bot.clock import FrozenClock
from bot.playground.chat_service import ChatService
from bot.playground.demo_shop import FIRST_USER_ID
from bot.playground.wecom_api import AGENT_ID, API_PATH, CORP_ID, SECRET, WeComApi
from bot.wecom.template_card import MAX_CARD_BUTTONS
from models.db import Database
from models.staff import ChatAccount
from tests.conftest import START
from tests.test_playground_chat_service import png
from tests.test_playground_serve import WAIT, here, playground

TECH = FIRST_USER_ID + 1  # the new order's technician: its plate is not checked yet
__all__ = ["here"]  # the fixture, used by name


async def newest(client: httpx.AsyncClient, user_id: int, *, after: int, card: bool = False,
                 text: str = "", channel: str = "wecom") -> dict[str, Any]:
    """The bot's first message on ``channel`` after message ``after`` (a card, or one with
    ``text``)."""
    async with asyncio.timeout(WAIT):
        while True:
            chat = (await client.get(f"/playground/api/chats/{user_id}")).json()
            for message in chat["messages"]:
                if message["id"] > after and message["from"] == "bot" and \
                        message["channel"] == channel and bool(message["card"]) == card and \
                        (text in message["text"] if not card else True):
                    return dict(message)
            await asyncio.sleep(0.05)


async def last_id(client: httpx.AsyncClient, user_id: int) -> int:
    messages = (await client.get(f"/playground/api/chats/{user_id}")).json()["messages"]
    return int(messages[-1]["id"]) if messages else 0


async def accounts(here: Path) -> set[tuple[str, str]]:
    db = Database(f"sqlite:///{here / 'data' / 'playground.db'}")
    try:
        async with db.session() as session:
            rows = (await session.exec(select(ChatAccount))).all()
            return {(row.channel, row.user_key) for row in rows
                    if row.user_key in (str(TECH), f"demo-{TECH}")}
    finally:
        await db.dispose()


async def test_a_technician_talks_to_the_bot_on_wecom_and_back(here: Path) -> None:
    async with playground(lang="en") as client:
        chats = f"/playground/api/chats/{TECH}"
        switched = await client.post(f"{chats}/channel", json={"channel": "wecom"})
        assert switched.json() == {"id": TECH, "channel": "wecom", "userid": f"demo-{TECH}"}
        assert await accounts(here) == {("wecom", f"demo-{TECH}")}  # Telegram unbound
        people = (await client.get("/playground/api/people")).json()["people"]
        assert [p["channel"] for p in people if p["id"] == TECH] == ["wecom"]
        chat = (await client.get(chats)).json()
        assert chat["person"]["channel"] == "wecom"
        assert "orders" in {item["command"] for item in chat["menu"]}  # the WeCom app's menu

        start = await last_id(client, TECH)
        said = (await client.post(f"{chats}/messages", json={"text": "/help"})).json()
        assert said["message"]["channel"] == "wecom" and said["message"]["from"] == "person"
        help_text = await newest(client, TECH, after=start, text="/help")
        assert len(help_text["text"].encode()) <= 2048 and help_text["reply_markup"] is None

        start = await last_id(client, TECH)
        photo = await client.post(f"{chats}/files", data={"kind": "photo"},
                                  files={"file": ("plate.png", png(8, 6), "image/png")})
        assert photo.json()["message"]["channel"] == "wecom"  # an image callback
        await newest(client, TECH, after=start)  # the bot answers it on WeCom
        document = await client.post(f"{chats}/files", data={"kind": "document"},
                                     files={"file": ("a.pdf", b"%PDF-1.4", "application/pdf")})
        assert document.json()["error"] == "wecom_no_document"

        start = await last_id(client, TECH)
        await client.post(f"{chats}/messages", json={"text": "/orders"})
        card = (await newest(client, TECH, after=start, card=True))["card"]
        assert card["title"] and 0 < len(card["buttons"]) <= MAX_CARD_BUTTONS
        message = await newest(client, TECH, after=start, card=True)
        plate = next(button for button in card["buttons"] if "plate" in button["text"].lower())

        start = await last_id(client, TECH)
        tapped = await client.post(f"{chats}/tap", json={"message_id": message["id"],
                                                         "data": plate["key"]})
        assert tapped.status_code == 200, tapped.text
        asked = await newest(client, TECH, after=start, text="plate number")
        assert asked["channel"] == "wecom"
        wrong = await client.post(f"{chats}/tap", json={"message_id": message["id"],
                                                        "data": "no-such-key"})
        assert wrong.json()["error"] == "no_button"

        back = await client.post(f"{chats}/channel", json={"channel": "telegram"})
        assert back.json()["channel"] == "telegram"
        assert await accounts(here) == {("telegram", str(TECH))}
        start = await last_id(client, TECH)
        await client.post(f"{chats}/messages", json={"text": "/cancel"})
        await newest(client, TECH, after=start, channel="telegram")
        start = await last_id(client, TECH)
        await client.post(f"{chats}/messages", json={"text": "/help"})
        await newest(client, TECH, after=start, text="/help", channel="telegram")
        refused = await client.post(f"{chats}/channel", json={"channel": "fax"})
        assert refused.status_code == 400


async def test_the_local_wecom_api_answers_as_wecom_does() -> None:
    """What WeCom takes and refuses, and what the page's chat shows of it."""
    service = ChatService("0:token", FrozenClock(START))
    service.add_person(TECH, "Tom", "Technician", "en", "wecom")
    api = WeComApi(service)
    transport = httpx.ASGITransport(app=Starlette(routes=api.routes()))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://local{API_PATH}") as wecom:
        wrong = (await wecom.get("/gettoken", params={"corpid": CORP_ID, "corpsecret": "x"}))
        assert wrong.json()["errcode"] == 40001
        token = (await wecom.get("/gettoken", params={"corpid": CORP_ID,
                                                      "corpsecret": SECRET})).json()
        query = {"access_token": token["access_token"]}
        assert (await wecom.post("/message/send", json={})).json()["errcode"] == 40014

        async def send(msgtype: str, content: dict[str, Any]) -> dict[str, Any]:
            body = {"touser": f"demo-{TECH}", "agentid": AGENT_ID, "msgtype": msgtype,
                    msgtype: content}
            return dict((await wecom.post("/message/send", params=query, json=body)).json())

        assert (await send("text", {"content": "字" * 683}))["errcode"] == 45002  # > 2048 B
        uploaded = (await wecom.post("/media/upload", params={**query, "type": "image"},
                                     files={"media": ("chart.png", png(4, 3), "image/png")}))
        media_id = uploaded.json()["media_id"]
        assert (await wecom.get("/media/get", params={**query, "media_id": media_id})
                ).content == png(4, 3)
        voice = await wecom.post("/media/upload", params={**query, "type": "voice"},
                                 files={"media": ("a.ogg", b"OggS", "audio/ogg")})
        assert voice.json()["errcode"] == 40005  # WeCom plays AMR only
        picture = await send("image", {"media_id": media_id})
        buttons = [{"text": f"B{n}", "key": f"k{n}"} for n in range(7)]
        card = {"card_type": "button_interaction", "main_title": {"title": "Order"},
                "task_id": "t1", "button_list": buttons}
        assert (await send("template_card", card))["errcode"] == 40058  # seven buttons
        sent = await send("template_card", {**card, "button_list": buttons[:2]})
        code = sent["response_code"]
        update = {"userids": [f"demo-{TECH}"], "agentid": AGENT_ID, "response_code": code,
                  "button": {"replace_name": "Done"}}
        greyed = await wecom.post("/message/update_template_card", params=query, json=update)
        assert greyed.json()["errcode"] == 0
        again = await wecom.post("/message/update_template_card", params=query, json=update)
        assert again.json()["errcode"] == 40058  # a response code is used once
        await wecom.post("/message/recall", params=query, json={"msgid": picture["msgid"]})

    shown = [service.view(message) for message in service.chat(TECH).messages.values()]
    assert [(m["channel"], m["photo"] is not None) for m in shown] == [("wecom", False)]
    assert shown[0]["card"]["greyed"] == "Done" and shown[0]["edited"]
    assert [b["key"] for b in shown[0]["card"]["buttons"]] == ["k0", "k1"]
