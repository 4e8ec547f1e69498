"""W4 → W5: the advisor turns an acknowledged fault report into a proposed extra item.

"➕ Propose as extra item" on the fault card asks one thing, the price (parts, then labour);
the item's name is the fault's text and its photos are the report's
(:func:`models.fault_report.propose_from_fault`). The item then waits for a decision like any
technician's request: the advisor gets its card (Approve / Reject / 📱 Ask the customer), the
order cards show it pending, and the technician who found the fault is told. Once per report:
a second tap, or a second advisor, learns who proposed it and when.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import WorkshopContext
from bot.refusals import refusal, refuse
from handlers.chat.conversation import END, conversation, draft, drop_draft
from handlers.chat.ui import answer_tap, callback_int, reply
from handlers.floor.cards import (
    PROPOSE_PREFIX,
    customer_links_on,
    extra_item_card,
    fault_card,
    fault_facts,
    send_technician_card,
)
from models.card import CardKind
from models.db import commit_writes, id_of
from models.extra_item import parse_estimate
from models.fault_report import (
    FaultReport,
    check_proposable,
    item_name,
    propose_from_fault,
)
from models.rules import Refused
from models.staff import Staff

PRICE = 0
DRAFT = "fault_proposal"
TEXT = filters.TEXT & ~filters.COMMAND


async def start(update: Update, context: WorkshopContext) -> int:
    """An advisor, a report not proposed yet, an order in progress: ask the price."""
    report_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            order, report = await check_proposable(session, report_id=report_id,
                                                   advisor=context.me)
        except Refused as refused:
            await refuse(update, context, refused)
            return END
    drop_draft(context, DRAFT)
    draft(context, DRAFT)["report_id"] = report_id
    await answer_tap(update)
    await reply(update, context._(
        "{number}: propose the fault as an extra item: “{item}”. The customer will see the "
        "technician's description and photos. Its price in yuan: parts, then labour (e.g. "
        "“300 150”; one amount is parts only). /cancel stops.").format(
            number=order.number, item=item_name(report)))
    return PRICE


async def got_price(update: Update, context: WorkshopContext) -> int:
    """Parts and labour; then the item is proposed, the cards follow, the technician is told."""
    _ = context._
    assert update.message is not None
    try:
        parts_fen, labour_fen = parse_estimate(update.message.text or "")
    except Refused as refused:
        await reply(update, refusal(_, refused))
        return PRICE
    report_id = draft(context, DRAFT)["report_id"]
    messenger = context.services.messenger
    advisor = context.me
    now = context.now()
    async with context.services.db.session() as session:
        try:
            order, request = await propose_from_fault(
                session, report_id=report_id, advisor=advisor, parts_fen=parts_fen,
                labour_fen=labour_fen, now=now, actor=context.actor)
        except Refused as refused:
            await session.rollback()
            drop_draft(context, DRAFT)
            await reply(update, refusal(_, refused))
            return END
        await session.commit()
        drop_draft(context, DRAFT)
        report = await session.get(FaultReport, report_id)
        assert report is not None
        facts = await fault_facts(session, report)
        await messenger.update_cards(session, CardKind.fault_report, report_id,
                                     lambda t: fault_card(t, facts))
        technician = await session.get(Staff, request.requested_by)
        await reply(update, _("➕ “{item}” is on {number} as an extra item waiting for "
                              "approval; the technician has been told.").format(
                                  item=request.description, number=order.number))
        ask = customer_links_on(context.services.settings)
        await messenger.send(
            session, advisor,
            lambda t: extra_item_card(t, order, request, technician, ask_customer=ask),
            card=(CardKind.extra_item, id_of(request)), now=now)
        await commit_writes(session)  # the card's copy, so the decision can edit it
        if technician is not None:
            await messenger.send(
                session, technician,
                lambda t: (t("➕ {name} proposed the fault you reported on {number} as an extra "
                             "item: “{item}” (parts {parts}, labour {labour}). Do not start on "
                             "it until it is approved.").format(
                                 name=advisor.name, number=order.number,
                                 item=request.description, parts=t.money(request.parts_fen),
                                 labour=t.money(request.labour_fen)), None),
                now=now)
        # The technician's card anew below that message; the advisor's edited in place.
        await send_technician_card(context.services, session, order, known=advisor)
    return END


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "fault_proposal",
            draft_key=DRAFT,
            entry_points=[CallbackQueryHandler(start, pattern=rf"^{PROPOSE_PREFIX}:\d+:go$")],
            states={PRICE: [MessageHandler(TEXT, got_price)]},
        )
    ]
