"""W11: /notice — a supervisor or team leader posts a training or meeting notice; each invitee
answers on their card; the organiser marks attendance; ``/notice list`` is the register.

Posting: kind → title → time (shop time, not in the past) → place → who must attend (roles as
toggles, people by name) → confirm. Each invitee gets a card with **Will attend** / **Can't
attend** (a reason is asked). :mod:`jobs.training_reminders` reminds those who have not
declined before it starts and, when it starts, asks the organiser to mark attendance: a
toggle list of the invitees, then **Save** — the first save is final.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import N_, Translator
from bot.messenger import Rendered, clip
from handlers.common import (
    END,
    add_refusals,
    answer_tap,
    button,
    callback_int,
    checked_text,
    conversation,
    draft,
    drop_draft,
    keyboard,
    refusal,
    refuse,
    reply,
    wrong_input,
)
from handlers.context import WorkshopContext
from models.rules import Refused
from models.staff import Role, Staff
from models.training import (
    MAX_PLACE,
    MAX_REASON,
    MAX_TITLE,
    Answer,
    Notice,
    NoticeInvitee,
    NoticeKind,
    Tally,
    answer,
    check_answerable,
    check_markable,
    check_start,
    find_people,
    get_notice,
    invitees_of,
    notice_tally,
    parse_start,
    post_notice,
    recent_notices,
    require_organiser,
    resolve_invitees,
    save_attendance,
    tally,
)

KIND, TITLE, WHEN, PLACE, AUDIENCE, SEARCH, CONFIRM = range(7)
REASON = 0
MARK = 0
DRAFT = "notice"
DECLINE_DRAFT = "notice_decline"
ROLL_DRAFT = "notice_roll"
CARD = "notice"  # an invitee's card; ref_id is the invitee row
ROLL_CARD = "notice_roll"  # the organiser's "mark attendance" card; ref_id is the notice
TEXT = filters.TEXT & ~filters.COMMAND
ROLE_DATA = "|".join(r.value for r in Role)

KIND_NAMES = {NoticeKind.training: N_("Training"), NoticeKind.meeting: N_("Meeting")}
ROLE_NAMES = {
    Role.technician: N_("Technicians"),
    Role.team_leader: N_("Team leaders"),
    Role.inspector: N_("Inspectors"),
    Role.advisor: N_("Service advisors"),
    Role.parts_clerk: N_("Parts clerks"),
    Role.tracking_clerk: N_("Tracking clerks"),
    Role.supervisor: N_("Supervisors"),
    Role.admin: N_("Administrators"),
}

add_refusals({
    "notice_time_invalid": lambda _, p: _(
        "Please send the date and time like 2026-12-03 14:00 (shop time)."),
    "notice_in_past": lambda _, p: _(
        "That time has already passed; a notice must be for a later time."),
    "notice_too_far": lambda _, p: _("That is more than a year ahead; please check the date."),
    "notice_not_organiser": lambda _, p: _(
        "Only supervisors and team leaders post notices; nothing was changed."),
    "notice_no_invitees": lambda _, p: _(
        "Nobody is invited: choose at least one role or person with an active account."),
    "notice_missing": lambda _, p: _("That notice no longer exists."),
    "notice_not_invited": lambda _, p: _("This notice is not addressed to you."),
    "notice_started": lambda _, p: _(
        "“{title}” has already started; answers are closed.").format(**p),
    "notice_same_answer": lambda _, p: (
        _("You already said you will attend.") if p["answer"] == Answer.attending
        else _("You already said you can't attend.")),
    "notice_attendance_saved": lambda _, p: _(
        "Attendance was already saved by {name} at {at}.").format(
            name=p["name"], at=_.time(p["at"]) if p["at"] else "—"),
    "notice_not_organiser_of": lambda _, p: _(
        "Only the organiser of “{title}” or a supervisor marks its attendance.").format(**p),
    "notice_not_started": lambda _, p: _(
        "Attendance can be marked once it starts ({at}).").format(at=_.time(p["at"])),
})


# --- what people read ------------------------------------------------------------------------
def headline(t: Translator, notice: Notice) -> str:
    if notice.kind == NoticeKind.meeting:
        return t("📢 Meeting: {title}").format(title=notice.title)
    return t("📢 Training: {title}").format(title=notice.title)


def details(t: Translator, notice: Notice, organiser: str) -> list[str]:
    return [headline(t, notice),
            t("When: {at}").format(at=t.time(notice.starts_at)),
            t("Where: {place}").format(place=notice.place),
            t("Organiser: {name}").format(name=organiser)]


def answer_text(t: Translator, invitee: NoticeInvitee) -> str:
    if invitee.answer == Answer.attending:
        return t("will attend")
    if invitee.answer == Answer.declined:
        return t("can't attend: {reason}").format(reason=invitee.reason or "—")
    return t("no answer yet")


@dataclass(frozen=True)
class CardFacts:
    notice: Notice
    organiser: str
    invitee: NoticeInvitee


def invitee_card(t: Translator, facts: CardFacts, reminder: bool = False) -> Rendered:
    """The invitee's card: what, when, where, and their answer with the buttons to give or
    change it."""
    notice, invitee = facts.notice, facts.invitee
    lines = []
    if reminder:
        lines += [t("⏰ Reminder: this starts at {at}.").format(at=t.time(notice.starts_at)), ""]
    lines += details(t, notice, facts.organiser)
    lines.append("")
    yes = button(t("✅ Will attend"), f"nti:{invitee.id}:yes")
    no = button(t("❌ Can't attend"), f"nti:{invitee.id}:no")
    if invitee.answer == Answer.attending:
        lines.append(t("Your answer: ✅ will attend."))
        return "\n".join(lines), keyboard([button(t("❌ Can't attend after all"),
                                                  f"nti:{invitee.id}:no")])
    if invitee.answer == Answer.declined:
        lines.append(t("Your answer: ❌ can't attend ({reason}).").format(
            reason=invitee.reason or "—"))
        return "\n".join(lines), keyboard([button(t("✅ Will attend after all"),
                                                  f"nti:{invitee.id}:yes")])
    lines.append(t("Will you attend?"))
    return "\n".join(lines), keyboard([yes, no])


def tally_text(t: Translator, counts: Tally) -> str:
    text = t("Invited {invited}: {attending} will attend, {declined} can't, {pending} no "
             "answer.").format(invited=counts.invited, attending=counts.attending,
                               declined=counts.declined, pending=counts.pending)
    if counts.attended or counts.absent:
        text += " " + t("Attended {attended}, absent {absent}.").format(
            attended=counts.attended, absent=counts.absent)
    return text


def roll_call_card(t: Translator, notice: Notice, counts: Tally,
                   saved_by: str | None = None) -> Rendered:
    """To the organiser when the notice starts: mark who came (the button), or who saved it."""
    lines = [t("🗒 “{title}” starts now ({at}).").format(title=notice.title,
                                                         at=t.time(notice.starts_at)),
             tally_text(t, counts)]
    if notice.attendance_saved_at is not None:
        lines.append(t("✅ Attendance saved by {name} at {at}.").format(
            name=saved_by or "?", at=t.time(notice.attendance_saved_at)))
        return "\n".join(lines), None
    lines.append(t("Mark who attended, now or when it is over."))
    return "\n".join(lines), keyboard([button(t("📝 Mark attendance"),
                                              f"ntc:{notice.id}:mark")])


async def card_facts(session: AsyncSession, invitee: NoticeInvitee) -> CardFacts:
    notice = await get_notice(session, invitee.notice_id)
    organiser = await session.get(Staff, notice.organiser_id)
    return CardFacts(notice, organiser.name if organiser else "?", invitee)


async def redraw_roll_call(context: WorkshopContext, session: AsyncSession,
                           notice: Notice) -> None:
    counts = await notice_tally(session, notice.id)  # type: ignore[arg-type]
    who = await session.get(Staff, notice.attendance_saved_by) \
        if notice.attendance_saved_by else None
    await context.services.messenger.update_cards(
        session, ROLL_CARD, notice.id,  # type: ignore[arg-type]
        lambda t: roll_call_card(t, notice, counts, who.name if who else None))


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
                keyboard([button("🎓 " + _(KIND_NAMES[NoticeKind.training]),
                                 "ntc:kind:training"),
                          button("👥 " + _(KIND_NAMES[NoticeKind.meeting]),
                                 "ntc:kind:meeting")]))
    return KIND


async def got_kind(update: Update, context: WorkshopContext) -> int:
    """Training or meeting; then the title."""
    _ = context._
    query = update.callback_query
    assert query is not None and query.data is not None
    kind = NoticeKind(query.data.rsplit(":", 1)[1])
    draft(context, DRAFT)["kind"] = kind.value
    await settle(update, _(KIND_NAMES[kind]))
    await reply(update, _("Title? (e.g. “New brake system training”, at most {limit} "
                          "characters)").format(limit=MAX_TITLE))
    return TITLE


async def got_title(update: Update, context: WorkshopContext) -> int:
    """The title as the invitees will read it."""
    assert update.message is not None
    value, problem = checked_text(context, update.message.text, MAX_TITLE)
    if problem:
        await reply(update, problem)
        return TITLE
    draft(context, DRAFT)["title"] = value
    await reply(update, context._("When does it start? Date and time in shop time, e.g. "
                                  "2026-12-03 14:00."))
    return WHEN


async def got_when(update: Update, context: WorkshopContext) -> int:
    """A time in the shop's zone, later than now (and within a year)."""
    _ = context._
    assert update.message is not None
    try:
        starts_at = parse_start(update.message.text or "", context.services.settings.tz)
        check_start(starts_at, context.now())
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
    value, problem = checked_text(context, update.message.text, MAX_PLACE)
    if problem:
        await reply(update, problem)
        return PLACE
    draft(context, DRAFT)["place"] = value
    await ask_audience(update, context)
    return AUDIENCE


# --- posting: who must attend ----------------------------------------------------------------
def audience_keyboard(t: Translator, form: dict[str, Any]) -> InlineKeyboardMarkup:
    chosen = form.get("roles", [])
    rows = [[button(("✅ " if role.value in chosen else "⬜ ") + t(ROLE_NAMES[role]),
                    f"ntc:role:{role.value}")] for role in Role if role is not Role.admin]
    rows.append([button(t("👤 People by name ({count})").format(
        count=len(form.get("people", []))), "ntc:people")])
    rows.append([button(t("➡️ Done"), "ntc:aud:done")])
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
    roles: list[str] = form.setdefault("roles", [])
    role = query.data.rsplit(":", 1)[1]
    if role in roles:
        roles.remove(role)
    else:
        roles.append(role)
    await query.answer()
    await query.edit_message_reply_markup(audience_keyboard(context._, form))
    return AUDIENCE


async def ask_people(update: Update, context: WorkshopContext) -> int:
    """Named people: search by part of the name, or a staff code."""
    await answer_tap(update)
    await reply(update, context._("Type part of a name (or a staff code) to find people."))
    return SEARCH


def people_keyboard(t: Translator, form: dict[str, Any],
                    found: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    picked = form.get("people", [])
    rows = [[button(("✅ " if staff_id in picked else "⬜ ") + name, f"ntc:pick:{staff_id}")]
            for staff_id, name in found]
    rows.append([button(t("⬅️ Roles"), "ntc:pick:back"), button(t("➡️ Done"), "ntc:aud:done")])
    return keyboard(*rows)


async def got_search(update: Update, context: WorkshopContext) -> int:
    """Show who matches, as toggles; another text searches again."""
    _ = context._
    assert update.message is not None
    text, problem = checked_text(context, update.message.text, 64)
    if problem:
        await reply(update, problem)
        return SEARCH
    assert text is not None
    async with context.services.db.session() as session:
        people = await find_people(session, text)
    form = draft(context, DRAFT)
    found = [(p.id, p.name) for p in people]
    form["found"] = found
    if not people:
        await reply(update, _("Nobody active matches “{text}”. Try another part of the name.")
                    .format(text=text), people_keyboard(_, form, []))
        return SEARCH
    await reply(update, _("Tap to invite or uninvite; type again to search for others."),
                people_keyboard(_, form, found))  # type: ignore[arg-type]
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
    picked: list[int] = form.setdefault("people", [])
    if staff_id in picked:
        picked.remove(staff_id)
    else:
        picked.append(staff_id)
    await query.answer()
    await query.edit_message_reply_markup(people_keyboard(_, form, found))  # type: ignore[arg-type]
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
                keyboard([button(_("📢 Post notice"), "ntc:post")],
                         [button(_("⬅️ Change who attends"), "ntc:aud:back")]))
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
    roles = [_(ROLE_NAMES[Role(r)]) for r in form.get("roles", [])]
    if roles:
        lines.append(_("Roles: {roles}").format(roles=", ".join(roles)))
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
                session, person, lambda t, facts=facts: invitee_card(t, facts),
                card=(CARD, invitee.id), now=now) > 0  # type: ignore[arg-type]
        await session.commit()  # where the cards went, so answers can redraw them
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
    await messenger.update_cards(session, CARD, invitee.id,  # type: ignore[arg-type]
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
    reason, problem = checked_text(context, update.message.text, MAX_REASON)
    if problem:
        await reply(update, problem)
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
        buttons.append([button(label, f"ntc:{notice_id}:t:{invitee_id}")])
    buttons.append([button(t("💾 Save ({count} present)").format(count=len(present)),
                           f"ntc:{notice_id}:save")])
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
    present = [i.id for i, _s in people if i.answer == Answer.attending]
    drop_draft(context, ROLL_DRAFT)
    draft(context, ROLL_DRAFT).update(notice_id=notice_id, rows=rows, present=present)
    await answer_tap(update)
    await reply(update, _("Who attended “{title}” ({at})? Tap to tick or untick, then Save. "
                          "The first save is final.").format(title=notice.title,
                                                             at=_.time(notice.starts_at)),
                roll_keyboard(_, notice_id, rows, present))  # type: ignore[arg-type]
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
    if invitee_id in present:
        present.remove(invitee_id)
    else:
        present.append(invitee_id)
    await query.answer()
    await query.edit_message_reply_markup(
        roll_keyboard(context._, form["notice_id"], form["rows"], present))
    return MARK


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
        counts = await notice_tally(session, notice.id)  # type: ignore[arg-type]
        await redraw_roll_call(context, session, notice)
    drop_draft(context, ROLL_DRAFT)
    await answer_tap(update)
    await query.edit_message_text(
        _("✅ Attendance saved for “{title}”: {attended} present, {absent} absent.").format(
            title=notice.title, attended=counts.attended, absent=counts.absent))
    return END


# --- the register ----------------------------------------------------------------------------
def register_line(t: Translator, notice: Notice, counts: Tally) -> str:
    kind = t(KIND_NAMES[NoticeKind(notice.kind)])
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
            counts = await notice_tally(session, notice.id)  # type: ignore[arg-type]
            lines.append(register_line(_, notice, counts))
            buttons.append([button(f"{_.time(notice.starts_at)} {notice.title[:24]}",
                                   f"ntc:{notice.id}:view")])
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
        if notice.starts_at <= context.now() and (me.id == notice.organiser_id
                                                  or me.has(Role.supervisor)):
            markup = keyboard([button(_("📝 Mark attendance"), f"ntc:{notice_id}:mark")])
        lines.append(_("Attendance not saved yet."))
    await answer_tap(update)
    await reply(update, clip("\n".join(lines)), markup)


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "notice",
            draft_key=DRAFT,
            entry_points=[CommandHandler("notice", start)],
            states={
                KIND: [CallbackQueryHandler(got_kind, pattern=r"^ntc:kind:(training|meeting)$")],
                TITLE: [MessageHandler(TEXT, got_title)],
                WHEN: [MessageHandler(TEXT, got_when)],
                PLACE: [MessageHandler(TEXT, got_place)],
                AUDIENCE: [
                    CallbackQueryHandler(toggle_role, pattern=rf"^ntc:role:({ROLE_DATA})$"),
                    CallbackQueryHandler(ask_people, pattern=r"^ntc:people$"),
                    CallbackQueryHandler(audience_done, pattern=r"^ntc:aud:done$"),
                ],
                SEARCH: [
                    MessageHandler(TEXT, got_search),
                    CallbackQueryHandler(toggle_person, pattern=r"^ntc:pick:\d+$"),
                    CallbackQueryHandler(back_to_roles, pattern=r"^ntc:pick:back$"),
                    CallbackQueryHandler(search_done, pattern=r"^ntc:aud:done$"),
                ],
                CONFIRM: [
                    CallbackQueryHandler(post, pattern=r"^ntc:post$"),
                    CallbackQueryHandler(back_to_roles, pattern=r"^ntc:aud:back$"),
                ],
            },
        ),
        conversation(
            "notice_decline",
            draft_key=DECLINE_DRAFT,
            entry_points=[CallbackQueryHandler(start_decline, pattern=r"^nti:\d+:no$")],
            states={REASON: [MessageHandler(TEXT, got_reason)]},
        ),
        conversation(
            "notice_roll",
            draft_key=ROLL_DRAFT,
            entry_points=[CallbackQueryHandler(start_roll, pattern=r"^ntc:\d+:mark$")],
            states={MARK: [
                CallbackQueryHandler(toggle_present, pattern=r"^ntc:\d+:t:\d+$"),
                CallbackQueryHandler(save_roll, pattern=r"^ntc:\d+:save$"),
            ]},
        ),
        CallbackQueryHandler(will_attend, pattern=r"^nti:\d+:yes$"),
        CallbackQueryHandler(view_notice, pattern=r"^ntc:\d+:view$"),
    ]
