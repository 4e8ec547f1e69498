"""Voice notes wherever a step takes free text (issue 11): a technician with greasy hands
answers the fault description, an extra item's reason, a rework reason or call notes with a voice
note. It is kept with the record (an ``Attachment`` of kind "voice" with its length), the record's
text says "🎤 0:12", and the note goes with the card to whoever reads that text: by its file id on
the channel it came in on, converted on the other (WeCom plays AMR only, Telegram records
OGG/Opus; ``bot.voice`` converts with ffmpeg and libopencore-amrnb from Debian). Outside a step a
voice note gets the pointer any message gets.

The shop runs both channels in one process, as ``run`` does: people on WeCom talk through signed
encrypted callbacks, people on Telegram through the fake Bot API.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select
from telegram import Update

from bot import voice
from bot.application import build_application
from bot.settings import Settings
from models.attachment import VOICE, Attachment, voice_marker
from models.call_log import CallLog, Topic
from models.extra_item import ExtraItemRequest
from models.fault_report import FaultReport
from models.qc import QcCheck
from models.staff import Role, Staff, add_staff, bind_account
from tests.conftest import START
from tests.fakebotapi import FakeBotApi
from tests.flows import customer_visit, order_in_progress, self_check
from tests.shop import Person
from tests.wecom_shop import WeComPerson, WeComShop

_update_ids = itertools.count(900_000)
_user_ids = itertools.count(990_001)
AMR_12S = voice.AMR_MAGIC + (b"\x3c" + b"\x00" * 31) * 600  # 600 frames of 20 ms, 12.2 kbit/s
AMR_7S = voice.AMR_MAGIC + (b"\x3c" + b"\x00" * 31) * 350


def ogg_voice(seconds: int) -> bytes:
    """A voice note as Telegram records it (OGG/Opus), or stand-in bytes without ffmpeg."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return voice.OGG_MAGIC + b"\x00" * 64
    return subprocess.run(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "lavfi",
         "-i", f"sine=frequency=440:duration={seconds}", "-ac", "1", "-c:a", "libopus",
         "-f", "ogg", "pipe:1"], check=True, capture_output=True).stdout


class TelegramSide:
    """The Telegram application of the shop, with people of its own (``tests.shop.Person``
    needs only ``api``, ``process``, ``db`` and ``now`` of its shop)."""

    channel = "telegram"

    def __init__(self, shop: WeComShop, app: Any, api: FakeBotApi) -> None:
        self.shop, self.app, self.api = shop, app, api
        self.db = shop.db

    def now(self) -> Any:
        return self.shop.now()

    async def process(self, data: dict[str, Any]) -> None:
        update = Update.de_json({"update_id": next(_update_ids), **data}, self.app.bot)
        await self.app.process_update(update)

    async def hire(self, name: str, *roles: Role) -> Person:
        async with self.db.session() as session:
            staff, invite = await add_staff(
                session, name=name, roles=set(roles), now=self.now(),
                invite_ttl=timedelta(days=7), locale="en")
            person = Person(self, next(_user_ids), name, staff.id,  # type: ignore[arg-type]
                            invite.code)
            await bind_account(session, staff, channel="telegram",
                               user_key=str(person.user_id), chat_id=person.user_id,
                               now=self.now())
            await session.commit()
        return person


@pytest.fixture
async def shop(db: Any, settings: Settings) -> AsyncIterator[WeComShop]:
    shop = WeComShop(db, settings.model_copy(update={"default_locale": "en"}), START)
    await shop.start()
    api = FakeBotApi()
    app = build_application(shop.services, request=api, rate_limiter=False, run_jobs=False,
                            token=settings.telegram_bot_token)

    async def record(update: object, context: Any) -> None:
        shop.errors.append(context.error)

    app.add_error_handler(record)
    await app.initialize()
    shop.telegram = TelegramSide(shop, app, api)  # type: ignore[attr-defined]
    yield shop
    await app.shutdown()
    await shop.stop()
    assert shop.errors == []


def telegram(shop: WeComShop) -> TelegramSide:
    return shop.telegram  # type: ignore[attr-defined, no-any-return]


def wecom_sent(shop: WeComShop, person: WeComPerson, msgtype: str) -> list[dict[str, Any]]:
    return [body for body in shop.fake.sent(person.userid) if body["msgtype"] == msgtype]


async def voices(shop: WeComShop, owner: str) -> list[Attachment]:
    async with shop.db.session() as session:
        return list((await session.exec(
            select(Attachment).where(Attachment.owner == owner, Attachment.kind == VOICE)
            .order_by(col(Attachment.id)))).all())


def test_the_marker_and_the_length_of_an_amr_note() -> None:
    assert voice_marker(12) == "🎤 0:12"
    assert voice_marker(75) == "🎤 1:15"
    assert voice_marker(0) == "🎤"
    assert voice.amr_seconds(AMR_12S) == 12
    assert voice.amr_seconds(b"OggS...") == 0
    assert voice.format_of(AMR_12S) == "amr" and voice.format_of(ogg_voice(1)) == "ogg"


async def test_a_telegram_voice_note_describes_a_fault_for_a_wecom_advisor(
    shop: WeComShop,
) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await telegram(shop).hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)  # type: ignore[arg-type]
    await tech.tap(data=f"ord:{order_id}:fault")
    replies = await tech.send_voice("tg-voice-1", 12, ogg_voice(12))
    assert replies and replies[-1].startswith("Now send photos of the fault")
    await tech.tap("Done — send")

    async with shop.db.session() as session:
        report = (await session.exec(select(FaultReport))).one()
    assert report.description == "🎤 0:12"
    [kept] = await voices(shop, "fault_report")
    assert (kept.channel, kept.file_id, kept.duration) == ("telegram", "tg-voice-1", 12)

    assert "🎤 0:12" in advisor.last.text and advisor.last.text.startswith("🔧 Unlisted fault")
    assert any("Acknowledge" in label for label, _ in advisor.last.buttons)
    [download] = [c for c in telegram(shop).api.calls if c.method == "download"]
    assert download.params["file_id"] == "tg-voice-1"
    if voice.can_convert("amr"):  # WeCom plays AMR only: converted, uploaded as a voice
        [sent] = wecom_sent(shop, advisor, "voice")
        [upload] = [r for r in shop.fake.calls("media/upload")
                    if r.answer["media_id"] == sent["voice"]["media_id"]]
        assert upload.body["type"] == "voice" and upload.body["data"].startswith(b"#!AMR\n")
        assert 11 <= voice.amr_seconds(upload.body["data"]) <= 13
        assert "could not be converted" not in advisor.last.text
    else:  # no ffmpeg here: the recording goes as a file, and the card says so
        [sent] = wecom_sent(shop, advisor, "file")
        assert "🎤 1 voice note could not be converted; it was sent as a file." in \
            advisor.last.text
    # the voice went before the card, so the card (with its buttons) is the newest message
    bodies = shop.fake.sent(advisor.userid)
    assert bodies.index(sent) < len(bodies) - 1


async def test_a_wecom_voice_note_reaches_a_telegram_advisor_as_a_voice(
    shop: WeComShop,
) -> None:
    advisor = await telegram(shop).hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)  # type: ignore[arg-type]
    await tech.tap(data=f"ord:{order_id}:fault")
    replies = await tech.send_voice("wx-voice-1", AMR_12S)
    assert replies[-1].startswith("Now send photos of the fault")
    await tech.tap("Done — send")

    [kept] = await voices(shop, "fault_report")  # WeCom does not say how long: the frames do
    assert (kept.channel, kept.file_id, kept.duration) == ("wecom", "wx-voice-1", 12)
    api = telegram(shop).api
    card = api.last_message(advisor.user_id)
    assert card.text.startswith("🔧 Unlisted fault") and "🎤 0:12" in card.text
    if voice.can_convert("ogg"):
        [sent] = api.sent_to(advisor.user_id, "sendVoice")
        name, data, _mime = sent.files["voice"]
        assert data.startswith(b"OggS") and name.endswith(".ogg")
        assert int(sent.params["duration"]) == 12
        # Shown again (an escalation, say): Telegram's own file id now, nothing converted.
        async with shop.db.session() as session:
            staff = await session.get(Staff, advisor.staff_id)
            assert staff is not None
            render: Any = lambda _: ("again", None)  # noqa: E731
            await shop.services.messenger.send(session, staff, render, photos=[kept])
            await session.commit()
        again = api.sent_to(advisor.user_id, "sendVoice")[-1]
        assert again.files == {} and again.params["voice"] == "upload:" + name
    else:
        [sent] = api.sent_to(advisor.user_id, "sendDocument")
        assert "could not be converted" in card.text
    calls = [c.method for c in api.sent_to(advisor.user_id)]
    assert calls.index(sent.method) < len(calls) - 1  # before the card


async def test_the_same_channel_sends_the_voice_by_its_id_and_an_extra_items_reason_takes_one(
    shop: WeComShop,
) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    await tech.tap(data=f"ord:{order_id}:extra")
    await tech.send("Replace wiper blades")
    replies = await tech.send_voice("wx-voice-2", AMR_7S)
    assert replies[-1] == "Send photos of it if you can. No photos? Tap Skip."
    await tech.tap("Skip")
    await tech.tap("Skip")

    async with shop.db.session() as session:
        request = (await session.exec(select(ExtraItemRequest))).one()
    assert request.reason == "🎤 0:07"
    [kept] = await voices(shop, "extra_item")
    assert kept.duration == 7
    [sent] = wecom_sent(shop, advisor, "voice")
    assert sent["voice"]["media_id"] == "wx-voice-2"  # WeCom's own id: nothing converted
    assert not shop.fake.calls("media/upload")
    assert "🎤 0:07" in advisor.last.text and "Replace wiper blades" in advisor.last.text


async def test_a_w2_note_can_be_a_voice_note(shop: WeComShop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)
    await tech.tap(data=f"ord:{order_id}:flag")
    assert await tech.send_voice("wx-voice-4", AMR_7S) == ["Sent to the advisor."]
    [kept] = await voices(shop, "order_note")
    assert kept.duration == 7
    [sent] = wecom_sent(shop, advisor, "voice")
    assert sent["voice"]["media_id"] == "wx-voice-4"
    assert "says the listed items don't match the fault:\n🎤 0:07" in advisor.last.text


async def test_a_rework_reason_can_be_a_voice_note(shop: WeComShop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await telegram(shop).hire("Zhang Tech", Role.technician)
    leader = await shop.hire("Wang Leader", Role.team_leader)
    await shop.hire("Zhao Inspector", Role.inspector)
    order_id = await order_in_progress(shop, advisor, tech)  # type: ignore[arg-type]
    await tech.tap("Done: 1.")
    await tech.tap("Done: 2.")
    await self_check(tech, order_id)

    await leader.tap("🔁 Rework")
    await leader.tap("2. Replace filter")
    replies = await leader.send_voice("wx-voice-3", AMR_7S)
    assert replies[-1].endswith("went back to Zhang Tech for rework.")
    async with shop.db.session() as session:
        check = (await session.exec(select(QcCheck))).first()
    assert check is not None and check.reason == "🎤 0:07"
    api = telegram(shop).api
    told = [t for t in api.texts_to(tech.user_id) if "back for rework" in t]
    assert told and "🎤 0:07" in told[-1]
    sent = api.sent_to(tech.user_id, "sendVoice") + api.sent_to(tech.user_id, "sendDocument")
    assert len(sent) == 1  # the note itself, to the one who reads the reason


async def test_call_notes_can_be_a_voice_note(shop: WeComShop) -> None:
    clerk = await telegram(shop).hire("Sun Clerk", Role.tracking_clerk)
    await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]
    await clerk.send("/logcall 13812345678")
    await clerk.tap(data=f"cl:topic:{next(iter(Topic)).value}")
    await clerk.tap(data="cl:topics:done")
    assert (await clerk.tap(data="cl:sat:5"))[-1].startswith("What did the customer say?")
    replies = await clerk.send_voice("tg-voice-9", 9, ogg_voice(9))
    assert replies == ["Noted (1 message). Send more, or tap Done."]
    await clerk.tap(data="cl:notes:done")
    await clerk.tap(data="cl:req:no")
    async with shop.db.session() as session:
        call = (await session.exec(select(CallLog))).one()
    assert call.notes == "🎤 0:09"
    [kept] = await voices(shop, "call_log")
    assert kept.owner_id == call.id and kept.duration == 9


async def test_a_voice_note_outside_a_step_gets_the_pointer(shop: WeComShop) -> None:
    nothing = "Nothing is waiting for you right now — /help shows what you can do."
    on_telegram = await telegram(shop).hire("Zhang Tech", Role.technician)
    assert await on_telegram.send_voice("tg-voice-5", 3) == [nothing]
    assert await on_telegram.send("hello") == [nothing]  # the same as plain text
    on_wecom = await shop.hire("Li Tech", Role.technician)
    assert await on_wecom.send_voice("wx-voice-5", AMR_7S) == [nothing]
    assert await voices(shop, "fault_report") == []  # nothing kept


async def test_without_ffmpeg_the_note_goes_as_a_file_and_the_card_says_so(
    shop: WeComShop, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(voice, "ffmpeg", lambda: None)  # as on a machine without ffmpeg
    assert not voice.can_convert("amr") and not voice.can_convert("ogg")
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await telegram(shop).hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)  # type: ignore[arg-type]
    await tech.tap(data=f"ord:{order_id}:fault")
    await tech.send_voice("tg-voice-7", 5, voice.OGG_MAGIC + b"\x00" * 64)
    await tech.tap("Done — send")

    assert wecom_sent(shop, advisor, "voice") == []  # WeCom would refuse it as a voice
    [sent] = wecom_sent(shop, advisor, "file")
    name, data, _mime = shop.fake.uploads[sent["file"]["media_id"]]
    assert name.endswith(".ogg") and data.startswith(b"OggS")
    assert advisor.last.text.startswith("🔧 Unlisted fault") and "🎤 0:05" in advisor.last.text
    assert advisor.last.text.endswith(
        "🎤 1 voice note could not be converted; it was sent as a file.")
    assert any("Acknowledge" in label for label, _ in advisor.last.buttons)


async def test_a_note_longer_than_wecom_plays_goes_to_wecom_as_a_file(shop: WeComShop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await telegram(shop).hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, advisor, tech)  # type: ignore[arg-type]
    await tech.tap(data=f"ord:{order_id}:fault")
    await tech.send_voice("tg-voice-8", 75, voice.OGG_MAGIC + b"\x00" * 64)
    await tech.tap("Done — send")
    assert wecom_sent(shop, advisor, "voice") == []  # WeCom plays at most 60 s
    assert len(wecom_sent(shop, advisor, "file")) == 1
    assert "🎤 1:15" in advisor.last.text and "sent as a file" in advisor.last.text
