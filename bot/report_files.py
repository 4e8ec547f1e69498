"""The report's attachments: a bar chart by clerk (PNG, matplotlib) and a spreadsheet (XLSX).

The chart is drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, safe
in a worker thread). Chinese needs a CJK font: when one is installed (fonts-noto-cjk,
WenQuanYi …) the chart is in the reader's language; without one it falls back to English
labels, and a clerk whose name the font cannot draw is shown as ``#<staff id>`` (the
spreadsheet and the message carry the names), so it never renders as empty boxes.
"""

from __future__ import annotations

import io
import unicodedata
from calendar import monthrange
from functools import cache

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from bot.i18n import Translator
from models.report import ClerkFigures, Figures, Report

CJK_FONTS = (
    "Noto Sans CJK SC", "Noto Sans SC", "Noto Serif CJK SC", "Source Han Sans SC",
    "Source Han Sans CN", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback",
    "SimHei", "Microsoft YaHei", "PingFang SC", "Hiragino Sans GB", "AR PL UMing CN",
    "Noto Sans CJK JP",
)
COLOURS = ("#8c8c8c", "#2e7d32", "#f9a825", "#c62828")  # due, on time, late, missed


@cache
def cjk_font() -> tuple[str, int | str] | None:
    """The first CJK-capable font matplotlib knows and its weight, or ``None``. It draws Latin
    text too; asking for its own weight keeps matplotlib from warning on every label."""
    from matplotlib import font_manager

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
        Translator("en", translator.tz)
    family, weight = font if font else ("DejaVu Sans", "normal")
    text = {"fontfamily": family, "fontweight": weight}

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
    axes.yaxis.get_major_locator().set_params(integer=True)
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
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    workbook.properties.title = t("Follow-up report {period}").format(
        period=period_label(report))
    bold = Font(bold=True)

    clerks = workbook.create_sheet(t("By clerk")[:31])
    names = [t("Staff no."), t("Tracking clerk"), *figure_headers(t)]
    _append(clerks, names)
    for clerk in report.clerks:
        _append(clerks, [clerk.staff_id, clerk_name(t, clerk), *figure_values(clerk.figures)])
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
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _append(sheet, values: list[object]) -> None:  # type: ignore[no-untyped-def]
    """A row whose text stays text: a name or title starting with "=" is not a formula."""
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def _style(sheet, names: list[str], bold: Font) -> None:  # type: ignore[no-untyped-def]
    for index, name in enumerate(names, start=1):
        sheet.cell(row=1, column=index).font = bold
        sheet.column_dimensions[get_column_letter(index)].width = max(10, min(len(name) + 2, 28))
    sheet.freeze_panes = "A2"


def campaign_kind_name(t: Translator, kind: str) -> str:
    from models.campaign import CampaignKind

    return {
        CampaignKind.event: t("customer event"),
        CampaignKind.offer: t("offer"),
        CampaignKind.free_inspection: t("free inspection week"),
        CampaignKind.talk: t("car-care evening"),
        CampaignKind.other: t("other"),
    }.get(kind, kind)
