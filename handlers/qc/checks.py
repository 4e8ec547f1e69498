"""W7, the checks after the self-check: the team leader's check and the inspector's final
inspection.

1. Handing over (``handlers.qc.self_check``) sends a card with ✅ Pass / 🔁 Rework to every team
   leader (not the order's own technician). ``/qc`` lists the checks waiting for me.
2. A team leader's pass sends the card on to the inspectors; the inspector's pass makes the car
   ready for delivery and tells the order's advisor.
3. Rework asks which item and why; the item returns to the technician with the reason.

The first decision on a check wins; every copy of its card then says who decided and when,
and another checker's rework question on it ends, saying the same (:mod:`handlers.chat.deciding`).
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import WorkshopContext
from bot.i18n import Translator
from bot.refusals import refusal, refuse
from handlers.chat.conversation import (
    END,
    TEXT_OR_VOICE,
    Decides,
    conversation,
    draft,
    drop_draft,
    read_text_or_voice,
    stale_button,
    wrong_input,
)
from handlers.chat.deciding import end_other_steps
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply
from handlers.floor.cards import (
    send_technician_card,
    show_advisor_order,
    show_order,
)
from handlers.qc.cards import QC_PREFIX, check_facts, qc_card, stage_title
from models.attachment import attach, attachments_of
from models.card import CardKind, CardMessage, remember_card
from models.db import commit_writes, id_of
from models.qc import (
    MAX_REASON,
    QcCheck,
    check_decidable,
    checkers_for,
    pass_check,
    rework_choices,
    send_back,
    stages_of,
    waiting_checks,
)
from models.rules import Refused
from models.staff import Staff
from models.work_order import (
    ItemStatus,
    OrderItem,
    WorkOrder,
)

PREFIX = "qcr"  # the callback data of this module's buttons: qcr:…

TEXT = filters.TEXT & ~filters.COMMAND

# --- 1, 2. the checks ------------------------------------------------------------------------


async def send_check_cards(
    session: AsyncSession, context: WorkshopContext, check: QcCheck, order: WorkOrder
) -> int:
    """The check's card to every team leader (or inspector); returns how many got it."""
    facts = await check_facts(session, check)
    reached = 0
    for checker in await checkers_for(session, check, order):
        reached += bool(await context.services.messenger.send(
            session, checker, lambda t: qc_card(t, facts), card=(CardKind.qc_check, id_of(check)),
            now=context.now()))
    await commit_writes(session)  # where the cards went, so the decision can edit them
    return reached


async def list_checks(update: Update, context: WorkshopContext) -> None:
    """/qc: the checks waiting for me, oldest first, each as its card."""
    _ = context._
    me = context.me
    if not stages_of(me):
        await reply(update, refusal(_, Refused("qc_not_checker")))
        return
    async with context.services.db.session() as session:
        waiting = await waiting_checks(session, me)
        if not waiting:
            await reply(update, _("Nothing waits for your check."))
            return
        await reply(update, _.ngettext("{count} order waits for your check:",
                                       "{count} orders wait for your check:",
                                       len(waiting)).format(count=len(waiting)))
        for check, _order in waiting:
            message = await reply(update, *qc_card(_, await check_facts(session, check)))
            if message is not None:
                remember_card(session, CardMessage(
                    kind=CardKind.qc_check, ref_id=id_of(check), staff_id=id_of(me),
                    channel=context.channel, chat_id=message.chat_id,
                    message_id=message.message_id, sent_at=context.now()))
        await commit_writes(session)  # within an update the copies go with its last commit


async def passed(update: Update, context: WorkshopContext) -> None:
    """✅ Pass: once. After the team leader the inspectors get the card; after the inspector
    the advisor is told the car is ready for delivery. The technician hears either way."""
    _ = context._
    me = context.me
    now = context.now()
    messenger = context.services.messenger
    async with context.services.db.session() as session:
        try:
            order, check, following = await pass_check(
                session, check_id=callback_int(update), staff=me, now=now, actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            return
        await session.commit()
        # The tap is answered at once; then the cards are redrawn and the others told.
        if following is not None:
            inspectors = len(await checkers_for(session, following, order))
            await answer_tap(update, _.ngettext(
                "Passed. {count} inspector has it for the final inspection.",
                "Passed. {count} inspectors have it for the final inspection.",
                inspectors).format(count=inspectors))
        else:
            await answer_tap(update, _("Passed. The advisor has been told the car is ready for "
                                       "delivery."))
        facts = await check_facts(session, check)
        await messenger.update_cards(session, CardKind.qc_check, id_of(check),
                                     lambda t: qc_card(t, facts))
        technician = facts.technician
        await show_order(context.services, session, order)
        if following is not None:
            await show_advisor_order(context.services, session, order)
            await send_check_cards(session, context, following, order)
            if technician is not None:
                await messenger.send(session, technician, lambda t: (t(
                    "✅ {name} (team leader) passed {number}; it goes to the final "
                    "inspection.").format(name=me.name, number=order.number), None), now=now)
        else:
            await tell_ready(session, context, order, me)
            if technician is not None:
                await messenger.send(session, technician, lambda t: (t(
                    "✅ {name} passed the final inspection of {number}: the car is ready for "
                    "delivery.").format(name=me.name, number=order.number), None), now=now)
    await end_other_steps(context, CardKind.qc_check, id_of(check))


async def tell_ready(
    session: AsyncSession, context: WorkshopContext, order: WorkOrder, inspector: Staff
) -> None:
    """The order's advisor: the car is ready; their order card follows below it, with the
    delivery button (:mod:`handlers.after_sales.delivery`)."""
    advisor = await session.get(Staff, order.advisor_id)
    if advisor is None:
        return
    now = context.now()
    await context.services.messenger.send(
        session, advisor,
        lambda t: (t("🚗 {number} ({plate}, {customer}) passed the final inspection by {name} "
                     "at {at}: the car is ready for delivery.").format(
                         number=order.number, plate=order.plate, customer=order.customer_name,
                         name=inspector.name, at=t.time(now)), None),
        now=now)
    await show_advisor_order(context.services, session, order, fresh=True)


# --- 3. rework -------------------------------------------------------------------------------


async def rework_start(update: Update, context: WorkshopContext) -> int:
    """🔁 Rework: a team leader or inspector, a check still open. Which item goes back?"""
    _ = context._
    check_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            check, order = await check_decidable(session, check_id=check_id, staff=context.me)
        except Refused as refused:
            await refuse(update, context, refused)
            return END
        items = await rework_choices(session, id_of(order))
        technician = await session.get(Staff, order.technician_id)
    if not items:  # every item was rejected: nothing was worked on
        await refuse(update, context, Refused("qc_item_not_done"))
        return END
    drop_draft(context, REWORK)
    draft(context, REWORK)["check_id"] = check_id
    await answer_tap(update)
    await reply(update, _("{number}: which item goes back to {name} for rework? /cancel "
                          "stops.").format(number=order.number,
                                           name=technician.name if technician else "—"),
                keyboard(*[[button(f"{item.position}. {item.description}"[:60],
                                   f"{PREFIX}:{check.id}:{item.id}")] for item in items]))
    return ITEM


async def rework_reason(update: Update, context: WorkshopContext) -> int:
    """Record the rework (once), redraw the cards, give the item back to the technician."""
    _ = context._
    assert update.message is not None
    reason = await read_text_or_voice(update, context, MAX_REASON, REWORK)
    if reason is None:
        return REASON
    form = draft(context, REWORK)
    me = context.me
    now = context.now()
    messenger = context.services.messenger
    async with context.services.db.session() as session:
        try:
            order, check, item = await send_back(
                session, check_id=form["check_id"], staff=me, item_id=form["item_id"],
                reason=reason or "", now=now, actor=context.actor)
            attach(session, owner=REWORK_VOICE, owner_id=id_of(check),
                   photos=form.get("photos", []), staff_id=me.id, now=now)
        except Refused as refused:
            await session.rollback()
            drop_draft(context, REWORK)
            await reply(update, refusal(_, refused))
            return END
        await session.commit()
        voices = await attachments_of(session, REWORK_VOICE, id_of(check))
        facts = await check_facts(session, check)
        await messenger.update_cards(session, CardKind.qc_check, id_of(check),
                                     lambda t: qc_card(t, facts))
        technician = facts.technician
        if technician is not None:
            stage = check.stage
            await messenger.send(session, technician, lambda t: (t(
                "🔁 {stage} of {number}: {name} sent “{item}” back for rework:\n{reason}\n"
                "It is open on your card again; finish it, then self-check again.").format(
                    stage=stage_title(t, stage), number=order.number, name=me.name,
                    item=item.description, reason=check.reason), None),
                photos=voices, now=now)
            await send_technician_card(context.services, session, order)
    await end_other_steps(context, CardKind.qc_check, id_of(check))
    drop_draft(context, REWORK)
    await reply(update, _("🔁 “{item}” on {number} went back to {name} for rework.").format(
        item=item.description, number=order.number,
        name=technician.name if technician else "—"))
    return END


async def still_open(context: WorkshopContext, session: AsyncSession, staff: Staff,
                     form: dict[str, Any], _: Translator) -> str | None:
    """A rework question goes on while the check waits and ``staff`` may decide it."""
    try:
        await check_decidable(session, check_id=form["check_id"], staff=staff)
    except Refused as refused:
        return refusal(_, refused)
    return None


async def rework_out_of_step(update: Update, context: WorkshopContext) -> None:
    """An item button with no rework under way: a forged tap, or an old question."""
    async with context.services.db.session() as session:
        try:
            await check_decidable(session, check_id=callback_int(update), staff=context.me)
        except Refused as refused:
            await refuse(update, context, refused)
            return
    await stale_button(update, context)


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            REWORK,
            draft_key=REWORK,
            decides=Decides(CardKind.qc_check, "check_id", still_open),
            entry_points=[CallbackQueryHandler(rework_start, pattern=rf"^{QC_PREFIX}:\d+:rework$")],
            states={
                ITEM: [CallbackQueryHandler(rework_item, pattern=rf"^{PREFIX}:\d+:\d+$")],
                REASON: [MessageHandler(TEXT_OR_VOICE, rework_reason)],
            },
        ),
        CommandHandler("qc", list_checks),
        CallbackQueryHandler(passed, pattern=rf"^{QC_PREFIX}:\d+:pass$"),
        CallbackQueryHandler(rework_out_of_step, pattern=rf"^{PREFIX}:\d+:\d+$"),
    ]


ITEM, REASON = range(2)


REWORK = "qc_rework"
REWORK_VOICE = "qc_rework"  # the owner of a rework reason's voice note (models.attachment)


async def rework_item(update: Update, context: WorkshopContext) -> int:
    """The item; now the reason."""
    query = update.callback_query
    assert query is not None and query.data is not None
    form = draft(context, REWORK)
    if callback_int(update) != form.get("check_id"):
        await wrong_input(update, context)  # the item buttons of another check
        return ITEM
    item_id = int(query.data.split(":")[2])
    async with context.services.db.session() as session:
        check = await session.get(QcCheck, form["check_id"])
        item = await session.get(OrderItem, item_id)
    if check is None or item is None or item.order_id != check.order_id or \
            item.status != ItemStatus.done:
        await refuse(update, context, Refused("qc_item_not_done"))
        return ITEM
    await answer_tap(update)
    form["item_id"] = item_id
    await reply(update, context._("“{item}”: what is wrong? The technician will read your "
                                  "reason.").format(item=item.description))
    return REASON
