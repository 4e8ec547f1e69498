"""The refusal texts every area shares: an order's status, a missing order, empty text …

Each area keeps the words for its own codes in ``handlers/<area>/refusals.py``, a plain dict like
this one; :mod:`bot.refusals` looks a code up in all of them (a code has its text in exactly one
table, ``tests/test_refusals.py`` checks it). Nothing is registered at import time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.i18n import Translator
from handlers.chat.labels import status_name

# A refusal code → its sentence, from the reader's translator and the refusal's params.
RefusalTexts = dict[str, Callable[[Translator, dict[str, Any]], str]]

REFUSALS: RefusalTexts = {
    "wrong_status": lambda _, p: _("This cannot be done now: the order is {status}.").format(
        status=status_name(_, p["status"])
    ),
    "order_missing": lambda _, p: _("That order or item no longer exists."),
    "order_closed": lambda _, p: _("Order {number} is closed; nothing was changed.").format(**p),
    "order_locked": lambda _, p: _(
        "Order {number} is locked after repeated plate mismatches. The advisor must clear it."
    ).format(**p),
    "not_your_order": lambda _, p: _(
        "Order {number} is not assigned to you; nothing was changed."
    ).format(**p),
    "not_advisor": lambda _, p: _("Only advisors can do this; nothing was changed."),
    "not_technician": lambda _, p: _("{name} is not an active technician.").format(**p),
    "plate_invalid": lambda _, p: _(
        "“{plate}” is not a mainland plate. Please check it and send it again."
    ).format(**p),
    "empty_text": lambda _, p: _("Please send some text."),
    "reason_missing": lambda _, p: _("Please give a reason."),
    "not_supervisor": lambda _, p: _("Only supervisors can do this; nothing was changed."),
    "date_invalid": lambda _, p: _("Please send a date like 2026-12-01."),
    "date_in_past": lambda _, p: _("That date has passed; please choose a later one."),
    "too_long": lambda _, p: _("That is too long; at most {limit} characters.").format(**p),
}
