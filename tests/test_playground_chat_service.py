"""The playground's chat service against python-telegram-bot itself: a real ``Application``
polls it over HTTP (uvicorn on 127.0.0.1) while the test acts as the page (its JSON API and
event stream), so the service must answer exactly as Telegram does or PTB would refuse it."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    MenuButtonCommands,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.application import build_application
from bot.clock import FrozenClock
from bot.messenger import Messenger
from bot.playground.chat_service import ChatService
from bot.playground.entities import BadFormatting, command_entities, parse_html
from bot.services import Services
from bot.settings import Settings
from models.db import Database
from models.staff import Role, add_staff, bind_account
from tests.conftest import START
from tests.fakewecom import start_server, stop_server

TOKEN = "123456:PLAYGROUND-TOKEN"
ADVISOR = 5001
TECH = 5002
WAIT = 5.0  # seconds any one thing may take before the test fails


def png(width: int, height: int, color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


@dataclass
class Playground:
    service: ChatService
    base: str
    page: httpx.AsyncClient
    received: list[bytes] = field(default_factory=list)  # photo bytes the bot downloaded

    async def chat(self, user_id: int) -> dict[str, Any]:
        answer = await self.page.get(f"/playground/api/chats/{user_id}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def until(self, user_id: int, check: Callable[[list[dict[str, Any]]], bool]
                    ) -> list[dict[str, Any]]:
        """The chat's messages once ``check`` holds for them (fails after ``WAIT`` seconds)."""
        async with asyncio.timeout(WAIT):
            while True:
                messages = (await self.chat(user_id))["messages"]
                if check(messages):
                    return list(messages)
                await asyncio.sleep(0.01)

    async def say(self, user_id: int, text: str, **extra: Any) -> httpx.Response:
        return await self.page.post(f"/playground/api/chats/{user_id}/messages",
                                    json={"text": text, **extra})


@pytest.fixture
async def playground() -> AsyncIterator[Playground]:
    service = ChatService(TOKEN, FrozenClock(START), keep_alive_seconds=0.1)
    service.add_person(ADVISOR, "王顾问", "advisor", "zh_CN")
    service.add_person(TECH, "Li Tech", "technician", "en")
    server, task, port = await start_server(Starlette(routes=service.routes()))
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=WAIT) as page:
        yield Playground(service, base, page)
    service.close()
    await stop_server(server, task)


async def polling(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Started as ``bot.run`` starts it: initialize, post_init (the command menus), polling."""
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=timedelta(seconds=2))


async def stop(application: Application[Any, Any, Any, Any, Any, Any],
               service: ChatService) -> None:
    assert application.updater is not None
    service.close()  # the waiting getUpdates answers now
    await application.updater.stop()
    await application.stop()
    await application.shutdown()


Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def toy_bot(playground: Playground) -> Application[Any, Any, Any, Any, Any, Any]:
    """A plain bot using what the workshop bot uses: replies, HTML, a keyboard edited on a tap,
    getFile and a download, a photo, a document and an album sent back."""

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(f"echo: {update.message.text}")

    async def keyboard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(
            "Pick <b>one</b> &amp; go", parse_mode=ParseMode.HTML,
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="y"),
                                                InlineKeyboardButton("No", callback_data="n")]]))

    async def tapped(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer(f"got {query.data}")
        await query.edit_message_text(f"You picked {query.data}")

    async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        file = await update.message.photo[-1].get_file()
        data = bytes(await file.download_as_bytearray())
        playground.received.append(data)
        await update.message.reply_photo(data, caption=f"{len(data)} bytes")

    async def report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_document(InputFile(b"PK\x03\x04sheet", filename="月报.xlsx"))

    async def album(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_media_group(
            [InputMediaPhoto(png(4, 3)), InputMediaPhoto(png(2, 5, "blue"), caption="two")])

    async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        sent = await update.message.reply_text("short-lived")
        await sent.delete()

    application = (ApplicationBuilder().token(TOKEN).base_url(f"{playground.base}/bot")
                   .base_file_url(f"{playground.base}/file/bot").build())
    commands: dict[str, Handler] = {"keyboard": keyboard, "report": report, "album": album,
                                    "forget": forget}
    application.add_handlers([CommandHandler(name, act) for name, act in commands.items()])
    application.add_handler(CallbackQueryHandler(tapped))
    application.add_handler(MessageHandler(filters.PHOTO, photo))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return application


@pytest.fixture
async def toy(playground: Playground) -> AsyncIterator[Playground]:
    application = toy_bot(playground)
    await polling(application)
    yield playground
    await stop(application, playground.service)


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [message["text"] for message in messages]


async def test_text_gets_an_answer_and_the_page_sees_both(toy: Playground) -> None:
    answer = await toy.say(TECH, "hello")
    assert answer.status_code == 200
    assert answer.json()["message"]["from"] == "person"
    messages = await toy.until(TECH, lambda m: len(m) == 2)
    assert texts(messages) == ["hello", "echo: hello"]
    assert [m["from"] for m in messages] == ["person", "bot"]
    assert messages[1]["date"] == int(START.timestamp())  # the shop's clock, not the wall's
    people = (await toy.page.get("/playground/api/people")).json()["people"]
    assert {p["id"]: p["unread"] for p in people} == {ADVISOR: 0, TECH: 0}  # opened: read


async def test_a_tap_edits_the_message_in_place_and_shows_the_answer(toy: Playground) -> None:
    await toy.say(TECH, "/keyboard")
    messages = await toy.until(TECH, lambda m: len(m) == 2)
    asked = messages[1]
    assert asked["text"] == "Pick one & go"  # HTML read into entities, as Telegram stores it
    assert asked["entities"] == [{"type": "bold", "offset": 5, "length": 3}]
    assert asked["reply_markup"] == [[{"text": "Yes", "callback_data": "y"},
                                      {"text": "No", "callback_data": "n"}]]
    tap = await toy.page.post(f"/playground/api/chats/{TECH}/tap",
                              json={"message_id": asked["id"], "data": "y"})
    assert tap.status_code == 200
    messages = await toy.until(TECH, lambda m: m[1]["edited"])
    assert len(messages) == 2
    assert messages[1]["text"] == "You picked y"
    assert messages[1]["reply_markup"] is None  # an edit without a keyboard removes it
    chat = await toy.chat(TECH)
    assert chat["toast"]["text"] == "got y"
    # The keyboard is gone now: the page cannot tap it again.
    stale = await toy.page.post(f"/playground/api/chats/{TECH}/tap",
                                json={"message_id": asked["id"], "data": "y"})
    assert stale.status_code == 400 and stale.json()["error"] == "no_button"


async def test_a_photo_is_downloaded_by_the_bot_byte_for_byte(toy: Playground) -> None:
    picture = png(30, 20)
    answer = await toy.page.post(f"/playground/api/chats/{ADVISOR}/files",
                                 data={"kind": "photo", "caption": "front bumper"},
                                 files={"file": ("bumper.png", picture, "image/png")})
    assert answer.status_code == 200, answer.text
    sent = answer.json()["message"]
    assert sent["photo"]["width"] == 30 and sent["photo"]["height"] == 20
    assert sent["text"] == "front bumper"
    messages = await toy.until(ADVISOR, lambda m: len(m) == 2)
    assert toy.received == [picture]
    back = messages[1]
    assert back["text"] == f"{len(picture)} bytes"
    shown = await toy.page.get(back["photo"]["url"])
    assert shown.content == picture and shown.headers["content-type"] == "image/png"


async def test_documents_and_albums_reach_the_page(toy: Playground) -> None:
    await toy.say(ADVISOR, "/report")
    messages = await toy.until(ADVISOR, lambda m: len(m) == 2)
    document = messages[1]["document"]
    assert document["file_name"] == "月报.xlsx"
    download = await toy.page.get(document["url"])
    assert download.content == b"PK\x03\x04sheet"
    assert download.headers["content-type"] == "application/octet-stream"  # never rendered
    await toy.say(ADVISOR, "/album")
    messages = await toy.until(ADVISOR, lambda m: len(m) == 5)
    album = messages[3:]
    assert album[0]["media_group_id"] and album[0]["media_group_id"] == album[1][
        "media_group_id"]
    assert [(m["photo"]["width"], m["photo"]["height"], m["text"]) for m in album] == [
        (4, 3, ""), (2, 5, "two")]


async def test_the_event_stream_tells_every_change(toy: Playground) -> None:
    events: list[dict[str, Any]] = []
    ids: list[int] = []

    async def listen() -> None:
        async with toy.page.stream("GET", "/playground/api/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            async for line in stream.aiter_lines():
                if line.startswith("id: "):
                    ids.append(int(line[4:]))
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                    if events[-1]["type"] == "delete":
                        return

    listening = asyncio.create_task(listen())
    await asyncio.sleep(0.05)  # the stream is open
    await toy.say(TECH, "/forget")
    async with asyncio.timeout(WAIT):
        await listening
    assert [e["type"] for e in events] == ["message", "message", "delete"]
    assert events[1]["message"]["text"] == "short-lived" and events[1]["unread"] == 1
    assert events[2] == {"type": "delete", "chat": TECH, "ids": [events[1]["message"]["id"]]}
    assert ids == sorted(ids)
    # A page that reconnects after the first event catches up on the rest.
    replay: list[str] = []
    async with toy.page.stream("GET", "/playground/api/events",
                               headers={"Last-Event-ID": str(ids[0])}) as stream:
        async for line in stream.aiter_lines():
            if line.startswith("data: "):
                replay.append(json.loads(line[6:])["type"])
            if len(replay) == 2:
                break
    assert replay == ["message", "delete"]


async def test_keep_alive_comments_and_a_reset_for_a_page_away_too_long(
        playground: Playground) -> None:
    lines: list[str] = []
    async with playground.page.stream("GET", "/playground/api/events",
                                      headers={"Last-Event-ID": "999999"}) as stream:
        async for line in stream.aiter_lines():
            lines.append(line)
            if line.startswith(": keep-alive"):
                break
    assert 'data: {"type": "reset"}' in lines


async def test_hostile_input_is_answered_clearly(toy: Playground) -> None:
    page = toy.page
    answer = await toy.say(TECH, "a\x00b\x1b[31mc\u2028\r\nd\x7f")
    assert answer.json()["message"]["text"] == "ab[31mc\nd"
    await toy.until(TECH, lambda m: m[-1]["text"] == "echo: ab[31mc\nd")
    too_long = await toy.say(TECH, "x" * 5000)
    assert too_long.status_code == 400 and too_long.json()["error"] == "too_long"
    assert (await toy.say(TECH, "\x01 \x02")).json()["error"] == "empty"
    unknown = await page.post("/playground/api/chats/999/messages", json={"text": "hi"})
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_person"
    assert (await page.get("/playground/api/chats/999")).status_code == 404
    gone = await page.post(f"/playground/api/chats/{TECH}/tap",
                           json={"message_id": 9999, "data": "y"})
    assert gone.status_code == 404 and gone.json()["error"] == "no_message"
    not_image = await page.post(f"/playground/api/chats/{TECH}/files", data={"kind": "photo"},
                                files={"file": ("x.jpg", b"not a picture", "image/jpeg")})
    assert not_image.status_code == 400 and not_image.json()["error"] == "not_an_image"
    reply_to_nothing = await toy.say(TECH, "hi", reply_to=777)
    assert reply_to_nothing.status_code == 404
    assert (await page.get("/playground/api/files/nope")).status_code == 404
    assert (await page.post(f"/playground/api/chats/{TECH}/messages", content=b"{oops",
                            headers={"content-type": "application/json"})).status_code == 400


async def test_the_bot_api_answers_errors_as_telegram_does(playground: Playground) -> None:
    async def call(method: str, token: str = TOKEN, **params: Any) -> httpx.Response:
        return await playground.page.post(f"/bot{token}/{method}", data=params)

    wrong = await call("getMe", token="123456:WRONG")
    assert wrong.status_code == 401
    assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert (await call("getMe")).json()["result"]["username"] == "workshop_playground_bot"
    unknown_chat = await call("sendMessage", chat_id="42", text="hi")
    assert unknown_chat.json() == {"ok": False, "error_code": 400,
                                   "description": "Bad Request: chat not found"}
    sent = (await call("sendMessage", chat_id=str(TECH), text="hi")).json()["result"]
    same = await call("editMessageText", chat_id=str(TECH), message_id=str(sent["message_id"]),
                      text="hi")
    assert same.json()["description"].startswith("Bad Request: message is not modified")
    missing = await call("deleteMessage", chat_id=str(TECH), message_id="999")
    assert missing.json()["description"] == "Bad Request: message to delete not found"
    bad_html = await call("sendMessage", chat_id=str(TECH), text="<b>open", parse_mode="HTML")
    assert bad_html.json()["description"].startswith("Bad Request: can't parse entities")
    assert (await call("setWebhook", url="https://example.com")).json()["ok"] is False
    assert (await call("noSuchMethod")).status_code == 404
    answered = await call("answerCallbackQuery", callback_query_id="nope")
    assert "query ID is invalid" in answered.json()["description"]


async def test_the_workshop_bot_itself_answers_in_the_playground(
        playground: Playground, db: Database) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=TOKEN, telegram_api_base_url=f"{playground.base}/bot",
        database_url="sqlite://", timezone="Asia/Shanghai", default_locale="en")
    clock = FrozenClock(START)
    services = Services(settings=settings, db=db, clock=clock,
                        messenger=Messenger(settings, clock))
    async with db.session() as session:
        staff, _ = await add_staff(session, name="Wang Advisor", roles={Role.advisor},
                                   now=START, invite_ttl=timedelta(days=7), locale="en")
        await bind_account(session, staff, channel="telegram", user_key=str(ADVISOR),
                           chat_id=ADVISOR, now=START)
        await session.commit()
    application = build_application(services, rate_limiter=False, run_jobs=False)
    await polling(application)
    try:
        chat = await playground.chat(ADVISOR)
        assert "help" in {command["command"] for command in chat["menu"]}  # set in post_init
        await playground.say(ADVISOR, "/help")
        messages = await playground.until(ADVISOR, lambda m: len(m) >= 2)
        assert messages[1]["from"] == "bot"
        assert "/help" in messages[1]["text"]
    finally:
        await stop(application, playground.service)


async def test_the_page_and_its_words_are_served(playground: Playground) -> None:
    page = await playground.page.get("/playground/")
    assert page.status_code == 200 and 'data-testid="people-list"' in page.text
    script = await playground.page.get("/playground/playground.js")
    assert script.status_code == 200 and "EventSource" in script.text
    chinese = (await playground.page.get("/playground/api/strings?lang=zh_CN")).json()
    english = (await playground.page.get("/playground/api/strings?lang=en")).json()
    assert chinese["lang"] == "zh_CN" and chinese["strings"]["send"] == "发送"
    assert english["strings"]["send"] == "Send"
    assert set(chinese["strings"]) == set(english["strings"])
    people = (await playground.page.get("/playground/api/people")).json()["people"]
    assert people == [
        {"id": ADVISOR, "name": "王顾问", "roles": "advisor", "language": "zh_CN",
         "channel": "telegram", "unread": 0},
        {"id": TECH, "name": "Li Tech", "roles": "technician", "language": "en",
         "channel": "telegram", "unread": 0}]


def test_html_becomes_entities_counted_in_utf16_as_telegram_counts() -> None:
    text, entities = parse_html(
        '🚗 <b>沪A <i>123</i></b> <a href="https://x.cn">map</a> &lt;ok&gt;')
    assert text == "🚗 沪A 123 map <ok>"
    assert entities == [{"type": "bold", "offset": 3, "length": 6},
                        {"type": "italic", "offset": 6, "length": 3},
                        {"type": "text_link", "url": "https://x.cn", "offset": 10, "length": 3}]
    for bad in ("<b>open", "<br>", "<b><i>x</b></i>", "<span>x</span>"):
        with pytest.raises(BadFormatting):
            parse_html(bad)
    assert command_entities("/start@workshop_playground_bot abc") == [
        {"type": "bot_command", "offset": 0, "length": 30}]
    assert command_entities("hello /start") == []


async def test_python_telegram_bot_accepts_every_answer(playground: Playground) -> None:
    """The methods the workshop bot calls, through PTB's own ``Bot``: each answer must parse."""
    async with Bot(TOKEN, base_url=f"{playground.base}/bot",
                   base_file_url=f"{playground.base}/file/bot") as bot:
        photo = await bot.send_photo(TECH, png(8, 6), caption="<i>before</i>", parse_mode="HTML")
        assert photo.caption == "before" and photo.photo[-1].width == 8
        edited = await bot.edit_message_caption(TECH, photo.message_id, caption="after")
        assert not isinstance(edited, bool) and edited.caption == "after"
        keyed = await bot.edit_message_reply_markup(
            TECH, photo.message_id,
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="k")]]))
        assert not isinstance(keyed, bool) and keyed.reply_markup is not None
        voice = await bot.send_voice(TECH, InputFile(b"OggS-voice", filename="note.ogg"),
                                     duration=3, reply_parameters=ReplyParameters(
                                         photo.message_id))
        assert voice.voice is not None and voice.voice.file_size == len(b"OggS-voice")
        assert voice.reply_to_message is not None
        again = await bot.send_media_group(TECH, [InputMediaPhoto(photo.photo[-1].file_id),
                                                  InputMediaPhoto(png(3, 3))])
        assert len({m.media_group_id for m in again}) == 1 and again[0].media_group_id
        file = await bot.get_file(voice.voice.file_id)
        assert bytes(await file.download_as_bytearray()) == b"OggS-voice"
        assert await bot.delete_messages(TECH, [m.message_id for m in again])
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("x", TECH, again[0].message_id)
        with pytest.raises(BadRequest, match="There is no text in the message"):
            await bot.edit_message_text("x", TECH, photo.message_id)
        scope = BotCommandScopeChat(TECH)
        assert await bot.set_my_commands([BotCommand("help", "Help")], scope=scope)
        assert [c.command for c in await bot.get_my_commands(scope=scope)] == ["help"]
        assert (await playground.chat(TECH))["menu"] == [
            {"command": "help", "description": "Help"}]
        assert await bot.delete_my_commands(scope=scope)
        assert await bot.get_my_commands(scope=scope) == ()
        assert await bot.set_chat_menu_button(TECH, MenuButtonCommands())
        assert isinstance(await bot.get_chat_menu_button(TECH), MenuButtonCommands)
        assert (await bot.get_chat(TECH)).first_name == "Li Tech"
        assert await bot.send_chat_action(TECH, "typing")
        assert await bot.set_my_description("d") and await bot.set_my_short_description("s")


async def test_close_ends_the_event_streams_and_the_waiting_long_poll(
        playground: Playground) -> None:
    """So the server stops at once: nothing waits out a 50-second poll or an open page."""
    polling_call = asyncio.create_task(playground.page.post(
        f"/bot{TOKEN}/getUpdates", data={"timeout": "50"}, timeout=60))
    lines: list[str] = []

    async def listen() -> None:
        async with playground.page.stream("GET", "/playground/api/events") as stream:
            async for line in stream.aiter_lines():
                lines.append(line)

    listening = asyncio.create_task(listen())
    await asyncio.sleep(0.05)
    playground.service.close()
    async with asyncio.timeout(WAIT):
        await listening
        answer = await polling_call
    assert answer.json() == {"ok": True, "result": []}
    assert lines[0] == "retry: 2000"
