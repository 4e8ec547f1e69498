"""W11: /notice — a supervisor or team leader posts a training or meeting notice.

Posting: kind → title → time (shop time, not in the past) → place → who must attend (roles as
toggles, people by name) → confirm. Each invitee then gets a card with **Will attend** /
**Can't attend** (their answers: ``handlers.training.reply``). :mod:`jobs.training_reminders`
reminds those who have not declined before it starts and, when it starts, asks the organiser
to mark attendance (``handlers.training.attendance``, which also has ``/notice list``, the
register).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import WorkshopContext
from bot.i18n import Translator
from bot.messenger import clip
from bot.refusals import refusal
from handlers.chat.conversation import END, conversation, draft, drop_draft, read_text, wrong_input
from handlers.chat.labels import role_name, role_names
from handlers.chat.ui import answer_tap, button, keyboard, reply, toggle_tick
from handlers.training.attendance import show_register
from handlers.training.cards import NOTICE_PREFIX, CardFacts, invitee_card, kind_name
from models.card import CardKind
from models.db import commit_writes, id_of
from models.rules import Refused
from models.staff import Role, Staff
from models.training import (
    MAX_PLACE,
    MAX_TITLE,
    NoticeKind,
    check_start,
    find_people,
    parse_start,
    post_notice,
    require_organiser,
    resolve_invitees,
)

KIND, TITLE, WHEN, PLACE, AUDIENCE, SEARCH, CONFIRM = range(7)
DRAFT = "notice"
TEXT = filters.TEXT & ~filters.COMMAND
ROLE_DATA = "|".join(r.value for r in Role)


async def settle(update: Update, answer_given: str) -> None:
    """Show the answer under the question and take its buttons away (no stale taps)."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    text = getattr(query.message, "text", None)
    if text:
        await query.edit_message_text(f"{text}\n→ {answer_given}")


# --- posting: kind, title, time, place -------------------------------------------------------
async def start(update: Update, context: WorkshopContext) -> int:
    """/notice: a supervisor or team leader starts a notice; /notice list shows the register."""
    _ = context._
    if [a.lower() for a in (context.args or [])][:1] in (["list"], ["register"]):
        await show_register(update, context)
        return END
    try:
        require_organiser(context.me)
    except Refused as refused:
        await reply(update, refusal(_, refused))
        return END
    drop_draft(context, DRAFT)
    draft(context, DRAFT).update(roles=[], people=[], found=[])
    await reply(update, _("New notice. Is it a training or a meeting? (/notice list shows the "
                          "attendance register; /cancel stops at any step.)"),
                keyboard([button("🎓 " + kind_name(_, NoticeKind.training),
                                 f"{NOTICE_PREFIX}:kind:training"),
                          button("👥 " + kind_name(_, NoticeKind.meeting),
                                 f"{NOTICE_PREFIX}:kind:meeting")]))
    return KIND


async def got_kind(update: Update, context: WorkshopContext) -> int:
    """Training or meeting; then the title."""
    _ = context._
    query = update.callback_query
    assert query is not None and query.data is not None
    kind = NoticeKind(query.data.rsplit(":", 1)[1])
    draft(context, DRAFT)["kind"] = kind.value
    await settle(update, kind_name(_, kind))
    await reply(update, _("Title? (e.g. “New brake system training”, at most {limit} "
                          "characters)").format(limit=MAX_TITLE))
    return TITLE


async def got_title(update: Update, context: WorkshopContext) -> int:
    """The title as the invitees will read it."""
    assert update.message is not None
    value = await read_text(update, context, MAX_TITLE)
    if value is None:
        return TITLE
    draft(context, DRAFT)["title"] = value
    await reply(update, context._("When does it start? Date and time in shop time, e.g. "
                                  "2026-12-03 14:00."))
    return WHEN


async def got_when(update: Update, context: WorkshopContext) -> int:
    """A time in the shop's zone, later than now (and within a year)."""
    _ = context._
    assert update.message is not None
    now = context.now()
    calendar = context.services.settings.calendar
    try:
        starts_at = parse_start(update.message.text or "", calendar.tz, calendar.local_date(now))
        check_start(starts_at, now)
    except Refused as refused:
        await reply(update, refusal(_, refused))
        return WHEN
    form = draft(context, DRAFT)
    form["starts_at"] = starts_at.isoformat()
    if form.get("place"):  # back here because the time passed before posting
        await ask_audience(update, context)
        return AUDIENCE
    await reply(update, _("Starts {at}. Where? (room, bay, address; at most {limit} "
                          "characters)").format(at=_.time(starts_at), limit=MAX_PLACE))
    return PLACE


async def got_place(update: Update, context: WorkshopContext) -> int:
    """The place; then who must attend."""
    assert update.message is not None
    value = await read_text(update, context, MAX_PLACE)
    if value is None:
        return PLACE
    draft(context, DRAFT)["place"] = value
    await ask_audience(update, context)
    return AUDIENCE


# --- posting: who must attend ----------------------------------------------------------------
def audience_keyboard(t: Translator, form: dict[str, Any]) -> InlineKeyboardMarkup:
    chosen = form.get("roles", [])
    rows = [[button(("✅ " if role.value in chosen else "⬜ ") + role_name(t, role),
                    f"{NOTICE_PREFIX}:role:{role.value}")]
            for role in Role if role is not Role.admin]
    rows.append([button(t("👤 People by name ({count})").format(
        count=len(form.get("people", []))), f"{NOTICE_PREFIX}:people")])
    rows.append([button(t("➡️ Done"), f"{NOTICE_PREFIX}:aud:done")])
    return keyboard(*rows)


async def ask_audience(update: Update, context: WorkshopContext) -> None:
    _ = context._
    await reply(update, _("Who must attend? Tick roles, add people by name, then tap Done."),
                audience_keyboard(_, draft(context, DRAFT)))


async def toggle_role(update: Update, context: WorkshopContext) -> int:
    """Tick or untick a role; the buttons show the ticks."""
    query = update.callback_query
    assert query is not None and query.data is not None
    form = draft(context, DRAFT)
    await toggle_tick(update, form.setdefault("roles", []), query.data.rsplit(":", 1)[1],
                      lambda: audience_keyboard(context._, form))
    return AUDIENCE


async def ask_people(update: Update, context: WorkshopContext) -> int:
    """Named people: search by part of the name, or a staff code."""
    await answer_tap(update)
    await reply(update, context._("Type part of a name (or a staff code) to find people."))
    return SEARCH


def people_keyboard(t: Translator, form: dict[str, Any],
                    found: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    picked = form.get("people", [])
    rows = [[button(("✅ " if staff_id in picked else "⬜ ") + name,
                    f"{NOTICE_PREFIX}:pick:{staff_id}")] for staff_id, name in found]
    rows.append([button(t("⬅️ Roles"), f"{NOTICE_PREFIX}:pick:back"),
                 button(t("➡️ Done"), f"{NOTICE_PREFIX}:aud:done")])
    return keyboard(*rows)


async def got_search(update: Update, context: WorkshopContext) -> int:
    """Show who matches, as toggles; another text searches again."""
    _ = context._
    assert update.message is not None
    text = await read_text(update, context, 64)
    if text is None:
        return SEARCH
    assert text is not None
    async with context.services.db.session() as session:
        people = await find_people(session, text)
    form = draft(context, DRAFT)
    found = [(id_of(p), p.name) for p in people]
    form["found"] = found
    if not people:
        await reply(update, _("Nobody active matches “{text}”. Try another part of the name.")
                    .format(text=text), people_keyboard(_, form, []))
        return SEARCH
    await reply(update, _("Tap to invite or uninvite; type again to search for others."),
                people_keyboard(_, form, found))
    return SEARCH


async def toggle_person(update: Update, context: WorkshopContext) -> int:
    """Invite or uninvite one person found by the search."""
    _ = context._
    query = update.callback_query
    assert query is not None and query.data is not None
    form = draft(context, DRAFT)
    staff_id = int(query.data.rsplit(":", 1)[1])
    found = [tuple(pair) for pair in form.get("found", [])]
    if staff_id not in [pair[0] for pair in found]:
        await wrong_input(update, context)  # a button of an older search
        return SEARCH
    await toggle_tick(update, form.setdefault("people", []), staff_id,
                      lambda: people_keyboard(_, form, found))
    return SEARCH


async def back_to_roles(update: Update, context: WorkshopContext) -> int:
    """From the people search or the summary back to the role toggles."""
    draft(context, DRAFT)["found"] = []
    await answer_tap(update)
    await ask_audience(update, context)
    return AUDIENCE


async def audience_done(update: Update, context: WorkshopContext) -> int:
    """Done under the role toggles."""
    return await confirm_audience(update, context, stay=AUDIENCE)


async def search_done(update: Update, context: WorkshopContext) -> int:
    """Done under the people found."""
    return await confirm_audience(update, context, stay=SEARCH)


async def confirm_audience(update: Update, context: WorkshopContext, *, stay: int) -> int:
    """Resolve who is invited now and show the whole notice to confirm; nobody: stay."""
    _ = context._
    form = draft(context, DRAFT)
    async with context.services.db.session() as session:
        people = await resolve_invitees(
            session, roles=[Role(r) for r in form.get("roles", [])],
            staff_ids=form.get("people", []), organiser_id=context.me.id)
    if not people:
        await answer_tap(update, refusal(_, Refused("notice_no_invitees")), alert=True)
        return stay
    await answer_tap(update)
    await reply(update, summary(_, form, people),
                keyboard([button(_("📢 Post notice"), f"{NOTICE_PREFIX}:post")],
                         [button(_("⬅️ Change who attends"), f"{NOTICE_PREFIX}:aud:back")]))
    return CONFIRM


def summary(_: Translator, form: dict[str, Any], people: list[Staff]) -> str:
    starts_at = datetime.fromisoformat(form["starts_at"])
    kind = NoticeKind(form["kind"])
    names = ", ".join(p.name for p in people)
    lines = [
        _("Post this notice?"), "",
        (_("📢 Meeting: {title}") if kind is NoticeKind.meeting
         else _("📢 Training: {title}")).format(title=form["title"]),
        _("When: {at}").format(at=_.time(starts_at)),
        _("Where: {place}").format(place=form["place"]),
    ]
    if form.get("roles"):
        lines.append(_("Roles: {roles}").format(roles=role_names(_, form["roles"])))
    lines.append(_.ngettext("Invited ({count} person): {names}",
                            "Invited ({count} people): {names}", len(people)).format(
        count=len(people), names=clip(names, 1500)))
    return "\n".join(lines)


async def post(update: Update, context: WorkshopContext) -> int:
    """Save the notice and send every invitee their card."""
    _ = context._
    query = update.callback_query
    assert query is not None
    form = draft(context, DRAFT)
    now = context.now()
    settings = context.services.settings
    messenger = context.services.messenger
    me = context.me
    async with context.services.db.session() as session:
        try:
            notice, invitees = await post_notice(
                session, organiser=me, kind=NoticeKind(form["kind"]), title=form["title"],
                place=form["place"], starts_at=datetime.fromisoformat(form["starts_at"]),
                roles=[Role(r) for r in form.get("roles", [])],
                staff_ids=form.get("people", []), now=now, actor=context.actor,
                remind_before=timedelta(minutes=settings.notice_reminder_minutes),
            )
        except Refused as refused:
            await session.rollback()
            await answer_tap(update)
            await query.edit_message_text(refusal(_, refused))
            if refused.code in ("notice_in_past", "notice_too_far"):
                await reply(update, _("Send a new date and time, e.g. 2026-12-03 14:00."))
                return WHEN
            if refused.code == "notice_no_invitees":
                await ask_audience(update, context)
                return AUDIENCE
            drop_draft(context, DRAFT)
            return END
        await session.commit()
        reached = 0
        for invitee in invitees:
            person = await session.get(Staff, invitee.staff_id)
            if person is None:
                continue
            facts = CardFacts(notice, me.name, invitee)
            reached += await messenger.send(
                session, person, partial(invitee_card, facts=facts),
                card=(CardKind.notice, id_of(invitee)), now=now) > 0
        await commit_writes(session)  # where the cards went, so answers can redraw them
    drop_draft(context, DRAFT)
    await answer_tap(update)
    text = _.ngettext("✅ Notice posted to {count} person.",
                      "✅ Notice posted to {count} people.", len(invitees)).format(
        count=len(invitees))
    if reached < len(invitees):
        text += " " + _.ngettext(
            "{count} of them has no chat account bound and was not reached.",
            "{count} of them have no chat account bound and were not reached.",
            len(invitees) - reached).format(count=len(invitees) - reached)
    text += "\n" + _("You will be asked to mark attendance when it starts.")
    await query.edit_message_text(text)
    return END



def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "notice",
            draft_key=DRAFT,
            entry_points=[CommandHandler("notice", start)],
            states={
                KIND: [CallbackQueryHandler(got_kind,
                                            pattern=rf"^{NOTICE_PREFIX}:kind:(training|meeting)$")],
                TITLE: [MessageHandler(TEXT, got_title)],
                WHEN: [MessageHandler(TEXT, got_when)],
                PLACE: [MessageHandler(TEXT, got_place)],
                AUDIENCE: [
                    CallbackQueryHandler(toggle_role,
                                         pattern=rf"^{NOTICE_PREFIX}:role:({ROLE_DATA})$"),
                    CallbackQueryHandler(ask_people, pattern=rf"^{NOTICE_PREFIX}:people$"),
                    CallbackQueryHandler(audience_done, pattern=rf"^{NOTICE_PREFIX}:aud:done$"),
                ],
                SEARCH: [
                    MessageHandler(TEXT, got_search),
                    CallbackQueryHandler(toggle_person, pattern=rf"^{NOTICE_PREFIX}:pick:\d+$"),
                    CallbackQueryHandler(back_to_roles, pattern=rf"^{NOTICE_PREFIX}:pick:back$"),
                    CallbackQueryHandler(search_done, pattern=rf"^{NOTICE_PREFIX}:aud:done$"),
                ],
                CONFIRM: [
                    CallbackQueryHandler(post, pattern=rf"^{NOTICE_PREFIX}:post$"),
                    CallbackQueryHandler(back_to_roles, pattern=rf"^{NOTICE_PREFIX}:aud:back$"),
                ],
            },
        ),
    ]
