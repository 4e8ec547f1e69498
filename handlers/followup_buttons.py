"""The follow-up reminder card (A3, A6, A7) and its one-tap answers: No answer, Snooze and
Wrong number. (📝 Log call opens the conversation in :mod:`handlers.call_log`.)

The card is drawn here and sent by :mod:`jobs.followup_reminders`. Each answer changes the
follow-up through :mod:`models.followup` and redraws every copy of the card to say what was
done, without buttons; the follow-up comes back as a new card when it is due again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.i18n import N_, Translator
from bot.messenger import Rendered
from handlers.common import (
    add_refusals,
    answer_tap,
    button,
    callback_int,
    keyboard,
    refuse,
    reply,
)
from handlers.context import WorkshopContext
from models.call_log import Topic
from models.complaint import ComplaintStatus
from models.customer import VisitKind
from models.followup import (
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    get_followup,
    no_answer,
    snooze,
    wrong_number,
)
from models.rules import Refused
from models.shop_time import ShopCalendar
from models.staff import Role, Staff
from models.talking_points import TalkingPoints, gather

CARD = "followup"  # card_message kind: every copy of a reminder, so an answer edits them all
MAX_LISTED = 3  # open complaints and upcoming events shown on a card

KIND_NAMES = {
    FollowUpKind.first_call: N_("First call"),
    FollowUpKind.second_call: N_("Second call"),
    FollowUpKind.maintenance: N_("Maintenance due"),
    FollowUpKind.campaign: N_("Campaign call"),
    FollowUpKind.complaint_callback: N_("Complaint callback"),
}

# The seven things a call covers (A4), as the log-call buttons and the cards name them.
TOPIC_NAMES = {
    Topic.usage_opinion: N_("Usage and opinions"),
    Topic.new_needs: N_("New service needs"),
    Topic.care_tips: N_("Car-care tips"),
    Topic.new_services: N_("Our new services"),
    Topic.events: N_("Events and offers"),
    Topic.consultation: N_("Consultation"),
    Topic.visit: N_("Visit to the customer"),
}

COMPLAINT_STATUS_NAMES = {
    ComplaintStatus.researching: N_("being researched"),
    ComplaintStatus.escalated: N_("with the supervisor"),
    ComplaintStatus.solved: N_("solved, customer not told yet"),
}

# Snooze choices: callback code → label.
SNOOZES = {
    "1h": N_("1 hour"),
    "3h": N_("3 hours"),
    "tm": N_("Tomorrow morning"),
    "nw": N_("Next week"),
}

add_refusals({
    "call_staff_only": lambda _, p: _("Only tracking clerks and supervisors can do this; "
                                      "nothing was changed."),
    "call_already_logged": lambda _, p: _("Already logged by {name} at {at}; nothing was "
                                          "changed.").format(name=p["name"],
                                                             at=_.time(p["at"])),
})


# --- rendering -------------------------------------------------------------------------------
def kind_name(t: Translator, kind: str) -> str:
    return t(KIND_NAMES[FollowUpKind(kind)]) if kind in KIND_NAMES else kind


def topic_names(t: Translator, topics: list[Topic]) -> str:
    return ", ".join(t(TOPIC_NAMES[topic]) for topic in topics) or "—"


def local_day(t: Translator, at: datetime) -> str:
    return at.astimezone(t.tz).strftime("%m-%d")


def window_text(t: Translator, followup: FollowUp) -> str:
    """The window as whole days: ``due_until`` is the first instant after it."""
    last = followup.due_until - timedelta(microseconds=1)
    return f"{local_day(t, followup.due_from)} – {local_day(t, last)}"


def card_head(t: Translator, points: TalkingPoints) -> str:
    """The first line of every copy; ``[FU-n]`` also lets a reply name the follow-up."""
    followup = points.followup
    return t("📞 {kind} · {name} · {plate}").format(
        kind=kind_name(t, followup.kind), name=points.customer.name, plate=points.plate,
    ) + f"  [FU-{followup.id}]"


def reminder_keyboard(t: Translator, followup_id: int) -> InlineKeyboardMarkup:
    return keyboard(
        [button(t("📝 Log call"), f"fu:{followup_id}:log"),
         button(t("📵 No answer"), f"fu:{followup_id}:na")],
        [button(t("⏰ Snooze"), f"fu:{followup_id}:sz"),
         button(t("☎️ Wrong number"), f"fu:{followup_id}:wn")],
    )


def reminder_card(
    t: Translator, points: TalkingPoints, standing_in_for: Staff | None = None,
    overdue: bool = False,
) -> Rendered:
    """What the clerk needs for the call: who, which car, why, and what to talk about."""
    followup, customer = points.followup, points.customer
    lines = [card_head(t, points)]
    if overdue:
        lines.append(t("⚠️ Overdue: the window ended {at} without a logged call. It stays on "
                       "your list until it is logged.").format(at=t.time(followup.due_until)))
    if standing_in_for is not None:
        lines.append(t("🔁 You stand in for {clerk}: this is {clerk}'s customer.").format(
            clerk=standing_in_for.name))
    phones = ", ".join(customer.phone_list) or t("— missing; please add it to the archive")
    lines.append(t("Phone: {phones}").format(phones=phones))
    if points.vehicle is not None:
        lines.append(t("Vehicle: {plate} · {model}").format(
            plate=points.vehicle.plate, model=points.vehicle.model or "—"))
    lines += what_was_done(t, points)
    lines.append(t("Window: {window} · attempts without an answer: {count}").format(
        window=window_text(t, followup), count=followup.attempts))
    lines += ["", t("Talking points:")]
    lines += [f"• {point}" for point in talking_points(t, points)]
    return "\n".join(lines), reminder_keyboard(t, followup.id)  # type: ignore[arg-type]


def overdue_notice(t: Translator, points: TalkingPoints, clerk: Staff | None) -> Rendered:
    """For the supervisors: which call was missed, and whose list it stays on."""
    followup = points.followup
    if clerk is None:
        owner = t("The customer has no clerk; please assign one (/assign).")
    else:
        owner = t("It stays on {clerk}'s list.").format(clerk=clerk.name)
    return t("⚠️ Overdue: {kind} for {name} ({plate}). The window ended {at} without a logged "
             "call.").format(kind=kind_name(t, followup.kind), name=points.customer.name,
                             plate=points.plate, at=t.time(followup.due_until)) + "\n" + owner, None


def what_was_done(t: Translator, points: TalkingPoints) -> list[str]:
    """Why this call: the visit, the event, or the complaint it answers."""
    lines = []
    visit = points.visit
    if visit is not None:
        text = (t("Consultation on {day}: {summary}") if visit.kind == VisitKind.consultation
                else t("Repair on {day}: {summary}"))
        lines.append(text.format(day=local_day(t, visit.visited_at), summary=visit.summary
                                 or "—"))
    if points.campaign is not None:
        campaign = points.campaign
        lines.append(t("Invite to “{title}” on {date}, {address}.").format(
            title=campaign.title, date=campaign.event_on.isoformat(),
            address=campaign.address or "—"))
        lines.append(t("What it is: {content}").format(content=campaign.content))
    if points.complaint is not None:
        complaint = points.complaint
        lines.append(t("Their complaint: {text}").format(text=complaint.text))
        if complaint.solution:
            lines.append(t("Tell them the solution today: {solution}").format(
                solution=complaint.solution))
    if points.followup.kind == FollowUpKind.maintenance and points.vehicle is not None:
        last = points.vehicle.last_service_on
        lines.append(t("Maintenance is due on {date} (last service: {last}).").format(
            date=points.next_maintenance_on.isoformat() if points.next_maintenance_on
            else "—", last=last.isoformat() if last else "—"))
    return lines


def talking_points(t: Translator, points: TalkingPoints) -> list[str]:
    """Suggestions from the archive (A3); the last call's content so it is not repeated (A7)."""
    out = []
    if points.next_maintenance_on is not None:
        out.append(t("Next maintenance: {date}").format(
            date=points.next_maintenance_on.isoformat()))
    if (points.customer.services_wanted or "").strip():
        out.append(t("Services wanted: {services}").format(
            services=points.customer.services_wanted))
    for complaint in points.open_complaints[:MAX_LISTED]:
        status = COMPLAINT_STATUS_NAMES.get(ComplaintStatus(complaint.status))
        out.append(t("Open complaint ({status}): {text}").format(
            status=t(status) if status else complaint.status, text=clip(complaint.text)))
    for campaign in points.upcoming[:MAX_LISTED]:
        out.append(t("Upcoming: “{title}” on {date}, {address}").format(
            title=campaign.title, date=campaign.event_on.isoformat(),
            address=campaign.address or "—"))
    call = points.last_call
    if call is not None:
        out.append(t("Last call on {day} ({name}) covered: {topics}. Notes: {notes}").format(
            day=local_day(t, call.at), name=points.last_caller.name if points.last_caller
            else "—", topics=topic_names(t, call.topic_list), notes=clip(call.notes) or "—"))
        if points.followup.kind == FollowUpKind.second_call:
            out.append(t("Bring something new this time; do not repeat the last call."))
    if not out:
        out.append(t("Ask how the car is doing and whether they need anything."))
    return out


def clip(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def closed_card(t: Translator, points: TalkingPoints,
                outcome: Callable[[Translator], str]) -> Rendered:
    """A copy of the card once answered: who did what, no buttons."""
    return f"{card_head(t, points)}\n{outcome(t)}", None


# --- who may answer a card ----------------------------------------------------------------
def require_caller(staff: Staff) -> None:
    """The after-sales calls are the tracking clerks' and their supervisor's work (A1)."""
    if not staff.active or not staff.has(Role.tracking_clerk, Role.supervisor):
        raise Refused("call_staff_only")


async def open_followup(session: AsyncSession, followup_id: int) -> FollowUp:
    """The follow-up if it is still open; else who logged it and when."""
    followup = await get_followup(session, followup_id)
    if followup.status == FollowUpStatus.done:
        done_by = await session.get(Staff, followup.done_by) if followup.done_by else None
        raise Refused("call_already_logged", name=done_by.name if done_by else "?",
                      at=followup.done_at)
    if followup.status != FollowUpStatus.open:
        raise Refused("followup_closed")
    return followup


async def explain(session: AsyncSession, followup_id: int, refused: Refused) -> Refused:
    """A rule said "closed" after a race: say by whom, as the first check would have."""
    if refused.code != "followup_closed":
        return refused
    try:
        await open_followup(session, followup_id)
    except Refused as better:
        return better
    return refused


async def redraw(
    context: WorkshopContext, session: AsyncSession, followup: FollowUp,
    outcome: Callable[[Translator], str],
) -> None:
    """Every copy of the reminder now says what happened, without buttons."""
    points = await gather(session, followup,
                          today=context.services.settings.calendar.local_date(context.now()))
    await context.services.messenger.update_cards(
        session, CARD, followup.id,  # type: ignore[arg-type]
        lambda t: closed_card(t, points, outcome))


# --- No answer -----------------------------------------------------------------------------
async def record_no_answer(context: WorkshopContext, followup_id: int) -> FollowUp:
    """Counted; the reminder comes back at the start of the next working day. Shared with the
    log-call flow's "not reached"."""
    me, now = context.me, context.now()
    async with context.services.db.session() as session:
        try:
            require_caller(me)
            await open_followup(session, followup_id)
            followup = await no_answer(session, followup_id=followup_id, now=now,
                                       calendar=context.services.settings.calendar,
                                       actor=context.actor)
        except Refused as refused:
            await session.rollback()
            raise await explain(session, followup_id, refused) from None
        await session.commit()
        await redraw(context, session, followup, lambda t: no_answer_outcome(
            t, followup, me, now))
    return followup


async def tap_no_answer(update: Update, context: WorkshopContext) -> None:
    """📵 on the card."""
    try:
        followup = await record_no_answer(context, callback_int(update))
    except Refused as refused:
        await refuse(update, context, refused)
        return
    await answer_tap(update, no_answer_text(context._, followup))


def no_answer_outcome(t: Translator, followup: FollowUp, me: Staff, now: datetime) -> str:
    return t("📵 No answer (attempt {count}), {name} at {at}. It comes back {when}.").format(
        count=followup.attempts, name=me.name, at=t.time(now), when=t.time(followup.remind_at))


def no_answer_text(t: Translator, followup: FollowUp) -> str:
    return t("Counted: attempt {count} without an answer. The call comes back {when}.").format(
        count=followup.attempts, when=t.time(followup.remind_at))


# --- Snooze --------------------------------------------------------------------------------
def snooze_until(code: str, now: datetime, calendar: ShopCalendar) -> datetime:
    """A choice as a time the clerks are at work (the job only reminds in working hours)."""
    if code == "1h":
        return calendar.next_working_start(now + timedelta(hours=1))
    if code == "3h":
        return calendar.next_working_start(now + timedelta(hours=3))
    if code == "tm":
        return calendar.next_working_day_start(now)
    today = calendar.local_date(now)
    monday = today + timedelta(days=7 - today.weekday())
    return calendar.next_working_start(calendar.at(monday, calendar.day_start))


async def tap_snooze(update: Update, context: WorkshopContext) -> None:
    """Offer the snooze choices under the card."""
    _ = context._
    followup_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            require_caller(context.me)
            followup = await open_followup(session, followup_id)
            points = await gather(session, followup, today=context.services.settings
                                  .calendar.local_date(context.now()))
        except Refused as refused:
            await refuse(update, context, refused)
            return
    await answer_tap(update)
    await reply(update, _("Remind me about the call to {name} again in…").format(
        name=points.customer.name),
        keyboard([button(_(SNOOZES[code]), f"fu:{followup_id}:sz:{code}")
                  for code in ("1h", "3h")],
                 [button(_(SNOOZES[code]), f"fu:{followup_id}:sz:{code}")
                  for code in ("tm", "nw")]))


async def tap_snooze_choice(update: Update, context: WorkshopContext) -> None:
    """Move the reminder; it comes back as a new card at that time."""
    _ = context._
    query = update.callback_query
    assert query is not None and query.data is not None
    followup_id = callback_int(update)
    me, now = context.me, context.now()
    calendar = context.services.settings.calendar
    until = snooze_until(query.data.rsplit(":", 1)[1], now, calendar)
    async with context.services.db.session() as session:
        try:
            require_caller(me)
            await open_followup(session, followup_id)
            followup = await snooze(session, followup_id=followup_id, until=until, now=now,
                                    actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, await explain(session, followup_id, refused))
            return
        await session.commit()
        await redraw(context, session, followup, lambda t: t(
            "⏰ Snoozed by {name} until {when}.").format(name=me.name, when=t.time(until)))
    text = _("⏰ Snoozed until {when}.").format(when=_.time(until))
    if until >= followup.due_until:
        text += "\n" + _("That is after the window ends ({at}); it will be reported overdue "
                         "then.").format(at=_.time(followup.due_until))
    await answer_tap(update)
    await query.edit_message_text(text)


# --- Wrong number --------------------------------------------------------------------------
async def tap_wrong_number(update: Update, context: WorkshopContext) -> None:
    """Removing a number from the archive is not undone by a tap: ask first."""
    _ = context._
    followup_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            require_caller(context.me)
            followup = await open_followup(session, followup_id)
            points = await gather(session, followup, today=context.services.settings
                                  .calendar.local_date(context.now()))
        except Refused as refused:
            await refuse(update, context, refused)
            return
    phones = points.customer.phone_list
    await answer_tap(update)
    await reply(update, _("Is {phone} the wrong number for {name}? It is removed from the "
                          "archive and the call comes back the next working day.").format(
                    phone=phones[0] if phones else "—", name=points.customer.name),
                keyboard([button(_("✅ Yes, wrong number"), f"fu:{followup_id}:wn:ok"),
                          button(_("↩️ No, keep it"), f"fu:{followup_id}:wn:no")]))


async def tap_wrong_number_choice(update: Update, context: WorkshopContext) -> None:
    """Remove the number called, reschedule, and ask the clerk to fix the archive."""
    _ = context._
    query = update.callback_query
    assert query is not None and query.data is not None
    followup_id = callback_int(update)
    if query.data.endswith(":no"):
        if not context.me.has(Role.tracking_clerk, Role.supervisor):
            await refuse(update, context, Refused("call_staff_only"))
            return
        await answer_tap(update)
        await query.edit_message_text(_("Nothing was changed; the number stays."))
        return
    me, now = context.me, context.now()
    async with context.services.db.session() as session:
        try:
            require_caller(me)
            before = await open_followup(session, followup_id)
            points = await gather(session, before, today=context.services.settings
                                  .calendar.local_date(now))
            phones = points.customer.phone_list
            followup = await wrong_number(session, followup_id=followup_id, now=now,
                                          calendar=context.services.settings.calendar,
                                          actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, await explain(session, followup_id, refused))
            return
        await session.commit()
        await redraw(context, session, followup, lambda t: t(
            "☎️ Wrong number, reported by {name} at {at}. It comes back {when}.").format(
                name=me.name, at=t.time(now), when=t.time(followup.remind_at)))
    await answer_tap(update)
    await query.edit_message_text(_(
        "☎️ {phone} was removed from {name}'s archive. Please find the right number and add "
        "it to the archive (/customer {plate}). The call comes back {when}.").format(
            phone=phones[0] if phones else "—", name=points.customer.name,
            plate=points.vehicle.plate if points.vehicle else points.customer.name,
            when=_.time(followup.remind_at)))


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        CallbackQueryHandler(tap_no_answer, pattern=r"^fu:\d+:na$"),
        CallbackQueryHandler(tap_snooze, pattern=r"^fu:\d+:sz$"),
        CallbackQueryHandler(tap_snooze_choice, pattern=r"^fu:\d+:sz:(1h|3h|tm|nw)$"),
        CallbackQueryHandler(tap_wrong_number, pattern=r"^fu:\d+:wn$"),
        CallbackQueryHandler(tap_wrong_number_choice, pattern=r"^fu:\d+:wn:(ok|no)$"),
    ]
