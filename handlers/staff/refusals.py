"""The staff administration's refusals (/staff).

A plain table of code → words; :mod:`bot.refusals` consults it (see there). Imports only models,
``bot.i18n``, ``handlers/chat`` and this area's cards: never a conversation module."""

from __future__ import annotations

from handlers.chat.refusals import RefusalTexts

REFUSALS: RefusalTexts = {
    "staff_not_admin": lambda _, p: _("Only administrators can do this; nothing was changed."),
    "staff_missing": lambda _, p: _("That staff member no longer exists."),
    "staff_no_roles": lambda _, p: _("Tick at least one role."),
    "staff_last_admin": lambda _, p: _(
        "{name} is the last active administrator; without one nobody could manage the staff. "
        "Make someone else an administrator first; nothing was changed.").format(**p),
    "staff_self_deactivate": lambda _, p: _("You cannot deactivate yourself; nothing was "
                                            "changed."),
    "staff_inactive": lambda _, p: _("{name} is deactivated; reactivate them first. Nothing "
                                     "was changed.").format(**p),
    "staff_already_inactive": lambda _, p: _("{name} is already deactivated; nothing was "
                                             "changed.").format(**p),
    "staff_already_active": lambda _, p: _("{name} is already active; nothing was "
                                           "changed.").format(**p),
    "staff_code_taken": lambda _, p: _("Staff code {staff_code} is already taken. Send another, "
                                       "or tap Skip.").format(**p),
    "staff_code_invalid": lambda _, p: _("A staff code is one word without spaces. Send "
                                         "another, or tap Skip."),
}
