"""A12: the monthly and annual report — exact figures per clerk and in total, /report in chat
with its chart and spreadsheet, and the job that sends it on the 1st once."""

from __future__ import annotations

import importlib.util
import io
import warnings
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from bot.i18n import Translator
from bot.report_files import chart_png, report_xlsx
from bot.settings import Settings
from jobs import after_sales, reports
from models.audit import AuditEvent
from models.claims import LEASE
from models.db import Database
from models.report import (
    ClerkFigures,
    Figures,
    Report,
    month_period,
    parse_period,
    period_report,
    year_period,
)
from models.rules import Refused
from models.staff import Role, add_staff
from tests.fakebotapi import Call
from tests.report_data import SHANGHAI, Year, build_year, local
from tests.shop import Person, Shop

pytestmark = pytest.mark.both_channels

ROOT = Path(__file__).resolve().parent.parent


async def hire_staff(db: Database) -> tuple[int, int, int]:
    async with db.session() as session:
        ids = []
        for name, role, code in (("Clerk Li", Role.tracking_clerk, "C01"),
                                 ("Clerk Wu", Role.tracking_clerk, "C02"),
                                 ("Boss Ma", Role.supervisor, "S01")):
            staff, _ = await add_staff(session, name=name, roles={role}, code=code,
                                       now=local(1, 1, 9), invite_ttl=timedelta(days=7))
            ids.append(staff.id)
        await session.commit()
    return ids[0], ids[1], ids[2]  # type: ignore[return-value]


def figures(report, name: str) -> Figures:  # type: ignore[no-untyped-def]
    [row] = [c for c in report.clerks if c.name == name]
    return row.figures


# --- the figures -----------------------------------------------------------------------------


async def test_october_figures_per_clerk_and_in_total(db: Database, settings: Settings) -> None:
    li, wu, boss = await hire_staff(db)
    await build_year(db, settings, li=li, wu=wu, boss=boss)
    october = month_period(settings.calendar, 2026, 10)
    async with db.session() as session:
        report = await period_report(session, start=october.start, end=october.end,
                                     calendar=settings.calendar)

    assert (report.first_day, report.last_day) == (date(2026, 10, 1), date(2026, 10, 31))
    assert [(c.staff_id, c.name) for c in report.clerks] == [(li, "Clerk Li"), (wu, "Clerk Wu")]
    assert figures(report, "Clerk Li") == Figures(
        due=6, on_time=3, late=0, missed=3,  # first, callback, campaign / second ×2, campaign
        calls=3, outbound=3, reached=3, inbound=0, satisfaction_sum=9, ratings=2,
        complaints_opened=1, answered_on_call=0, escalated=1, solved=1,
        solve_seconds=78 * 3600, visits=2, archives_on_time=1, letters_sent=1)
    # Wu's stand-in call for Li's customer counts for Wu, who made it.
    assert figures(report, "Clerk Wu") == Figures(
        due=2, on_time=0, late=1, missed=1, calls=3, outbound=2, reached=1, inbound=1,
        satisfaction_sum=3, ratings=1, complaints_opened=1, answered_on_call=1, escalated=0,
        solved=0, solve_seconds=0, visits=1, archives_on_time=0, letters_sent=1)
    total = report.total
    assert (total.due, total.on_time, total.late, total.missed, total.still_open) == \
        (8, 3, 1, 4, 0)
    assert (total.calls, total.outbound, total.reached, total.inbound) == (6, 5, 4, 1)
    assert total.reach_rate == pytest.approx(0.8)
    assert total.satisfaction == pytest.approx(4.0)
    assert (total.complaints_opened, total.answered_on_call, total.escalated, total.solved) \
        == (2, 1, 1, 1)
    assert total.hours_to_solve == pytest.approx(78.0)
    assert (total.visits, total.archives_on_time, total.letters_sent) == (3, 1, 2)
    assert figures(report, "Clerk Wu").reach_rate == pytest.approx(0.5)
    assert figures(report, "Clerk Li").satisfaction == pytest.approx(4.5)
    [campaign] = report.campaigns
    assert (campaign.title, campaign.kind, campaign.event_on, campaign.calls, campaign.called,
            campaign.letters_sent) == ("Autumn check day", "event", date(2026, 10, 30), 2, 1, 1)
    assert campaign.coverage == pytest.approx(0.5)


async def test_the_year_adds_march(db: Database, settings: Settings) -> None:
    li, wu, boss = await hire_staff(db)
    await build_year(db, settings, li=li, wu=wu, boss=boss)
    year = year_period(settings.calendar, 2026)
    async with db.session() as session:
        report = await period_report(session, start=year.start, end=year.end,
                                     calendar=settings.calendar)
        september = month_period(settings.calendar, 2026, 9)
        empty = await period_report(session, start=september.start, end=september.end,
                                    calendar=settings.calendar)
    li_year = figures(report, "Clerk Li")
    assert (li_year.due, li_year.on_time, li_year.late, li_year.missed) == (8, 4, 0, 4)
    assert (li_year.calls, li_year.satisfaction_sum, li_year.ratings, li_year.visits) == \
        (4, 14, 3, 3)
    wu_year = figures(report, "Clerk Wu")  # Wu worked in October only
    assert (wu_year.due, wu_year.late, wu_year.missed, wu_year.calls) == (2, 1, 1, 3)
    total = report.total
    assert (total.due, total.on_time, total.late, total.missed) == (10, 4, 1, 5)
    assert (total.calls, total.outbound, total.reached) == (7, 6, 5)
    assert total.satisfaction == pytest.approx(17 / 4)
    assert (total.visits, total.archives_on_time, total.letters_sent) == (4, 1, 2)
    assert len(report.campaigns) == 1
    assert empty.clerks == [] and empty.total == Figures() and empty.campaigns == []


async def test_a_running_month_counts_open_follow_ups_as_open_not_missed(
    db: Database, settings: Settings
) -> None:
    li, wu, boss = await hire_staff(db)
    await build_year(db, settings, li=li, wu=wu, boss=boss)
    october = month_period(settings.calendar, 2026, 10)
    async with db.session() as session:
        mid_month = await period_report(session, start=october.start, end=october.end,
                                        calendar=settings.calendar, now=local(10, 25, 12))
    # Windows ending 10-28 (赵先生's first call) and 10-30 (陈女士's second) are still open.
    assert (mid_month.total.due, mid_month.total.missed, mid_month.total.still_open) == (8, 2, 2)


async def test_the_month_ends_at_local_midnight(db: Database, settings: Settings) -> None:
    """A call at 23:30 on 31 October (15:30 UTC) is October's; one at 00:10 on 1 November is
    November's, though both are 31 October in UTC."""
    from models.call_log import log_call
    from models.staff import Staff
    from models.visit_flow import log_consultation

    li, _wu, _boss = await hire_staff(db)
    async with db.session() as session:
        clerk = await session.get(Staff, li)
        assert clerk is not None
        opened, _first = await log_consultation(
            session, clerk=clerk, customer_name="王先生", phone="13812345678", plate=None,
            topic="Asked", now=local(10, 20, 10), actor=None,  # type: ignore[arg-type]
            calendar=settings.calendar, first_call_window=settings.first_call_window)
        for at in (local(10, 31, 23, 30), local(11, 1, 0, 10)):
            await log_call(session, clerk=clerk, customer_id=opened.customer.id,  # type: ignore[arg-type]
                           followup_id=None, reached=True, topics=[], satisfaction=None,
                           notes="", request=None, answered_on_call=False, now=at,
                           actor=None, calendar=settings.calendar,  # type: ignore[arg-type]
                           second_call_window=settings.second_call_window)
        await session.commit()
        october = month_period(settings.calendar, 2026, 10)
        november = month_period(settings.calendar, 2026, 11)
        in_october = await period_report(session, start=october.start, end=october.end,
                                         calendar=settings.calendar)
        in_november = await period_report(session, start=november.start, end=november.end,
                                          calendar=settings.calendar)
    assert local(10, 31, 23, 30).date() == local(11, 1, 0, 10).date() == date(2026, 10, 31)
    assert in_october.total.calls == 1 and in_november.total.calls == 1
    # The first call's window (10-23 … 10-27) ends in October, not in November.
    assert (in_october.total.due, in_november.total.due) == (1, 0)


def test_periods_are_whole_local_months_and_years(settings: Settings) -> None:
    calendar = settings.calendar
    now = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    october = parse_period("2026-10", calendar, now)
    assert october.label == "2026-10"
    assert october.start == datetime(2026, 9, 30, 16, 0, tzinfo=UTC)
    assert october.end == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert parse_period("", calendar, now).label == "2026-10"  # last month
    assert parse_period("2026-1", calendar, now).label == "2026-01"
    year = parse_period(" 2026 ", calendar, now)
    assert (year.label, year.first_day, year.last_day) == ("2026", date(2026, 1, 1),
                                                           date(2026, 12, 31))
    assert parse_period("2026-11", calendar, now).label == "2026-11"  # so far
    for bad in ("2026-13", "Oktober", "26-10", "2026/10", "1999", "2026-10-01"):
        with pytest.raises(Refused) as refused:
            parse_period(bad, calendar, now)
        assert refused.value.code == "report_period_invalid"
    for future in ("2026-12", "2027"):
        with pytest.raises(Refused) as refused:
            parse_period(future, calendar, now)
        assert refused.value.code == "report_period_future"


async def test_a_month_in_a_daylight_saving_zone(db: Database, settings: Settings) -> None:
    new_york = settings.model_copy(update={"timezone": "America/New_York"}).calendar
    march = month_period(new_york, 2026, 3)  # clocks go forward on 8 March
    assert march.start == datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
    assert march.end == datetime(2026, 4, 1, 4, 0, tzinfo=UTC)
    async with db.session() as session:
        report = await period_report(session, start=march.start, end=march.end,
                                     calendar=new_york)
    assert (report.first_day, report.last_day) == (date(2026, 3, 1), date(2026, 3, 31))


# --- the chart and the spreadsheet -----------------------------------------------------------


async def test_chart_is_a_png_and_the_spreadsheet_has_the_figures(
    db: Database, settings: Settings
) -> None:
    li, wu, boss = await hire_staff(db)
    await build_year(db, settings, li=li, wu=wu, boss=boss)
    october = month_period(settings.calendar, 2026, 10)
    async with db.session() as session:
        report = await period_report(session, start=october.start, end=october.end,
                                     calendar=settings.calendar)
        empty_month = month_period(settings.calendar, 2026, 9)
        empty = await period_report(session, start=empty_month.start, end=empty_month.end,
                                    calendar=settings.calendar)
    for locale in ("en", "zh_CN"):
        assert chart_png(report, Translator(locale, SHANGHAI)).startswith(b"\x89PNG\r\n\x1a\n")
    assert chart_png(empty, Translator("en", SHANGHAI)).startswith(b"\x89PNG")

    book = load_workbook(io.BytesIO(report_xlsx(report, Translator("en", SHANGHAI))))
    assert book.sheetnames == ["By clerk", "Campaigns", "Technicians", "Workshop"]
    rows = list(book["By clerk"].iter_rows(values_only=True))
    assert rows[0][:6] == ("Staff no.", "Tracking clerk", "Follow-ups due", "On time", "Late",
                           "Missed")
    assert "Reach rate" in rows[0] and "Hours to solve (mean)" in rows[0]
    by_name = {row[1]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert list(by_name) == ["Clerk Li", "Clerk Wu", "Total"]
    assert by_name["Clerk Li"]["Staff no."] == "C01" and li != "C01"  # the code, not the id
    assert by_name["Clerk Wu"]["Staff no."] == "C02" and by_name["Total"]["Staff no."] is None
    for sheet in book:  # every column of every sheet has a header of its own, in each language
        headers = next(sheet.iter_rows(max_row=1, values_only=True))
        assert len(set(headers)) == len(headers), (sheet.title, headers)
    zh_book = load_workbook(io.BytesIO(report_xlsx(report, Translator("zh_CN", SHANGHAI))))
    for sheet in zh_book:
        headers = next(sheet.iter_rows(max_row=1, values_only=True))
        assert len(set(headers)) == len(headers), (sheet.title, headers)
    assert next(zh_book["按业务员"].iter_rows(max_row=1, values_only=True))[:2] == (
        "工号", "跟踪业务员")
    assert by_name["Total"]["Follow-ups due"] == 8
    assert by_name["Total"]["Reach rate"] == pytest.approx(0.8)
    assert by_name["Total"]["Satisfaction (average)"] == pytest.approx(4.0)
    assert by_name["Clerk Li"]["Hours to solve (mean)"] == pytest.approx(78.0)
    assert by_name["Clerk Wu"]["Hours to solve (mean)"] is None
    assert by_name["Total"]["Archives complete within 2 days"] == 1
    campaigns = list(book["Campaigns"].iter_rows(values_only=True))
    assert campaigns[0] == ("Campaign", "Type", "Event date", "Customers to call", "Called",
                            "Coverage", "Letters sent")
    assert campaigns[1][:2] == ("Autumn check day", "customer event")
    assert campaigns[1][2].date() == date(2026, 10, 30)
    assert campaigns[1][3:] == (2, 1, 0.5, 1)


def test_a_name_the_chart_font_cannot_draw_is_shown_by_staff_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a CJK font a Chinese name would be empty boxes: the bar says #id instead."""
    import bot.report_files as files
    from models.report import ClerkFigures, Report

    drawn: list[str] = []
    real_set_xticks = None

    def spy(self, ticks, labels=None, **kwargs):  # type: ignore[no-untyped-def]
        drawn.extend(labels or [])
        return real_set_xticks(self, ticks, labels, **kwargs)  # type: ignore[misc]

    from matplotlib.axes import Axes

    real_set_xticks = Axes.set_xticks
    monkeypatch.setattr(Axes, "set_xticks", spy)
    monkeypatch.setattr(files, "cjk_font", lambda: None)
    report = Report(start=datetime(2026, 9, 30, 16, tzinfo=UTC),
                    end=datetime(2026, 10, 31, 16, tzinfo=UTC), first_day=date(2026, 10, 1),
                    last_day=date(2026, 10, 31),
                    clerks=[ClerkFigures(7, "张三", Figures(due=2)),
                            ClerkFigures(8, "Clerk Wu", Figures(due=1)),
                            ClerkFigures(None, "", Figures(due=1))])
    assert files.chart_png(report, Translator("zh_CN", SHANGHAI)).startswith(b"\x89PNG")
    assert drawn == ["#7", "Clerk Wu", "Unassigned"]


CHINESE_CLERKS = ("张三", "欧阳娜娜", "王喆", "司马堃")


def chinese_clerks_report() -> Report:
    return Report(start=datetime(2026, 9, 30, 16, tzinfo=UTC),
                  end=datetime(2026, 10, 31, 16, tzinfo=UTC), first_day=date(2026, 10, 1),
                  last_day=date(2026, 10, 31),
                  clerks=[ClerkFigures(index, name, Figures(due=3, on_time=1, late=1, missed=1))
                          for index, name in enumerate(CHINESE_CLERKS, start=1)])


def spy_on_tick_labels(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from matplotlib.axes import Axes

    drawn: list[str] = []
    real_set_xticks = Axes.set_xticks

    def spy(self, ticks, labels=None, **kwargs):  # type: ignore[no-untyped-def]
        drawn.extend(labels or [])
        return real_set_xticks(self, ticks, labels, **kwargs)

    monkeypatch.setattr(Axes, "set_xticks", spy)
    return drawn


def test_the_chart_draws_chinese_names_in_the_font_that_comes_with_the_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No CJK font on the machine is needed: the package the project depends on ships Noto Sans
    SC, the chart registers it and draws every name and label in it. A glyph that falls back to
    a missing-glyph box makes matplotlib warn, and here the warning is an error."""
    from matplotlib import font_manager

    import bot.report_files as files

    shipped = files.shipped_font_file()
    assert shipped is not None and shipped.stat().st_size > 1_000_000
    font = files.cjk_font()
    assert font is not None and font[0] == files.SHIPPED_FONT == files.CJK_FONTS[0]
    assert Path(font_manager.findfont(font_manager.FontProperties(family=font[0]),
                                      fallback_to_default=False)).name == shipped.name
    drawn = spy_on_tick_labels(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = files.chart_png(chinese_clerks_report(), Translator("zh_CN", SHANGHAI))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert drawn == list(CHINESE_CLERKS)


def test_a_font_without_chinese_would_be_caught_by_the_chart_test(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check above can fail: drawn in DejaVu Sans (no CJK glyphs) the same chart warns."""
    import bot.report_files as files

    monkeypatch.setattr(files, "cjk_font", lambda: ("DejaVu Sans", "normal"))
    with pytest.warns(UserWarning, match=r"Glyph \d+ .*missing from font"):
        files.chart_png(chinese_clerks_report(), Translator("zh_CN", SHANGHAI))


# --- /report in chat -------------------------------------------------------------------------


async def staff_of_the_year(shop: Shop) -> tuple[Person, Person, Person, Year]:
    li = await shop.hire("Clerk Li", Role.tracking_clerk)
    wu = await shop.hire("Clerk Wu", Role.tracking_clerk)
    boss = await shop.hire("Boss Ma", Role.supervisor)
    year = await build_year(shop.db, shop.settings, li=li.staff_id,  # type: ignore[arg-type]
                            wu=wu.staff_id, boss=boss.staff_id)  # type: ignore[arg-type]
    return li, wu, boss, year


def files_to(shop: Shop, person: Person, method: str) -> list[Call]:
    return shop.api.sent_to(person.user_id, method)


async def test_report_for_a_month_sends_figures_chart_and_spreadsheet(shop: Shop) -> None:
    _li, _wu, boss, _year = await staff_of_the_year(shop)
    replies = await boss.send("/report 2026-10")
    text = "\n\n".join(replies)
    assert replies[0].startswith("📊 Follow-up report 2026-10 (1 Oct 2026 – 31 Oct 2026)")
    assert "So far" not in text
    total = text.split("\n\n")[1]
    assert total.splitlines() == [
        "Total",
        "• Follow-ups due: 8 — on time 3, late 1, missed 4, still open 0",
        "• Calls: 6 — outbound 5, reached 4 (reach rate 80%); inbound 1",
        "• Satisfaction: 4.0 on average (3 ratings)",
        "• Complaints: 2 opened (1 answered on the call), 1 escalated, 1 solved; hours to "
        "solve on average: 78.0",
        "• Archives complete within 2 days: 1 of 3 visits",
        "• Letters sent: 2",
    ]
    assert "Campaigns\n• Autumn check day (customer event, 30 Oct 2026): 1 of 2 customers "\
        "called; letters sent: 1" in text
    assert "👤 Clerk Li\n• Follow-ups due: 6 — on time 3, late 0, missed 3, still open 0" in text
    assert "👤 Clerk Wu\n• Follow-ups due: 2 — on time 0, late 1, missed 1, still open 0\n" \
        "• Calls: 3 — outbound 2, reached 1 (reach rate 50%); inbound 1\n" \
        "• Satisfaction: 3.0 on average (1 rating)" in text
    assert "• Archives complete within 2 days: 0 of 1 visit\n" in text

    [photo] = files_to(shop, boss, "sendPhoto")
    name, data, _mime = photo.files["photo"]
    assert name == "report-2026-10.png" and data.startswith(b"\x89PNG")
    [document] = files_to(shop, boss, "sendDocument")
    name, data, _mime = document.files["document"]
    assert name == "report-2026-10.xlsx"
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["By clerk", "Campaigns", "Technicians", "Workshop"]
    assert [row[1] for row in book["By clerk"].iter_rows(min_row=2, values_only=True)] == \
        ["Clerk Li", "Clerk Wu", "Total"]


async def test_report_without_argument_is_last_month_and_a_year_says_so_far(shop: Shop) -> None:
    _li, _wu, boss, _year = await staff_of_the_year(shop)
    assert (await boss.send("/report"))[0].startswith(
        "📊 Follow-up report 2026-10 (1 Oct 2026 – 31 Oct 2026)")
    replies = await boss.send("/report 2026")
    assert replies[0].splitlines()[:2] == [
        "📊 Follow-up report 2026 (1 Jan 2026 – 31 Dec 2026)",
        "So far, as of 30 Nov 09:00; the period is not over.",
    ]
    assert "• Follow-ups due: 10 — on time 4, late 1, missed 5, still open 0" in replies[0]
    names = [c.files["document"][0] for c in files_to(shop, boss, "sendDocument")]
    assert names == ["report-2026-10.xlsx", "report-2026.xlsx"]
    assert (await boss.send("/report 2026-11"))[0].startswith(
        "📊 Follow-up report 2026-11 (1 Nov 2026 – 30 Nov 2026)\nSo far")


async def test_an_empty_month_still_reports(shop: Shop) -> None:
    boss = await shop.hire("Boss Ma", Role.supervisor)
    replies = await boss.send("/report 2026-09")
    assert replies[0].endswith("Nothing happened in this period.")
    assert "• Follow-ups due: 0 — on time 0, late 0, missed 0, still open 0" in replies[0]
    assert files_to(shop, boss, "sendPhoto") and files_to(shop, boss, "sendDocument")


async def test_bad_periods_are_explained_and_nothing_is_sent(shop: Shop) -> None:
    boss = await shop.hire("Boss Ma", Role.supervisor)
    shape = ("is not a period. Send /report 2026-10 for a month or /report 2026 for a year "
             "(just /report: last month).")
    assert await boss.send("/report last week") == [f"“last week” {shape}"]
    assert await boss.send("/report 2026-13") == [f"“2026-13” {shape}"]
    assert await boss.send("/report 2027") == [
        "2027 has not started yet; there is nothing to report."]
    assert await boss.send("/report 2026-12") == [
        "2026-12 has not started yet; there is nothing to report."]
    assert not files_to(shop, boss, "sendPhoto") and not files_to(shop, boss, "sendDocument")


async def test_only_supervisors_see_reports(shop: Shop) -> None:
    clerk = await shop.hire("Clerk Li", Role.tracking_clerk)
    tech = await shop.hire("Zhang Tech", Role.technician)
    for person in (clerk, tech):
        assert await person.send("/report 2026-10") == [
            "Only supervisors can do this; nothing was changed."]
        assert not files_to(shop, person, "sendPhoto")
        assert not files_to(shop, person, "sendDocument")
    stranger = shop.stranger()
    # Telegram says a stranger's language (en here); WeCom does not: the shop's default applies.
    _ = Translator("en" if shop.channel == "telegram" else shop.settings.default_locale,
                   shop.settings.tz)
    assert await stranger.send("/report") == [
        _("This bot is for the workshop's staff. Ask your service manager for an invite code.")]


async def test_report_in_chinese(shop: Shop) -> None:
    boss = await shop.hire("马主管", Role.supervisor, locale="zh_CN")
    replies = await boss.send("/report 2026-10")
    assert replies[0].startswith("📊")
    assert files_to(shop, boss, "sendPhoto")[0].files["photo"][1].startswith(b"\x89PNG")
    data = files_to(shop, boss, "sendDocument")[0].files["document"][1]
    assert load_workbook(io.BytesIO(data)).sheetnames  # opens


async def test_report_inside_another_step_waits(shop: Shop) -> None:
    boss = await shop.hire("Boss Ma", Role.supervisor)
    await boss.send("/export")
    assert await boss.send("/report 2026-10") == [
        "Finish this step first, or send /cancel to stop. Nothing was lost."]
    assert await boss.send("/cancel") == ["Cancelled. Nothing was saved."]
    assert (await boss.send("/report 2026-10"))[0].startswith("📊")


# --- the monthly job -------------------------------------------------------------------------


def reports_to(shop: Shop, person: Person) -> list[str]:
    return [text for text in person.inbox if text.startswith("📊")]


async def test_the_first_of_the_month_from_eight_once(shop: Shop) -> None:
    li, _wu, boss, _year = await staff_of_the_year(shop)
    chinese_boss = await shop.hire("马主管", Role.supervisor, locale="zh_CN")
    shop.clock.set(local(12, 1, 7, 59))
    assert await reports.run(shop.services, shop.now()) == 0
    assert reports_to(shop, boss) == []

    shop.clock.set(local(12, 1, 8, 0))
    assert await reports.run(shop.services, shop.now()) == 2
    [text] = reports_to(shop, boss)
    assert text.startswith("📊 Follow-up report 2026-11 (1 Nov 2026 – 30 Nov 2026)")
    assert "So far" not in text
    for supervisor in (boss, chinese_boss):
        assert [c.files["photo"][0] for c in files_to(shop, supervisor, "sendPhoto")] == \
            ["report-2026-11.png"]
        assert [c.files["document"][0] for c in files_to(shop, supervisor, "sendDocument")] \
            == ["report-2026-11.xlsx"]
    assert len(reports_to(shop, chinese_boss)) == 1
    assert reports_to(shop, li) == [] and not files_to(shop, li, "sendDocument")

    shop.advance(minutes=1)
    assert await reports.run(shop.services, shop.now()) == 0
    await shop.restart()
    shop.advance(hours=3)
    assert await after_sales.run(shop.services, shop.now()) >= 0
    assert await reports.run(shop.services, shop.now()) == 0
    assert len(reports_to(shop, boss)) == 1
    assert len(files_to(shop, boss, "sendDocument")) == 1
    async with shop.db.session() as session:
        records = (await session.exec(select(AuditEvent).where(
            AuditEvent.action == "report.sent"))).all()
    assert sorted((r.entity_id, r.after) for r in records) == sorted(
        [(boss.staff_id, "2026-11"), (chinese_boss.staff_id, "2026-11")])


async def test_a_report_due_while_the_bot_was_down_goes_out_later_that_day(shop: Shop) -> None:
    boss = await shop.hire("Boss Ma", Role.supervisor)
    shop.clock.set(local(12, 1, 15, 30))  # down from before 08:00 until 15:30
    assert await after_sales.run(shop.services, shop.now()) >= 1
    assert len(reports_to(shop, boss)) == 1
    shop.clock.set(local(12, 2, 8, 0))  # the 2nd: nothing more is owed
    assert await reports.run(shop.services, shop.now()) == 0
    assert len(reports_to(shop, boss)) == 1


async def test_not_on_other_days(shop: Shop) -> None:
    boss = await shop.hire("Boss Ma", Role.supervisor)
    for at in (local(11, 30, 8), local(12, 2, 8), local(12, 31, 23, 59)):
        shop.clock.set(at)
        assert await reports.run(shop.services, shop.now()) == 0
    assert reports_to(shop, boss) == []


async def test_on_new_years_day_the_year_too(shop: Shop) -> None:
    _li, _wu, boss, _year = await staff_of_the_year(shop)
    shop.clock.set(local(1, 1, 8, 30, year=2027))
    assert await reports.run(shop.services, shop.now()) == 2  # one supervisor, two reports
    texts = reports_to(shop, boss)
    assert [t.splitlines()[0] for t in texts] == [
        "📊 Follow-up report 2026-12 (1 Dec 2026 – 31 Dec 2026)",
        "📊 Follow-up report 2026 (1 Jan 2026 – 31 Dec 2026)",
    ]
    assert "• Follow-ups due: 10 — on time 4, late 1, missed 5, still open 0" in texts[1]
    assert [c.files["document"][0] for c in files_to(shop, boss, "sendDocument")] == \
        ["report-2026-12.xlsx", "report-2026.xlsx"]
    assert await reports.run(shop.services, shop.now()) == 0


async def test_a_crash_before_the_record_resends_once(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    boss = await shop.hire("Boss Ma", Role.supervisor)
    shop.clock.set(local(12, 1, 8))

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(reports, "record_sent", crash)
    with pytest.raises(RuntimeError):
        await reports.run(shop.services, shop.now())
    monkeypatch.undo()
    await shop.restart()
    shop.advance(minutes=1)  # the crashed worker's claim holds until its lease runs out
    assert await reports.run(shop.services, shop.now()) == 0
    shop.advance(seconds=LEASE.total_seconds())
    assert await reports.run(shop.services, shop.now()) == 1
    assert await reports.run(shop.services, shop.now()) == 0
    assert len(reports_to(shop, boss)) == 2  # the one before the crash, and once more


# --- the benchmark still runs ----------------------------------------------------------------


def test_benchmark_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_followups",
                                                  ROOT / "bench" / "followups.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--customers", "100", "--followups", "1000", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    for figure in ("due_reminders at", "reminders prepared", "period_report 2026-06",
                   "period_report 2026:", "export call-log", "peak memory"):
        assert figure in out
