"""The WeCom callback over real HTTP: URL verification, and every kind of bad input or attack
refused or ignored with a log line, nothing handled twice, the server still serving."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlmodel import select

from bot.http import build_http_app
from bot.settings import Settings
from bot.wecom.crypto import WeComCrypto
from models.db import Database
from models.staff import Role, Staff
from models.wecom import WeComInbound, WeComUser
from models.work_order import OrderStatus, WorkOrder
from tests.conftest import START
from tests.flows import order_in_progress
from tests.test_wecom_crypto import BILLION_LAUGHS, EXTERNAL
from tests.wecom_shop import CORP_ID, TOKEN, WeComPerson, WeComShop

POLITE = "This bot is for the workshop's staff. Ask your service manager for an invite code."


@pytest.fixture
async def shop(db: Database, settings: Settings) -> AsyncIterator[WeComShop]:
    shop = WeComShop(db, settings.model_copy(update={"default_locale": "en"}), START)
    await shop.start()
    yield shop
    await shop.stop()
    assert shop.errors == [], f"handlers raised: {shop.errors!r}"


async def still_serving(shop: WeComShop, person: WeComPerson) -> None:
    health = await shop.client.get(shop.base_url + "/healthz")
    assert health.status_code == 200 and health.json()["ok"] is True
    assert "no open work orders" in (await person.send("/orders"))[-1]


async def inbound_rows(shop: WeComShop) -> int:
    async with shop.db.session() as session:
        return len((await session.exec(select(WeComInbound))).all())


def text(person: WeComPerson, content: str, msg_id: int) -> dict[str, object]:
    return {"ToUserName": CORP_ID, "FromUserName": person.userid, "CreateTime": 1796000400,
            "MsgType": "text", "Content": content, "MsgId": msg_id, "AgentID": 1000002}


# --- URL verification (GET) --------------------------------------------------------------------


async def test_url_verification_answers_the_plain_echostr_only(shop: WeComShop) -> None:
    assert shop.crypto is not None
    timestamp, nonce = str(int(shop.now().timestamp())), "12345"
    echostr = shop.crypto.encrypt("6743128893454343928")
    query = {"msg_signature": shop.crypto.sign(timestamp, nonce, echostr),
             "timestamp": timestamp, "nonce": nonce, "echostr": echostr}
    answer = await shop.client.get(shop.callback_url, params=query)
    assert (answer.status_code, answer.text) == (200, "6743128893454343928")
    # Some senders leave base64's "+" unescaped; it arrives as a space and is still accepted.
    while "+" not in echostr:
        echostr = shop.crypto.encrypt("6743128893454343928")
    signature = shop.crypto.sign(timestamp, nonce, echostr)
    raw = (f"{shop.callback_url}?msg_signature={signature}&timestamp={timestamp}"
           f"&nonce={nonce}&echostr={echostr}")
    assert (await shop.client.get(raw)).text == "6743128893454343928"
    query["msg_signature"] = "0" * 40
    refused = await shop.client.get(shop.callback_url, params=query)
    assert refused.status_code == 403 and "6743128893454343928" not in refused.text


# --- bad input and attacks (POST) ----------------------------------------------------------------


async def test_a_wrong_signature_is_refused(shop: WeComShop,
                                            caplog: pytest.LogCaptureFixture) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    query, body = shop.envelope(text(tech, "/orders", 1))
    query["msg_signature"] = query["msg_signature"][::-1]
    assert (await shop.post(query, body)).status_code == 403
    assert "refused: wrong signature" in caplog.text
    assert shop.fake.sent() == [] and await inbound_rows(shop) == 0
    await still_serving(shop, tech)


async def test_a_signature_that_is_not_ascii_is_refused(shop: WeComShop) -> None:
    """Found by fuzzing: compare_digest raised TypeError on a non-ASCII str (HTTP 500)."""
    tech = await shop.hire("Zhang Tech", Role.technician)
    for signature in ("签名" * 20, "é" * 40, "\u0000" * 40, "🔑"):
        query, body = shop.envelope(text(tech, "/orders", 4))
        query["msg_signature"] = signature
        assert (await shop.post(query, body)).status_code == 403
        timestamp, nonce = str(int(shop.now().timestamp())), "nonce1"
        echo = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce,
                "echostr": shop.crypto.encrypt("6743128893454343928")}
        assert (await shop.client.get(shop.callback_url, params=echo)).status_code == 403
    assert shop.fake.sent() == [] and await inbound_rows(shop) == 0
    await still_serving(shop, tech)


async def test_a_userid_wecom_never_makes_is_refused_before_anything_is_written(
        shop: WeComShop) -> None:
    """Found by fuzzing: a userid longer than its column dropped the message after its
    de-duplication key was saved."""
    tech = await shop.hire("Zhang Tech", Role.technician)
    for userid in ("z" * 65, "zhang\nsan", "zhang\x00san"):
        query, body = shop.envelope({**text(tech, "/orders", 5), "FromUserName": userid})
        assert (await shop.post(query, body)).status_code in (400, 403)  # NUL: not even XML
    assert shop.fake.sent() == [] and await inbound_rows(shop) == 0
    # A click whose fields add up past the key's column is still taken in, once.
    click = {"ToUserName": CORP_ID, "FromUserName": tech.userid, "CreateTime": 1796000400,
             "MsgType": "event", "Event": "template_card_event", "EventKey": "x" * 150,
             "TaskId": "t" * 100, "ResponseCode": "r" * 60, "AgentID": 1000002}
    for _ in range(2):
        query, body = shop.envelope(click)
        assert (await shop.post(query, body)).status_code == 200
    assert await inbound_rows(shop) == 1
    await still_serving(shop, tech)


async def test_a_wrong_corp_id_is_refused(shop: WeComShop,
                                          caplog: pytest.LogCaptureFixture) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    assert shop.settings.wecom_aes_key
    other_corp = WeComCrypto(TOKEN, shop.settings.wecom_aes_key, "wwanothercorp0000")
    query, body = shop.envelope(text(tech, "/orders", 2), crypto=other_corp)
    assert (await shop.post(query, body)).status_code == 403
    assert "wrong corp id" in caplog.text
    # The right key and receive id, but addressed to another corp inside.
    query, body = shop.envelope({**text(tech, "/orders", 3), "ToUserName": "wwanothercorp0000"})
    assert (await shop.post(query, body)).status_code == 403
    assert "message for another corp" in caplog.text
    assert shop.fake.sent() == []
    await still_serving(shop, tech)


async def test_a_timestamp_far_from_now_is_refused(shop: WeComShop,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    now = int(shop.now().timestamp())
    for timestamp in (now - 3600, now + 3600, 1409659813):
        query, body = shop.envelope(text(tech, "/orders", timestamp), timestamp=timestamp)
        assert (await shop.post(query, body)).status_code == 403
    assert caplog.text.count("s away from now") == 3
    # Within the allowed skew (five minutes by default) it is taken.
    query, body = shop.envelope(text(tech, "/orders", 9), timestamp=now - 200)
    assert (await shop.post(query, body)).status_code == 200
    assert len(shop.fake.sent(tech.userid)) == 1
    await still_serving(shop, tech)


async def test_a_replayed_message_is_handled_once_also_after_a_restart(
    shop: WeComShop, caplog: pytest.LogCaptureFixture
) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    query, body = shop.envelope(text(tech, "/orders", 77))
    for _ in range(3):  # WeCom's own resends look exactly like this
        assert (await shop.post(query, body)).status_code == 200
    assert len(shop.fake.sent(tech.userid)) == 1
    await shop.restart()
    assert (await shop.post(query, body)).status_code == 200
    assert len(shop.fake.sent(tech.userid)) == 1
    assert caplog.text.count("was already taken in; dropped") == 3
    # A card click resent by WeCom (same response code) is dropped too.
    await tech.send("/lang")
    card = tech.last
    click = {"ToUserName": CORP_ID, "FromUserName": tech.userid, "CreateTime": 1796000400,
             "MsgType": "event", "Event": "template_card_event", "EventKey": "lang:en",
             "TaskId": shop.api.task_id(card), "ResponseCode": "code-resent"}
    shop.api.codes["code-resent"] = (card.chat_id, card.message_id)
    shop.api.code_tasks["code-resent"] = shop.api.task_id(card)
    shop.fake.click_code("code-resent", tech.userid, shop.api.task_id(card))
    query, body = shop.envelope(click)
    for _ in range(2):
        assert (await shop.post(query, body)).status_code == 200
    assert len([r for r in shop.fake.calls("message/update_template_card")
                if "template_card" in r.body]) == 1  # (then greyed with the send-time code)
    await still_serving(shop, tech)


@pytest.mark.parametrize("body", [b"<xml><Encrypt>", b"not xml at all", BILLION_LAUGHS,
                                  EXTERNAL, b"<xml><ToUserName>x</ToUserName></xml>"])
async def test_malformed_or_hostile_xml_is_refused(
    shop: WeComShop, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    query, _ = shop.envelope(text(tech, "/orders", 5))
    assert (await shop.post(query, body)).status_code == 403
    assert "refused" in caplog.text
    assert shop.fake.sent() == []
    await still_serving(shop, tech)


async def test_hostile_xml_inside_a_correctly_signed_message_is_refused(
    shop: WeComShop, caplog: pytest.LogCaptureFixture
) -> None:
    """Whoever holds the key still cannot make the parser expand entities."""
    tech = await shop.hire("Zhang Tech", Role.technician)
    assert shop.crypto is not None
    timestamp, nonce = str(int(shop.now().timestamp())), "9"
    encrypted = shop.crypto.encrypt(BILLION_LAUGHS)
    query = {"msg_signature": shop.crypto.sign(timestamp, nonce, encrypted),
             "timestamp": timestamp, "nonce": nonce}
    body = f"<xml><ToUserName>{CORP_ID}</ToUserName><Encrypt>{encrypted}</Encrypt></xml>"
    assert (await shop.post(query, body.encode())).status_code == 403
    assert "unusable XML" in caplog.text
    await still_serving(shop, tech)


async def test_a_body_over_one_mebibyte_is_refused(shop: WeComShop,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    query, body = shop.envelope(text(tech, "/orders", 6))
    padded = body.replace(b"<xml>", b"<xml>" + b" " * (1 << 20), 1)
    assert (await shop.post(query, padded)).status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        for _ in range(20):
            yield b" " * 65536
        yield body

    answer = await shop.client.post(shop.callback_url, params=query, content=chunks())
    assert answer.status_code == 413
    assert caplog.text.count("body over 1048576 bytes") == 2
    assert shop.fake.sent() == []
    await still_serving(shop, tech)


@pytest.mark.parametrize("fields", [
    {"MsgType": "video", "MediaId": "v1", "ThumbMediaId": "t1", "MsgId": 41},  # voice: see
    # tests/test_voice_notes.py
    {"MsgType": "location", "Location_X": "23.1", "Location_Y": "113.3", "MsgId": 42},
    {"MsgType": "event", "Event": "enter_agent"},
    {"MsgType": "event", "Event": "click", "EventKey": "../../etc"},
    {"MsgType": "nonsense"},
])
async def test_an_unknown_message_type_is_ignored(
    shop: WeComShop, caplog: pytest.LogCaptureFixture, fields: dict[str, object]
) -> None:
    caplog.set_level(logging.INFO, logger="bot.wecom.inbound")
    tech = await shop.hire("Zhang Tech", Role.technician)
    await shop.deliver({"FromUserName": tech.userid, "CreateTime": 1796000400, **fields})
    assert "ignored" in caplog.text
    assert shop.fake.sent() == []
    await still_serving(shop, tech)


async def test_clicks_on_unknown_or_other_peoples_cards_are_ignored(
    shop: WeComShop, caplog: pytest.LogCaptureFixture
) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    other = await shop.hire("Wang Tech", Role.technician)
    await other.send("/lang")
    for task_id in ("t-no-such-card", shop.api.task_id(other.last)):
        await shop.deliver({"FromUserName": tech.userid, "CreateTime": 1796000400,
                            "MsgType": "event", "Event": "template_card_event",
                            "EventKey": "lang:en", "TaskId": task_id, "ResponseCode": task_id})
    assert caplog.text.count("on an unknown card") == 2
    assert shop.fake.sent(tech.userid) == []
    await still_serving(shop, tech)


# --- who is who ---------------------------------------------------------------------------


async def test_a_stranger_gets_one_polite_line_and_is_remembered(shop: WeComShop) -> None:
    stranger = shop.stranger()
    assert await stranger.send("hello") == [POLITE]
    assert await stranger.send_photo("some-picture") == [POLITE]
    [body, _] = shop.fake.sent(stranger.userid)
    assert body["msgtype"] == "text" and body["agentid"] == 1000002
    async with shop.db.session() as session:
        user = await session.get(WeComUser, stranger.user_id)
    assert user is not None and user.userid == stranger.userid


async def test_a_menu_click_is_the_command(shop: WeComShop) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    await shop.deliver({"FromUserName": tech.userid, "CreateTime": 1796000400,
                        "MsgType": "event", "Event": "click", "EventKey": "orders"})
    assert "no open work orders" in tech.last.text


async def test_the_channel_written_on_last_is_remembered(shop: WeComShop) -> None:
    tech = await shop.hire("Zhang Tech", Role.technician)
    await tech.send("/help")
    async with shop.db.session() as session:
        staff = await session.get(Staff, tech.staff_id)
    assert staff is not None and staff.last_channel == "wecom"


async def test_healthz(shop: WeComShop) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.get(shop.base_url + "/healthz")
        assert answer.json() == {"ok": True, "outbox": {"waiting": 0, "failed": 0}}
        tech = await shop.hire("Zhang Tech", Role.technician)
        shop.fake.fail("message/send", *[45009] * 4)  # refused through the short back-off
        await shop.app.bot.send_message(tech.user_id, "kept for later")
        assert shop.request is not None
        await shop.request.store.close()
        answer = await client.get(shop.base_url + "/healthz")
        assert answer.json() == {"ok": True, "outbox": {"waiting": 1, "failed": 0}}


async def test_healthz_says_when_the_database_does_not_answer(settings: Settings) -> None:
    gone = Database("postgresql://nobody@127.0.0.1:1/none")  # nothing listens on port 1
    app = build_http_app(settings, db=gone)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://bot") as client:
        answer = await client.get("/healthz")
    await gone.dispose()
    assert answer.status_code == 503
    assert answer.json() == {"ok": False, "database": "unreachable"}


async def test_a_click_on_a_card_whose_order_is_closed_is_refused(
    shop: WeComShop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.refusals")
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)  # type: ignore[arg-type]
    card, done = tech.find_button("Done: 1.")
    async with shop.db.session() as session:
        order = await session.get(WorkOrder, order_id)
        assert order is not None
        order.status = OrderStatus.cancelled
        await session.commit()
    closed = [f"Order {order.number} is closed; nothing was changed."]
    assert await tech.tap("Done: 1.") == closed  # answered by number: the list is the newest
    assert await tech.tap_data(done, card) == closed  # and clicked, as a card would be
    assert caplog.text.count(f"refused order_closed on wecom for staff {tech.staff_id}") == 2
    await still_serving(shop, tech)
