"""W5 from the customer's phone, the page (``bot/customer_page.py``) over real HTTP: the
technician requests two extra items in chat, the advisor's link is made
(``models.customer_link.make_link``), the customer opens it, approves one item and declines the
other with their name; the technician and the advisor are told and the cards show it. Then what
must not work: a guessed token, a used one (a replayed post), an expired one, a price changed
since, a form without the link's key or from another site, too many requests, and the advisor
deciding at the same moment as the customer. Last, the page in headless Chromium at a phone's
size, with screenshots in ``test-artifacts/customer-page/``."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from bot import customer_page
from bot.http import build_http_app
from bot.settings import Settings
from models.audit import Actor, AuditEvent
from models.customer_link import CustomerLink, CustomerLinkItem, make_link
from models.extra_item import ConsentMethod, ExtraItemRequest, decide
from models.rules import Refused
from models.staff import Role, Staff
from tests.browser import CHROMIUM, browser_env, require_chromium
from tests.browser import shots as browser_shots
from tests.fakewecom import start_server, stop_server
from tests.flows import order_in_progress
from tests.shop import Person, Shop
from tests.test_extra_item import ask_for_extra, cards_in_chats

PHONE = "010-6512-3456"
CUSTOMER_PHONE = "13812345678"  # tests.flows.open_order's customer


@pytest.fixture
def settings() -> Settings:
    return Settings(
        _env_file=None,
        telegram_bot_token="123456:TEST-TOKEN",
        telegram_api_base_url="http://127.0.0.1:1/bot",
        database_url="sqlite://",
        timezone="Asia/Shanghai",
        default_locale="zh_CN",
        public_base_url="https://shop.example.com",
        shop_name="Example Motors",
        shop_phone=PHONE,
    )


@asynccontextmanager
async def page_server(shop: Shop) -> AsyncIterator[httpx.AsyncClient]:
    """The bot's HTTP server with the customer's page, sharing the shop's services."""
    app = build_http_app(shop.settings, extra_routes=customer_page.routes(shop.services))
    server, task, port = await start_server(app)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        await stop_server(server, task)


async def two_items(shop: Shop) -> tuple[Person, Person, int, list[int]]:
    """The technician's two requests through chat, the first with a photo."""
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    await ask_for_extra(tech, order_id, photos=("wiper-1",), estimate="120 30")
    await ask_for_extra(tech, order_id, description="Replace front brake pads",
                        reason="Pads worn to 2 mm", estimate="480 200")
    async with shop.db.session() as session:
        ids = [r.id for r in (await session.exec(select(ExtraItemRequest))).all()]
    return advisor, tech, order_id, [i for i in ids if i is not None]


async def link_for(shop: Shop, advisor: Person, order_id: int) -> str:
    """What the advisor's "Ask the customer" makes; its token."""
    async with shop.db.session() as session:
        staff = await session.get(Staff, advisor.staff_id)
        assert staff is not None
        _link, token, _items = await make_link(
            session, order_id=order_id, advisor=staff, now=shop.now(),
            hours=shop.settings.customer_link_hours, actor=Actor(staff.id, shop.channel))
        await session.commit()
    return token


def form_key(html: str) -> str:
    found = re.search(r'name="form_key" value="([0-9a-f]+)"', html)
    assert found, html
    return found.group(1)


async def requests(shop: Shop) -> list[ExtraItemRequest]:
    async with shop.db.session() as session:
        return list((await session.exec(select(ExtraItemRequest).order_by(
            ExtraItemRequest.id))).all())  # type: ignore[arg-type]


async def decisions(shop: Shop) -> int:
    async with shop.db.session() as session:
        return len((await session.exec(select(AuditEvent).where(
            AuditEvent.action == "extra.decide"))).all())


def assert_page_headers(response: httpx.Response) -> None:
    assert response.headers["content-security-policy"] == (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'")
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.both_channels
async def test_the_customer_approves_one_item_and_declines_the_other(shop: Shop) -> None:
    advisor, tech, order_id, (wipers, brakes) = await two_items(shop)
    token = await link_for(shop, advisor, order_id)
    async with page_server(shop) as client:
        page = await client.get(f"/c/{token}")
        assert page.status_code == 200
        assert_page_headers(page)
        html = page.text
        assert '<html lang="zh-CN">' in html and "您爱车的增项确认" in html  # Chinese first
        for part in ("Example Motors", "京A·***45", "Toyota Camry", "Replace wiper blades",
                     "Both blades are torn", "Replace front brake pads", "¥120.00", "¥30.00",
                     "¥480.00", "¥200.00", "¥830.00", PHONE, f'name="choice-{wipers}"',
                     f'name="reason-{brakes}" value="price"', "<form method=\"post\""):
            assert part in html, part
        for secret in (CUSTOMER_PHONE, "京A12345", "王先生", "Liu Advisor", "Zhang Tech"):
            assert secret not in html, secret  # nothing but what the customer is asked
        assert "<script" not in html
        [photo] = re.findall(rf'src="(/c/{token}/photo/\d+)"', html)
        picture = await client.get(photo)
        assert picture.status_code == 200 and picture.content.startswith(b"\xff\xd8")
        assert picture.headers["content-type"] == "image/jpeg"
        assert picture.headers["cache-control"].startswith("private")
        assert (await client.get(f"/c/{token}/photo/999999")).status_code == 404
        english = await client.get(f"/c/{token}", headers={"Accept-Language": "en-US,en;q=0.9"})
        assert "Additional work on your car" in english.text and "Approve" in english.text
        async with shop.db.session() as session:
            link = (await session.exec(select(CustomerLink))).one()
        assert link.opened_at == shop.now()

        # Nothing chosen for the brake pads: the form comes back with what was typed.
        form = {"form_key": form_key(html), f"choice-{wipers}": "approve", "name": "王小明",
                "note": "请尽快"}
        again = await client.post(f"/c/{token}?lang=en", data=form)
        assert again.status_code == 422
        assert "Please choose Approve or Decline for every item." in again.text
        assert 'value="王小明"' in again.text and "请尽快</textarea>" in again.text
        assert f'name="choice-{wipers}" value="approve" checked' in again.text
        assert await decisions(shop) == 0

        # The advisor started approving the brake pads in chat meanwhile (their step ends).
        asked = await advisor.tap(data=f"xtr:{brakes}:ok")
        assert asked[-1].endswith("How did the customer consent?")
        form |= {f"choice-{brakes}": "decline", f"reason-{brakes}": "price"}
        sent = await client.post(f"/c/{token}?lang=en", data=form,
                                 headers={"User-Agent": "MicroMessenger/8.0 (test phone)",
                                          "Origin": "https://shop.example.com"})
        assert sent.status_code == 303
        assert sent.headers["location"] == f"/c/{token}?done=1&lang=en"
        done = await client.get(sent.headers["location"])
        assert "Thank you, 王小明!" in done.text
        assert "Approved: Replace wiper blades" in done.text
        assert "Declined: Replace front brake pads" in done.text
        assert PHONE in done.text

        first, second = await requests(shop)
        assert (first.status, first.consent_method, first.decided_by, first.consent_note) == (
            "approved", "customer_link", None, "王小明")
        assert (second.status, second.reject_reason) == ("rejected", "customer: price")
        async with shop.db.session() as session:
            records = (await session.exec(select(CustomerLinkItem).order_by(
                CustomerLinkItem.id))).all()  # type: ignore[arg-type]
        assert [(r.decision, r.decline_reason, r.signed_name, r.note) for r in records] == [
            ("approved", None, "王小明", "请尽快"), ("rejected", "price", "王小明", "请尽快")]
        assert records[0].ip == "127.0.0.1"
        assert records[0].user_agent == "MicroMessenger/8.0 (test phone)"
        assert await decisions(shop) == 2

        # The staff hear it as from an advisor: the technician what to do and not, the
        # advisor what the customer chose, every copy of the cards without buttons.
        told = "\n".join(tech.inbox)
        assert "The customer decided on their phone" in told
        assert "✅ “Replace wiper blades” approved: you may start on it." in told
        assert "❌ “Replace front brake pads” declined: do not do it." in told
        assert "⬜ 3. [extra] Replace wiper blades" in tech.last.text
        heard = "\n".join(advisor.inbox)
        assert "📱 王小明 decided on their phone for" in heard
        assert "✅ approved “Replace wiper blades”" in heard
        assert "❌ declined “Replace front brake pads” (too expensive)" in heard
        assert "Their note: 请尽快" in heard
        assert any("This step has ended" in text for text in advisor.inbox)
        for request_id in (wipers, brakes):
            cards = await cards_in_chats(shop, request_id)
            assert cards, request_id
            for text, buttons in cards.values():
                assert buttons == [] and "王小明" in text, text

        # Sent again (a double tap, the back button): what was decided, nothing changes.
        calls = len(shop.api.calls)
        replay = await client.post(f"/c/{token}?lang=en", data=form)
        assert replay.status_code == 200
        assert "Everything on this link has been decided." in replay.text
        assert "Approved by you" in replay.text and "Declined by you" in replay.text
        assert await decisions(shop) == 2 and len(shop.api.calls) == calls
        used = await client.get(f"/c/{token}?lang=en")
        assert "Everything on this link has been decided." in used.text and PHONE in used.text
        assert "<form" not in used.text
        assert (await client.get(photo)).status_code == 200  # a decided link keeps its photos


async def test_what_the_page_refuses(shop: Shop) -> None:
    advisor, _tech, order_id, (wipers, brakes) = await two_items(shop)
    token = await link_for(shop, advisor, order_id)
    async with page_server(shop) as client:
        # A guessed token, one from another shop, a short one: the same 404, the shop's phone.
        guessed = await client.get("/c/" + "A" * len(token))
        assert guessed.status_code == 404 and "此链接无效" in guessed.text and PHONE in guessed.text
        assert_page_headers(guessed)
        other = await client.get("/c/x")
        assert (other.status_code, other.text) == (404, guessed.text)
        assert (await client.get(f"/c/{'B' * 40}/photo/1")).status_code == 404

        html = (await client.get(f"/c/{token}")).text
        choices = {"form_key": form_key(html), f"choice-{wipers}": "approve",
                   f"choice-{brakes}": "decline", "name": "王小明"}
        wrong = await client.post(f"/c/{token}", data=choices | {"form_key": "0" * 32})
        assert wrong.status_code == 403 and "无法接受此表单" in wrong.text
        foreign = await client.post(f"/c/{token}", data=choices,
                                    headers={"Origin": "https://evil.example.net"})
        assert foreign.status_code == 403
        referred = await client.post(f"/c/{token}", data=choices,
                                     headers={"Referer": "https://evil.example.net/c/x"})
        assert referred.status_code == 403
        nameless = await client.post(f"/c/{token}", data=choices | {"name": "  "})
        assert nameless.status_code == 422 and "请填写您的姓名" in nameless.text
        too_long = await client.post(f"/c/{token}", data=choices | {"note": "x" * 20_000})
        assert too_long.status_code == 413
        assert await decisions(shop) == 0

        # A price changed since the link was sent: nothing to decide, ask for a new link.
        async with shop.db.session() as session:
            request = await session.get(ExtraItemRequest, brakes)
            assert request is not None
            request.parts_fen = 52000
            await session.commit()
        changed = await client.get(f"/c/{token}?lang=en")
        assert changed.status_code == 200 and "The prices have changed" in changed.text
        assert "<form" not in changed.text
        posted = await client.post(f"/c/{token}?lang=en", data=choices)
        assert "Please ask your service advisor for a new link." in posted.text
        assert await decisions(shop) == 0

        # Expired: what stands, and the shop's phone; its photos are gone.
        photo = re.findall(rf'src="(/c/{token}/photo/\d+)"', html)[0]
        shop.advance(hours=24)
        expired = await client.get(f"/c/{token}?lang=en")
        assert "This link has expired." in expired.text and PHONE in expired.text
        assert "Not decided" in expired.text and "<form" not in expired.text
        assert (await client.get(photo)).status_code == 404
        assert await decisions(shop) == 0


async def test_too_many_requests(shop: Shop) -> None:
    advisor, _tech, order_id, _ids = await two_items(shop)
    token = await link_for(shop, advisor, order_id)
    async with page_server(shop) as client:
        # uvicorn takes the client's address from X-Forwarded-For of a trusted proxy (here
        # 127.0.0.1): one address per "phone".
        def phone(address: str) -> dict[str, str]:
            return {"X-Forwarded-For": address}

        for _ in range(5):
            assert (await client.get("/c/guess", headers=phone("203.0.113.7"))).status_code == 404
        blocked = await client.get("/c/guess", headers=phone("203.0.113.7"))
        assert blocked.status_code == 429 and "请求过于频繁" in blocked.text
        # Once it guessed too often, not even a real link answers it for a while.
        assert (await client.get(f"/c/{token}", headers=phone("203.0.113.7"))).status_code == 429
        assert (await client.get(f"/c/{token}", headers=phone("203.0.113.8"))).status_code == 200

        for _ in range(29):
            await client.get(f"/c/{token}", headers=phone("203.0.113.8"))
        assert (await client.get(f"/c/{token}", headers=phone("203.0.113.8"))).status_code == 429
        for _ in range(10):
            await client.post(f"/c/{token}", data={"form_key": "x"},
                              headers=phone("203.0.113.9"))
        assert (await client.post(f"/c/{token}", data={"form_key": "x"},
                                  headers=phone("203.0.113.9"))).status_code == 429
        shop.advance(seconds=61)
        assert (await client.get(f"/c/{token}", headers=phone("203.0.113.7"))).status_code == 200


async def test_the_advisor_and_the_customer_at_once(shop: Shop) -> None:
    advisor, _tech, order_id, (wipers, brakes) = await two_items(shop)
    token = await link_for(shop, advisor, order_id)

    async def advisor_approves() -> None:
        async with shop.db.session() as session:
            staff = await session.get(Staff, advisor.staff_id)
            assert staff is not None
            await decide(session, request_id=wipers, advisor=staff, approve=True,
                         consent_method=ConsentMethod.phone, now=shop.now(),
                         actor=Actor(staff.id, shop.channel))
            await session.commit()

    async with page_server(shop) as client:
        html = (await client.get(f"/c/{token}")).text
        form = {"form_key": form_key(html), f"choice-{wipers}": "decline",
                f"choice-{brakes}": "approve", "name": "王小明"}
        tapped, posted = await asyncio.gather(advisor_approves(),
                                              client.post(f"/c/{token}", data=form),
                                              return_exceptions=True)
    assert tapped is None or (isinstance(tapped, Refused) and tapped.code == "already_decided")
    assert isinstance(posted, httpx.Response) and posted.status_code in (200, 303), posted
    first, second = await requests(shop)
    assert first.status in ("approved", "rejected") and second.status == "approved"
    async with shop.db.session() as session:
        events = (await session.exec(select(AuditEvent).where(
            AuditEvent.action == "extra.decide"))).all()
    assert sorted(e.entity_id or 0 for e in events) == [wipers, brakes]  # each decided once
    # Whoever won the wipers, the record says so: the advisor's phone, or the customer's no.
    assert (first.status, first.consent_method) in (("approved", "phone"), ("rejected", None))


@pytest.fixture
def shots() -> Path:
    """Where the screenshots go; the test needs the system's Chromium (tests/browser.py)."""
    require_chromium()
    return browser_shots("customer-page")


async def test_the_page_in_a_phone_browser(shop: Shop, shots: Path) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    advisor, tech, order_id, (wipers, brakes) = await two_items(shop)
    shop.api.files["wiper-1"] = a_photo()  # what Telegram gives for the technician's photo
    token = await link_for(shop, advisor, order_id)
    app = build_http_app(shop.settings, extra_routes=customer_page.routes(shop.services))
    server, task, port = await start_server(app)
    base = f"http://127.0.0.1:{port}"
    # The browser's Origin is the page's: the address the shop would have configured.
    shop.services.settings = shop.settings.model_copy(update={"public_base_url": base})
    env = browser_env()
    try:
        async with playwright_api.async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                       headless=True, env=env)
            try:
                context = await browser.new_context(
                    viewport={"width": 390, "height": 844}, device_scale_factor=2,
                    is_mobile=True, has_touch=True, locale="zh-CN")
                page = await context.new_page()
                await page.goto(f"{base}/c/{token}")
                assert await page.evaluate(  # the photo came through the page's route
                    "document.querySelector('.photos img').naturalWidth") == 640
                await page.screenshot(path=str(shots / "1-form.png"), full_page=True)
                width = await page.evaluate("document.documentElement.scrollWidth")
                assert width <= 390  # nothing wider than the phone
                await page.check(f'input[name="choice-{wipers}"][value="approve"]')
                await page.check(f'input[name="choice-{brakes}"][value="decline"]')
                await page.check(f'input[name="reason-{brakes}"][value="later"]')
                await page.fill('input[name="name"]', "王小明")
                await page.screenshot(path=str(shots / "2-filled.png"), full_page=True)
                await page.click('button[type="submit"]')
                await page.wait_for_url(f"{base}/c/{token}?done=1")
                text = await page.inner_text("main")
                await page.screenshot(path=str(shots / "3-thank-you.png"), full_page=True)
                assert "谢谢您，王小明！" in text
                assert "已同意：Replace wiper blades" in text
                assert "已拒绝：Replace front brake pads" in text
                await page.goto(f"{base}/c/{token}?lang=en")
                await page.screenshot(path=str(shots / "4-decided-en.png"), full_page=True)
                assert "Everything on this link has been decided." in await page.inner_text(
                    "main")
            finally:
                await browser.close()
    finally:
        await stop_server(server, task)
    first, second = await requests(shop)
    assert (first.status, second.status, second.reject_reason) == (
        "approved", "rejected", "customer: later")
    assert any("declined: do not do it." in text for text in tech.inbox)


def a_photo() -> bytes:
    """A real JPEG (a torn wiper blade, more or less), so the screenshots show a picture."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 420), (96, 125, 139))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 190, 600, 230), fill=(33, 33, 33))
    draw.line((300, 190, 330, 230), fill=(96, 125, 139), width=8)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return buffer.getvalue()


def test_the_settings_of_the_page() -> None:
    settings = Settings(_env_file=None,
                        public_base_url="https://shop.example.com/")
    assert settings.customer_link_url("abc") == "https://shop.example.com/c/abc"
    assert settings.serves_http and settings.customer_link_hours == 24
    for wrong in ("shop.example.com", "https://shop.example.com/bot", "ftp://x"):
        with pytest.raises(ValueError, match="public address"):
            Settings(_env_file=None, public_base_url=wrong)
