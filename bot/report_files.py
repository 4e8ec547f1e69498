"""The report's attachments (A12): a bar chart by clerk (PNG, matplotlib) and a spreadsheet (XLSX),
and the words for the workshop's figures that the message and the spreadsheet share.

The chart is drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, safe
in a worker thread). Chinese needs a CJK font, and the install brings one: the package
``pylopdf-fonts-zh-cn`` ships Noto Sans SC (SIL OFL 1.1, from notofonts/noto-cjk), which is
registered with matplotlib the first time a chart is drawn and comes first in ``CJK_FONTS``.
Should it be missing, a CJK font of the system is taken (fonts-noto-cjk, WenQuanYi …); with
none at all the chart falls back to English labels, and a clerk whose name the font cannot draw
is shown as ``#<staff id>`` (the spreadsheet and the message carry the names), so it never
renders as empty boxes.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import unicodedata
from calendar import monthrange
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bot.i18n import N_, Translator
from handlers.chat.labels import campaign_kind_name
from models.report import (
    ClerkFigures,
    Figures,
    QcFigures,
    Report,
    TechnicianFigures,
    WorkshopSection,
)

SHIPPED_FONT = "Noto Sans SC"  # the file pylopdf-fonts-zh-cn ships: see shipped_font_file()
CJK_FONTS = (
    SHIPPED_FONT, "Noto Sans CJK SC", "Noto Serif CJK SC", "Source Han Sans SC",
    "Source Han Sans CN", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback",
    "SimHei", "Microsoft YaHei", "PingFang SC", "Hiragino Sans GB", "AR PL UMing CN",
    "Noto Sans CJK JP",
)
COLOURS = ("#8c8c8c", "#2e7d32", "#f9a825", "#c62828")  # due, on time, late, missed


def shipped_font_file() -> Path | None:
    """The CJK font that comes with the install (Noto Sans SC, a dependency of the project), or
    ``None`` when that package is not installed."""
    try:
        from pylopdf_fonts_zh_cn import sans_path
    except ImportError:
        return None
    path = Path(sans_path())
    return path if path.is_file() else None


@cache
def cjk_font() -> tuple[str, int | str] | None:
    """The first CJK-capable font matplotlib knows and its weight, or ``None``. It draws Latin
    text too; asking for its own weight keeps matplotlib from warning on every label. The font
    that comes with the install is registered first, so it is the one a chart uses."""
    from matplotlib import font_manager

    shipped = shipped_font_file()
    if shipped is not None:
        font_manager.fontManager.addfont(shipped)
    weights = {entry.name: entry.weight for entry in font_manager.fontManager.ttflist}
    return next(((name, weights[name]) for name in CJK_FONTS if name in weights), None)


def _drawable(text: str) -> bool:
    """Whether the default font (DejaVu Sans) draws every character: no CJK ones."""
    return not any(unicodedata.east_asian_width(ch) in "WF" for ch in text)


def period_label(report: Report) -> str:
    first, last = report.first_day, report.last_day
    if (first.month, first.day, last.month, last.day) == (1, 1, 12, 31) and \
            first.year == last.year:
        return f"{first.year:04d}"
    if first.day == 1 and (last.year, last.month) == (first.year, first.month) and \
            last.day == monthrange(first.year, first.month)[1]:
        return f"{first.year:04d}-{first.month:02d}"
    return f"{first.isoformat()} – {last.isoformat()}"


def clerk_name(t: Translator, clerk: ClerkFigures) -> str:
    return clerk.name if clerk.staff_id is not None else t("Unassigned")


def chart_png(report: Report, translator: Translator) -> bytes:
    """Follow-ups due, on time, late and missed, a group of bars per clerk."""
    font = cjk_font()
    t = translator if font is not None or translator.locale == "en" else \
        Translator("en", translator.tz, translator.now)
    family, weight = font if font else ("DejaVu Sans", "normal")
    text: dict[str, Any] = {"fontfamily": family, "fontweight": weight}

    def label(clerk: ClerkFigures) -> str:
        name = clerk_name(t, clerk)
        if font is None and not _drawable(name):
            return f"#{clerk.staff_id}" if clerk.staff_id is not None else "—"
        return name

    clerks = report.clerks
    figure = Figure(figsize=(min(4 + 1.3 * max(len(clerks), 1), 24), 4.8), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    series = [
        (t("Due"), [c.figures.due for c in clerks]),
        (t("On time"), [c.figures.on_time for c in clerks]),
        (t("Late"), [c.figures.late for c in clerks]),
        (t("Missed"), [c.figures.missed for c in clerks]),
    ]
    width = 0.2
    for index, ((name, values), colour) in enumerate(zip(series, COLOURS, strict=True)):
        positions = [x + (index - 1.5) * width for x in range(len(clerks))]
        bars = axes.bar(positions, values, width, label=name, color=colour)
        axes.bar_label(bars, labels=[str(v) if v else "" for v in values], fontsize=7,
                       padding=1, **text)
    axes.set_xticks(range(len(clerks)), [label(c) for c in clerks], **text)
    axes.set_ylabel(t("Follow-ups"), **text)
    axes.set_title(t("Follow-ups {period} by clerk").format(period=period_label(report)),
                   **text)
    locator = axes.yaxis.get_major_locator()
    assert isinstance(locator, MaxNLocator)  # matplotlib's AutoLocator is one
    locator.set_params(integer=True)
    axes.spines[["top", "right"]].set_visible(False)
    if clerks:
        axes.legend(prop={"family": family, "weight": weight}, frameon=False, ncols=4,
                    loc="upper center",
                    bbox_to_anchor=(0.5, -0.1))
    else:
        axes.set_xticks([])
        axes.text(0.5, 0.5, t("No follow-ups in this period"), ha="center", va="center",
                  transform=axes.transAxes, **text)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


# --- the spreadsheet -------------------------------------------------------------------------


def figure_headers(t: Translator) -> list[str]:
    return [
        t("Follow-ups due"), t("On time"), t("Late"), t("Missed"), t("Still open"),
        t("Calls"), t("Outbound"), t("Reached"), t("Reach rate"), t("Inbound"),
        t("Satisfaction (average)"), t("Ratings"), t("Complaints opened"),
        t("Answered on the call"), t("Escalated"), t("Solved"), t("Hours to solve (mean)"),
        t("Visits"), t("Archives complete within 2 days"), t("Letters sent"),
    ]


def figure_values(f: Figures) -> list[float | int | None]:
    def rounded(value: float | None, digits: int) -> float | None:
        return None if value is None else round(value, digits)

    return [
        f.due, f.on_time, f.late, f.missed, f.still_open, f.calls, f.outbound, f.reached,
        rounded(f.reach_rate, 4), f.inbound, rounded(f.satisfaction, 2), f.ratings,
        f.complaints_opened, f.answered_on_call, f.escalated, f.solved,
        rounded(f.hours_to_solve, 1), f.visits, f.archives_on_time, f.letters_sent,
    ]


def report_xlsx(report: Report, translator: Translator) -> bytes:
    """Sheet one: a row per clerk and the total; sheet two: the campaigns and their coverage."""
    t = translator
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]  # (a new workbook has one)
    workbook.properties.title = t("Follow-up report {period}").format(
        period=period_label(report))
    bold = Font(bold=True)

    clerks = workbook.create_sheet(t("By clerk")[:31])
    names = [t("Staff no."), t("Tracking clerk"), *figure_headers(t)]
    _append(clerks, names)
    for clerk in report.clerks:
        _append(clerks, [clerk.code, clerk_name(t, clerk), *figure_values(clerk.figures)])
    _append(clerks, [None, t("Total"), *figure_values(report.total)])
    _style(clerks, names, bold)
    rate_column = get_column_letter(names.index(t("Reach rate")) + 1)
    for cell in clerks[rate_column][1:]:
        cell.number_format = "0.0%"
    for cell in clerks[clerks.max_row]:
        cell.font = bold

    campaigns = workbook.create_sheet(t("Campaigns")[:31])
    names = [t("Campaign"), t("Type"), t("Event date"), t("Customers to call"), t("Called"),
             t("Coverage"), t("Letters sent")]
    _append(campaigns, names)
    for campaign in report.campaigns:
        _append(campaigns, [
            campaign.title, campaign_kind_name(t, campaign.kind), campaign.event_on,
            campaign.calls, campaign.called,
            None if campaign.coverage is None else round(campaign.coverage, 4),
            campaign.letters_sent,
        ])
    _style(campaigns, names, bold)
    for cell in campaigns["C"][1:]:
        cell.number_format = "yyyy-mm-dd"
    for cell in campaigns["F"][1:]:
        cell.number_format = "0.0%"

    technicians = workbook.create_sheet(t("Technicians")[:31])
    names = [t("Staff no."), t("Technician"), *technician_headers(t)]
    _append(technicians, names)
    for technician in report.technicians:
        _append(technicians, [technician.code, technician.name,
                              *technician_values(technician)])
    _append(technicians, [None, t("Total"), *technician_values(report.technician_total)])
    _style(technicians, names, bold)
    for header in (t("Efficiency"), t("Rework rate")):
        for cell in technicians[get_column_letter(names.index(header) + 1)][1:]:
            cell.number_format = "0.0%"
    for cell in technicians[technicians.max_row]:
        cell.font = bold

    workshop = workbook.create_sheet(t("Workshop")[:31])
    names = [t("Section"), t("Figure"), t("Value")]
    _append(workshop, names)
    for label, value in qc_figures(t, report.qc):
        _append(workshop, [t("QC chain (W7)"), label, value])
    for section in report.sections:
        title = section_title(t, section.key)
        for label, value in section_figures(t, section):
            _append(workshop, [title, label, value])
        for person, figures in section_people(t, section):
            for label, value in figures:
                _append(workshop, [title, f"{person}: {label}", value])
    _style(workshop, names, bold)
    workshop.column_dimensions["B"].width = 40
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _append(sheet: Worksheet, values: list[Any]) -> None:
    """A row whose text stays text: a name or title starting with "=" is not a formula."""
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def _style(sheet: Worksheet, names: list[str], bold: Font) -> None:
    for index, name in enumerate(names, start=1):
        sheet.cell(row=1, column=index).font = bold
        sheet.column_dimensions[get_column_letter(index)].width = max(10, min(len(name) + 2, 28))
    sheet.freeze_panes = "A2"


# --- the workshop's figures (W6–W11, N1–N7) --------------------------------------------------


def technician_headers(t: Translator) -> list[str]:
    return [
        t("Items done"), t("Clocked hours"), t("Standard hours"),
        t("Actual hours on items with a standard"), t("Efficiency"),
        t("Reworks (team leader)"), t("Reworks (inspector)"), t("Rework rate"),
    ]


def technician_values(f: TechnicianFigures) -> list[float | int | None]:
    return [
        f.items_done, round(f.clocked_hours, 2), round(f.standard_hours, 2),
        round(f.measured_hours, 2),
        None if f.efficiency is None else round(f.efficiency, 4),
        f.reworks_leader, f.reworks_inspector,
        None if f.rework_rate is None else round(f.rework_rate, 4),
    ]


def qc_figures(t: Translator, qc: QcFigures) -> list[tuple[str, int]]:
    return [
        (t("Orders self-checked"), qc.self_checks),
        (t("Team leader: passed"), qc.leader_passed),
        (t("Team leader: sent back for rework"), qc.leader_rework),
        (t("Final inspection: passed"), qc.inspected),
        (t("Final inspection: sent back for rework"), qc.inspector_rework),
        (t("Handed on to the next process"), qc.handoffs),
    ]


# Other modules' summaries are dataclasses; their numbers are shown with these names.
SECTION_TITLES = {
    "parts": N_("Parts (W6)"),
    "checklist": N_("Pre-work checklists and lifting (N1–N7)"),
    "duty": N_("Duty areas and cleaning (W8–W10)"),
    "equipment": N_("Equipment damage (W8)"),
    "training": N_("Trainings and meetings (W11)"),
    "extra_items": N_("Extra items and the customer's consent (W5)"),
    "plate_photos": N_("Plates read from photos (W1)"),
}
FIGURE_LABELS = {
    "requests": N_("Requests"),
    "issued": N_("Issued"),
    "out_of_stock": N_("Out of stock"),
    "declined": N_("Declined"),
    "returned": N_("Returned as not matching"),
    "compensations": N_("Compensation entries"),
    "compensation_fen": N_("Compensation"),
    "checklists": N_("Checklists completed"),
    "lifts": N_("Lifts"),
    "lifts_confirmed": N_("Lifts confirmed by a watcher"),
    "watcher_alerts": N_("Watcher alerts"),
    "reminders": N_("Reminders"),
    "confirmed": N_("Confirmed"),
    "late": N_("Confirmed late"),
    "missed": N_("Missed"),
    "compliance": N_("Compliance"),
    "reports": N_("Reports"),
    "misuse": N_("Misuse"),
    "undecided": N_("Not decided yet"),
    "compensated": N_("With compensation"),
    "notices": N_("Notices"),
    "trainings": N_("Trainings"),
    "meetings": N_("Meetings"),
    "invited": N_("Invited"),
    "attending": N_("Will attend"),
    "training.declined": N_("Can't attend"),
    "unanswered": N_("Not answered"),
    "attended": N_("Attended"),
    "absent": N_("Absent"),
    "unmarked": N_("Attendance not marked"),
    "attendance_rate": N_("Attendance rate"),
    "proposed": N_("Extra items proposed"),
    "approved_online": N_("Approved by the customer online"),
    "approved_front_desk": N_("Approved by the front desk"),
    "declined_online": N_("Declined by the customer online"),
    "declined_front_desk": N_("Rejected by the front desk"),
    "median_minutes": N_("Median minutes from request to decision"),
    "approval_rate": N_("Approval rate"),
    "photos_read": N_("Plate photos read"),
    "verdict_match": N_("Read as the order's plate"),
    "verdict_unsure": N_("Read with one character unsure"),
    "verdict_mismatch": N_("Read as another plate"),
    "verdict_no_plate": N_("No plate found"),
    "ocr_confirmed": N_("Technician recorded the plate read"),
    "ocr_corrected": N_("Technician corrected the plate read"),
    "ocr_agreement_rate": N_("Agreement of technicians with the plate read"),
}


# Figures a summary gives in percent already (duty compliance); other "…rate" figures are
# fractions.
PERCENT_FIGURES = frozenset({"compliance"})


def section_title(t: Translator, key: str) -> str:
    return t(SECTION_TITLES[key]) if key in SECTION_TITLES else key


def figure_label(t: Translator, key: str, name: str) -> str:
    label = FIGURE_LABELS.get(f"{key}.{name}") or FIGURE_LABELS.get(name)
    return t(label) if label else name.replace("_", " ").capitalize()


def _number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float | Decimal)
                             and not isinstance(value, bool))


def summary_figures(t: Translator, key: str, summary: Any) -> list[tuple[str, str, Any]]:
    """(name, label, value) of a summary's numbers: its fields, then its number-valued
    properties (a rate)."""
    if not dataclasses.is_dataclass(summary):
        return []
    found = [(f.name, getattr(summary, f.name)) for f in dataclasses.fields(summary)
             if _number(getattr(summary, f.name))]
    properties = {name: None for klass in reversed(inspect.getmro(type(summary)))
                  for name, attribute in vars(klass).items()
                  if isinstance(attribute, property) and not name.startswith("_")}
    for name in properties:
        value = getattr(summary, name)
        if _number(value):
            found.append((name, value))
    return [(name, figure_label(t, key, name), value) for name, value in found
            if name != "staff_id"]


def _cell(name: str, value: Any) -> Any:
    """Money in yuan, rates as fractions, counts as they are."""
    if value is None:
        return None
    if name.endswith("_fen"):
        return round(value / 100, 2)
    return float(value) if isinstance(value, Decimal) else value


def _shown(t: Translator, name: str, value: Any) -> str:
    """A figure in a message: money, a rate, or a count."""
    if value is None:
        return "—"
    if name.endswith("_fen"):
        return t.money(int(value))
    if name in PERCENT_FIGURES:
        return f"{float(value):.0f}%"
    if isinstance(value, float | Decimal) and "rate" in name:
        return f"{float(value):.0%}"
    if isinstance(value, float | Decimal):
        return f"{float(value):.2f}".rstrip("0").rstrip(".")
    return str(value)


def _people(section: WorkshopSection) -> list[tuple[str, Any]]:
    """A summary's rows per person or place (an attendance register, duty areas), by name: a
    list of dataclasses with a ``name``, or a dict of dataclasses keyed by name(s)."""
    rows: list[tuple[str, Any]] = []
    for f in dataclasses.fields(section.summary):
        value = getattr(section.summary, f.name)
        if isinstance(value, list):
            rows += [(str(getattr(entry, "name", "") or "?"), entry) for entry in value
                     if dataclasses.is_dataclass(entry)]
        elif isinstance(value, dict):
            rows += [(" / ".join(map(str, key)) if isinstance(key, tuple) else str(key), entry)
                     for key, entry in value.items() if dataclasses.is_dataclass(entry)]
    return rows


def section_figures(t: Translator, section: WorkshopSection) -> list[tuple[str, Any]]:
    return [(label, _cell(name, value))
            for name, label, value in summary_figures(t, section.key, section.summary)]


def section_people(t: Translator, section: WorkshopSection
                   ) -> list[tuple[str, list[tuple[str, Any]]]]:
    if not dataclasses.is_dataclass(section.summary):
        return []
    return [(who, [(label, _cell(name, value)) for name, label, value
                   in summary_figures(t, section.key, entry)])
            for who, entry in _people(section)]


def section_is_empty(section: WorkshopSection) -> bool:
    """Nothing counted: the section is left out of the message."""
    if not dataclasses.is_dataclass(section.summary):
        return True
    return not any(getattr(section.summary, f.name) for f in dataclasses.fields(section.summary)
                   if _number(getattr(section.summary, f.name)))


def section_lines(t: Translator, section: WorkshopSection) -> list[str]:
    """The section as message lines; a summary may word itself with ``report_lines(t)``."""
    own = getattr(section.summary, "report_lines", None)
    if callable(own):
        return list(own(t))
    lines = [f"• {label}: {_shown(t, name, value)}"
             for name, label, value in summary_figures(t, section.key, section.summary)]
    for who, entry in _people(section):
        figures = ", ".join(f"{label} {_shown(t, name, value)}"
                            for name, label, value in summary_figures(t, section.key, entry))
        lines.append(f"  – {who}: {figures}")
    return lines
