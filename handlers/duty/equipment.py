"""W8: ``/damage`` — anyone reports damaged equipment; a supervisor decides on compensation.

Steps: what is damaged → what happened → photos (at least one) → was it misuse? The
supervisors get a card: **Compensation** asks the amount and who pays, **No compensation**
decides at once. The first decision wins; every copy of the card then says it, and the
reporter (and whoever pays) is told. ``/damage list`` is the register, for supervisors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

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
    keep_photo,
    read_text,
)
from handlers.chat.deciding import end_other_steps
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply
from models.attachment import Attachment, attachments_of
from models.card import CardKind
from models.db import commit_writes, id_of
from models.equipment import (
    MAX_DESCRIPTION,
    MAX_EQUIPMENT,
    MAX_PHOTOS,
    OWNER,
    DamageReport,
    DamageStatus,
    check_decidable,
    decide,
    get_report,
    parse_amount,
    payer_candidates,
    register,
    report_damage,
)
from models.rules import Refused
from models.staff import Role, Staff, active_with_role, require_supervisor

PREFIX = "dmg"  # the callback data of this module's buttons: dmg:…

EQUIPMENT, DESCRIPTION, PHOTOS, MISUSE = range(4)
AMOUNT, PAYER = range(2)
DRAFT = "damage"
DECISION_DRAFT = "damage_decision"
TEXT = filters.TEXT & ~filters.COMMAND
LIST_WORDS = ("list", "register", "登记", "列表")


# --- the report ------------------------------------------------------------------------------


async def start(update: Update, context: WorkshopContext) -> int:
    """/damage: anyone reports; ``/damage list`` shows the register to supervisors."""
    args = context.args or []
    if args and args[0].lower() in LIST_WORDS:
        await show_register(update, context)
        return END
    drop_draft(context, DRAFT)
    draft(context, DRAFT)["photos"] = []
    await reply(update, context._("Report damaged equipment (W8). What is damaged? Name the "
                                  "instrument, equipment or tool, e.g. “2-post lift No. 2”. "
                                  "/cancel stops."))
    return EQUIPMENT


async def got_equipment(update: Update, context: WorkshopContext) -> int:
    """What is damaged."""
    assert update.message is not None
    text = await read_text(update, context, MAX_EQUIPMENT)
    if text is None:
        return EQUIPMENT
    draft(context, DRAFT)["equipment"] = text
    await reply(update, context._("What happened, and how bad is it?"))
    return DESCRIPTION


async def got_description(update: Update, context: WorkshopContext) -> int:
    """What happened; photos next."""
    assert update.message is not None
    text = await read_text(update, context, MAX_DESCRIPTION)
    if text is None:
        return DESCRIPTION
    draft(context, DRAFT)["description"] = text
    await reply(update, context._("Send a photo of the damage (up to {limit}), then tap "
                                  "“Continue”.").format(limit=MAX_PHOTOS),
                continue_button(context._))
    return PHOTOS


def continue_button(_: Translator) -> InlineKeyboardMarkup:
    return keyboard([button(_("➡️ Continue"), f"{PREFIX}:new:next")])


async def photo_too_early(update: Update, context: WorkshopContext) -> int:
    """Words first; the photos right after."""
    await reply(update, context._("Please answer in words first; the photos come next."))
    return EQUIPMENT if "equipment" not in draft(context, DRAFT) else DESCRIPTION


async def got_photo(update: Update, context: WorkshopContext) -> int:
    """Keep the largest size of each photo, up to the cap."""
    _ = context._
    message = update.message
    assert message is not None and message.photo
    count = keep_photo(context, DRAFT, message, MAX_PHOTOS)
    if not count:
        text = _("At most {limit} photos; this one was not kept. Tap “Continue”.").format(
            limit=MAX_PHOTOS)
    else:
        text = _.ngettext("{count} photo kept. Send more, or tap “Continue”.",
                          "{count} photos kept. Send more, or tap “Continue”.",
                          count).format(count=count)
    await reply(update, text, continue_button(_))
    return PHOTOS


async def text_instead_of_photo(update: Update, context: WorkshopContext) -> int:
    await reply(update, context._("This step takes photos of the damage. Send one, then tap "
                                  "“Continue”. /cancel stops."), continue_button(context._))
    return PHOTOS


async def photos_done(update: Update, context: WorkshopContext) -> int:
    """At least one photo; then: was it misuse?"""
    _ = context._
    await answer_tap(update)
    if not draft(context, DRAFT).get("photos"):
        await reply(update, refusal(_, Refused("damage_photo_missing")) + " "
                    + _("Send one, then tap “Continue”."), continue_button(_))
        return PHOTOS
    await reply(update, _("Was it misuse — used wrongly or carelessly? Misuse damage is paid "
                          "for (W8)."),
                keyboard([button(_("Yes, misuse"), f"{PREFIX}:new:misuse:1"),
                          button(_("No — wear or accident"), f"{PREFIX}:new:misuse:0")]))
    return MISUSE


async def got_misuse(update: Update, context: WorkshopContext) -> int:
    """Save the report and put the card in front of every supervisor."""
    _ = context._
    query = update.callback_query
    assert query is not None and query.data is not None
    form = draft(context, DRAFT)
    now = context.now()
    messenger = context.services.messenger
    async with context.services.db.session() as session:
        try:
            report = await report_damage(
                session, staff=context.me, equipment=form["equipment"],
                description=form["description"], misuse=query.data.endswith(":1"),
                photos=form.get("photos", []), now=now, actor=context.actor)
        except Refused as refused:
            await session.rollback()
            drop_draft(context, DRAFT)
            await refuse(update, context, refused)
            return END
        await session.commit()
        facts = await card_facts(session, report)
        delivered = 0
        for supervisor in await active_with_role(session, Role.supervisor):
            delivered += await messenger.send(
                session, supervisor, lambda t: damage_card(t, facts),
                card=(CardKind.damage_report, id_of(report)), photos=facts.photos, now=now)
        await commit_writes(session)
    drop_draft(context, DRAFT)
    await answer_tap(update)
    if delivered:
        text = _("✅ Damage report #{id} on {equipment} sent to the supervisors, who decide "
                 "on compensation.")
    else:
        text = _("Damage report #{id} on {equipment} saved, but no supervisor could be "
                 "reached. It is in the register.")
    await query.edit_message_text(text.format(id=report.id, equipment=report.equipment))
    return END


# --- the supervisors' card -------------------------------------------------------------------


@dataclass(frozen=True)
class CardFacts:
    report: DamageReport
    reporter: Staff | None
    decided_by: Staff | None
    payer: Staff | None
    photos: list[Attachment]


async def card_facts(session: AsyncSession, report: DamageReport) -> CardFacts:
    async def person(staff_id: int | None) -> Staff | None:
        return await session.get(Staff, staff_id) if staff_id is not None else None

    return CardFacts(report, await person(report.reported_by), await person(report.decided_by),
                     await person(report.payer_id),
                     await attachments_of(session, OWNER, id_of(report)))


def decision_line(_: Translator, facts: CardFacts) -> str:
    report = facts.report
    who = facts.decided_by.name if facts.decided_by else "?"
    if report.status == DamageStatus.compensation:
        return _("💰 Compensation {amount}, paid by {payer} — decided by {name} at {at}.").format(
            amount=_.money(report.amount_fen), payer=facts.payer.name if facts.payer else "?",
            name=who, at=_.time(report.decided_at))  # type: ignore[arg-type]
    return _("🙅 No compensation — decided by {name} at {at}.").format(
        name=who, at=_.time(report.decided_at))  # type: ignore[arg-type]


def damage_card(_: Translator, facts: CardFacts) -> Rendered:
    report = facts.report
    count = len(facts.photos)
    lines = [
        _("🛠 Equipment damage #{id}: {equipment}").format(id=report.id,
                                                         equipment=report.equipment),
        _("Reported by {name} at {at}").format(
            name=facts.reporter.name if facts.reporter else "?", at=_.time(report.created_at)),
        _("Misuse: yes") if report.misuse else _("Misuse: no"),
        "",
        report.description,
        "",
        _.ngettext("📷 {count} photo", "📷 {count} photos", count).format(count=count),
    ]
    if report.status != DamageStatus.reported:
        lines.append(decision_line(_, facts))
        return "\n".join(lines), None
    return "\n".join(lines), keyboard([button(_("💰 Compensation"), f"{PREFIX}:{report.id}:pay"),
                                       button(_("🙅 No compensation"),
                                              f"{PREFIX}:{report.id}:none")])


async def announce(context: WorkshopContext, session: AsyncSession, report: DamageReport) -> None:
    """Every copy of the card shows the decision; the reporter and the payer are told."""
    facts = await card_facts(session, report)
    messenger = context.services.messenger
    await messenger.update_cards(session, CardKind.damage_report, id_of(report),
                                 lambda t: damage_card(t, facts))
    told: set[int | None] = {context.me.id}
    if facts.reporter is not None and facts.reporter.id not in told:
        told.add(facts.reporter.id)
        await messenger.send(session, facts.reporter, lambda t: (
            t("Your damage report #{id} ({equipment}): {decision}").format(
                id=facts.report.id, equipment=facts.report.equipment,
                decision=decision_line(t, facts)), None))
    if facts.payer is not None and facts.payer.id not in told:
        await messenger.send(session, facts.payer, lambda t: (
            t("You pay {amount} for the damage to {equipment} (#{id}), decided by {name}.")
            .format(amount=t.money(facts.report.amount_fen), equipment=facts.report.equipment,
                    id=facts.report.id,
                    name=facts.decided_by.name if facts.decided_by else "?"), None))


async def no_compensation(update: Update, context: WorkshopContext) -> None:
    """🙅 No compensation: decided at once."""
    async with context.services.db.session() as session:
        try:
            report = await decide(session, report_id=callback_int(update),
                                  supervisor=context.me, compensate=False, now=context.now(),
                                  actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            return
        await session.commit()
        await announce(context, session, report)
    await end_other_steps(context, CardKind.damage_report, id_of(report))
    await answer_tap(update, context._("Decided: no compensation for #{id}.").format(
        id=report.id))


async def compensation_start(update: Update, context: WorkshopContext) -> int:
    """💰 Compensation: a supervisor, a report nobody decided yet; the amount first."""
    report_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            report = await check_decidable(session, report_id=report_id,
                                            supervisor=context.me)
        except Refused as refused:
            await refuse(update, context, refused)
            return END
    drop_draft(context, DECISION_DRAFT)
    draft(context, DECISION_DRAFT)["report_id"] = report_id
    await answer_tap(update)
    await reply(update, context._("#{id} {equipment}: how much is to be paid, in yuan? "
                                  "/cancel stops.").format(id=report.id,
                                                           equipment=report.equipment))
    return AMOUNT


async def still_open(context: WorkshopContext, session: AsyncSession, staff: Staff,
                     form: dict[str, Any], _: Translator) -> str | None:
    """A compensation being set goes on while nobody has decided the report."""
    try:
        await check_decidable(session, report_id=form["report_id"], supervisor=staff)
    except Refused as refused:
        return refusal(_, refused)
    return None


async def got_amount(update: Update, context: WorkshopContext) -> int:
    """An amount in yuan; then who pays."""
    assert update.message is not None
    try:
        fen = parse_amount(update.message.text or "")
    except Refused as refused:
        await reply(update, refusal(context._, refused))
        return AMOUNT
    form = draft(context, DECISION_DRAFT)
    form["amount_fen"] = fen
    async with context.services.db.session() as session:
        report = await get_report(session, form["report_id"])
        people = await payer_candidates(session, report)
    if not people:
        await reply(update, context._("There is nobody active to pay; /cancel and decide "
                                      "later."))
        return AMOUNT
    buttons = [button(p.name, f"{PREFIX}:payer:{p.id}") for p in people]
    await reply(update, context._("{amount}. Who pays?").format(amount=context._.money(fen)),
                keyboard(*[buttons[i : i + 2] for i in range(0, len(buttons), 2)]))
    return PAYER


async def got_payer(update: Update, context: WorkshopContext) -> int:
    """Decide (the conditional update picks the winner) and tell everyone concerned."""
    _ = context._
    query = update.callback_query
    assert query is not None
    form = draft(context, DECISION_DRAFT)
    async with context.services.db.session() as session:
        try:
            report = await decide(session, report_id=form["report_id"], supervisor=context.me,
                                  compensate=True, amount_fen=form["amount_fen"],
                                  payer_id=callback_int(update, 2), now=context.now(),
                                  actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            if refused.code == "damage_bad_payer":
                return PAYER
            drop_draft(context, DECISION_DRAFT)
            await query.edit_message_text(refusal(_, refused))
            return END
        await session.commit()
        await announce(context, session, report)
        facts = await card_facts(session, report)
    await end_other_steps(context, CardKind.damage_report, id_of(report))
    drop_draft(context, DECISION_DRAFT)
    await answer_tap(update)
    await query.edit_message_text(_("#{id} {equipment}: {decision}").format(
        id=report.id, equipment=report.equipment, decision=decision_line(_, facts)))
    return END


# --- the register ----------------------------------------------------------------------------


async def show_register(update: Update, context: WorkshopContext) -> None:
    """``/damage list``: the latest reports and what was decided; undecided ones can be opened."""
    _ = context._
    try:
        require_supervisor(context.me)
    except Refused as refused:
        await reply(update, refusal(_, refused))
        return
    async with context.services.db.session() as session:
        reports = await register(session)
        lines = [_("🛠 Equipment damage register (W8), newest first:")]
        for report in reports:
            facts = await card_facts(session, report)
            state = (decision_line(_, facts) if report.status != DamageStatus.reported
                     else _("⏳ undecided"))
            lines.append(_("#{id} {at} {equipment} — {name}, misuse: {misuse}. {state}").format(
                id=report.id, at=_.time(report.created_at), equipment=report.equipment,
                name=facts.reporter.name if facts.reporter else "?",
                misuse=_("yes") if report.misuse else _("no"), state=state))
    if not reports:
        lines.append(_("No damage has been reported."))
    undecided = [r for r in reports if r.status == DamageStatus.reported][:6]
    markup = keyboard(*[[button(_("⚖️ Decide #{id}").format(id=r.id), f"{PREFIX}:{r.id}:card")]
                        for r in undecided]) if undecided else None
    await reply(update, "\n".join(lines), markup)


async def resend_card(update: Update, context: WorkshopContext) -> None:
    """⚖️ Decide #n from the register: the card again, in this chat."""
    now = context.now()
    async with context.services.db.session() as session:
        try:
            report = await check_decidable(session, report_id=callback_int(update),
                                            supervisor=context.me)
        except Refused as refused:
            await refuse(update, context, refused)
            return
        facts = await card_facts(session, report)
        await context.services.messenger.send(session, context.me,
                                              lambda t: damage_card(t, facts),
                                              card=(CardKind.damage_report, id_of(report)),
                                              photos=facts.photos, now=now)
        await commit_writes(session)
    await answer_tap(update)


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "damage",
            draft_key=DRAFT,
            entry_points=[CommandHandler("damage", start)],
            states={
                EQUIPMENT: [MessageHandler(TEXT, got_equipment),
                            MessageHandler(filters.PHOTO, photo_too_early)],
                DESCRIPTION: [MessageHandler(TEXT, got_description),
                              MessageHandler(filters.PHOTO, photo_too_early)],
                PHOTOS: [MessageHandler(filters.PHOTO, got_photo),
                         CallbackQueryHandler(photos_done, pattern=rf"^{PREFIX}:new:next$"),
                         MessageHandler(TEXT, text_instead_of_photo)],
                MISUSE: [CallbackQueryHandler(got_misuse, pattern=rf"^{PREFIX}:new:misuse:[01]$")],
            },
        ),
        conversation(
            "damage_decision",
            draft_key=DECISION_DRAFT,
            decides=Decides(CardKind.damage_report, "report_id", still_open),
            entry_points=[CallbackQueryHandler(compensation_start, pattern=rf"^{PREFIX}:\d+:pay$")],
            states={
                AMOUNT: [MessageHandler(TEXT, got_amount)],
                PAYER: [CallbackQueryHandler(got_payer, pattern=rf"^{PREFIX}:payer:\d+$")],
            },
        ),
        CallbackQueryHandler(no_compensation, pattern=rf"^{PREFIX}:\d+:none$"),
        CallbackQueryHandler(resend_card, pattern=rf"^{PREFIX}:\d+:card$"),
    ]
