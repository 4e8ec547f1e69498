"""The monthly and annual reports (A12) as the supervisors read them, and their files."""

from __future__ import annotations

import asyncio
from datetime import datetime

from bot.i18n import Translator
from bot.report_files import (
    chart_png,
    clerk_name,
    report_xlsx,
    section_is_empty,
    section_lines,
    section_title,
)
from handlers.chat.labels import campaign_kind_name
from models.report import (
    Figures,
    Period,
    QcFigures,
    Report,
    TechnicianFigures,
)

MESSAGE_BUDGET = 3800  # below Telegram's 4,096 characters, with room for a clerk's block


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def figure_lines(_: Translator, f: Figures) -> list[str]:
    satisfaction = (_.ngettext("{average} on average ({count} rating)",
                               "{average} on average ({count} ratings)", f.ratings).format(
        average=f"{f.satisfaction:.1f}", count=f.ratings) if f.satisfaction is not None
        else _("no ratings"))
    hours = "—" if f.hours_to_solve is None else f"{f.hours_to_solve:.1f}"
    return [
        _("• Follow-ups due: {due} — on time {on_time}, late {late}, missed {missed}, still "
          "open {open}").format(due=f.due, on_time=f.on_time, late=f.late, missed=f.missed,
                                open=f.still_open),
        _("• Calls: {calls} — outbound {outbound}, reached {reached} (reach rate {rate}); "
          "inbound {inbound}").format(calls=f.calls, outbound=f.outbound, reached=f.reached,
                                      rate=_rate(f.reach_rate), inbound=f.inbound),
        _("• Satisfaction: {satisfaction}").format(satisfaction=satisfaction),
        _("• Complaints: {opened} opened ({answered} answered on the call), {escalated} "
          "escalated, {solved} solved; hours to solve on average: {hours}").format(
              opened=f.complaints_opened, answered=f.answered_on_call, escalated=f.escalated,
              solved=f.solved, hours=hours),
        _.ngettext("• Archives complete within 2 days: {on_time} of {count} visit",
                   "• Archives complete within 2 days: {on_time} of {count} visits",
                   f.visits).format(on_time=f.archives_on_time, count=f.visits),
        _("• Letters sent: {count}").format(count=f.letters_sent),
    ]


def report_messages(_: Translator, report: Report, period: Period, now: datetime) -> list[str]:
    """The report as one or more messages (one per ~4,000 characters), blocks kept whole."""
    head = [_("📊 Follow-up report {period} ({first} – {last})").format(
        period=period.label.replace("_", " – "), first=_.day(report.first_day),
        last=_.day(report.last_day))]
    if now < report.end:
        head.append(_("So far, as of {at}; the period is not over.").format(at=_.time(now)))
    blocks = ["\n".join([*head, "", _("Total"), *figure_lines(_, report.total)])]
    if report.campaigns:
        lines = [_("Campaigns")]
        for campaign in report.campaigns:
            lines.append(_.ngettext(
                "• {title} ({kind}, {day}): {called} of {count} customer called; letters "
                "sent: {letters}",
                "• {title} ({kind}, {day}): {called} of {count} customers called; letters "
                "sent: {letters}", campaign.calls).format(
                    title=campaign.title, kind=campaign_kind_name(_, campaign.kind),
                    day=_.day(campaign.event_on), called=campaign.called,
                    count=campaign.calls, letters=campaign.letters_sent))
        blocks.append("\n".join(lines))
    workshop = workshop_blocks(_, report)
    if not report.clerks and not workshop:
        blocks.append(_("Nothing happened in this period."))
    for clerk in report.clerks:
        blocks.append("\n".join([f"👤 {clerk_name(_, clerk)}", *figure_lines(_, clerk.figures)]))
    blocks += workshop
    messages: list[str] = []
    for block in blocks:
        if messages and len(messages[-1]) + 2 + len(block) <= MESSAGE_BUDGET:
            messages[-1] += "\n\n" + block
        else:
            messages.append(block)
    return messages


def _hours(hours: float) -> str:
    return f"{hours:.1f}"


def technician_lines(_: Translator, f: TechnicianFigures) -> list[str]:
    """Actual vs standard hours and the rework rate (W7, the job clock)."""
    if f.efficiency is None:
        efficiency = _("• Efficiency: — (no finished item with a standard time was clocked)")
    else:
        efficiency = _("• Efficiency: {efficiency} (standard {standard} h / actual {actual} h "
                       "on items with a standard time)").format(
            efficiency=_rate(f.efficiency), standard=_hours(f.standard_hours),
            actual=_hours(f.measured_hours))
    return [
        _("• Items done: {count}; clocked {hours} h").format(
            count=f.items_done, hours=_hours(f.clocked_hours)),
        efficiency,
        _("• Reworks: {count} (team leader {leader}, inspector {inspector}); rework rate "
          "{rate}").format(count=f.reworks, leader=f.reworks_leader,
                           inspector=f.reworks_inspector, rate=_rate(f.rework_rate)),
    ]


def qc_lines(_: Translator, qc: QcFigures) -> list[str]:
    return [
        _("• Self-checked and handed over for QC: {count}; handed on to the next process: "
          "{handoffs}").format(count=qc.self_checks, handoffs=qc.handoffs),
        _("• Team leader check: {passed} passed, {rework} sent back for rework").format(
            passed=qc.leader_passed, rework=qc.leader_rework),
        _("• Final inspection: {passed} passed, {rework} sent back for rework").format(
            passed=qc.inspected, rework=qc.inspector_rework),
    ]


def workshop_blocks(_: Translator, report: Report) -> list[str]:
    """The workshop section: the QC chain and all technicians, each technician, then the other
    workshop summaries that counted something. Empty when nothing happened there."""
    blocks = []
    if report.technicians or not report.qc.empty:
        blocks.append("\n".join([_("🔧 Workshop"), *qc_lines(_, report.qc),
                                 _("All technicians:"),
                                 *technician_lines(_, report.technician_total)]))
    for technician in report.technicians:
        blocks.append("\n".join([f"👷 {technician.name}", *technician_lines(_, technician)]))
    for section in report.sections:
        if not section_is_empty(section):
            blocks.append("\n".join([f"🔧 {section_title(_, section.key)}",
                                     *section_lines(_, section)]))
    return blocks


def report_file_name(period: Period, extension: str) -> str:
    return f"report-{period.label}.{extension}"


async def report_files(report: Report, _: Translator) -> tuple[bytes, bytes]:
    """The chart and the spreadsheet, drawn off the event loop."""
    png = await asyncio.to_thread(chart_png, report, _)
    xlsx = await asyncio.to_thread(report_xlsx, report, _)
    return png, xlsx
