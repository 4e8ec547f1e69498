"""W11: an invitee answers a notice on their card: **Will attend** (recorded at once) or
**Can't attend** (a reason is asked). The organiser is told of a "can't" and of a change of
mind; every copy of the invitee's card is redrawn. Answers close when the notice starts.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import WorkshopContext
from bot.i18n import Translator
from bot.messenger import Rendered
from bot.refusals import refusal, refuse
from handlers.chat.conversation import END, conversation, draft, drop_draft, read_text
from handlers.chat.ui import answer_tap, callback_int, reply
from handlers.training.cards import INVITEE_PREFIX, card_facts, invitee_card
from models.card import CardKind
from models.db import id_of
from models.rules import Refused
from models.staff import Staff
from models.training import MAX_REASON, Answer, NoticeInvitee, answer, check_answerable

REASON = 0
DECLINE_DRAFT = "notice_decline"
TEXT = filters.TEXT & ~filters.COMMAND


# --- answering: will attend / can't attend ---------------------------------------------------
async def will_attend(update: Update, context: WorkshopContext) -> None:
    """✅ on the card: recorded at once; a change of mind is told to the organiser."""
    _ = context._
    invitee_id = callback_int(update)
    async with context.services.db.session() as session:
        before = await session.get(NoticeInvitee, invitee_id)
        was_declined = before is not None and before.answer == Answer.declined
        try:
            notice, invitee = await answer(session, invitee_id=invitee_id, staff=context.me,
                                           attending=True, now=context.now(),
                                           actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            return
        await session.commit()
        await answered(context, session, invitee, tell_organiser=was_declined)
    await answer_tap(update, _("Noted: you will attend “{title}”.").format(title=notice.title))


async def answered(context: WorkshopContext, session: AsyncSession, invitee: NoticeInvitee,
                   *, tell_organiser: bool) -> None:
    """Redraw every copy of the invitee's card; tell the organiser about a "can't" or a
    change of mind."""
    facts = await card_facts(session, invitee)
    messenger = context.services.messenger
    await messenger.update_cards(session, CardKind.notice, id_of(invitee),
                                 lambda t: invitee_card(t, facts))
    if not tell_organiser:
        return
    organiser = await session.get(Staff, facts.notice.organiser_id)
    if organiser is None or not organiser.active:
        return
    me, notice = context.me, facts.notice

    def render(t: Translator) -> Rendered:
        if invitee.answer == Answer.declined:
            text = t("❌ {name} can't attend “{title}” ({at}): {reason}").format(
                name=me.name, title=notice.title, at=t.time(notice.starts_at),
                reason=invitee.reason)
        else:
            text = t("✅ {name} will attend “{title}” ({at}) after all.").format(
                name=me.name, title=notice.title, at=t.time(notice.starts_at))
        return text, None

    await messenger.send(session, organiser, render)


async def start_decline(update: Update, context: WorkshopContext) -> int:
    """❌ on the card: the invitee, before the start; ask why."""
    invitee_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            notice, invitee = await check_answerable(session, invitee_id=invitee_id,
                                                     staff=context.me, now=context.now())
            if invitee.answer == Answer.declined:
                raise Refused("notice_same_answer", answer=Answer.declined.value)
        except Refused as refused:
            await refuse(update, context, refused)
            return END
    drop_draft(context, DECLINE_DRAFT)
    draft(context, DECLINE_DRAFT)["invitee_id"] = invitee_id
    await answer_tap(update)
    await reply(update, context._("Why can't you attend “{title}”? The organiser will read your "
                                  "reason. /cancel keeps your earlier answer.").format(
        title=notice.title))
    return REASON


async def got_reason(update: Update, context: WorkshopContext) -> int:
    """Record the "can't attend" with its reason and tell the organiser."""
    _ = context._
    assert update.message is not None
    reason = await read_text(update, context, MAX_REASON)
    if reason is None:
        return REASON
    invitee_id = draft(context, DECLINE_DRAFT)["invitee_id"]
    async with context.services.db.session() as session:
        try:
            notice, invitee = await answer(session, invitee_id=invitee_id, staff=context.me,
                                           attending=False, reason=reason, now=context.now(),
                                           actor=context.actor)
        except Refused as refused:
            await session.rollback()
            drop_draft(context, DECLINE_DRAFT)
            await reply(update, refusal(_, refused))
            return END
        await session.commit()
        await answered(context, session, invitee, tell_organiser=True)
    drop_draft(context, DECLINE_DRAFT)
    await reply(update, _("Noted: you can't attend “{title}”. The organiser has been told.")
                .format(title=notice.title))
    return END



def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "notice_decline",
            draft_key=DECLINE_DRAFT,
            entry_points=[CallbackQueryHandler(start_decline,
                                               pattern=rf"^{INVITEE_PREFIX}:\d+:no$")],
            states={REASON: [MessageHandler(TEXT, got_reason)]},
        ),
        CallbackQueryHandler(will_attend, pattern=rf"^{INVITEE_PREFIX}:\d+:yes$"),
    ]
