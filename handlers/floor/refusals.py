"""The floor's refusals (W1–W5, N1–N7): orders and items, extra items, faults, the checklist,
the lifting watch, the job clock.

A plain table of code → words; :mod:`bot.refusals` consults it (see there). Imports only models,
``bot.i18n``, ``handlers/chat`` and this area's cards: never a conversation module."""

from __future__ import annotations

from typing import Any

from bot.i18n import Translator
from handlers.chat.labels import decision_name
from handlers.chat.refusals import RefusalTexts
from handlers.floor.cards import box_name
from models.checklist import Box
from models.lifting import WatchStatus


def _lifting_already(_: Translator, p: dict[str, Any]) -> str:
    if p["status"] == WatchStatus.confirmed:
        return _("{name} already confirmed watching this lift at {at}.").format(
            name=p["name"], at=_.time(p["at"]))
    return _("This request was withdrawn by {name} at {at}; nothing was changed.").format(
        name=p["name"], at=_.time(p["at"]))


REFUSALS: RefusalTexts = {
    "orders_not_floor": lambda _, p: _(
        "Work orders are for technicians, team leaders and advisors. Send /help to see what "
        "you can do."),
    "checklist_not_floor": lambda _, p: _(
        "Pre-work checklists are for technicians and team leaders. Send /help to see what you "
        "can do."),
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
    "checklist_open": lambda _, p: _(
        "Order {number}: tick the pre-work checklist first (send /checklist to see it). "
        "Nothing was changed.").format(**p),
    "checklist_no_type": lambda _, p: _("Choose at least one kind of job first."),
    "checklist_missing": lambda _, p: _("Still to tick: {boxes}.").format(
        boxes="; ".join(box_name(_, Box(b)) for b in p["boxes"])),
    "checklist_already_done": lambda _, p: _(
        "The pre-work checklist of {number} is already complete.").format(**p),
    "checklist_box_not_needed": lambda _, p: _(
        "That box is not part of this checklist now; nothing was changed."),
    "lifting_missing": lambda _, p: _("That lift request no longer exists."),
    "lifting_not_in_checklist": lambda _, p: _(
        "The pre-work checklist of {number} does not include a lift or stands; nothing was "
        "changed.").format(**p),
    "lifting_bad_watcher": lambda _, p: _(
        "{name} cannot watch this lift now (not on shift, or not on the floor). Choose "
        "someone else.").format(**p),
    "lifting_not_watcher": lambda _, p: _(
        "Only the person named as the watcher can confirm; nothing was changed."),
    "lifting_not_leader": lambda _, p: _(
        "Only team leaders can take a watch over; nothing was changed."),
    "lifting_already": _lifting_already,
    "clock_running": lambda _, p: _("The clock on “{item}” is already running (since "
                                    "{since}).").format(item=p["item"], since=_.time(p["since"])),
    "clock_not_running": lambda _, p: _("The clock on “{item}” is not running.").format(**p),
    "fault_already_proposed": lambda _, p: _(
        "This fault was already proposed as an extra item (“{item}”) by {name} at {at}; "
        "nothing was changed.").format(item=p["item"], name=p["name"], at=_.time(p["at"])),
    # The advisor asks the customer on a link (handlers.floor.customer_link).
    "customer_links_off": lambda _, p: _(
        "Customer links are not set up in this shop (PUBLIC_BASE_URL); please ask the customer "
        "yourself. Nothing was changed."),
    "order_not_in_progress": lambda _, p: _(
        "The order is not in progress, so the customer cannot be asked about extra items on "
        "it. Nothing was changed."),
    "nothing_for_the_customer": lambda _, p: _(
        "No extra item on this order waits for a decision; there is nothing to ask the customer. "
        "Nothing was changed."),
    # The customer on their link's page (bot.customer_page): words for the customer.
    "customer_name_missing": lambda _, p: _("Please type your name: it is your signature."),
    "customer_link_closed": lambda _, p: _(
        "This link is no longer open: everything on it was decided, or it expired."),
    "customer_link_changed": lambda _, p: _(
        "The prices changed after this link was made. Please ask your service advisor for a "
        "new link."),
    "customer_link_items": lambda _, p: _(
        "Your decision could not be recorded: please decide each item shown on the page."),
}
