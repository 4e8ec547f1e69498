"""W5: an advisor approves an extra item (recording how the customer consented) or rejects it
(with a reason). The first decision wins; every copy of the card then shows it, and the
technician is told. A second tap, or a second advisor, is told who decided and when.

While one advisor is in the middle of it (asking the customer, writing the reason), a second
advisor who taps Approve or Reject is told "Wang is on it since 10:42" instead of being asked
too, so the customer is not phoned twice; a "Decide it myself" button (``…:ok:go`` /
``…:no:go``) lets them go ahead anyway — the first advisor's step stays open (they may be on
the phone right now), and whichever decision is recorded first counts. When someone decides,
every other advisor's open step on the item ends and its question says who decided
(:mod:`handlers.chat.deciding`).
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import WorkshopContext
from bot.i18n import Translator
from bot.refusals import refusal, refuse
from handlers.chat.conversation import (
    END,
    Decides,
    conversation,
    draft,
    drop_draft,
    read_text,
    stale_button,
    wrong_input,
)
from handlers.chat.deciding import end_other_steps, someone_on_it
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply
from handlers.floor.cards import EXTRA_PREFIX, consent_name, extra_item_card, send_technician_card
from models.card import CardKind
from models.db import id_of
from models.extra_item import (
    ConsentMethod,
    Decision,
    ExtraItemRequest,
    check_decidable,
    decide,
)
from models.rules import Refused
from models.staff import Staff
from models.work_order import WorkOrder

CONSENT, CONSENT_NOTE, REASON = range(3)
DRAFT = "extra_decision"
TEXT = filters.TEXT & ~filters.COMMAND
MAX_NOTE = 1000
CONSENT_DATA = rf"^{EXTRA_PREFIX}:\d+:c:(phone|in_person|wechat|other)$"


async def start(update: Update, context: WorkshopContext) -> int:
    """Approve or Reject on the card: an advisor, a request still pending, an order in progress."""
    _ = context._
    query = update.callback_query
    assert query is not None and query.data is not None
    request_id = callback_int(update)
    verb, *anyway = query.data.split(":")[2:]
    async with context.services.db.session() as session:
        try:
            order, request = await check_decidable(session, request_id=request_id,
                                                   advisor=context.me)
        except Refused as refused:
            await refuse(update, context, refused)
            return END
    if not anyway and await someone_on_it(update, context, CardKind.extra_item, request_id,
                                          f"{EXTRA_PREFIX}:{request_id}:{verb}:go"):
        return END
    drop_draft(context, DRAFT)
    draft(context, DRAFT)["request_id"] = request_id
    await answer_tap(update)
    if verb == "no":
        await reply(update, _("{number}: reject “{item}”. Why? The technician will read your "
                              "reason.").format(number=order.number, item=request.description))
        return REASON
    await reply(
        update,
        _("{number}: approve “{item}”. How did the customer consent?").format(
            number=order.number, item=request.description),
        keyboard(
            [button("📞 " + consent_name(_, ConsentMethod.phone),
                    f"{EXTRA_PREFIX}:{request_id}:c:phone"),
             button("🤝 " + consent_name(_, ConsentMethod.in_person),
                    f"{EXTRA_PREFIX}:{request_id}:c:in_person")],
            [button("💬 " + consent_name(_, ConsentMethod.wechat),
                    f"{EXTRA_PREFIX}:{request_id}:c:wechat"),
             button("✏️ " + consent_name(_, ConsentMethod.other),
                    f"{EXTRA_PREFIX}:{request_id}:c:other")],
        ),
    )
    return CONSENT


async def got_consent(update: Update, context: WorkshopContext) -> int:
    """Phone, in person or WeChat decide at once; "other" needs a few words first."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if callback_int(update) != draft(context, DRAFT).get("request_id"):
        await wrong_input(update, context)  # the consent buttons of another request
        return CONSENT
    method = ConsentMethod(query.data.rsplit(":", 1)[1])
    if method is ConsentMethod.other:
        await answer_tap(update)
        await reply(update, context._("How did the customer consent? A few words, please."))
        return CONSENT_NOTE
    return await record(update, context, approve=True, consent_method=method)


async def got_consent_note(update: Update, context: WorkshopContext) -> int:
    """The way the customer agreed, in the advisor's words."""
    assert update.message is not None
    note = await read_text(update, context, MAX_NOTE)
    if note is None:
        return CONSENT_NOTE
    return await record(update, context, approve=True, consent_method=ConsentMethod.other,
                        consent_note=note)


async def got_reason(update: Update, context: WorkshopContext) -> int:
    """Why not; the technician reads it."""
    assert update.message is not None
    reason = await read_text(update, context, MAX_NOTE)
    if reason is None:
        return REASON
    return await record(update, context, approve=False, reject_reason=reason)


async def record(update: Update, context: WorkshopContext, **choice: Any) -> int:
    """Decide (the conditional update picks the winner), then redraw every copy of the card
    and tell the technician."""
    _ = context._
    messenger = context.services.messenger
    advisor = context.me
    async with context.services.db.session() as session:
        try:
            order, request = await decide(
                session, request_id=draft(context, DRAFT)["request_id"], advisor=advisor,
                now=context.now(), actor=context.actor, **choice,
            )
        except Refused as refused:
            await session.rollback()
            drop_draft(context, DRAFT)
            await refuse(update, context, refused)
            if update.callback_query is not None:  # the consent buttons are spent
                await update.callback_query.edit_message_text(refusal(_, refused))
            return END
        await session.commit()
        await answer_tap(update)  # at once; then the cards and the technician
        technician = await session.get(Staff, request.requested_by)
        await messenger.update_cards(
            session, CardKind.extra_item, id_of(request),
            lambda t: extra_item_card(t, order, request, technician, advisor), known=advisor)
        if technician is not None:
            await messenger.send(
                session, technician, lambda t: (decision_for_technician(t, order, request,
                                                                        advisor), None))
        await send_technician_card(context.services, session, order, known=advisor)
    await end_other_steps(context, CardKind.extra_item, id_of(request))
    drop_draft(context, DRAFT)
    if request.status == Decision.approved:
        text = _("✅ Approved: “{item}” on {number} (consent: {consent}). The technician has "
                 "been told.").format(item=request.description, number=order.number,
                                      consent=consent_name(_, request.consent_method))
    else:
        text = _("❌ Rejected: “{item}” on {number}. The technician has been told.").format(
            item=request.description, number=order.number)
    if update.callback_query is not None:
        await update.callback_query.edit_message_text(text)
    else:
        await reply(update, text)
    return END


def decision_for_technician(
    _: Translator, order: WorkOrder, request: ExtraItemRequest, advisor: Staff
) -> str:
    if request.status == Decision.approved:
        return _("✅ Extra item “{item}” on {number} was approved by {name}. You may start on "
                 "it.").format(item=request.description, number=order.number, name=advisor.name)
    return _("❌ Extra item “{item}” on {number} was rejected by {name}: {reason}\nDo not do "
             "it.").format(item=request.description, number=order.number, name=advisor.name,
                           reason=request.reject_reason)


async def still_open(context: WorkshopContext, session: AsyncSession, staff: Staff,
                     form: dict[str, Any], _: Translator) -> str | None:
    """An approval or rejection under way can go on while the item waits, the order is in
    progress and ``staff`` is an advisor; else the words why not."""
    try:
        await check_decidable(session, request_id=form["request_id"], advisor=staff)
    except Refused as refused:
        return refusal(_, refused)
    return None


async def consent_out_of_step(update: Update, context: WorkshopContext) -> None:
    """A consent button with no approval under way: a forged tap, or an old question."""
    async with context.services.db.session() as session:
        try:
            await check_decidable(session, request_id=callback_int(update), advisor=context.me)
        except Refused as refused:
            await refuse(update, context, refused)
            return
    await stale_button(update, context)


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "extra_decision",
            draft_key=DRAFT,
            decides=Decides(CardKind.extra_item, "request_id", still_open),
            entry_points=[CallbackQueryHandler(start,
                                               pattern=rf"^{EXTRA_PREFIX}:\d+:(ok|no)(:go)?$")],
            states={
                CONSENT: [CallbackQueryHandler(got_consent, pattern=CONSENT_DATA)],
                CONSENT_NOTE: [MessageHandler(TEXT, got_consent_note)],
                REASON: [MessageHandler(TEXT, got_reason)],
            },
        ),
        CallbackQueryHandler(consent_out_of_step, pattern=CONSENT_DATA),
    ]
