"""After-sales refusals (A1–A13): the archive, calls, complaints, letters, campaigns, absences,
reports.

A plain table of code → words; :mod:`bot.refusals` consults it (see there). Imports only models,
``bot.i18n``, ``handlers/chat`` and this area's cards: never a conversation module."""

from __future__ import annotations

from handlers.chat.refusals import RefusalTexts

REFUSALS: RefusalTexts = {
    "after_sales_only": lambda _, p: _(
        "Only tracking clerks and supervisors can do this; nothing was changed."),
    "already_delivered": lambda _, p: _("Order {number} was already delivered.").format(**p),
    "customer_missing": lambda _, p: _("That customer no longer exists."),
    "followup_missing": lambda _, p: _("That follow-up no longer exists."),
    "followup_closed": lambda _, p: _("This follow-up is already closed; nothing was "
                                      "changed."),
    "not_clerk": lambda _, p: _("{name} is not an active tracking clerk.").format(**p),
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
                                       "{ends_on}.").format(starts_on=_.day(p["starts_on"]),
                                                            ends_on=_.day(p["ends_on"])),
    "complaint_missing": lambda _, p: _("That complaint no longer exists."),
    "complaint_moved": lambda _, p: _("This complaint has moved on (now: {status}); "
                                      "nothing was changed.").format(**p),
    "audience_value_missing": lambda _, p: _("Please name the vehicle model."),
    "no_customers": lambda _, p: _("No customer matches; nothing was created."),
    "letter_missing": lambda _, p: _("That letter no longer exists."),
    "letter_already_sent": lambda _, p: _("This letter was already registered as sent."),
    "satisfaction_invalid": lambda _, p: _("Satisfaction is a number from 1 to 5."),
    "complaint_not_yours": lambda _, p: _(
        "{name} follows this complaint up; only they, their stand-in or a supervisor can "
        "record its solution.").format(**p),
    "report_period_invalid": lambda _, p: _(
        "“{text}” is not a period. Send /report 2026-10 for a month or /report 2026 for a "
        "year (just /report: last month)."
    ).format(**p),
    "report_period_future": lambda _, p: _(
        "{period} has not started yet; there is nothing to report."
    ).format(**p),
    "report_range_invalid": lambda _, p: _(
        "“{text}” is not a period. Tap a button, or type the first and last day like "
        "“2026-10-01 2026-10-31”."
    ).format(**p),
    "report_range_reversed": lambda _, p: _(
        "The last day ({last}) is before the first ({first}); please send them the other way "
        "round."
    ).format(**p),
    "letter_before_planned": lambda _, p: _(
        "The letter was only planned on {date}; it cannot have gone out before that.")
    .format(**p),
    "assign_same_clerk": lambda _, p: _("Those are the same clerk; choose another one."),
    "archive_viewers_only": lambda _, p: _(
        "Only tracking clerks, supervisors and advisors can look up customers."),
    "away_usage": lambda _, p: _("Please write it like this: /away 张三 2026-12-01 2026-12-05 "
                                 "李四 (who, first day, last day, stand-in), or send /away "
                                 "alone."),
    "away_unknown_staff": lambda _, p: _("“{name}” does not name exactly one staff member. "
                                         "Check the spelling, or use their staff code.")
    .format(**p),
    "call_already_logged": lambda _, p: _("Already logged by {name} at {at}; nothing was "
                                          "changed.").format(name=p["name"],
                                                             at=_.time(p["at"])),
}
