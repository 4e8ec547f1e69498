"""W6: the parts clerks decide a part request (the buttons on the card of
``handlers.parts.cards``).

**Issue** asks what became of the old part: received, to follow, none, or lost / damaged on
purpose → a compensation entry for the supervisors. **Out of stock** asks the expected date;
the technician and the advisor are told. **Decline** asks why. The first decision wins; every
copy of the card then shows it, and a later tap is told who decided and when. An old part
that comes in after the issue is one tap ("♻️ Old part received"), or written off as lost.
When a clerk decides, another clerk's open step that the decision made pointless ends at once
and its question says who decided (:mod:`handlers.chat.deciding`); a step the decision leaves
possible stays (declining a part another clerk marked out of stock).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import WorkshopContext
from bot.i18n import Translator
from bot.messenger import Rendered
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
from handlers.chat.deciding import end_other_steps
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply
from handlers.floor.cards import ORDER_PREFIX
from handlers.parts.cards import (
    MAX_REASON,
    PART_PREFIX,
    CardFacts,
    item_text,
    old_part_name,
    redraw_cards,
    settlement_name,
)
from models.card import CardKind
from models.parts import (
    Action,
    Loss,
    OldPart,
    PartCompensation,
    Settlement,
    check_awaiting,
    check_decidable,
    decline,
    issue,
    mark_out_of_stock,
    parse_amount,
    parse_expected,
    part_label,
    require_clerk,
    settle_old_part,
)
from models.rules import Refused
from models.staff import Role, Staff, active_with_role
from models.work_order import get_order

TEXT = filters.TEXT & ~filters.COMMAND
OLD_PART, EXPECTED, REASON, AMOUNT, SETTLEMENT = range(5)
DECISION = "parts_decision"
ACTIONS = {"issue": Action.issue, "oos": Action.out_of_stock, "decline": Action.decline}
CHOICE_DATA = (rf"^{PART_PREFIX}:\d+:"
               r"(i:(received|awaiting|none|lost)|eta:tomorrow|pay:(replace|pay))$")


async def start_decision(update: Update, context: WorkshopContext) -> int:
    """Issue, Out of stock, Decline on the card, or "old part lost" on an issued part: a
    clerk, and a request this still applies to."""
    _ = context._
    query = update.callback_query
    assert query is not None and query.data is not None
    request_id = callback_int(update)
    verb = query.data.rsplit(":", 1)[1]
    async with context.services.db.session() as session:
        try:
            if verb == "lost":
                request = await check_awaiting(session, request_id=request_id,
                                               clerk=context.me)
                order = await get_order(session, request.order_id)
            else:
                action = ACTIONS[verb]
                order, request = await check_decidable(session, request_id=request_id,
                                                       clerk=context.me, action=action)
        except Refused as refused:
            await refuse(update, context, refused)
            return END
    drop_draft(context, DECISION)
    draft(context, DECISION).update(request_id=request_id, verb=verb)
    await answer_tap(update)
    what = _("#{id} {part} × {quantity} for {number}").format(
        id=request_id, part=part_label(request), quantity=request.quantity,
        number=order.number)
    if verb == "issue":
        text = _("Issue {what}. Old-for-new: what about the old part?").format(what=what)
        if not request.old_part_expected:
            text += "\n" + _("The technician says there is no old part.")
        await reply(update, text, keyboard(
            [button(_("♻️ Old part received"), f"{PART_PREFIX}:{request_id}:i:received")],
            [button(_("⏳ Issue now, old part to follow"),
                    f"{PART_PREFIX}:{request_id}:i:awaiting")],
            [button(_("🆕 No old part (new fitting or consumable)"),
                    f"{PART_PREFIX}:{request_id}:i:none")],
            [button(_("⚠️ Old part lost or damaged on purpose"),
                    f"{PART_PREFIX}:{request_id}:i:lost")],
        ))
        return OLD_PART
    if verb == "oos":
        await reply(update, _("{what} is out of stock. When is it expected? Send a date like "
                              "2026-12-03, or tap “Tomorrow”. The technician and the advisor "
                              "are told.").format(what=what),
                    keyboard([button(_("Tomorrow"), f"{PART_PREFIX}:{request_id}:eta:tomorrow")]))
        return EXPECTED
    if verb == "decline":
        await reply(update, _("Decline {what}. Why? The technician reads your reason.")
                    .format(what=what))
        return REASON
    await reply(update, _("{what}: the old part is lost or damaged on purpose. How much must be "
                          "made good, in yuan (e.g. 80)?").format(what=what))
    return AMOUNT


def _same_request(update: Update, context: WorkshopContext) -> bool:
    return callback_int(update) == draft(context, DECISION).get("request_id")


async def got_old_part(update: Update, context: WorkshopContext) -> int:
    """Received, to follow or none issue at once; lost asks for the compensation first."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not _same_request(update, context):
        await wrong_input(update, context)  # the old-part buttons of another request
        return OLD_PART
    old_part = OldPart(query.data.rsplit(":", 1)[1])
    if old_part is OldPart.lost:
        await answer_tap(update)
        await reply(update, context._("How much must be made good for the old part, in yuan "
                                      "(e.g. 80)?"))
        return AMOUNT
    return await decided(update, context, old_part=old_part)


async def got_amount(update: Update, context: WorkshopContext) -> int:
    """The value of the lost part; then whether the technician replaces it or pays."""
    assert update.message is not None
    _ = context._
    try:
        amount_fen = parse_amount(update.message.text or "")
    except Refused as refused:
        await reply(update, refusal(_, refused))
        return AMOUNT
    form = draft(context, DECISION)
    form["amount_fen"] = amount_fen
    request_id = form["request_id"]
    await reply(update, _("{amount}: does the technician replace the part or pay the amount?")
                .format(amount=_.money(amount_fen)),
                keyboard([button(_("🔁 Replace the part"),
                                 f"{PART_PREFIX}:{request_id}:pay:replace"),
                          button(_("💴 Pay the amount"), f"{PART_PREFIX}:{request_id}:pay:pay")]))
    return SETTLEMENT


async def got_settlement(update: Update, context: WorkshopContext) -> int:
    """Record the loss: with the issue, or on a part issued earlier."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not _same_request(update, context):
        await wrong_input(update, context)
        return SETTLEMENT
    form = draft(context, DECISION)
    loss = Loss(form["amount_fen"], Settlement(query.data.rsplit(":", 1)[1]))
    return await decided(update, context, old_part=OldPart.lost, loss=loss)


async def got_expected(update: Update, context: WorkshopContext) -> int:
    """A date, today or later; "Tomorrow" is a tap."""
    _ = context._
    today = context.services.settings.calendar.local_date(context.now())
    if update.callback_query is not None:
        if not _same_request(update, context):
            await wrong_input(update, context)
            return EXPECTED
        expected = today + timedelta(days=1)
    else:
        assert update.message is not None
        try:
            expected = parse_expected(update.message.text or "", today)
        except Refused as refused:
            await reply(update, refusal(_, refused))
            return EXPECTED
    return await decided(update, context, expected_on=expected)


async def got_reason(update: Update, context: WorkshopContext) -> int:
    """Why the part is declined; the technician reads it."""
    assert update.message is not None
    reason = await read_text(update, context, MAX_REASON)
    if reason is None:
        return REASON
    return await decided(update, context, reason=reason)


async def decided(update: Update, context: WorkshopContext, **choice: Any) -> int:
    """Carry the decision out (the conditional update picks the winner), redraw every copy
    of the card, and tell whoever needs to know."""
    _ = context._
    form = draft(context, DECISION)
    request_id, verb = form["request_id"], form["verb"]
    now, actor, clerk = context.now(), context.actor, context.me
    async with context.services.db.session() as session:
        try:
            entry = None
            if verb == "issue":
                _order, request, entry = await issue(
                    session, request_id=request_id, clerk=clerk, old_part=choice["old_part"],
                    loss=choice.get("loss"), now=now, actor=actor)
            elif verb == "lost":
                request, entry = await settle_old_part(
                    session, request_id=request_id, clerk=clerk, outcome=OldPart.lost,
                    loss=choice["loss"], now=now, actor=actor)
            elif verb == "oos":
                today = context.services.settings.calendar.local_date(now)
                _order, request = await mark_out_of_stock(
                    session, request_id=request_id, clerk=clerk,
                    expected_on=choice["expected_on"], today=today, now=now, actor=actor)
            else:
                _order, request = await decline(
                    session, request_id=request_id, clerk=clerk, reason=choice["reason"],
                    now=now, actor=actor)
        except Refused as refused:
            await session.rollback()
            drop_draft(context, DECISION)
            await refuse(update, context, refused)
            if update.callback_query is not None:  # the question's buttons are spent
                await update.callback_query.edit_message_text(refusal(_, refused))
            return END
        await session.commit()
        await answer_tap(update)  # at once; then the cards and whoever needs to know
        facts = await redraw_cards(context, session, request)
        await tell_others(context, session, facts, verb, entry)
    await end_other_steps(context, CardKind.part_request, request_id)
    drop_draft(context, DECISION)
    text = done_text(_, facts, verb)
    if update.callback_query is not None:
        await update.callback_query.edit_message_text(text)
    else:
        await reply(update, text)
    return END


def done_text(_: Translator, facts: CardFacts, verb: str) -> str:
    request = facts.request
    part = part_label(request)
    if verb == "issue":
        return _("📤 Issued #{id}: {part} × {quantity} ({old_part}). The technician has been "
                 "told.").format(id=request.id, part=part, quantity=request.quantity,
                                 old_part=old_part_name(_, request.old_part))
    if verb == "lost":
        return _("⚠️ #{id} {part}: the old part is written off as lost; the supervisors have "
                 "the compensation entry.").format(id=request.id, part=part)
    if verb == "oos":
        return _("📦 #{id} {part} marked out of stock, expected {day}. The technician and the "
                 "advisor have been told.").format(
                     id=request.id, part=part,
                     day=_.day(request.expected_on))
    return _("❌ Declined #{id} {part}. The technician has been told.").format(
        id=request.id, part=part)


async def tell_others(context: WorkshopContext, session: AsyncSession, facts: CardFacts,
                      verb: str, entry: PartCompensation | None) -> None:
    """The technician hears every decision; the advisor hears "out of stock"; the supervisors
    get every compensation entry."""
    messenger = context.services.messenger
    request, order = facts.request, facts.order
    technician = await session.get(Staff, request.requested_by)
    clerk = context.me.name
    where = {"number": order.number, "plate": order.plate, "item": item_text(facts),
             "part": part_label(request), "quantity": request.quantity, "clerk": clerk}

    def for_technician(t: Translator) -> Rendered:
        if verb == "issue":
            text = t("📤 Part issued for {number}, item “{item}”: {part} × {quantity} (by "
                     "{clerk}).").format(**where)
            if request.old_part == OldPart.awaiting:
                text += "\n" + t("Hand the old part in at the parts counter.")
            if entry is not None:
                text += "\n" + compensation_line(t, entry)
            return text, keyboard([button(t("↩️ Part does not match"),
                                          f"{PART_PREFIX}:{request.id}:ret")])
        if verb == "lost":
            assert entry is not None  # a loss always records its compensation entry
            return (t("⚠️ The old part of {part} ({number}) was written off as lost by {clerk}.")
                    .format(**where) + "\n" + compensation_line(t, entry), None)
        if verb == "oos":
            return out_of_stock_text(t, facts, where), None
        return (t("❌ Part request declined for {number}, item “{item}”: {part} × {quantity} — "
                  "{clerk}: {reason}").format(reason=request.decline_reason, **where),
                keyboard([button(t("🔩 Request part"), f"{ORDER_PREFIX}:{order.id}:part")]))

    if technician is not None:
        await messenger.send(session, technician, for_technician)
    if verb == "oos":
        advisor = await session.get(Staff, order.advisor_id)
        if advisor is not None:
            await messenger.send(session, advisor,
                                 lambda t: (out_of_stock_text(t, facts, where), None))
    if entry is not None:
        for supervisor in await active_with_role(session, Role.supervisor):
            await messenger.send(
                session, supervisor,
                lambda t: (compensation_card(t, facts, entry, clerk), None))


def out_of_stock_text(_: Translator, facts: CardFacts, where: dict[str, Any]) -> str:
    return _("📦 Part out of stock for {number} ({plate}), item “{item}”: {part} × {quantity}. "
             "Expected {day} (parts clerk {clerk}).").format(
                 day=_.day(facts.request.expected_on), **where)


def compensation_line(_: Translator, entry: PartCompensation) -> str:
    return _("A compensation entry was recorded: {how}, {amount}.").format(
        how=settlement_name(_, entry.settlement), amount=_.money(entry.amount_fen))


def compensation_card(_: Translator, facts: CardFacts, entry: PartCompensation,
                      clerk: str) -> str:
    return "\n".join([
        _("⚠️ Compensation entry: old part lost or damaged on purpose"),
        _("Technician: {name}").format(name=facts.name(entry.technician_id)),
        _("Part: {part} × {quantity}").format(part=entry.part, quantity=facts.request.quantity),
        _("Order: {number} · {plate}").format(number=facts.order.number,
                                             plate=facts.order.plate),
        _("Amount: {amount} — {how}").format(amount=_.money(entry.amount_fen),
                                            how=settlement_name(_, entry.settlement)),
        _("Recorded by {name} at {at}").format(name=clerk, at=_.time(entry.created_at)),
    ])


async def old_part_received(update: Update, context: WorkshopContext) -> None:
    """One tap on an issued part: its old part came in after all."""
    request_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            request, _entry = await settle_old_part(
                session, request_id=request_id, clerk=context.me, outcome=OldPart.received,
                now=context.now(), actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            return
        await session.commit()
        await answer_tap(update, context._("♻️ Old part received: #{id} {part}.").format(
            id=request.id, part=part_label(request)))
        await redraw_cards(context, session, request)
    await end_other_steps(context, CardKind.part_request, request_id)


async def still_open(context: WorkshopContext, session: AsyncSession, staff: Staff,
                     form: dict[str, Any], _: Translator) -> str | None:
    """A clerk's step goes on while its action still applies to the request: issue or decline
    a pending or out-of-stock part, mark a pending one out of stock, write off an old part
    still to come; else the words why not."""
    try:
        if form.get("verb") == "lost":
            await check_awaiting(session, request_id=form["request_id"], clerk=staff)
        else:
            await check_decidable(session, request_id=form["request_id"], clerk=staff,
                                  action=ACTIONS[form.get("verb", "issue")])
    except Refused as refused:
        return refusal(_, refused)
    return None


async def choice_out_of_step(update: Update, context: WorkshopContext) -> None:
    """An old-part, date or settlement button with no decision under way: a forged tap, or
    an old question (on a part decided since, the answer says who decided it and when)."""
    async with context.services.db.session() as session:
        try:
            require_clerk(context.me)
            await check_decidable(session, request_id=callback_int(update), clerk=context.me,
                                  action=Action.issue)
        except Refused as refused:
            await refuse(update, context, refused)
            return
    await stale_button(update, context)


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "parts_decision",
            draft_key=DECISION,
            decides=Decides(CardKind.part_request, "request_id", still_open),
            entry_points=[CallbackQueryHandler(
                start_decision, pattern=rf"^{PART_PREFIX}:\d+:(issue|oos|decline|lost)$")],
            states={
                OLD_PART: [CallbackQueryHandler(
                    got_old_part, pattern=rf"^{PART_PREFIX}:\d+:i:(received|awaiting|none|lost)$")],
                EXPECTED: [MessageHandler(TEXT, got_expected),
                           CallbackQueryHandler(got_expected,
                                                pattern=rf"^{PART_PREFIX}:\d+:eta:tomorrow$")],
                REASON: [MessageHandler(TEXT, got_reason)],
                AMOUNT: [MessageHandler(TEXT, got_amount)],
                SETTLEMENT: [CallbackQueryHandler(got_settlement,
                                                  pattern=rf"^{PART_PREFIX}:\d+:pay:(replace|pay)$")],
            },
        ),
        CallbackQueryHandler(old_part_received, pattern=rf"^{PART_PREFIX}:\d+:old$"),
        CallbackQueryHandler(choice_out_of_step, pattern=CHOICE_DATA),
    ]
