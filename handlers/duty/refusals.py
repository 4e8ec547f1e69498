"""The duty areas' and the equipment's refusals (W8–W10).

A plain table of code → words; :mod:`bot.refusals` consults it (see there). Imports only models,
``bot.i18n``, ``handlers/chat`` and this area's cards: never a conversation module."""

from __future__ import annotations

from typing import Any

from bot.i18n import Translator
from handlers.chat.refusals import RefusalTexts
from models.equipment import DamageStatus


def _damage_already(_: Translator, p: dict[str, Any]) -> str:
    decision = (_("compensation") if p["status"] == DamageStatus.compensation
                else _("no compensation"))
    return _("Already decided by {name} at {at}: {decision}.").format(
        name=p["name"], at=_.time(p["at"]), decision=decision)


REFUSALS: RefusalTexts = {
    "duty_not_leader": lambda _, p: _("Only team leaders can set up duty areas; nothing was "
                                      "changed."),
    "duty_bad_responsible": lambda _, p: _(
        "{name} cannot be responsible for a duty area (not an active technician or team "
        "leader). Choose someone else.").format(**p),
    "duty_area_missing": lambda _, p: _("That duty area no longer exists."),
    "duty_area_exists": lambda _, p: _("There is already a duty area called “{name}”. Send "
                                       "another name.").format(**p),
    "duty_reminder_missing": lambda _, p: _("That duty reminder no longer exists."),
    "duty_not_yours": lambda _, p: _("This duty reminder is for someone else; nothing was "
                                     "changed."),
    "duty_already_done": lambda _, p: _("Already done by {name} at {at}.").format(
        name=p["name"], at=_.time(p["at"])),
    "damage_missing": lambda _, p: _("That damage report no longer exists."),
    "damage_photo_missing": lambda _, p: _("A damage report needs at least one photo."),
    "damage_amount_invalid": lambda _, p: _(
        "Please send the amount in yuan, more than 0 and at most 100,000, e.g. “300” or "
        "“85.5”."),
    "damage_bad_payer": lambda _, p: _("Choose who pays from the buttons."),
    "damage_already_decided": _damage_already,
}
