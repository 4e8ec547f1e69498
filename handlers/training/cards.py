"""W11: what a training or meeting notice looks like to the people who read it.

The invitee's card (what, when, where, and **Will attend** / **Can't attend**), the organiser's
roll-call card (**Mark attendance**), and the refusals of the notice modules. Posting
(``handlers.training.notice``), the invitees' answers (``handlers.training.reply``), attendance
and the register (``handlers.training.attendance``) and :mod:`jobs.training_reminders` all send
or redraw these cards."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import N_, Translator
from bot.messenger import Rendered
from handlers.chat.ui import button, keyboard
from models.staff import Staff
from models.training import Answer, Notice, NoticeInvitee, NoticeKind, Tally, get_notice

# The callback data of the buttons these cards draw, one prefix per family; the
# handlers that answer them match on the same constants.
INVITEE_PREFIX = "nti"  # an invitee's answer: nti:<invitee id>:yes|no
NOTICE_PREFIX = "ntc"  # a notice: ntc:<notice id>:… and the posting steps ntc:<step>:…

KIND_NAMES: dict[str, str] = {NoticeKind.training: N_("Training"),
                              NoticeKind.meeting: N_("Meeting")}


def kind_name(t: Translator, kind: str) -> str:
    """A notice's kind (its own table: nothing outside training shows it)."""
    label = KIND_NAMES.get(kind)
    return t(label) if label is not None else kind


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
    yes = button(t("✅ Will attend"), f"{INVITEE_PREFIX}:{invitee.id}:yes")
    no = button(t("❌ Can't attend"), f"{INVITEE_PREFIX}:{invitee.id}:no")
    if invitee.answer == Answer.attending:
        lines.append(t("Your answer: ✅ will attend."))
        return "\n".join(lines), keyboard([button(t("❌ Can't attend after all"),
                                                  f"{INVITEE_PREFIX}:{invitee.id}:no")])
    if invitee.answer == Answer.declined:
        lines.append(t("Your answer: ❌ can't attend ({reason}).").format(
            reason=invitee.reason or "—"))
        return "\n".join(lines), keyboard([button(t("✅ Will attend after all"),
                                                  f"{INVITEE_PREFIX}:{invitee.id}:yes")])
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
                                              f"{NOTICE_PREFIX}:{notice.id}:mark")])


async def card_facts(session: AsyncSession, invitee: NoticeInvitee) -> CardFacts:
    notice = await get_notice(session, invitee.notice_id)
    organiser = await session.get(Staff, notice.organiser_id)
    return CardFacts(notice, organiser.name if organiser else "?", invitee)

