"""W6: ``/parts``, the parts counter's lists.

Clerks get the open requests (oldest first), what was issued today and the old parts still to
come, with a button per request that shows its card again; supervisors get this month's
compensation entries.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import WorkshopContext
from bot.i18n import Translator
from bot.messenger import not_shown_note, with_note
from bot.refusals import refuse
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, local_time, reply
from handlers.parts.cards import PART_PREFIX, card_facts, part_card, settlement_name
from models.card import CardKind, CardMessage, remember_card
from models.db import commit_writes, id_of
from models.parts import (
    PartRequest,
    PartStatus,
    awaiting_old_parts,
    compensations_between,
    get_request,
    issued_between,
    open_requests,
    part_label,
    require_clerk,
)
from models.rules import Refused
from models.staff import Role, Staff
from models.work_order import WorkOrder, get_order

LIST_LIMIT = 20  # requests listed (with buttons) per /parts section


def list_line(_: Translator, request: PartRequest, order: WorkOrder, technician: str) -> str:
    line = _("#{id} {at} · {number} · {part} × {quantity} · {name}").format(
        id=request.id, at=local_time(_, request.created_at), number=order.number,
        part=part_label(request), quantity=request.quantity, name=technician)
    if request.status == PartStatus.out_of_stock and request.expected_on:
        line += " · " + _("📦 expected {day}").format(day=_.day(request.expected_on))
    return line


async def _lines(
    session: AsyncSession, _: Translator, requests: list[PartRequest]
) -> list[str]:
    lines = []
    for request in requests:
        order = await get_order(session, request.order_id)
        technician = await session.get(Staff, request.requested_by)
        lines.append(list_line(_, request, order, technician.name if technician else "?"))
    return lines


def _show_buttons(requests: list[PartRequest]) -> InlineKeyboardMarkup | None:
    rows = [[button(f"#{r.id} {part_label(r)[:40]}", f"{PART_PREFIX}:{r.id}:show")]
            for r in requests[:LIST_LIMIT]]
    return keyboard(*rows) if rows else None


async def list_parts(update: Update, context: WorkshopContext) -> None:
    """Clerks: open requests oldest first, issued today, old parts still to come. Supervisors:
    this month's compensation entries."""
    _ = context._
    me = context.me
    if not me.has(Role.parts_clerk, Role.supervisor):
        await refuse(update, context, Refused("parts_not_clerk"))
        return
    calendar = context.services.settings.calendar
    now = context.now()
    today = calendar.local_date(now)
    async with context.services.db.session() as session:
        if me.has(Role.parts_clerk):
            waiting = await open_requests(session)
            lines = await _lines(session, _, waiting[:LIST_LIMIT])
            head = _.ngettext("📋 {count} open part request (oldest first):",
                              "📋 {count} open part requests (oldest first):",
                              len(waiting)).format(count=len(waiting))
            await reply(update, "\n".join([head, *lines]) if waiting
                        else _("📋 No open part requests."), _show_buttons(waiting))
            issued = await issued_between(session, calendar.start_of_day(today),
                                          calendar.end_of_day(today))
            lines = await _lines(session, _, issued)
            head = _.ngettext("📤 {count} part issued today:", "📤 {count} parts issued today:",
                              len(issued)).format(count=len(issued))
            await reply(update, "\n".join([head, *lines]) if issued
                        else _("📤 Nothing issued today."))
            awaiting = await awaiting_old_parts(session)
            lines = await _lines(session, _, awaiting[:LIST_LIMIT])
            head = _.ngettext("♻️ {count} old part still to be handed in:",
                              "♻️ {count} old parts still to be handed in:",
                              len(awaiting)).format(count=len(awaiting))
            await reply(update, "\n".join([head, *lines]) if awaiting
                        else _("♻️ No old parts outstanding."), _show_buttons(awaiting))
        if me.has(Role.supervisor):
            first = today.replace(day=1)
            entries = await compensations_between(session, calendar.start_of_day(first),
                                                  calendar.end_of_day(today))
            lines = []
            for entry in entries:
                technician = await session.get(Staff, entry.technician_id)
                lines.append(_("{at} · {name} · {part} · {amount} — {how}").format(
                    at=_.time(entry.created_at), name=technician.name if technician else "?",
                    part=entry.part, amount=_.money(entry.amount_fen),
                    how=settlement_name(_, entry.settlement)))
            head = _.ngettext(
                "⚠️ {count} compensation entry this month, {amount} in all:",
                "⚠️ {count} compensation entries this month, {amount} in all:",
                len(entries)).format(count=len(entries),
                                     amount=_.money(sum(e.amount_fen for e in entries)))
            await reply(update, "\n".join([head, *lines]) if entries
                        else _("⚠️ No compensation entries this month."))


async def show_card(update: Update, context: WorkshopContext) -> None:
    """A request from the /parts lists, as its card (with the old part's photos)."""
    request_id = callback_int(update)
    chat = update.effective_chat
    assert chat is not None
    async with context.services.db.session() as session:
        try:
            require_clerk(context.me)
            request = await get_request(session, request_id)
        except Refused as refused:
            await refuse(update, context, refused)
            return
        facts = await card_facts(session, request)
        await answer_tap(update)
        # From either channel, and after WeCom's media ids expired (uploaded again).
        not_shown = await context.services.messenger.show_photos(
            session, context.channel, chat.id, facts.photos, context.now())
        text, markup = part_card(context._, facts)
        message = await reply(update, with_note(text, not_shown_note(context._, not_shown)),
                              markup)
        if message is not None:
            remember_card(session, CardMessage(
                kind=CardKind.part_request, ref_id=request_id, staff_id=id_of(context.me),
                channel=context.channel, chat_id=chat.id, message_id=message.message_id,
                sent_at=context.now()))
            await commit_writes(session)  # within an update: with its last commit


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        CallbackQueryHandler(show_card, pattern=rf"^{PART_PREFIX}:\d+:show$"),
        CommandHandler("parts", list_parts),
    ]
