"""Words for the states people read on every card (an order's status, a decision)."""

from __future__ import annotations

from bot.i18n import Translator


def status_name(_: Translator, status: str) -> str:
    names = {
        "open": _("waiting for the plate check"),
        "locked": _("locked (plate mismatches)"),
        "in_progress": _("in progress"),
        "self_checked": _("self-checked, waiting for QC"),
        "leader_passed": _("passed by the team leader"),
        "inspected": _("inspected, ready for delivery"),
        "delivered": _("delivered"),
        "cancelled": _("cancelled"),
    }
    return names.get(status, status)


def decision_name(_: Translator, decision: str) -> str:
    return {"approved": _("approved"), "rejected": _("rejected"), "pending": _("pending")}.get(
        decision, decision
    )
