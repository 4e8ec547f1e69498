"""What the floor (W1–W5, N1–N7) answers: its conversations and its one-tap buttons and commands."""

from __future__ import annotations

from handlers.chat.routes import Routes, routes_of
from handlers.floor import (
    approvals,
    checklist,
    customer_link,
    extra_item,
    extra_item_decision,
    fault_proposal,
    fault_report,
    items_mismatch,
    job_clock,
    lifting,
    new_order,
    orders,
    plate_check,
)


def routes() -> Routes:
    return routes_of(
        new_order.handlers(),
        plate_check.handlers(),
        items_mismatch.handlers(),
        fault_report.handlers(),
        fault_proposal.handlers(),
        extra_item.handlers(),
        extra_item_decision.handlers(),
        customer_link.handlers(),
        checklist.handlers(),
        lifting.handlers(),
        job_clock.handlers(),
        orders.handlers(),
        approvals.handlers(),
    )
