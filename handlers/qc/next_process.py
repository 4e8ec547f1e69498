"""W7, instead of QC: "➡️ Hand on to the next process".

The technician (or a team leader) picks another active technician and writes a note: what is
done, what comes next. The order stays in progress with them; the previous technician (when a
team leader moved it) and the advisor hear where it went.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import WorkshopContext
from bot.refusals import refusal, refuse
from handlers.chat.conversation import (
    END,
    conversation,
    draft,
    drop_draft,
    read_text,
    stale_button,
    wrong_input,
)
from handlers.chat.order_step import open_floor_step
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply
from handlers.floor.cards import ORDER_PREFIX, show_advisor_order, show_order
from models.qc import MAX_NOTE, check_handoff, hand_over, handoff_targets
from models.rules import Refused
from models.staff import Staff
from models.work_order import OrderStatus

PREFIX = "nxt"  # the callback data of this module's buttons: nxt:…

TEXT = filters.TEXT & ~filters.COMMAND
PICK, NOTE = range(2, 4)
NEXT = "next_process"

async def next_start(update: Update, context: WorkshopContext) -> int:
    """"➡️ Hand on to the next process": to which technician?"""
    _ = context._
    order = await open_floor_step(update, context, OrderStatus.in_progress, NEXT)
    if order is None:
        return END
    async with context.services.db.session() as session:
        targets = await handoff_targets(session, order)
    if not targets:
        drop_draft(context, NEXT)
        await reply(update, _("There is no other active technician to hand {number} on "
                              "to.").format(number=order.number))
        return END
    await reply(update, _("{number}: hand it on to which technician? They get the order card "
                          "with your note and carry on the work; the order leaves your /orders "
                          "and a job clock you have running on it stops. The advisor is told. "
                          "/cancel stops.").format(number=order.number),
                keyboard(*[[button(s.name[:60], f"{PREFIX}:{order.id}:{s.id}")] for s in targets]))
    return PICK


async def next_pick(update: Update, context: WorkshopContext) -> int:
    """The next technician; now the note."""
    query = update.callback_query
    assert query is not None and query.data is not None
    form = draft(context, NEXT)
    if callback_int(update) != form.get("order_id"):
        await wrong_input(update, context)
        return PICK
    async with context.services.db.session() as session:
        try:
            _order, target = await check_handoff(
                session, order_id=form["order_id"], technician=context.me,
                to_staff_id=int(query.data.split(":")[2]))
        except Refused as refused:
            await refuse(update, context, refused)
            if refused.code == "not_technician":
                return PICK
            drop_draft(context, NEXT)
            return END
    form["to_staff_id"] = target.id
    await answer_tap(update)
    await reply(update, context._("A note for {name}: what is done, what comes next (a bay, "
                                  "a part, a test)?").format(name=target.name))
    return NOTE


async def next_note(update: Update, context: WorkshopContext) -> int:
    """Hand the order on; the next technician gets it with the note, the advisor hears."""
    _ = context._
    assert update.message is not None
    note = await read_text(update, context, MAX_NOTE)
    if note is None:
        return NOTE
    form = draft(context, NEXT)
    me = context.me
    now = context.now()
    messenger = context.services.messenger
    async with context.services.db.session() as session:
        try:
            order, previous, target = await hand_over(
                session, order_id=form["order_id"], technician=me,
                to_staff_id=form["to_staff_id"], note=note or "", now=now,
                actor=context.actor)
        except Refused as refused:
            await session.rollback()
            drop_draft(context, NEXT)
            await reply(update, refusal(_, refused))
            return END
        await session.commit()
        # The next technician: who sent it, the note, and what to do with the card that follows.
        await messenger.send(session, target, lambda t: (t(
            "➡️ {name} handed {number} ({plate}) on to you, with this note:\n{note}\n\n"
            "Your order card for it follows: carry on with the items still open; when they "
            "are done, tap “{button}” to send it to QC.").format(
                name=previous.name, number=order.number, plate=order.plate, note=note,
                button=t("🏁 Self-check and hand over")), None), now=now)
        await show_order(context.services, session, order, fresh=True)
        await show_advisor_order(context.services, session, order)
        if previous.id != me.id:  # a team leader moved it: the previous technician hears too
            await messenger.send(session, previous, lambda t: (t(
                "➡️ {name} handed {number} ({plate}) on to {target}: it has left your /orders, "
                "and a job clock you had running on it stopped.").format(
                    name=me.name, number=order.number, plate=order.plate,
                    target=target.name), None), now=now)
        advisor = await session.get(Staff, order.advisor_id)
        if advisor is not None:
            await messenger.send(session, advisor, lambda t: (t(
                "➡️ {number} ({plate}) went from {previous} to {target}: {note}\n"
                "The work goes on with {target}; you will be told when the car has passed its "
                "checks and is ready to hand back.").format(
                    number=order.number, plate=order.plate, previous=previous.name,
                    target=target.name, note=note), None), now=now)
    drop_draft(context, NEXT)
    lines = [_("➡️ {number} ({plate}) is now with {name}. They have the order card and your "
               "note, and carry on the work; the self-check and QC come when they finish.")
             .format(number=order.number, plate=order.plate, name=target.name)]
    if previous.id == me.id:
        lines.append(_("It has left your /orders, and a job clock you had running on it "
                       "stopped."))
    else:
        lines.append(_("{name} has been told; a job clock they had running on it stopped.")
                     .format(name=previous.name))
    if advisor is not None:
        lines.append(_("The advisor {name} has been told.").format(name=advisor.name))
    await reply(update, "\n".join(lines))
    return END


async def pick_out_of_step(update: Update, context: WorkshopContext) -> None:
    """A technician button with no hand-over under way."""
    await stale_button(update, context)


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            NEXT,
            draft_key=NEXT,
            entry_points=[CallbackQueryHandler(next_start, pattern=rf"^{ORDER_PREFIX}:\d+:next$")],
            states={
                PICK: [CallbackQueryHandler(next_pick, pattern=rf"^{PREFIX}:\d+:\d+$")],
                NOTE: [MessageHandler(TEXT, next_note)],
            },
        ),
        CallbackQueryHandler(pick_out_of_step, pattern=rf"^{PREFIX}:\d+:\d+$"),
    ]
