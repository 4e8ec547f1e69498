"""The trainings' and meetings' refusals (W11).

A plain table of code → words; :mod:`bot.refusals` consults it (see there). Imports only models,
``bot.i18n``, ``handlers/chat`` and this area's cards: never a conversation module."""

from __future__ import annotations

from handlers.chat.refusals import RefusalTexts
from models.training import Answer

REFUSALS: RefusalTexts = {
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
}
