"""A rule's refusal (``models.rules.Refused``) in the person's words: each area registers
the texts of its codes with :func:`add_refusals`; :func:`refuse` answers with one."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from telegram import Update

from bot.context import WorkshopContext
from bot.i18n import Translator
from handlers.chat.labels import decision_name, status_name
from handlers.chat.ui import reply
from models.rules import Refused

log = logging.getLogger(__name__)


_REFUSALS: dict[str, Callable[[Translator, dict[str, Any]], str]] = {
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
    "plate_typo": lambda _, p: _(
        "“{plate}” does not look like a plate. Please type the plate on the vehicle again."
    ).format(**p),
    "not_locked": lambda _, p: _("Order {number} is not locked.").format(**p),
    "no_items": lambda _, p: _("Please list at least one item, one per line."),
    "too_many_items": lambda _, p: _("At most {limit} items, please.").format(**p),
    "item_pending": lambda _, p: _(
        "“{item}” is waiting for the advisor's approval and cannot be marked done yet."
    ).format(**p),
    "item_rejected": lambda _, p: _(
        "“{item}” was rejected by the advisor and must not be done."
    ).format(**p),
    "item_already_done": lambda _, p: _("“{item}” is already done.").format(**p),
    "items_open": lambda _, p: _.ngettext(
        "{count} item is still open; finish it before the self-check.",
        "{count} items are still open; finish them before the self-check.",
        p["count"],
    ).format(**p),
    "empty_text": lambda _, p: _("Please send some text."),
    "already_acknowledged": lambda _, p: _("Already acknowledged by {name} at {at}.").format(
        name=p["name"], at=_.time(p["at"])
    ),
    "already_decided": lambda _, p: _("Already {decision} by {name} at {at}.").format(
        decision=decision_name(_, p["decision"]), name=p["name"], at=_.time(p["at"])
    ),
    "estimate_invalid": lambda _, p: _(
        "Please send the estimate as one or two amounts in yuan, parts then labour, "
        "e.g. “300 150”."
    ),
    "consent_missing": lambda _, p: _("Please choose how the customer consented."),
    "consent_note_missing": lambda _, p: _("Please describe how the customer consented."),
    "reason_missing": lambda _, p: _("Please give a reason."),
    # After-sales (A1–A13)
    "already_delivered": lambda _, p: _("Order {number} was already delivered.").format(**p),
    "customer_missing": lambda _, p: _("That customer no longer exists."),
    "followup_missing": lambda _, p: _("That follow-up no longer exists."),
    "followup_closed": lambda _, p: _("This follow-up is already closed; nothing was "
                                      "changed."),
    "not_clerk": lambda _, p: _("{name} is not an active tracking clerk.").format(**p),
    "not_supervisor": lambda _, p: _("Only supervisors can do this; nothing was changed."),
    "date_invalid": lambda _, p: _("Please send a date like 2026-12-01."),
    "date_in_past": lambda _, p: _("That date has passed; please choose a later one."),
    "time_in_past": lambda _, p: _("That time has passed; please choose a later one."),
    "time_in_future": lambda _, p: _("That is in the future; please give the day it "
                                     "happened."),
    "phone_invalid": lambda _, p: _("That does not look like a phone number (e.g. "
                                    "13812345678 or 010-12345678). Please send it again."),
    "plate_taken": lambda _, p: _("Plate {plate} belongs to another customer's "
                                  "vehicle.").format(**p),
    "no_vehicle": lambda _, p: _("This customer has no vehicle yet; add its plate first."),
    "number_invalid": lambda _, p: _("Please send a whole number in a sensible range."),
    "field_unknown": lambda _, p: _("That field cannot be edited."),
    "absence_dates": lambda _, p: _("The absence must start today or later and end on or "
                                    "after its start."),
    "standin_is_clerk": lambda _, p: _("The stand-in must be someone other than the absent "
                                       "clerk."),
    "absence_overlaps": lambda _, p: _("That clerk is already away from {starts_on} to "
                                       "{ends_on}.").format(**p),
    "complaint_missing": lambda _, p: _("That complaint no longer exists."),
    "complaint_moved": lambda _, p: _("This complaint has moved on (now: {status}); "
                                      "nothing was changed.").format(**p),
    "audience_value_missing": lambda _, p: _("Please name the vehicle model."),
    "no_customers": lambda _, p: _("No customer matches; nothing was created."),
    "letter_missing": lambda _, p: _("That letter no longer exists."),
    "letter_already_sent": lambda _, p: _("This letter was already registered as sent."),
    "satisfaction_invalid": lambda _, p: _("Satisfaction is a number from 1 to 5."),
    "too_long": lambda _, p: _("That is too long; at most {limit} characters.").format(**p),
}


def add_refusals(texts: dict[str, Callable[[Translator, dict[str, Any]], str]]) -> None:
    """A flow module adds the sentences for the refusal codes its rules raise."""
    duplicates = set(texts) & set(_REFUSALS)
    assert not duplicates, f"refusal codes defined twice: {duplicates}"
    _REFUSALS.update(texts)


def refusal(_: Translator, refused: Refused) -> str:
    render = _REFUSALS.get(refused.code)
    if render is None:
        return _("This cannot be done; nothing was changed.")
    return render(_, refused.params)


async def refuse(update: Update, context: WorkshopContext, refused: Refused) -> None:
    """Tell the person why not: as a tap alert for buttons, as a message otherwise."""
    log.info("refused %s on %s for staff %s: %s", refused.code, context.channel,
             context.staff.id if context.staff else None,
             update.callback_query.data if update.callback_query else "message")
    text = refusal(context._, refused)
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await reply(update, text)
