"""What after-sales (A1–A13) answers: its conversations and its one-tap buttons and commands."""

from __future__ import annotations

from handlers.after_sales import (
    absence,
    assign,
    call_log,
    campaign,
    complaint_solution,
    complaints,
    consultation,
    customer,
    customer_edit,
    delivery,
    followup_buttons,
    letters,
    report,
    today,
)
from handlers.chat.routes import Routes, routes_of


def routes() -> Routes:
    return routes_of(
        call_log.handlers(),
        customer_edit.handlers(),
        customer.handlers(),
        consultation.handlers(),
        assign.handlers(),
        absence.handlers(),
        delivery.handlers(),
        complaint_solution.handlers(),
        complaints.handlers(),
        campaign.handlers(),
        letters.handlers(),
        report.handlers(),
        followup_buttons.handlers(),
        today.handlers(),
    )
