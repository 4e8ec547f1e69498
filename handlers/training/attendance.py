"""W11: attendance of a training or meeting, and the register.

Once it starts, the organiser (or a supervisor) taps **Mark attendance** on the roll-call card
that :mod:`jobs.training_reminders` sends: a toggle list of the invitees, then **Save** — the
first save is final. ``/notice list`` is the attendance register: the notices of the last 60
days and the upcoming ones, and each one's invitees with their answers and attendance.
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import WorkshopContext
from bot.i18n import Translator
from bot.messenger import clip
from bot.refusals import refusal, refuse
from handlers.chat.conversation import (
    END,
    Decides,
    conversation,
    draft,
    drop_draft,
    wrong_input,
)
from handlers.chat.deciding import end_other_steps
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply, toggle_tick
from handlers.training.cards import (
    NOTICE_PREFIX,
    answer_text,
    details,
    kind_name,
    roll_call_card,
    tally_text,
)
from models.card import CardKind
from models.db import id_of
from models.rules import Refused
from models.staff import Staff
from models.training import (
    Answer,
    Notice,
    Tally,
    check_markable,
    get_notice,
    invitees_of,
    marks_attendance,
    notice_tally,
    recent_notices,
    require_organiser,
    save_attendance,
    tally,
)

MARK = 0
ROLL_DRAFT = "notice_roll"


async def redraw_roll_call(context: WorkshopContext, session: AsyncSession,
                           notice: Notice) -> None:
    counts = await notice_tally(session, id_of(notice))
    who = await session.get(Staff, notice.attendance_saved_by) \
        if notice.attendance_saved_by else None
    await context.services.messenger.update_cards(
        session, CardKind.notice_roll, id_of(notice),
        lambda t: roll_call_card(t, notice, counts, who.name if who else None))


# --- attendance: the organiser ticks who came, then saves ------------------------------------
def roll_keyboard(t: Translator, notice_id: int, rows: list[list[Any]],
                  present: list[int]) -> InlineKeyboardMarkup:
    """``rows``: [invitee id, name, answer, reason] of every invitee."""
    buttons = []
    for invitee_id, name, given, reason in rows:
        label = ("✅ " if invitee_id in present else "⬜ ") + name
        if given == Answer.attending:
            label += " " + t("(said yes)")
        elif given == Answer.declined:
            label += " " + t("(said no: {reason})").format(reason=clip(reason or "", 24))
        buttons.append([button(label, f"{NOTICE_PREFIX}:{notice_id}:t:{invitee_id}")])
    buttons.append([button(t("💾 Save ({count} present)").format(count=len(present)),
                           f"{NOTICE_PREFIX}:{notice_id}:save")])
    return keyboard(*buttons)


async def start_roll(update: Update, context: WorkshopContext) -> int:
    """📝 Mark attendance: the organiser or a supervisor, once it has started, not saved yet.
    Those who said they will attend start ticked."""
    _ = context._
    notice_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            notice = await check_markable(session, notice_id=notice_id, staff=context.me,
                                          now=context.now())
        except Refused as refused:
            await refuse(update, context, refused)
            return END
        people = await invitees_of(session, notice_id)
    rows = [[i.id, s.name, i.answer, i.reason] for i, s in people]
    present = [id_of(i) for i, _s in people if i.answer == Answer.attending]
    drop_draft(context, ROLL_DRAFT)
    draft(context, ROLL_DRAFT).update(notice_id=notice_id, rows=rows, present=present)
    await answer_tap(update)
    await reply(update, _("Who attended “{title}” ({at})? Tap to tick or untick, then Save. "
                          "The first save is final.").format(title=notice.title,
                                                             at=_.time(notice.starts_at)),
                roll_keyboard(_, notice_id, rows, present))
    return MARK


async def toggle_present(update: Update, context: WorkshopContext) -> int:
    """Tick or untick one invitee."""
    query = update.callback_query
    assert query is not None and query.data is not None
    form = draft(context, ROLL_DRAFT)
    invitee_id = int(query.data.rsplit(":", 1)[1])
    if callback_int(update) != form.get("notice_id") or \
            invitee_id not in [row[0] for row in form.get("rows", [])]:
        await wrong_input(update, context)  # the list of another notice
        return MARK
    present: list[int] = form.setdefault("present", [])
    await toggle_tick(update, present, invitee_id,
                      lambda: roll_keyboard(context._, form["notice_id"], form["rows"], present))
    return MARK


async def roll_still_open(context: WorkshopContext, session: AsyncSession, staff: Staff,
                          form: dict[str, Any], _: Translator) -> str | None:
    """Ticking the register goes on until someone saves it (the first save is final)."""
    try:
        await check_markable(session, notice_id=form["notice_id"], staff=staff,
                             now=context.now())
    except Refused as refused:
        return refusal(_, refused)
    return None


async def save_roll(update: Update, context: WorkshopContext) -> int:
    """Save the register; the first save wins, a later one is told who saved it and when."""
    _ = context._
    query = update.callback_query
    assert query is not None
    form = draft(context, ROLL_DRAFT)
    if callback_int(update) != form.get("notice_id"):
        await wrong_input(update, context)
        return MARK
    async with context.services.db.session() as session:
        try:
            notice = await save_attendance(
                session, notice_id=form["notice_id"], staff=context.me,
                present=set(form.get("present", [])), now=context.now(), actor=context.actor)
        except Refused as refused:
            await session.rollback()
            drop_draft(context, ROLL_DRAFT)
            await refuse(update, context, refused)
            await query.edit_message_text(refusal(_, refused))
            return END
        await session.commit()
        counts = await notice_tally(session, id_of(notice))
        await redraw_roll_call(context, session, notice)
    await end_other_steps(context, CardKind.notice_roll, id_of(notice))
    drop_draft(context, ROLL_DRAFT)
    await answer_tap(update)
    await query.edit_message_text(
        _("✅ Attendance saved for “{title}”: {attended} present, {absent} absent.").format(
            title=notice.title, attended=counts.attended, absent=counts.absent))
    return END


# --- the register ----------------------------------------------------------------------------
def register_line(t: Translator, notice: Notice, counts: Tally) -> str:
    kind = kind_name(t, notice.kind)
    line = t("• {at} {kind} “{title}”, {place}").format(
        at=t.time(notice.starts_at), kind=kind, title=notice.title, place=notice.place)
    line += "\n  " + tally_text(t, counts)
    if notice.attendance_saved_at is None:
        line += " " + t("Attendance not saved yet.")
    return line


async def show_register(update: Update, context: WorkshopContext) -> None:
    """/notice list: the notices of the last 60 days and the upcoming ones, with their
    answers and attendance; a button per notice for the names."""
    _ = context._
    try:
        require_organiser(context.me)
    except Refused as refused:
        await reply(update, refusal(_, refused))
        return
    async with context.services.db.session() as session:
        notices = await recent_notices(session, now=context.now())
        lines = [_("Attendance register (last 60 days and upcoming):")]
        buttons = []
        for notice in notices:
            counts = await notice_tally(session, id_of(notice))
            lines.append(register_line(_, notice, counts))
            buttons.append([button(f"{_.time(notice.starts_at)} {notice.title[:24]}",
                                   f"{NOTICE_PREFIX}:{notice.id}:view")])
    if not notices:
        await reply(update, _("No notices in the last 60 days. Post one with /notice."))
        return
    await reply(update, "\n".join(lines), keyboard(*buttons))


async def view_notice(update: Update, context: WorkshopContext) -> None:
    """One notice of the register: every invitee with their answer and attendance."""
    _ = context._
    notice_id = callback_int(update)
    me = context.me
    async with context.services.db.session() as session:
        try:
            notice = await get_notice(session, notice_id)
            if me.id != notice.organiser_id:
                require_organiser(me)
        except Refused as refused:
            await refuse(update, context, refused)
            return
        organiser = await session.get(Staff, notice.organiser_id)
        people = await invitees_of(session, notice_id)
    counts = tally([invitee for invitee, _person in people])
    lines = [*details(_, notice, organiser.name if organiser else "?"), tally_text(_, counts), ""]
    for invitee, person in people:
        mark = {True: "✅", False: "❌", None: "·"}[invitee.attended]
        lines.append(f"{mark} {person.name} — {answer_text(_, invitee)}")
    markup = None
    if notice.attendance_saved_at is None:
        if notice.starts_at <= context.now() and marks_attendance(notice, me):
            markup = keyboard([button(_("📝 Mark attendance"),
                                      f"{NOTICE_PREFIX}:{notice_id}:mark")])
        lines.append(_("Attendance not saved yet."))
    await answer_tap(update)
    await reply(update, clip("\n".join(lines)), markup)



def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "notice_roll",
            draft_key=ROLL_DRAFT,
            decides=Decides(CardKind.notice_roll, "notice_id", roll_still_open),
            entry_points=[CallbackQueryHandler(start_roll, pattern=rf"^{NOTICE_PREFIX}:\d+:mark$")],
            states={MARK: [
                CallbackQueryHandler(toggle_present, pattern=rf"^{NOTICE_PREFIX}:\d+:t:\d+$"),
                CallbackQueryHandler(save_roll, pattern=rf"^{NOTICE_PREFIX}:\d+:save$"),
            ]},
        ),
        CallbackQueryHandler(view_notice, pattern=rf"^{NOTICE_PREFIX}:\d+:view$"),
    ]
