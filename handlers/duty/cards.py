"""What other people and the jobs see of duty areas (W8–W10): the cards and the facts they load."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import Translator
from bot.messenger import Rendered
from handlers.chat.ui import button, keyboard
from models.attachment import attachments_of
from models.card import CardKind
from models.db import id_of
from models.duty import (
    Compliance,
    DutyArea,
    DutyKind,
    DutyReminder,
    DutySummary,
)
from models.equipment import DamageSummary
from models.staff import Staff

# The callback data of the buttons these cards draw, one prefix per family; the
# handlers that answer them match on the same constants.
DUTY_PREFIX = "dty"  # a duty reminder: dty:<reminder id>:…


def kind_name(_: Translator, kind: str) -> str:
    names: dict[str, str] = {
        DutyKind.morning: _("before work"),
        DutyKind.evening: _("before leaving"),
        DutyKind.friday: _("Friday walls and windows"),
        DutyKind.wash: _("weekly wash"),
    }
    return names.get(kind, kind)


def tasks(_: Translator, kind: str, area: str) -> list[str]:
    """What the reminder asks for, as the shop's rules say it (W8, W9, W10)."""
    if kind == DutyKind.morning:
        return [_("🧹 Before work: clean the floor of {area}.").format(area=area),
                # N8 needs no tracking: the morning reminder is the daily briefing.
                _("🚭 In the plant: no smoking, no spitting, no food with shells (N8).")]
    if kind == DutyKind.evening:
        return [_("🔒 Before leaving {area}:").format(area=area),
                _("• clean the floor, the equipment and the tools (W8)"),
                _("• clean the pipes, the lines and the window sills"),
                _("• lock the doors, the windows and the tool carts"),
                _("• switch the power off")]
    if kind == DutyKind.friday:
        return [_("🪟 Friday: clean the walls and the windows of {area}.").format(area=area)]
    return [_("🧺 Weekly wash: wash the car-protection covers and the rags of {area}, then "
              "fold them into the tool cart (W9).").format(area=area)]


@dataclass(frozen=True)
class ReminderFacts:
    """What the card shows, loaded once and rendered in each reader's language."""

    reminder: DutyReminder
    area: DutyArea
    responsible: Staff | None
    done_by: Staff | None
    photos: int


async def reminder_facts(session: AsyncSession, reminder: DutyReminder) -> ReminderFacts:
    area = await session.get(DutyArea, reminder.area_id)
    assert area is not None
    responsible = (await session.get(Staff, reminder.staff_id)
                   if reminder.staff_id is not None else None)
    done_by = (await session.get(Staff, reminder.done_by)
               if reminder.done_by is not None else None)
    photos = len(await attachments_of(session, CardKind.duty_reminder, id_of(reminder)))
    return ReminderFacts(reminder, area, responsible, done_by, photos)


def reminder_card(_: Translator, facts: ReminderFacts, *, missed_minutes: int | None = None
                  ) -> Rendered:
    """The reminder with its Done buttons until someone confirms it; with ``missed_minutes``
    the team leaders' copy says it was not confirmed in time."""
    reminder, area = facts.reminder, facts.area
    lines = tasks(_, reminder.kind, area.name)
    if facts.responsible is not None:
        lines.append(_("Responsible: {name} · due {at}").format(
            name=facts.responsible.name, at=_.time(reminder.due_at)))
    else:
        lines.append(_("⚠️ Nobody is responsible for {area}; a team leader sets someone with "
                       "/duty. Due {at}.").format(area=area.name, at=_.time(reminder.due_at)))
    if reminder.done_at is not None:
        done = _("✅ Done by {name} at {at}.").format(
            name=facts.done_by.name if facts.done_by else "?", at=_.time(reminder.done_at))
        if facts.photos:
            done += " " + _.ngettext("📷 {count} photo", "📷 {count} photos",
                                     facts.photos).format(count=facts.photos)
        lines.append(done)
        return "\n".join(lines), None
    if missed_minutes is not None:
        lines.append(_.ngettext(
            "⏰ Not confirmed {count} minute after the reminder.",
            "⏰ Not confirmed {count} minutes after the reminder.",
            missed_minutes).format(count=missed_minutes))
    return "\n".join(lines), keyboard([button(_("✅ Done"), f"{DUTY_PREFIX}:{reminder.id}:done"),
                                       button(_("📷 Done with a photo"),
                                              f"{DUTY_PREFIX}:{reminder.id}:photo")])


def _figures(_: Translator, figures: Compliance) -> str:
    return _("{confirmed} of {reminders} confirmed ({percent}%), {late} late, {missed} "
             "missed").format(confirmed=figures.confirmed, reminders=figures.reminders,
                              percent=figures.compliance if figures.compliance is not None
                              else "—", late=figures.late, missed=figures.missed)


def weekly_summary(_: Translator, label: str, start: datetime, end: datetime,
                   summary: DutySummary, damage: DamageSummary) -> Rendered:
    """The supervisors' weekly compliance summary (W10), with the week's damage reports (W8)."""
    lines = [_("📊 Duty compliance, week {week} ({first} – {last})").format(
        week=label, first=_.day(start), last=_.last_day(end))]
    if not summary.reminders:
        lines.append(_("No duty reminder was sent this week."))
    else:
        lines.append(_("All areas: {figures}.").format(figures=_figures(_, summary)))
        for (area, who), figures in summary.areas.items():
            lines.append(_("• {area} ({name}): {figures}").format(
                area=area, name=who, figures=_figures(_, figures)))
    lines.append(_("Equipment damage reports: {count} ({misuse} misuse, {undecided} "
                   "undecided); compensation decided: {amount}.").format(
        count=damage.reports, misuse=damage.misuse, undecided=damage.undecided,
        amount=_.money(damage.compensation_fen)))
    return "\n".join(lines), None
