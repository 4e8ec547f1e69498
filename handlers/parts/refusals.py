"""The parts room's refusals (W6).

A plain table of code → words; :mod:`bot.refusals` consults it (see there). Imports only models,
``bot.i18n``, ``handlers/chat`` and this area's cards: never a conversation module."""

from __future__ import annotations

from handlers.chat.refusals import RefusalTexts
from handlers.parts.cards import old_part_name, part_status_name

REFUSALS: RefusalTexts = {
    "parts_not_clerk": lambda _, p: _("Only parts clerks can do this; nothing was changed."),
    "parts_request_missing": lambda _, p: _("That part request no longer exists."),
    "parts_already_decided": lambda _, p: _("Already {decision} by {name} at {at}.").format(
        decision=part_status_name(_, p["decision"]), name=p["name"], at=_.time(p["at"])),
    "parts_not_issued_yet": lambda _, p: _(
        "This part has not been issued yet; the old part is settled once it is. Nothing was "
        "changed."),
    "parts_old_part_settled": lambda _, p: _(
        "The old part was already settled by {name} at {at}: {outcome}. Nothing was changed."
    ).format(name=p["name"], at=_.time(p["at"]), outcome=old_part_name(_, p["outcome"])),
    "parts_no_open_item": lambda _, p: _(
        "Order {number} has no open item to request a part for."
    ).format(**p),
    "parts_item_not_open": lambda _, p: _(
        "“{item}” is not open; parts are requested for open items only."
    ).format(**p),
    "parts_quantity_invalid": lambda _, p: _(
        "Please send the quantity as a whole number from 1 to {limit}."
    ).format(**p),
    "parts_quantity_zero": lambda _, p: _("The quantity must be at least 1."),
    "parts_quantity_too_many": lambda _, p: _(
        "At most {limit} at a time; please check the quantity."
    ).format(**p),
    "parts_amount_invalid": lambda _, p: _(
        "Please send the amount in yuan, e.g. “80” or “80.50”."
    ),
    "parts_not_issued": lambda _, p: _(
        "This part has not been issued; only an issued part can be returned."
    ),
    "parts_photo_missing": lambda _, p: _("Please send a photo of the part first."),
}
