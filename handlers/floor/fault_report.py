"""W4: "Report unlisted fault" — a fault the order does not list, with photos, to the front desk.

The technician describes the fault, sends any number of photos (none is fine) and taps
"Done — send". The order's advisor gets a card with an Acknowledge button; the first advisor
to tap it wins and every copy of the card says who and when. A card nobody acknowledges goes to
every advisor on duty (:mod:`jobs.fault_escalation`, which renders it with :func:`fault_card`).
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import WorkshopContext
from bot.i18n import Translator
from bot.refusals import refusal, refuse
from handlers.chat.conversation import (
    END,
    TEXT_OR_VOICE,
    conversation,
    draft,
    drop_draft,
    keep_photo,
    read_text_or_voice,
)
from handlers.chat.order_step import open_floor_step
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply
from handlers.floor.cards import (
    FAULT_PREFIX,
    ORDER_PREFIX,
    fault_card,
    fault_facts,
    show_advisor_order,
)
from models.card import CardKind
from models.db import commit_writes, id_of
from models.fault_report import MAX_PHOTOS, acknowledge, report_fault
from models.rules import Refused
from models.staff import Staff
from models.work_order import (
    OrderStatus,
)

DESCRIBING, PHOTOS = range(2)
DRAFT = "fault_report"
MAX_DESCRIPTION = 1500


async def start(update: Update, context: WorkshopContext) -> int:
    """The order's technician, an order in progress: ask what the fault is."""
    order = await open_floor_step(update, context, OrderStatus.in_progress, DRAFT)
    if order is None:
        return END
    await reply(update, context._("{number}: describe the fault you found that the order does "
                                  "not list — what, where, how bad. It goes to the advisor. "
                                  "/cancel stops.").format(number=order.number))
    return DESCRIBING


async def photo_too_early(update: Update, context: WorkshopContext) -> int:
    """Words first: a photo without a description tells the advisor little."""
    await reply(update, context._("Please describe the fault in words first; you can send "
                                  "the photos right after."))
    return DESCRIBING


async def got_description(update: Update, context: WorkshopContext) -> int:
    """Keep the description (words, or a voice note); photos next."""
    assert update.message is not None
    text = await read_text_or_voice(update, context, MAX_DESCRIPTION, DRAFT)
    if text is None:
        return DESCRIBING
    form = draft(context, DRAFT)
    form["description"] = text
    await reply(update, context._("Now send photos of the fault (up to {limit}), then tap "
                                  "“Done — send”. No photos? Tap it straight away.")
                .format(limit=MAX_PHOTOS), done_button(context._, form["order_id"]))
    return PHOTOS


async def got_photo(update: Update, context: WorkshopContext) -> int:
    """Keep the largest size of each photo, up to the cap."""
    _ = context._
    message = update.message
    assert message is not None and message.photo
    form = draft(context, DRAFT)
    count = keep_photo(context, DRAFT, message, MAX_PHOTOS)
    if not count:
        await reply(update, _("A report takes at most {limit} photos; this one was not kept. "
                              "Tap “Done — send” to send the report.").format(limit=MAX_PHOTOS),
                    done_button(_, form["order_id"]))
        return PHOTOS
    if count >= MAX_PHOTOS:
        text = _.ngettext(
            "{count} photo kept — that is the most one report takes. Tap “Done — send”.",
            "{count} photos kept — that is the most one report takes. Tap “Done — send”.",
            count)
    else:
        text = _.ngettext("{count} photo kept. Send more, or tap “Done — send”.",
                          "{count} photos kept. Send more, or tap “Done — send”.", count)
    await reply(update, text.format(count=count), done_button(_, form["order_id"]))
    return PHOTOS


async def text_instead_of_photo(update: Update, context: WorkshopContext) -> int:
    """The description is already taken; say what this step wants."""
    form = draft(context, DRAFT)
    await reply(update, context._("This step takes photos. Send them, or tap “Done — send” (or "
                                  "type /done) to send the report. /cancel drops it."),
                done_button(context._, form["order_id"]))
    return PHOTOS


async def send_report(update: Update, context: WorkshopContext) -> int:
    """Save the report, push the card to the order's advisor, confirm to the technician."""
    _ = context._
    form = draft(context, DRAFT)
    if update.callback_query is not None and callback_int(update) != form["order_id"]:
        await answer_tap(update, _("This button is no longer active."), alert=True)
        return PHOTOS
    now = context.now()
    messenger = context.services.messenger
    async with context.services.db.session() as session:
        try:
            order, report = await report_fault(
                session, order_id=form["order_id"], technician=context.me,
                description=form["description"], photos=form.get("photos", []), now=now,
                actor=context.actor,
            )
        except Refused as refused:
            await session.rollback()
            drop_draft(context, DRAFT)
            await answer_tap(update)
            await reply(update, refusal(_, refused))
            return END
        await session.commit()
        await answer_tap(update)  # at once; then the advisor's card goes out
        facts = await fault_facts(session, report)
        advisor = await session.get(Staff, order.advisor_id)
        delivered = 0
        if advisor is not None:
            delivered = await messenger.send(
                session, advisor, lambda t: fault_card(t, facts),
                card=(CardKind.fault_report, id_of(report)),
                photos=facts.photos, now=now,
            )
            await commit_writes(session)  # where the card went, so the acknowledgement can edit it
        # The advisor's order card offers the Acknowledge button too.
        await show_advisor_order(context.services, session, order, send_new=False)
    drop_draft(context, DRAFT)
    minutes = context.services.settings.fault_escalation_minutes
    if delivered:
        text = _.ngettext(
            "✅ Fault reported on {number}; {name} has it. If nobody acknowledges it within "
            "{count} minute, it goes to every advisor on duty.",
            "✅ Fault reported on {number}; {name} has it. If nobody acknowledges it within "
            "{count} minutes, it goes to every advisor on duty.", minutes)
    else:
        text = _.ngettext(
            "Fault on {number} saved, but {name} could not be reached. If nobody acknowledges "
            "it within {count} minute, it goes to every advisor on duty.",
            "Fault on {number} saved, but {name} could not be reached. If nobody acknowledges "
            "it within {count} minutes, it goes to every advisor on duty.", minutes)
    await reply(update, text.format(number=order.number, count=minutes,
                                    name=advisor.name if advisor else "—"))
    return END


def done_button(_: Translator, order_id: int) -> InlineKeyboardMarkup:
    return keyboard([button(_("✅ Done — send"), f"{ORDER_PREFIX}:{order_id}:fault:send")])


# --- the card on the advisors' side ----------------------------------------------------------


async def acknowledged(update: Update, context: WorkshopContext) -> None:
    """The first advisor's tap wins: every copy of the card says so, the technician is told."""
    report_id = callback_int(update)
    messenger = context.services.messenger
    async with context.services.db.session() as session:
        try:
            report = await acknowledge(session, report_id=report_id, advisor=context.me,
                                       now=context.now(), actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            return
        await session.commit()
        # The tap is answered at once; then the cards are redrawn and the technician told.
        await answer_tap(update, context._("Acknowledged. The technician has been told."))
        facts = await fault_facts(session, report)
        await messenger.update_cards(session, CardKind.fault_report, report_id,
                                     lambda t: fault_card(t, facts))
        await show_advisor_order(context.services, session, facts.order, send_new=False)
        technician = facts.technician
        advisor = context.me
        if technician is not None:
            await messenger.send(
                session, technician,
                lambda t: (t("👌 {name} acknowledged your fault report on {number} at {at}:\n"
                             "{description}").format(
                                 name=advisor.name, number=facts.order.number,
                                 at=t.time(report.acknowledged_at),  # type: ignore[arg-type]
                                 description=report.description), None),
            )


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "fault_report",
            draft_key=DRAFT,
            entry_points=[CallbackQueryHandler(start, pattern=rf"^{ORDER_PREFIX}:\d+:fault$")],
            states={
                DESCRIBING: [
                    MessageHandler(TEXT_OR_VOICE, got_description),
                    MessageHandler(filters.PHOTO, photo_too_early),
                ],
                PHOTOS: [
                    MessageHandler(filters.PHOTO, got_photo),
                    CallbackQueryHandler(send_report, pattern=rf"^{ORDER_PREFIX}:\d+:fault:send$"),
                    CommandHandler("done", send_report),
                    MessageHandler(filters.TEXT & ~filters.COMMAND, text_instead_of_photo),
                ],
            },
        ),
        CallbackQueryHandler(acknowledged, pattern=rf"^{FAULT_PREFIX}:\d+:ack$"),
    ]
