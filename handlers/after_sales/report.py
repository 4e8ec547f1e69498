"""A12, A13: the supervisor's reports and the four forms.

``/report 2026-10`` (a month), ``/report 2026`` (a year), ``/report`` (last month): the
figures per clerk and in total as text, then the chart (PNG) and the spreadsheet (XLSX).
:mod:`jobs.reports` sends the same on the 1st of each month with :func:`report_messages`.

``/export``: which form → which period (this month, last month, this year, or typed days) →
the form as an XLSX document. Only supervisors see reports and export forms; the role is
checked at every step, since the forms carry customers' phone numbers and addresses.
"""

from __future__ import annotations

import io
from datetime import date

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import WorkshopContext
from bot.forms import Form, filename, title, write_form
from bot.i18n import Translator
from bot.refusals import refusal
from handlers.after_sales.cards.report import report_file_name, report_files, report_messages
from handlers.chat.conversation import END, conversation, draft, drop_draft
from handlers.chat.ui import answer_tap, button, keyboard, reply
from models import audit
from models.report import (
    Period,
    days_period,
    last_month,
    parse_period,
    parse_range,
    report_for,
)
from models.rules import Refused
from models.staff import Role

PREFIX = "export"  # the callback data of this module's buttons: export:…

FORM, PERIOD = range(2)
DRAFT = "export"
TEXT = filters.TEXT & ~filters.COMMAND
UPLOAD_LIMIT = 50 * 2**20  # what a bot may send as a document
FORMS = "|".join(f.value for f in Form)
PERIODS = ("this_month", "last_month", "this_year")

# --- the figures as text ----------------------------------------------------------------------


# --- /report ----------------------------------------------------------------------------------


async def report_command(update: Update, context: WorkshopContext) -> None:
    """/report [2026-10 | 2026]: the figures, the chart and the spreadsheet, to this chat."""
    _ = context._
    if not context.me.has(Role.supervisor):
        await reply(update, refusal(_, Refused("not_supervisor")))
        return
    now = context.now()
    calendar = context.services.settings.calendar
    try:
        period = parse_period(" ".join(context.args or []), calendar, now)
    except Refused as refused:
        await reply(update, refusal(_, refused))
        return
    async with context.services.db.session() as session:
        report = await report_for(session, period, calendar=calendar, now=now)
    for text in report_messages(_, report, period, now):
        await reply(update, text)
    png, xlsx = await report_files(report, _)
    chat = update.effective_chat
    assert chat is not None
    await chat.send_photo(png, filename=report_file_name(period, "png"))
    await chat.send_document(xlsx, filename=report_file_name(period, "xlsx"))


# --- /export ----------------------------------------------------------------------------------


async def _still_supervisor(update: Update, context: WorkshopContext) -> bool:
    if context.me.has(Role.supervisor):
        return True
    drop_draft(context, DRAFT)
    await answer_tap(update)
    await reply(update, refusal(context._, Refused("not_supervisor")))
    return False


def forms_keyboard(_: Translator) -> InlineKeyboardMarkup:
    return keyboard(*[[button(title(form, _), f"{PREFIX}:form:{form.value}")] for form in Form])


def periods_keyboard(_: Translator) -> InlineKeyboardMarkup:
    return keyboard(
        [button(_("This month"), f"{PREFIX}:period:this_month"),
         button(_("Last month"), f"{PREFIX}:period:last_month")],
        [button(_("This year"), f"{PREFIX}:period:this_year")],
    )


async def export_start(update: Update, context: WorkshopContext) -> int:
    """/export: which of the four forms?"""
    if not await _still_supervisor(update, context):
        return END
    drop_draft(context, DRAFT)
    await reply(update, context._("Which form do you want as a spreadsheet? /cancel stops."),
                forms_keyboard(context._))
    return FORM


async def chose_form(update: Update, context: WorkshopContext) -> int:
    """Keep the form; which period?"""
    if not await _still_supervisor(update, context):
        return END
    assert update.callback_query is not None and update.callback_query.data
    form = Form(update.callback_query.data.split(":")[2])
    draft(context, DRAFT)["form"] = form.value
    await answer_tap(update)
    await reply(update, context._("{form}: which period? Tap one, or type the first and last "
                                  "day, e.g. “2026-10-01 2026-10-31”.").format(
                                      form=title(form, context._)),
                periods_keyboard(context._))
    return PERIOD


async def chose_period(update: Update, context: WorkshopContext) -> int:
    """This month, last month or this year, as of today in the shop."""
    if not await _still_supervisor(update, context):
        return END
    assert update.callback_query is not None and update.callback_query.data
    choice = update.callback_query.data.split(":")[2]
    calendar = context.services.settings.calendar
    now = context.now()
    today = calendar.local_date(now)
    if choice == "last_month":
        period = last_month(calendar, now)
    elif choice == "this_year":  # so far: up to today
        period = days_period(calendar, date(today.year, 1, 1), today)
    else:
        period = days_period(calendar, today.replace(day=1), today)
    await answer_tap(update)
    return await _send_form(update, context, period)


async def typed_period(update: Update, context: WorkshopContext) -> int:
    """"2026-10-01 2026-10-31" (or a month, or a year); a bad one is explained, the step stays."""
    if not await _still_supervisor(update, context):
        return END
    assert update.message is not None
    try:
        period = parse_range(update.message.text or "", context.services.settings.calendar,
                             context.now())
    except Refused as refused:
        await reply(update, refusal(context._, refused), periods_keyboard(context._))
        return PERIOD
    return await _send_form(update, context, period)


async def _send_form(update: Update, context: WorkshopContext, period: Period) -> int:
    """Write the form, send it as a document, record the export (it holds personal data)."""
    _ = context._
    form = Form(draft(context, DRAFT)["form"])
    buffer = io.BytesIO()
    async with context.services.db.session() as session:
        rows = await write_form(form, session, period.start, period.end, _, buffer)
        audit.record(session, now=context.now(), actor=context.actor, action="form.export",
                     entity="form", entity_id=None, form=form.value,
                     first=period.first_day.isoformat(), last=period.last_day.isoformat(),
                     rows=rows)
        await session.commit()
    drop_draft(context, DRAFT)
    chat = update.effective_chat
    assert chat is not None
    size = buffer.getbuffer().nbytes
    if size > UPLOAD_LIMIT:
        await reply(update, _("That spreadsheet is {size} MB, more than a chat can carry. "
                              "Choose a shorter period, or write it on the server with "
                              "“workshop-bot export”.").format(size=size // 2**20))
        return END
    caption = _.ngettext("{form}, {first} – {last}: {count} row.",
                         "{form}, {first} – {last}: {count} rows.", rows).format(
        form=title(form, _), first=_.day(period.first_day), last=_.day(period.last_day),
        count=rows)
    await chat.send_document(buffer.getvalue(),
                             filename=filename(form, _, period.first_day, period.last_day),
                             caption=caption)
    return END


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "export",
            draft_key=DRAFT,
            entry_points=[CommandHandler("export", export_start)],
            states={
                FORM: [CallbackQueryHandler(chose_form, pattern=rf"^{PREFIX}:form:({FORMS})$")],
                PERIOD: [
                    CallbackQueryHandler(chose_period,
                                         pattern=rf"^{PREFIX}:period:({'|'.join(PERIODS)})$"),
                    CallbackQueryHandler(chose_form, pattern=rf"^{PREFIX}:form:({FORMS})$"),
                    MessageHandler(TEXT, typed_period),
                ],
            },
        ),
        CommandHandler("report", report_command),
    ]
