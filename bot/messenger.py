"""Send to a staff member on whichever channel(s) they are bound on, and update sent cards.

Callers pass a ``render`` function so every recipient reads the message in their own language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot, InlineKeyboardMarkup, InputMediaPhoto
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.i18n import Translator
from models.attachment import Attachment
from models.card import CardMessage, cards_of
from models.db import utcnow
from models.staff import ChatAccount, Staff, accounts_of

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096
Rendered = tuple[str, InlineKeyboardMarkup | None]
Render = Callable[[Translator], Rendered]


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    """Keep a message inside Telegram's limit; the full text stays in the database."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Messenger:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._bots: dict[str, Bot] = {}

    def register(self, channel: str, bot: Bot) -> None:
        self._bots[channel] = bot

    def translator(self, staff: Staff) -> Translator:
        return Translator(staff.locale or self.settings.default_locale, self.settings.tz)

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
        """Send to every bound account of ``staff``; returns how many chats got it."""
        text, markup = render(self.translator(staff))
        delivered = 0
        for account in self.recipients(staff, await accounts_of(session, staff.id)):  # type: ignore[arg-type]
            bot = self._bots[account.channel]
            try:
                await self._send_photos(bot, account.chat_id, account.channel, photos)
                message = await bot.send_message(
                    account.chat_id, clip(text), reply_markup=markup
                )
            except (Forbidden, BadRequest) as exc:
                log.warning("cannot reach staff %s on %s: %s", staff.id, account.channel, exc)
                continue
            except TelegramError:
                log.exception("sending to staff %s on %s failed", staff.id, account.channel)
                continue
            delivered += 1
            if card is not None:
                session.add(
                    CardMessage(
                        kind=card[0], ref_id=card[1], staff_id=staff.id,  # type: ignore[arg-type]
                        channel=account.channel, chat_id=account.chat_id,
                        message_id=message.message_id, sent_at=now or utcnow(),
                    )
                )
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
    ) -> int:
        """A generated file (a report's chart or spreadsheet) to every bound account of
        ``staff``, as a photo or a document; returns how many chats got it."""
        delivered = 0
        for account in self.recipients(staff, await accounts_of(session, staff.id)):  # type: ignore[arg-type]
            bot = self._bots[account.channel]
            try:
                if photo:
                    await bot.send_photo(account.chat_id, data, filename=filename,
                                         caption=caption)
                else:
                    await bot.send_document(account.chat_id, data, filename=filename,
                                            caption=caption)
            except (Forbidden, BadRequest) as exc:
                log.warning("cannot reach staff %s on %s: %s", staff.id, account.channel, exc)
                continue
            except TelegramError:
                log.exception("sending a file to staff %s on %s failed", staff.id,
                              account.channel)
                continue
            delivered += 1
        return delivered

    def recipients(self, staff: Staff, accounts: Sequence[ChatAccount]) -> list[ChatAccount]:
        """The accounts a notification goes to: every bound one this process can reach, or
        with ``NOTIFY_CHANNELS=preferred`` only the one on the channel the person wrote on
        last (all of them while they have not written yet)."""
        reachable = [a for a in accounts if a.channel in self._bots]
        if self.settings.notify_channels == "preferred" and staff.last_channel:
            preferred = [a for a in reachable if a.channel == staff.last_channel]
            return preferred or reachable
        return reachable

    async def _send_photos(
        self, bot: Bot, chat_id: int, channel: str, photos: Sequence[Attachment]
    ) -> None:
        usable = [p.file_id for p in photos if p.channel == channel]
        for start in range(0, len(usable), 10):
            chunk = usable[start : start + 10]
            if len(chunk) == 1:
                await bot.send_photo(chat_id, chunk[0])
            else:
                await bot.send_media_group(chat_id, [InputMediaPhoto(f) for f in chunk])

    async def update_cards(
        self,
        session: AsyncSession,
        kind: str,
        ref_id: int,
        render: Render,
    ) -> int:
        """Edit every copy of a card (each in its reader's language); returns how many."""
        edited = 0
        staff_cache: dict[int, Staff | None] = {}
        for card in await cards_of(session, kind, ref_id):
            bot = self._bots.get(card.channel)
            if bot is None:
                continue
            if card.staff_id not in staff_cache:
                staff_cache[card.staff_id] = await session.get(Staff, card.staff_id)
            staff = staff_cache[card.staff_id]
            if staff is None:
                continue
            text, markup = render(self.translator(staff))
            try:
                await bot.edit_message_text(
                    clip(text), chat_id=card.chat_id, message_id=card.message_id,
                    reply_markup=markup,
                )
                edited += 1
            except BadRequest as exc:
                if "not modified" not in str(exc).lower():
                    log.info("card %s/%s in chat %s not edited: %s", kind, ref_id,
                             card.chat_id, exc)
            except TelegramError:
                log.exception("editing card %s/%s failed", kind, ref_id)
        return edited
