"""QC's refusals (W7): the self-check, the checks, handing on to the next process.

A plain table of code → words; :mod:`bot.refusals` consults it (see there). Imports only models,
``bot.i18n``, ``handlers/chat`` and this area's cards: never a conversation module."""

from __future__ import annotations

from handlers.chat.refusals import RefusalTexts
from handlers.qc.cards import qc_decision_name

REFUSALS: RefusalTexts = {
    "items_open": lambda _, p: _.ngettext(
        "{count} item is still open; finish it before the self-check.",
        "{count} items are still open; finish them before the self-check.",
        p["count"],
    ).format(**p),
    "qc_boxes_empty": lambda _, p: _.ngettext(
        "{count} box is still empty: tick done, tested and cleaned up for every item first.",
        "{count} boxes are still empty: tick done, tested and cleaned up for every item "
        "first.", p["count"]).format(**p),
    "qc_handoff_same": lambda _, p: _("{name} already has this order.").format(**p),
    "qc_handoff_moved": lambda _, p: _("{number} has changed hands meanwhile; nothing was "
                                       "changed.").format(**p),
    "qc_not_leader": lambda _, p: _("Only team leaders do this check; nothing was changed."),
    "qc_not_inspector": lambda _, p: _("Only inspectors do the final inspection; nothing was "
                                       "changed."),
    "qc_not_checker": lambda _, p: _("Only team leaders and inspectors check orders."),
    "qc_own_work": lambda _, p: _("{number} is your own work: someone else checks it; nothing "
                                  "was changed.").format(**p),
    "qc_already_decided": lambda _, p: _("Already {decision} by {name} at {at}.").format(
        decision=qc_decision_name(_, p["decision"]), name=p["name"], at=_.time(p["at"])),
    "qc_item_not_done": lambda _, p: _("That item is not done on this order; choose one of "
                                       "the buttons."),
}
