"""Send to a staff member on whichever channel(s) they are bound on, and update sent cards.

Callers pass a ``render`` function so every recipient reads the message in their own language.
A message the platform refuses for now (``RetryAfter`` after the rate limiter's own retries,
the API unreachable) is kept in the outbox (``models.outbox``) and sent later by
``jobs/outbox``; until then, later messages to that chat queue behind it. The outbox row is
written behind (``bot.write_behind``): the caller may hold a write transaction while it sends,
and may not commit after sending at all. Photos
go out by the file id of the recipient's channel, or are uploaded again from their bytes
(``models.attachment``: WeCom photos to Telegram and back, WeCom ids older than three days).
A photo the platform refuses for good (a file id from another bot, bytes it rejects: 400 Bad
Request) or whose bytes are gone never holds the card back: the card goes out and says how many
photos could not be shown (``not_shown_note``); the photos stay on the record. Voice notes
travel with the photos (after them): by file id, or converted to the recipient's channel's voice
format (``bot.voice``); one that cannot be converted here goes as a file, and the card says so.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot, InlineKeyboardMarkup, InputMediaPhoto, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.i18n import N_, Translator
from bot.voice import FORMATS as VOICE_FORMATS
from bot.voice import LONGEST as VOICE_LONGEST
from bot.voice import convert as convert_voice
from bot.voice import format_of as voice_format_of
from bot.write_behind import WriteBehind
from models import outbox
from models.attachment import (
    VOICE,
    Attachment,
    attachments_by_id,
    content_of,
    file_id_for,
    keep_content,
    keep_copy,
    sources,
)
from models.card import CardMessage, cards_of, remember_card
from models.db import Database, clean_text, id_of
from models.staff import (
    ChatAccount,
    Role,
    Staff,
    accounts_of,
    active_with_role,
    lose_contact,
    reachable,
)

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.settings import Settings

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096
Rendered = tuple[str, InlineKeyboardMarkup | None]
Render = Callable[[Translator], Rendered]


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    """Keep a message inside Telegram's limit (the full text stays in the database) and free
    of the control characters the database drops too (what was typed may still hold them)."""
    text = clean_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def retry_seconds(exc: Exception) -> float | None:
    """The wait a ``RetryAfter`` asks for, in seconds (PTB is moving it to a timedelta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = getattr(exc, "retry_after", None)
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value) if value else None


# Refused for now: keep the message and try later. BadRequest is a NetworkError in PTB, so
# callers catch (Forbidden, BadRequest) first: those never get better by waiting.
LATER = (RetryAfter, NetworkError)


class Undeliverable(Exception):
    """A kept message that can never go out (the chat is gone, the bot blocked)."""


# Channels whose albums the platform takes or refuses as a whole (a Telegram media group). On
# the others (WeCom has no albums: its transport sends the pictures one by one) photos go one at
# a time, so a refused picture is told apart from the ones already sent and none goes twice.
ALBUM_CHANNELS = frozenset({"telegram"})
ALBUM_SIZE = 10
CHAT_GONE = "chat not found"  # a Bad Request about the chat, not the photo: the card fails too


@dataclass
class PhotoOutcome:
    """What became of a message's photos so far: shown, or not shown (refused for good by the
    platform, or their bytes gone). The rest are still to send (a ``LATER`` error stopped it)."""

    shown: list[int] = field(default_factory=list)
    not_shown: list[int] = field(default_factory=list)
    unconverted: list[int] = field(default_factory=list)  # voice notes sent as a file

    def left(self, photo_ids: Sequence[int]) -> list[int]:
        done = {*self.shown, *self.not_shown}
        return [photo_id for photo_id in photo_ids if photo_id not in done]


def not_shown_note(_: Translator, count: int) -> str:
    """The line a card carries for the photos that could not be shown with it ("" for none)."""
    if count <= 0:
        return ""
    return _.ngettext("⚠️ {n} photo could not be shown here; it is kept with the record.",
                      "⚠️ {n} photos could not be shown here; they are kept with the record.",
                      count).format(n=count)


CHANNEL_NAMES = {"telegram": "Telegram", "wecom": N_("WeCom")}


def unreachable_notice(_: Translator, staff: Staff, channel: str, others: Sequence[str]) -> str:
    """To the supervisors, once: a person the platform refuses (blocked the bot, left the WeCom
    app's visible range), and where their messages go now."""
    where = _(CHANNEL_NAMES.get(channel, channel))
    text = _("⚠️ {name} cannot be reached on {channel}: they blocked the bot or are outside "
             "the app's visible range.").format(name=staff.name, channel=where)
    if others:
        return text + "\n" + _("Their messages go to {channels} until they write to the bot "
                               "on {channel} again.").format(
            channels=", ".join(_(CHANNEL_NAMES.get(c, c)) for c in others), channel=where)
    return text + "\n" + _("Nothing reaches them now: their customers' follow-up reminders go to "
                           "the supervisors until they write to the bot again. Please ask them "
                           "to unblock the bot or to be added back to the app's visible range.")


def _notice(_: Translator, *, staff: Staff, channel: str, others: Sequence[str]) -> Rendered:
    return unreachable_notice(_, staff, channel, others), None


def unconverted_note(_: Translator, count: int) -> str:
    """The line a card carries for voice notes that went with it as a file ("" for none)."""
    if count <= 0:
        return ""
    return _.ngettext("🎤 {n} voice note could not be converted; it was sent as a file.",
                      "🎤 {n} voice notes could not be converted; they were sent as files.",
                      count).format(n=count)


def outcome_note(_: Translator, outcome: PhotoOutcome, earlier_not_shown: int = 0) -> str:
    """The lines a card carries for what became of its photos and voice notes."""
    return "\n".join(line for line in (
        not_shown_note(_, earlier_not_shown + len(outcome.not_shown)),
        unconverted_note(_, len(outcome.unconverted))) if line)


def with_note(text: str, note: str) -> str:
    """``text`` clipped to the platform's limit with ``note`` (if any) kept whole at its end."""
    if not note:
        return clip(text)
    return clip(text, TEXT_LIMIT - len(note) - 2) + "\n\n" + note


class Messenger:
    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock  # the shop's clock: a kept message's times come from it, never the wall
        self._bots: dict[str, Bot] = {}
        # Chats with messages in the outbox: later messages wait behind them (keeps order);
        # likewise messages with an edit in the outbox: a later edit must not be overtaken.
        self.backlog: set[tuple[str, int]] = set()
        self.held_edits: set[tuple[str, int, int]] = set()
        self.db: Database | None = None  # set by ``Services``: where kept messages are written
        self._writer: WriteBehind[outbox.OutboxMessage] = WriteBehind(_add_all, "outbox")
        # Chats the platform refused for good (Forbidden), until the mark is in the database.
        self._losing: set[tuple[str, int]] = set()
        self._lost: WriteBehind[tuple[str, int, datetime]] = WriteBehind(
            self._mark_lost, "unreachable accounts")

    def register(self, channel: str, bot: Bot) -> None:
        self._bots[channel] = bot

    def bot(self, channel: str) -> Bot | None:
        return self._bots.get(channel)

    def translator(self, staff: Staff) -> Translator:
        return Translator(staff.locale or self.settings.default_locale, self.settings.tz,
                          self.clock.now())

    async def send(
        self,
        session: AsyncSession,
        staff: Staff,
        render: Render,
        *,
        card: tuple[str, int] | None = None,
        photos: Sequence[Attachment] = (),
        now: datetime | None = None,
    ) -> int:
        """Send to every bound account of ``staff``; returns how many chats got it (or will:
        a message kept in the outbox counts)."""
        now = now or self.clock.now()
        text, markup = render(self.translator(staff))
        delivered = 0
        for account in self.recipients(staff, await accounts_of(session, id_of(staff))):
            bot = self._bots[account.channel]
            payload: dict[str, Any] = {
                "text": text, "markup": markup.to_dict() if markup else None,
                "card": list(card) if card else None,
                "photos": [p.id for p in photos if p.id is not None],
            }
            if (account.channel, account.chat_id) in self.backlog:
                self.keep(account, staff, "message", payload, now,
                          error="behind earlier messages")
                delivered += 1
                continue
            outcome = PhotoOutcome()
            try:
                await self._send_photos(session, bot, account.channel, account.chat_id, photos,
                                        now, outcome)
                note = outcome_note(self.translator(staff), outcome)
                message = await bot.send_message(
                    account.chat_id, with_note(text, note), reply_markup=markup
                )
            except Forbidden as exc:
                await self.lost_contact(account.channel, account.chat_id, now, exc)
                continue
            except BadRequest as exc:
                log.warning("cannot reach staff %s on %s: %s", staff.id, account.channel, exc)
                continue
            except LATER as exc:
                payload["photos"] = outcome.left(payload["photos"])
                if outcome.not_shown:
                    payload["photos_not_shown"] = len(outcome.not_shown)
                self.keep(account, staff, "message", payload, now, error=str(exc),
                          retry_after=retry_seconds(exc))
                delivered += 1
                continue
            except TelegramError:
                log.exception("sending to staff %s on %s failed", staff.id, account.channel)
                continue
            delivered += 1
            if card is not None:
                self._remember_card(session, card, id_of(staff), account.channel,
                                    account.chat_id, message, now)
        return delivered

    async def send_file(
        self,
        session: AsyncSession,
        staff: Staff,
        data: bytes,
        filename: str,
        *,
        photo: bool = False,
        caption: str | None = None,
        now: datetime | None = None,
    ) -> int:
        """A generated file (a report's chart or spreadsheet) to every bound account of
        ``staff``, as a photo or a document; returns how many chats got it (or will)."""
        now = now or self.clock.now()
        delivered = 0
        payload = {"filename": filename, "photo": photo, "caption": caption}
        for account in self.recipients(staff, await accounts_of(session, id_of(staff))):
            bot = self._bots[account.channel]
            if (account.channel, account.chat_id) in self.backlog:
                self.keep(account, staff, "file", payload, now, data=data,
                          error="behind earlier messages")
                delivered += 1
                continue
            try:
                await self._send_file(bot, account.chat_id, data, payload)
            except Forbidden as exc:
                await self.lost_contact(account.channel, account.chat_id, now, exc)
                continue
            except BadRequest as exc:
                log.warning("cannot reach staff %s on %s: %s", staff.id, account.channel, exc)
                continue
            except LATER as exc:
                self.keep(account, staff, "file", payload, now, data=data,
                          error=str(exc), retry_after=retry_seconds(exc))
                delivered += 1
                continue
            except TelegramError:
                log.exception("sending a file to staff %s on %s failed", staff.id,
                              account.channel)
                continue
            delivered += 1
        return delivered

    @staticmethod
    async def _send_file(bot: Bot, chat_id: int, data: bytes, payload: dict[str, Any]) -> None:
        if payload.get("photo"):
            await bot.send_photo(chat_id, data, filename=payload["filename"],
                                 caption=payload.get("caption"))
        else:
            await bot.send_document(chat_id, data, filename=payload["filename"],
                                    caption=payload.get("caption"))

    def recipients(self, staff: Staff, accounts: Sequence[ChatAccount]) -> list[ChatAccount]:
        """The accounts a notification goes to: every bound one this process can reach, or
        with ``NOTIFY_CHANNELS=preferred`` only the one on the channel the person wrote on
        last (all of them while they have not written yet)."""
        running = [a for a in reachable(list(accounts)) if a.channel in self._bots
                   and (a.channel, a.chat_id) not in self._losing]
        if self.settings.notify_channels == "preferred" and staff.last_channel:
            preferred = [a for a in running if a.channel == staff.last_channel]
            return preferred or running
        return running

    async def lost_contact(self, channel: str, chat_id: int, now: datetime,
                           exc: Exception) -> None:
        """The platform answered Forbidden for this chat: nothing more is sent there; its
        account is marked unreachable (written behind: the caller may hold a write transaction)
        and the supervisors are told once, with where the person's messages go now. The mark is
        cleared when the person writes to the bot again (``models.staff.seen_on``)."""
        log.warning("cannot reach %s chat %s: %s", channel, chat_id, exc)
        self._losing.add((channel, chat_id))
        self._lost.db = self.db
        self._lost.put((channel, chat_id, now))

    async def _mark_lost(self, session: AsyncSession,
                         batch: list[tuple[str, int, datetime]]) -> None:
        news: list[tuple[Staff, str, datetime]] = []
        for channel, chat_id, now in batch:
            lost = await lose_contact(session, channel, chat_id, now=now)
            if lost is not None:
                news.append((lost[0], channel, now))
        await session.commit()
        for channel, chat_id, _now in batch:
            self._losing.discard((channel, chat_id))
        for staff, channel, now in news:
            others = sorted({a.channel for a in self.recipients(
                staff, await accounts_of(session, id_of(staff)))})
            for supervisor in await active_with_role(session, Role.supervisor):
                if supervisor.id == staff.id:
                    continue
                await self.send(session, supervisor, partial(
                    _notice, staff=staff, channel=channel, others=others), now=now)

    # --- the outbox ------------------------------------------------------------------------------
    def keep(self, account: ChatAccount, staff: Staff, kind: str, payload: dict[str, Any],
             now: datetime, *, data: bytes | None = None, error: str,
             retry_after: float | None = None) -> None:
        """Keep a message for ``jobs/outbox``."""
        log.warning("message to staff %s on %s kept for later: %s", staff.id, account.channel,
                    error)
        self._write(outbox.new_message(
            channel=account.channel, chat_id=account.chat_id, staff_id=staff.id, kind=kind,
            payload=payload, now=now, data=data, error=error, retry_after=retry_after))
        self.backlog.add((account.channel, account.chat_id))

    def _write(self, message: outbox.OutboxMessage) -> None:
        self._writer.db = self.db
        self._writer.put(message)

    async def flush(self) -> None:
        """Write the kept messages still in memory (before the outbox job reads; at stop)."""
        self._writer.db = self.db
        self._lost.db = self.db
        await self._lost.flush()
        await self._writer.flush()

    def keeping(self, channel: str, chat_id: int) -> bool:
        """Whether a kept message for this chat is still on its way to the database."""
        return any(m.channel == channel and m.chat_id == chat_id for m in self._writer.pending)

    async def send_kept(self, session: AsyncSession, kept: outbox.OutboxMessage,
                        now: datetime) -> None:
        """Send one kept ``message``, ``file`` or ``edit`` (``wecom`` ones are the WeCom
        transport's). Raises ``Undeliverable`` for good, a ``LATER`` error to try again."""
        bot = self._bots.get(kept.channel)
        if bot is None:
            raise NetworkError(f"the {kept.channel} channel is not running in this process")
        payload = kept.payload
        try:
            if kept.kind == "edit":
                await self._edit(bot, kept.chat_id, int(payload["message_id"]),
                                 payload["text"], _markup(payload.get("markup"), bot))
                return
            if kept.kind == "file":
                await self._send_file(bot, kept.chat_id, kept.data or b"", payload)
                return
            photo_ids = list(payload.get("photos") or [])
            photos = await attachments_by_id(session, photo_ids)
            outcome = PhotoOutcome()
            try:
                await self._send_photos(session, bot, kept.channel, kept.chat_id, photos, now,
                                        outcome)
            finally:
                if outcome.shown or outcome.not_shown:  # a retry must not send them again
                    await outbox.photos_sent(
                        session, kept, left=outcome.left(photo_ids),
                        not_shown=int(payload.get("photos_not_shown") or 0)
                        + len(outcome.not_shown))
            not_shown = int(kept.payload.get("photos_not_shown") or 0)
            note = outcome_note(await self._kept_translator(session, kept), outcome,
                                not_shown - len(outcome.not_shown)) \
                if not_shown or outcome.unconverted else ""
            message = await bot.send_message(kept.chat_id, with_note(payload["text"], note),
                                             reply_markup=_markup(payload.get("markup"), bot))
        except Forbidden as exc:
            await self.lost_contact(kept.channel, kept.chat_id, now, exc)
            raise Undeliverable(str(exc)) from exc
        except BadRequest as exc:
            raise Undeliverable(str(exc)) from exc
        card = payload.get("card")
        if card and kept.staff_id is not None:
            self._remember_card(session, (card[0], int(card[1])), kept.staff_id, kept.channel,
                                kept.chat_id, message, now)

    async def _kept_translator(self, session: AsyncSession, kept: outbox.OutboxMessage
                               ) -> Translator:
        staff = await session.get(Staff, kept.staff_id) if kept.staff_id is not None else None
        return self.translator(staff) if staff is not None else \
            Translator(self.settings.default_locale, self.settings.tz, self.clock.now())

    def remember(self, session: AsyncSession, card: tuple[str, int], staff_id: int,
                 channel: str, message: Message, now: datetime | None = None) -> None:
        """Remember a message the handler itself sent or edited (a reply turned into a card)
        as a copy of ``card``, so later changes edit it too."""
        self._remember_card(session, card, staff_id, channel, message.chat_id, message,
                            now or self.clock.now())

    @staticmethod
    def _remember_card(session: AsyncSession, card: tuple[str, int], staff_id: int,
                       channel: str, chat_id: int, message: Message, now: datetime) -> None:
        remember_card(session, CardMessage(kind=card[0], ref_id=card[1], staff_id=staff_id,
                                           channel=channel, chat_id=chat_id,
                                           message_id=message.message_id, sent_at=now))

    # --- photos ----------------------------------------------------------------------------------
    async def show_photos(self, session: AsyncSession, channel: str, chat_id: int,
                          photos: Sequence[Attachment], now: datetime) -> int:
        """Show stored photos in a chat (a clerk looking at a request), from any channel;
        returns how many could not be shown (for ``not_shown_note``)."""
        bot = self._bots.get(channel)
        if bot is None:
            return 0
        outcome = await self._send_photos(session, bot, channel, chat_id, photos, now)
        return len(outcome.not_shown)

    async def _send_photos(
        self, session: AsyncSession, bot: Bot, channel: str, chat_id: int,
        photos: Sequence[Attachment], now: datetime, outcome: PhotoOutcome | None = None,
    ) -> PhotoOutcome:
        """Photos in albums of ten (one at a time outside ``ALBUM_CHANNELS``): by file id where
        the channel knows one, else uploaded from their bytes (and the new file id kept for
        next time). A photo the platform refuses for good (Bad Request), or whose bytes cannot
        be had any more, is left out with a log line and counted in ``outcome.not_shown``: the
        message itself still goes. A refused album is sent again one photo at a time, so only
        the bad ones are left out. ``Forbidden`` and ``LATER`` errors are raised; ``outcome``
        (filled as it goes) then says which photos went."""
        outcome = outcome if outcome is not None else PhotoOutcome()
        voices = [photo for photo in photos if photo.kind == VOICE]
        photos = [photo for photo in photos if photo.kind != VOICE]
        ready: list[tuple[Attachment, str | bytes]] = []
        for photo in photos:
            assert photo.id is not None
            file_id = await file_id_for(session, photo, channel, now)
            if file_id is not None:
                ready.append((photo, file_id))
                continue
            data = await self.photo_bytes(session, photo, now)
            if data is None:
                log.warning("photo %s cannot be shown on %s any more", photo.id, channel)
                outcome.not_shown.append(photo.id)
                continue
            ready.append((photo, data))
        size = ALBUM_SIZE if channel in ALBUM_CHANNELS else 1
        for start in range(0, len(ready), size):
            chunk = ready[start : start + size]
            try:
                await self._send_chunk(session, bot, channel, chat_id, chunk, now, outcome)
            except BadRequest as exc:
                if CHAT_GONE in str(exc).lower():
                    raise
                if len(chunk) == 1:
                    self._not_shown(chunk[0][0], channel, exc, outcome)
                    continue
                log.info("album refused on %s (%s); sending its photos one at a time",
                         channel, exc)
                for one in chunk:
                    try:
                        await self._send_chunk(session, bot, channel, chat_id, [one], now,
                                               outcome)
                    except BadRequest as single:
                        if CHAT_GONE in str(single).lower():
                            raise
                        self._not_shown(one[0], channel, single, outcome)
        for voice in voices:
            try:
                await self._send_voice(session, bot, channel, chat_id, voice, now, outcome)
            except BadRequest as exc:
                if CHAT_GONE in str(exc).lower():
                    raise
                self._not_shown(voice, channel, exc, outcome)
        return outcome

    async def _send_voice(self, session: AsyncSession, bot: Bot, channel: str, chat_id: int,
                          voice: Attachment, now: datetime, outcome: PhotoOutcome) -> None:
        """A voice note: by file id where the channel knows one, else its bytes converted to
        the channel's own voice format (``bot.voice``; the new file id kept for next time).
        Bytes that cannot be converted here go as a file, counted in ``outcome.unconverted``."""
        assert voice.id is not None
        file_id = await file_id_for(session, voice, channel, now)
        if file_id is not None:
            await bot.send_voice(chat_id, file_id, duration=voice.duration)
            outcome.shown.append(voice.id)
            return
        data = await self.photo_bytes(session, voice, now)
        if data is None:
            log.warning("voice note %s cannot be sent on %s any more", voice.id, channel)
            outcome.not_shown.append(voice.id)
            return
        target = VOICE_FORMATS.get(channel, "ogg")
        too_long = (voice.duration or 0) > VOICE_LONGEST.get(target, voice.duration or 0)
        converted = None if too_long else await convert_voice(data, target)
        if converted is None:
            await bot.send_document(chat_id, data,
                                    filename=f"voice-{voice.id}.{voice_format_of(data)}")
            outcome.shown.append(voice.id)
            outcome.unconverted.append(voice.id)
            return
        message = await bot.send_voice(chat_id, converted, filename=f"voice-{voice.id}.{target}",
                                       duration=voice.duration)
        outcome.shown.append(voice.id)
        if message.voice is not None:
            keep_copy(session, voice.id, channel, message.voice.file_id, now)

    @staticmethod
    async def _send_chunk(session: AsyncSession, bot: Bot, channel: str, chat_id: int,
                          chunk: Sequence[tuple[Attachment, str | bytes]], now: datetime,
                          outcome: PhotoOutcome) -> None:
        """One photo, or one album; the photos shown are added to ``outcome``."""
        if len(chunk) == 1:
            photo, source = chunk[0]
            sent = [await bot.send_photo(chat_id, source, filename=_name(photo))]
        else:
            sent = list(await bot.send_media_group(chat_id, [
                InputMediaPhoto(source, filename=_name(photo)) for photo, source in chunk]))
        for (photo, source), message in zip(chunk, sent, strict=False):
            assert photo.id is not None
            outcome.shown.append(photo.id)
            if isinstance(source, bytes) and message.photo:
                keep_copy(session, photo.id, channel, message.photo[-1].file_id, now)

    @staticmethod
    def _not_shown(photo: Attachment, channel: str, exc: Exception,
                   outcome: PhotoOutcome) -> None:
        assert photo.id is not None
        log.warning("photo %s refused on %s: %s", photo.id, channel, exc)
        outcome.not_shown.append(photo.id)

    async def photo_bytes(self, session: AsyncSession, photo: Attachment, now: datetime
                          ) -> bytes | None:
        """The photo's bytes: kept ones, or downloaded from a channel that still knows it."""
        assert photo.id is not None
        data = await content_of(session, photo.id)
        if data is not None:
            return data
        for channel, file_id in await sources(session, photo, now):
            bot = self._bots.get(channel)
            if bot is None:
                continue
            try:
                data = bytes(await (await bot.get_file(file_id)).download_as_bytearray())
            except TelegramError as exc:
                log.info("photo %s not downloaded from %s: %s", photo.id, channel, exc)
                continue
            keep_content(session, photo.id, data, now)
            return data
        return None

    async def update_cards(
        self,
        session: AsyncSession,
        kind: str,
        ref_id: int,
        render: Render,
        *,
        now: datetime | None = None,
        staff_id: int | None = None,
        cards: Sequence[CardMessage] | None = None,
        known: Staff | None = None,
    ) -> int:
        """Edit every copy of a card (each in its reader's language; only ``staff_id``'s
        copies when given); returns how many (an edit kept in the outbox counts). ``cards``:
        the card's rows if the caller just read them (:func:`models.card.cards_of`);
        ``known``: a reader the caller already has (e.g. ``context.me``, maybe a detached
        copy: only read here), not fetched again."""
        now = now or self.clock.now()
        edited = 0
        staff_cache: dict[int, Staff | None] = {}
        if known is not None and known.id is not None:
            staff_cache[known.id] = known
        if cards is None:
            cards = await cards_of(session, kind, ref_id)
        for card in cards:
            if staff_id is not None and card.staff_id != staff_id:
                continue
            bot = self._bots.get(card.channel)
            if bot is None:
                continue
            if card.staff_id not in staff_cache:
                staff_cache[card.staff_id] = await session.get(Staff, card.staff_id)
            staff = staff_cache[card.staff_id]
            if staff is None:
                continue
            text, markup = render(self.translator(staff))
            payload = {"message_id": card.message_id, "text": text,
                       "markup": markup.to_dict() if markup else None}
            held = (card.channel, card.chat_id, card.message_id)
            if held in self.held_edits:
                self._keep_edit(card, staff, payload, now, "behind an earlier edit")
                edited += 1
                continue
            try:
                await self._edit(bot, card.chat_id, card.message_id, text, markup)
                edited += 1
            except BadRequest as exc:
                log.info("card %s/%s in chat %s not edited: %s", kind, ref_id,
                         card.chat_id, exc)
            except LATER as exc:
                self._keep_edit(card, staff, payload, now, str(exc), retry_seconds(exc))
                edited += 1
            except TelegramError:
                log.exception("editing card %s/%s failed", kind, ref_id)
        return edited

    @staticmethod
    async def _edit(bot: Bot, chat_id: int, message_id: int, text: str,
                    markup: InlineKeyboardMarkup | None) -> None:
        """Edit a sent message; "not modified" means it already shows this."""
        try:
            await bot.edit_message_text(clip(text), chat_id=chat_id, message_id=message_id,
                                        reply_markup=markup)
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise

    def _keep_edit(self, card: CardMessage, staff: Staff, payload: dict[str, Any],
                   now: datetime, error: str, retry_after: float | None = None) -> None:
        log.warning("edit of message %s for staff %s on %s kept for later: %s",
                    card.message_id, staff.id, card.channel, error)
        self._write(outbox.new_message(
            channel=card.channel, chat_id=card.chat_id, staff_id=staff.id, kind="edit",
            payload=payload, now=now, error=error, retry_after=retry_after))
        self.held_edits.add((card.channel, card.chat_id, card.message_id))


async def _add_all(session: AsyncSession, messages: list[outbox.OutboxMessage]) -> None:
    session.add_all(messages)


def _markup(data: dict[str, Any] | None, bot: Bot) -> InlineKeyboardMarkup | None:
    return InlineKeyboardMarkup.de_json(data, bot) if data else None


def _name(photo: Attachment) -> str:
    return f"photo-{photo.id}.jpg"
