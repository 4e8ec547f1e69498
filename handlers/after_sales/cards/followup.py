"""The follow-up reminder card (A3, A6, A7) and the overdue notice, as the clerks and the jobs see
them."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from bot.i18n import Translator
from bot.messenger import Rendered
from handlers.chat.labels import complaint_status_name, followup_kind_name, topic_names
from handlers.chat.ui import button, keyboard
from models.customer import VisitKind
from models.db import id_of
from models.followup import (
    FollowUp,
    FollowUpKind,
)
from models.staff import Staff
from models.talking_points import TalkingPoints

# The callback data of the buttons these cards draw, one prefix per family; the
# handlers that answer them match on the same constants.
FOLLOWUP_PREFIX = "fu"  # a follow-up call: fu:<follow-up id>:…

MAX_LISTED = 3  # open complaints and upcoming events shown on a card


# --- rendering -------------------------------------------------------------------------------
def window_text(t: Translator, followup: FollowUp) -> str:
    """When the call is due, as whole days."""
    return t.window(followup.due_from, followup.due_until)


def card_head(t: Translator, points: TalkingPoints) -> str:
    """The first line of every copy; ``[FU-n]`` also lets a reply name the follow-up."""
    followup = points.followup
    return t("📞 {kind} · {name} · {plate}").format(
        kind=followup_kind_name(t, followup.kind), name=points.customer.name,
        plate=points.plate,
    ) + f"  [FU-{followup.id}]"


def reminder_keyboard(t: Translator, followup_id: int) -> InlineKeyboardMarkup:
    return keyboard(
        [button(t("📝 Log call"), f"{FOLLOWUP_PREFIX}:{followup_id}:log"),
         button(t("📵 No answer"), f"{FOLLOWUP_PREFIX}:{followup_id}:na")],
        [button(t("⏰ Snooze"), f"{FOLLOWUP_PREFIX}:{followup_id}:sz"),
         button(t("☎️ Wrong number"), f"{FOLLOWUP_PREFIX}:{followup_id}:wn")],
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
    return "\n".join(lines), reminder_keyboard(t, id_of(followup))


def overdue_notice(t: Translator, points: TalkingPoints, clerk: Staff | None) -> Rendered:
    """For the supervisors: which call was missed, and whose list it stays on."""
    followup = points.followup
    if clerk is None:
        owner = t("The customer has no clerk; please assign one (/assign).")
    else:
        owner = t("It stays on {clerk}'s list.").format(clerk=clerk.name)
    return t("⚠️ Overdue: {kind} for {name} ({plate}). The window ended {at} without a logged "
             "call.").format(kind=followup_kind_name(t, followup.kind),
                             name=points.customer.name,
                             plate=points.plate, at=t.time(followup.due_until)) + "\n" + owner, None


def what_was_done(t: Translator, points: TalkingPoints) -> list[str]:
    """Why this call: the visit, the event, or the complaint it answers."""
    lines = []
    visit = points.visit
    if visit is not None:
        text = (t("Consultation on {day}: {summary}") if visit.kind == VisitKind.consultation
                else t("Repair on {day}: {summary}"))
        lines.append(text.format(day=t.day(visit.visited_at), summary=visit.summary or "—"))
    if points.campaign is not None:
        campaign = points.campaign
        lines.append(t("Invite to “{title}” on {date}, {address}.").format(
            title=campaign.title, date=t.day(campaign.event_on),
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
            date=t.day(points.next_maintenance_on), last=t.day(last)))
    return lines


def talking_points(t: Translator, points: TalkingPoints) -> list[str]:
    """Suggestions from the archive (A3); the last call's content so it is not repeated (A7)."""
    out = []
    if points.next_maintenance_on is not None:
        out.append(t("Next maintenance: {date}").format(date=t.day(points.next_maintenance_on)))
    if (points.customer.services_wanted or "").strip():
        out.append(t("Services wanted: {services}").format(
            services=points.customer.services_wanted))
    for complaint in points.open_complaints[:MAX_LISTED]:
        out.append(t("Open complaint ({status}): {text}").format(
            status=complaint_status_name(t, complaint.status), text=clip(complaint.text)))
    for campaign in points.upcoming[:MAX_LISTED]:
        out.append(t("Upcoming: “{title}” on {date}, {address}").format(
            title=campaign.title, date=t.day(campaign.event_on),
            address=campaign.address or "—"))
    call = points.last_call
    if call is not None:
        out.append(t("Last call on {day} ({name}) covered: {topics}. Notes: {notes}").format(
            day=t.day(call.at), name=points.last_caller.name if points.last_caller
            else "—", topics=topic_names(t, call.topic_list), notes=clip(call.notes) or "—"))
        if points.followup.kind == FollowUpKind.second_call:
            out.append(t("Bring something new this time; do not repeat the last call."))
    if not out:
        out.append(t("Ask how the car is doing and whether they need anything."))
    return out


def clip(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
