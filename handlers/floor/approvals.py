"""``/approvals`` (advisors): every extra item (W5) and fault report (W4) waiting for me — on my
orders, and, when I am on duty, the escalated ones of any order — oldest first, each as its
card with the card's own buttons (Approve / Reject, Acknowledge), answered by the same handlers
as the cards the technician's request sent (:mod:`handlers.floor.extra_item_decision`,
:mod:`handlers.floor.fault_report`). Each copy is registered like those cards, so a decision
taken anywhere redraws it too. An extra item another advisor is deciding right now says who is
on it and since when.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import WorkshopContext
from bot.refusals import refuse
from handlers.chat.deciding import on_it_line, who_is_on
from handlers.chat.ui import reply
from handlers.floor.cards import customer_links_on, extra_item_card, fault_card, fault_facts
from models.approvals import waiting_for
from models.card import CardKind, CardMessage, remember_card
from models.db import commit_writes, id_of
from models.extra_item import ExtraItemRequest
from models.rules import Refused
from models.staff import Role, Staff
from models.work_order import get_order


async def list_approvals(update: Update, context: WorkshopContext) -> None:
    """/approvals: what waits for an advisor's decision, oldest first, each with its buttons."""
    _ = context._
    me = context.me
    if not me.has(Role.advisor):
        await refuse(update, context, Refused("not_advisor"))
        return
    async with context.services.db.session() as session:
        waiting = await waiting_for(session, me)
        if not waiting:
            await reply(update, _("Nothing is waiting for an advisor's decision."))
            return
        await reply(update, _.ngettext("{count} item waits for an advisor's decision, oldest "
                                       "first:",
                                       "{count} items wait for an advisor's decision, oldest "
                                       "first:", len(waiting)).format(count=len(waiting)))
        for record in waiting:
            if isinstance(record, ExtraItemRequest):
                kind = CardKind.extra_item
                order = await get_order(session, record.order_id)
                technician = await session.get(Staff, record.requested_by)
                text, markup = extra_item_card(
                    _, order, record, technician,
                    ask_customer=customer_links_on(context.services.settings))
                on_it = await who_is_on(context, kind, id_of(record))
                if on_it is not None:
                    text += "\n\n" + on_it_line(_, *on_it)
            else:
                kind = CardKind.fault_report
                text, markup = fault_card(_, await fault_facts(session, record))
            message = await reply(update, text, markup)
            if message is not None:
                remember_card(session, CardMessage(
                    kind=kind, ref_id=id_of(record), staff_id=id_of(me),
                    channel=context.channel, chat_id=message.chat_id,
                    message_id=message.message_id, sent_at=context.now()))
        await commit_writes(session)  # within an update the copies go with its last commit


def handlers() -> list[BaseHandler[Update, WorkshopContext, None]]:
    return [CommandHandler("approvals", list_approvals)]
