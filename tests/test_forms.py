"""A13: the four forms as spreadsheets — straight from ``bot.forms.export``, through /export in
chat, and from ``workshop-bot export`` — with the forms' own Chinese column names, or English
ones for an English reader."""

from __future__ import annotations

import argparse
import asyncio
import io
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from bot.export_cli import add_export_command
from bot.forms import Form, export
from bot.i18n import Translator
from bot.settings import Settings
from models.audit import AuditEvent
from models.db import Database
from models.report import month_period
from models.staff import Role
from tests.report_data import COMPLAINT, SHANGHAI, SOLUTION, build_year, local
from tests.shop import Person, Shop
from tests.test_reports import hire_staff, staff_of_the_year

pytestmark = pytest.mark.both_channels

ZH = Translator("zh_CN", SHANGHAI)
EN = Translator("en", SHANGHAI)

HEADERS = {
    Form.archive: (
        ["客户名称", "地址", "电话", "送修或来访日期", "来访类型", "车型", "车号", "车种",
         "维修养护项目", "保养周期", "下一次保养期", "客户希望得到的服务", "维修保养记录",
         "跟踪业务员", "档案完成日期"],
        ["Customer name", "Address", "Phone", "Repair or visit date", "Visit type",
         "Vehicle model", "Plate", "Vehicle type", "Service items", "Maintenance cycle",
         "Next maintenance", "Services the customer wants", "Service history",
         "Tracking clerk", "Archive completed"],
    ),
    Form.call_log: (
        ["日期", "客户名称", "电话", "车号", "跟踪业务员", "跟踪方式", "是否接通", "跟踪内容",
         "满意度", "记录要点", "客户要求或投诉", "处理情况"],
        ["Date", "Customer name", "Phone", "Plate", "Tracking clerk", "Direction", "Reached",
         "Topics covered", "Satisfaction", "Notes", "Request or complaint",
         "How it was handled"],
    ),
    Form.call_register: (
        ["序号", "日期", "客户名称", "车号", "跟踪类型", "跟踪方式", "跟踪结果", "满意度",
         "投诉处理", "跟踪业务员"],
        ["No.", "Date", "Customer name", "Plate", "Follow-up type", "Direction", "Result",
         "Satisfaction", "Complaint", "Tracking clerk"],
    ),
    Form.letters: (
        ["序号", "发出日期", "客户名称", "地址", "信函类型", "内容摘要", "发送方式",
         "跟踪业务员"],
        ["No.", "Date sent", "Customer name", "Address", "Letter type", "Content summary",
         "Channel", "Tracking clerk"],
    ),
}
TITLES = {Form.archive: ("客户档案基本资料表", "Customer archive"),
          Form.call_log: ("跟踪记录表", "Follow-up call log"),
          Form.call_register: ("跟踪登记表", "Follow-up register"),
          Form.letters: ("跟踪服务信函登记表", "Service letter register")}


def read(data: bytes) -> tuple[list[str], list[list[Any]]]:
    """(sheet names, rows) of a workbook."""
    book = load_workbook(io.BytesIO(data))
    return book.sheetnames, [list(row) for row in book.active.iter_rows(values_only=True)]


async def october_forms(db: Database, settings: Settings, translator: Translator
                        ) -> dict[Form, tuple[list[str], list[list[Any]]]]:
    october = month_period(settings.calendar, 2026, 10)
    async with db.session() as session:
        return {form: read(await export(form, session, october.start, october.end, translator))
                for form in Form}


async def test_every_form_has_its_own_chinese_and_english_column_names(
    db: Database, settings: Settings
) -> None:
    li, wu, boss = await hire_staff(db)
    await build_year(db, settings, li=li, wu=wu, boss=boss)
    for translator, which in ((ZH, 0), (EN, 1)):
        forms = await october_forms(db, settings, translator)
        for form, (sheets, rows) in forms.items():
            assert sheets == [TITLES[form][which]]
            assert rows[0] == HEADERS[form][which]


async def test_the_archive_has_a_row_per_visit_with_the_history(
    db: Database, settings: Settings
) -> None:
    li, wu, boss = await hire_staff(db)
    await build_year(db, settings, li=li, wu=wu, boss=boss)
    _sheets, rows = (await october_forms(db, settings, EN))[Form.archive]
    assert [row[0] for row in rows[1:]] == ["王先生", "陈女士", "赵先生"]  # 刘先生: March
    chen = dict(zip(rows[0], rows[2], strict=True))
    assert chen == {
        "Customer name": "陈女士", "Address": "上海市浦东新区世纪大道1号",
        "Phone": "13900000002", "Repair or visit date": datetime(2026, 10, 6, 10, 0),
        "Visit type": "consultation", "Vehicle model": "Honda Accord", "Plate": "沪B54321",
        "Vehicle type": "轿车", "Service items": "Asked about a paint scratch",
        "Maintenance cycle": "6 months", "Next maintenance": datetime(2027, 4, 6, 0, 0),
        "Services the customer wants": "Pick-up and delivery",
        "Service history": "6 Oct 2026 consultation 沪B54321 Asked about a paint scratch",
        "Tracking clerk": "Clerk Li", "Archive completed": datetime(2026, 10, 7, 10, 0),
    }
    wang = dict(zip(rows[0], rows[1], strict=True))
    assert wang["Address"] is None and wang["Archive completed"] is None


async def test_the_call_log_has_every_call_with_how_complaints_were_handled(
    db: Database, settings: Settings
) -> None:
    li, wu, boss = await hire_staff(db)
    await build_year(db, settings, li=li, wu=wu, boss=boss)
    _sheets, rows = (await october_forms(db, settings, EN))[Form.call_log]
    assert len(rows) == 1 + 6
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first == {
        "Date": datetime(2026, 10, 9, 10, 0), "Customer name": "王先生",
        "Phone": "13812345678", "Plate": "京A12345", "Tracking clerk": "Clerk Li",
        "Direction": "outbound call", "Reached": "yes",
        "Topics covered": "Usage and opinions; New service needs", "Satisfaction": 4,
        "Notes": "Car runs well; asks about brakes", "Request or complaint": COMPLAINT,
        "How it was handled": f"solved, customer told\nSolution: {SOLUTION}\n"
                              "Customer told at 12 Oct 2026 17:00",
    }
    by_date = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    standin = by_date[datetime(2026, 10, 15, 10, 0)]
    assert standin["Tracking clerk"] == "Clerk Wu (for Clerk Li)"
    assert standin["Satisfaction"] == 3
    inbound = by_date[datetime(2026, 10, 22, 10, 0)]
    assert (inbound["Direction"], inbound["How it was handled"]) == (
        "inbound call", "answered on the call")
    unanswered = by_date[datetime(2026, 10, 21, 10, 0)]
    assert (unanswered["Reached"], unanswered["Topics covered"]) == ("no", None)


async def test_the_register_and_the_letters(db: Database, settings: Settings) -> None:
    li, wu, boss = await hire_staff(db)
    await build_year(db, settings, li=li, wu=wu, boss=boss)
    forms = await october_forms(db, settings, EN)
    _sheets, register = forms[Form.call_register]
    assert [row[:7] for row in register[1:]] == [
        [1, datetime(2026, 10, 9, 10), "王先生", "京A12345", "First call", "outbound call",
         "reached"],
        [2, datetime(2026, 10, 12, 17), "王先生", "京A12345", "Complaint callback",
         "outbound call", "reached"],
        [3, datetime(2026, 10, 15, 10), "陈女士", "沪B54321", "First call", "outbound call",
         "reached"],
        [4, datetime(2026, 10, 16, 11), "王先生", "京A12345", "Campaign call",
         "outbound call", "reached"],
        [5, datetime(2026, 10, 21, 10), "赵先生", "粤C11111", "other call", "outbound call",
         "not reached"],
        [6, datetime(2026, 10, 22, 10), "赵先生", "粤C11111", "inbound call", "inbound call",
         "reached"],
    ]
    assert register[1][8] == "solved, customer told"
    assert register[3][9] == "Clerk Wu (for Clerk Li)"
    _sheets, letters = forms[Form.letters]
    assert letters[1:] == [
        [1, datetime(2026, 10, 17), "王先生", None, "invitation",
         "Invitation to the Autumn check day", "post", "Clerk Li"],
        [2, datetime(2026, 10, 25), "赵先生", None, "notice", "Winter check reminder",
         "WeChat", "Clerk Wu"],
    ]


async def test_an_empty_period_has_only_the_header(db: Database, settings: Settings) -> None:
    september = month_period(settings.calendar, 2026, 9)
    async with db.session() as session:
        for form in Form:
            _sheets, rows = read(await export(form, session, september.start, september.end,
                                              ZH))
            assert rows == [HEADERS[form][0]]


async def test_text_from_customers_stays_text(db: Database, settings: Settings) -> None:
    """A note that looks like a formula must not run in the supervisor's spreadsheet, and
    control characters that Excel refuses are dropped rather than breaking the file."""
    from models.audit import Actor
    from models.call_log import log_call
    from models.staff import Staff
    from models.visit_flow import log_consultation

    li, _wu, _boss = await hire_staff(db)
    async with db.session() as session:
        clerk = await session.get(Staff, li)
        assert clerk is not None
        opened, first = await log_consultation(
            session, clerk=clerk, customer_name="=HYPERLINK(\"http://x\")", phone="13812345678",
            plate="京A12345", topic="Asked", now=local(10, 5, 10), actor=Actor(li, None),
            calendar=settings.calendar, first_call_window=settings.first_call_window)
        await log_call(session, clerk=clerk, customer_id=opened.customer.id,  # type: ignore[arg-type]
                       followup_id=first.id if first else None, reached=True, topics=[],
                       satisfaction=None, notes="=1+1\x07 and a bell", request=None,
                       answered_on_call=False, now=local(10, 9, 10), actor=Actor(li, None),
                       calendar=settings.calendar,
                       second_call_window=settings.second_call_window)
        await session.commit()
        october = month_period(settings.calendar, 2026, 10)
        data = await export(Form.call_log, session, october.start, october.end, EN)
    cells = next(load_workbook(io.BytesIO(data)).active.iter_rows(min_row=2))
    assert cells[1].value == "=HYPERLINK(\"http://x\")" and cells[1].data_type == "s"
    assert cells[9].value == "=1+1 and a bell" and cells[9].data_type == "s"


async def test_big_exports_are_paged(db: Database, settings: Settings,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows come a page at a time; the page boundary loses and repeats nothing, even when
    several calls share the same minute."""
    import bot.forms as forms
    from models.audit import Actor
    from models.call_log import log_call
    from models.staff import Staff
    from models.visit_flow import log_consultation

    monkeypatch.setattr(forms, "PAGE", 3)
    li, _wu, _boss = await hire_staff(db)
    async with db.session() as session:
        clerk = await session.get(Staff, li)
        assert clerk is not None
        opened, _first = await log_consultation(
            session, clerk=clerk, customer_name="王先生", phone="13812345678",
            plate="京A12345", topic="Asked", now=local(10, 5, 10), actor=Actor(li, None),
            calendar=settings.calendar, first_call_window=settings.first_call_window)
        for index in range(8):
            await log_call(session, clerk=clerk, customer_id=opened.customer.id,  # type: ignore[arg-type]
                           followup_id=None, reached=True, topics=[], satisfaction=None,
                           notes=f"call {index}", request=None, answered_on_call=False,
                           now=local(10, 10, 10, index // 3), actor=Actor(li, None),
                           calendar=settings.calendar,
                           second_call_window=settings.second_call_window)
        await session.commit()
        october = month_period(settings.calendar, 2026, 10)
        _sheets, rows = read(await export(Form.call_register, session, october.start,
                                          october.end, EN))
        _sheets, log = read(await export(Form.call_log, session, october.start, october.end,
                                         EN))
    assert [row[0] for row in rows[1:]] == list(range(1, 9))
    assert [row[9] for row in log[1:]] == [f"call {i}" for i in range(8)]


# --- /export in chat -------------------------------------------------------------------------


def documents(shop: Shop, person: Person) -> list[tuple[str, bytes, str]]:
    """(file name, bytes, caption) of every document sent to ``person``."""
    return [(c.files["document"][0], c.files["document"][1], c.text)
            for c in shop.api.sent_to(person.user_id, "sendDocument")]


async def test_export_each_form_for_last_month(shop: Shop) -> None:
    _li, _wu, boss, _year = await staff_of_the_year(shop)
    for form, count in ((Form.archive, 3), (Form.call_log, 6), (Form.call_register, 6),
                        (Form.letters, 2)):
        replies = await boss.send("/export")
        assert replies == ["Which form do you want as a spreadsheet? /cancel stops."]
        assert [label for label, _data in boss.last.buttons] == [
            "Customer archive", "Follow-up call log", "Follow-up register",
            "Service letter register"]
        assert (await boss.tap(TITLES[form][1]))[-1] == (
            f"{TITLES[form][1]}: which period? Tap one, or type the first and last day, e.g. "
            "“2026-10-01 2026-10-31”.")
        await boss.tap("Last month")
        name, data, caption = documents(shop, boss)[-1]
        assert name == f"{TITLES[form][1]} 2026-10-01_2026-10-31.xlsx"
        noun = "row" if count == 1 else "rows"
        assert caption == f"{TITLES[form][1]}, 1 Oct 2026 – 31 Oct 2026: {count} {noun}."
        sheets, rows = read(data)
        assert sheets == [TITLES[form][1]] and rows[0] == HEADERS[form][1]
        assert len(rows) == 1 + count
    async with shop.db.session() as session:
        exports = (await session.exec(select(AuditEvent).where(
            AuditEvent.action == "form.export"))).all()
    assert [(e.staff_id, e.channel, e.detail["form"], e.detail["rows"])  # type: ignore[index]
            for e in exports] == [
        (boss.staff_id, shop.channel, "archive", 3), (boss.staff_id, shop.channel, "call-log", 6),
        (boss.staff_id, shop.channel, "call-register", 6),
        (boss.staff_id, shop.channel, "letters", 2)]


async def test_export_in_chinese_uses_the_forms_own_names(shop: Shop) -> None:
    _li, _wu, _boss, _year = await staff_of_the_year(shop)
    boss = await shop.hire("马主管", Role.supervisor, locale="zh_CN")
    await boss.send("/export")
    assert [label for label, _data in boss.last.buttons] == [
        "客户档案基本资料表", "跟踪记录表", "跟踪登记表", "跟踪服务信函登记表"]
    await boss.tap("跟踪记录表")
    await boss.send("2026-10-01 2026-10-31")
    [(name, data, _caption)] = documents(shop, boss)
    assert name == "跟踪记录表 2026-10-01_2026-10-31.xlsx"
    sheets, rows = read(data)
    assert sheets == ["跟踪记录表"] and rows[0] == HEADERS[Form.call_log][0]
    assert len(rows) == 7


async def test_typed_periods_this_month_and_this_year(shop: Shop) -> None:
    _li, _wu, boss, _year = await staff_of_the_year(shop)
    await boss.send("/export")
    await boss.tap("Follow-up register")
    await boss.send("2026-10-15 – 2026-10-16")
    assert documents(shop, boss)[-1][2] == (
        "Follow-up register, 15 Oct 2026 – 16 Oct 2026: 2 rows.")
    await boss.send("/export")
    await boss.tap("Follow-up register")
    await boss.send("2026-03")
    assert documents(shop, boss)[-1][2] == "Follow-up register, 1 Mar 2026 – 31 Mar 2026: 1 row."
    await boss.send("/export")
    await boss.tap("Follow-up register")
    await boss.tap("This year")
    assert documents(shop, boss)[-1][2] == (
        "Follow-up register, 1 Jan 2026 – 30 Nov 2026: 7 rows.")
    await boss.send("/export")
    await boss.tap("Follow-up register")
    await boss.tap("This month")
    assert documents(shop, boss)[-1][2] == (
        "Follow-up register, 1 Nov 2026 – 30 Nov 2026: 0 rows.")


async def test_bad_periods_keep_the_step(shop: Shop) -> None:
    _li, _wu, boss, _year = await staff_of_the_year(shop)
    await boss.send("/export")
    await boss.tap("Follow-up call log")
    assert await boss.send("last october") == [
        "“last october” is not a period. Tap a button, or type the first and last day like "
        "“2026-10-01 2026-10-31”."]
    assert await boss.send("2026-02-30 2026-03-01") == [
        "“2026-02-30 2026-03-01” is not a period. Tap a button, or type the first and last "
        "day like “2026-10-01 2026-10-31”."]
    assert await boss.send("2026-10-31 2026-10-01") == [
        "The last day (2026-10-01) is before the first (2026-10-31); please send them the "
        "other way round."]
    assert await boss.send("2027-01-01 2027-01-31") == [
        "2027-01-01 has not started yet; there is nothing to report."]
    assert await boss.send("x" * 5000) == [
        f"“{'x' * 5000}” is not a period. Tap a button, or type the first and last day like "
        "“2026-10-01 2026-10-31”."[:4095] + "…"]
    assert documents(shop, boss) == []
    # Still on the period step: a good one now works.
    await boss.send("2026-10-01 2026-10-31")
    assert documents(shop, boss)[-1][2].endswith(": 6 rows.")


async def test_a_file_too_big_for_chat_points_to_the_command_line(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    import handlers.after_sales.report

    _li, _wu, boss, _year = await staff_of_the_year(shop)
    monkeypatch.setattr(handlers.after_sales.report, "UPLOAD_LIMIT", 1000)
    await boss.send("/export")
    await boss.tap("Follow-up call log")
    assert await boss.tap("Last month") == [
        "That spreadsheet is 0 MB, more than a chat can carry. Choose a shorter period, or "
        "write it on the server with “workshop-bot export”."]
    assert documents(shop, boss) == []


async def test_cancel_and_off_step_input(shop: Shop) -> None:
    boss = await shop.hire("Boss Ma", Role.supervisor)
    await boss.send("/export")
    assert await boss.send("call log please") == [
        "That is not what this step needs. Please answer the question above, or send /cancel."]
    assert await boss.send("/cancel") == ["Cancelled. Nothing was saved."]
    assert await boss.send("/cancel") == ["There is nothing to cancel."]
    await boss.send("/export")
    await boss.tap("Follow-up call log")
    assert await boss.send("/cancel") == ["Cancelled. Nothing was saved."]
    assert documents(shop, boss) == []


async def test_stale_buttons_and_changing_the_form(shop: Shop) -> None:
    _li, _wu, boss, _year = await staff_of_the_year(shop)
    await boss.send("/export")
    forms_message = boss.last
    await boss.tap("Follow-up call log")
    # Changed their mind at the period step: the other form's button still works.
    assert (await boss.tap("Service letter register", message=forms_message))[-1].startswith(
        "Service letter register: which period?")
    periods_message = boss.last
    await boss.tap("Last month")
    assert documents(shop, boss)[-1][0].startswith("Service letter register")
    assert await boss.tap("Last month", message=periods_message) == [
        "This button is no longer active."]
    assert await boss.tap("Follow-up register", message=forms_message) == [
        "This button is no longer active."]
    assert len(documents(shop, boss)) == 1


async def test_only_supervisors_export(shop: Shop) -> None:
    clerk = await shop.hire("Clerk Li", Role.tracking_clerk)
    tech = await shop.hire("Zhang Tech", Role.technician)
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    for person in (clerk, tech, advisor):
        assert await person.send("/export") == [
            "Only supervisors can do this; nothing was changed."]
    # A forged tap on a form button outside the conversation names no step.
    boss = await shop.hire("Boss Ma", Role.supervisor)
    await boss.send("/export")
    assert await clerk.tap_data("export:form:call-log", boss.last) == [
        "This button is no longer active."]
    assert documents(shop, clerk) == []


async def test_a_supervisor_demoted_mid_export_gets_nothing(shop: Shop) -> None:
    from models.staff import Staff, set_roles

    boss = await shop.hire("Boss Ma", Role.supervisor)
    await boss.send("/export")
    await boss.tap("Follow-up call log")
    async with shop.db.session() as session:
        staff = await session.get(Staff, boss.staff_id)
        assert staff is not None
        await set_roles(session, staff, {Role.tracking_clerk}, now=shop.now())
        await session.commit()
    assert await boss.tap("Last month") == [
        "Only supervisors can do this; nothing was changed."]
    assert documents(shop, boss) == []
    assert await boss.send("/cancel") == ["There is nothing to cancel."]


# --- workshop-bot export ---------------------------------------------------------------------


def cli_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="workshop-bot")
    add_export_command(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["export", *argv])


def leftovers(folder: Path) -> list[str]:
    """Half-written exports (the temporary files the CLI writes before moving into place)."""
    return [name for name in os.listdir(folder) if name.startswith(".export-")]


async def run_cli(settings: Settings, db: Database, *argv: str) -> int:
    """The handler as the CLI calls it: synchronous, its own event loop (so, a thread)."""
    cli_settings = settings.model_copy(update={"database_url": db.url})
    args = cli_args(*argv)
    return await asyncio.to_thread(args.handler, cli_settings, args)


async def test_cli_writes_each_form(db: Database, settings: Settings, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    li, wu, boss = await hire_staff(db)
    await build_year(db, settings, li=li, wu=wu, boss=boss)
    for form, count in ((Form.archive, 3), (Form.call_log, 6), (Form.call_register, 6),
                        (Form.letters, 2)):
        out = tmp_path / f"{form.value}.xlsx"
        assert await run_cli(settings, db, form.value, "--from", "2026-10-01", "--to",
                             "2026-10-31", "--out", str(out)) == 0
        sheets, rows = read(out.read_bytes())
        assert sheets == [TITLES[form][0]] and rows[0] == HEADERS[form][0]  # zh_CN default
        assert len(rows) == 1 + count
        assert capsys.readouterr().out == (
            f"Wrote {TITLES[form][0]} ({form.value}), 2026-10-01 to 2026-10-31: {count} rows "
            f"-> {out}\n")
    out = tmp_path / "english.xlsx"
    assert await run_cli(settings, db, "letters", "--from", "2026-10-25", "--to", "2026-10-25",
                         "--out", str(out), "--locale", "en") == 0
    sheets, rows = read(out.read_bytes())
    assert sheets == ["Service letter register"] and rows[0] == HEADERS[Form.letters][1]
    assert [row[2] for row in rows[1:]] == ["赵先生"]  # the day is local and included
    assert capsys.readouterr().out.endswith(": 1 row -> " + str(out) + "\n")
    assert leftovers(tmp_path) == []


async def test_cli_refuses_bad_arguments(db: Database, settings: Settings,
                                         tmp_path: Path) -> None:
    from bot.cli import CliError

    folder = tmp_path / "out"
    folder.mkdir()
    out = str(folder / "x.xlsx")
    cases = [
        (("call-log", "--from", "2026-10-32", "--to", "2026-10-31", "--out", out),
         "--from must be a date like 2026-10-01, not '2026-10-32'"),
        (("call-log", "--from", "2026-10-31", "--to", "2026-10-01", "--out", out),
         "--to 2026-10-01 is before --from 2026-10-31"),
        (("call-log", "--from", "2026-10-01", "--to", "2026-10-31", "--out",
          str(tmp_path / "missing" / "x.xlsx")),
         f"--out: the folder {tmp_path / 'missing'} does not exist"),
        (("call-log", "--from", "2026-10-01", "--to", "2026-10-31", "--out", str(tmp_path)),
         f"--out {tmp_path} is a folder; give a file name ending in .xlsx"),
    ]
    for argv, message in cases:
        with pytest.raises(CliError) as error:
            await run_cli(settings, db, *argv)
        assert str(error.value) == message
    assert list(folder.iterdir()) == []
    with pytest.raises(SystemExit):
        cli_args("calls", "--from", "2026-10-01", "--to", "2026-10-31", "--out", out)
    with pytest.raises(SystemExit):
        cli_args("call-log", "--from", "2026-10-01", "--out", out)


async def test_cli_on_an_unmigrated_database_says_so(settings: Settings, tmp_path: Path
                                                     ) -> None:
    from bot.cli import CliError

    empty = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(CliError) as error:
        await run_cli(settings, empty, "letters", "--from", "2026-10-01", "--to", "2026-10-31",
                      "--out", str(tmp_path / "x.xlsx"))
    await empty.dispose()
    assert "no schema yet" in str(error.value)
    assert not (tmp_path / "x.xlsx").exists()
    assert leftovers(tmp_path) == []


def test_date_helper_is_local() -> None:
    assert local(10, 31, 23, 30).astimezone(SHANGHAI).date() == date(2026, 10, 31)


async def test_the_archive_has_the_customers_imported_in_the_period_without_a_visit(
    db: Database, settings: Settings
) -> None:
    from bot.importer import Table, import_customers
    from models.audit import Actor

    li, wu, boss = await hire_staff(db)
    await build_year(db, settings, li=li, wu=wu, boss=boss)

    async def imported(now: datetime, rows: list[dict[str, Any]]) -> None:
        table = Table({name: name for row in rows for name in row},
                      [(number, row) for number, row in enumerate(rows, start=2)])
        async with db.session() as session:
            report = await import_customers(session, table, now=now, actor=Actor(None, None))
            assert (report.imported, report.bad) == (len(rows), [])
            await session.commit()

    await imported(local(10, 20, 9), [
        {"name": "孙先生", "phone": "13600000001", "plate": "京C11111", "vehicle_model": "Golf",
         "cycle_months": 6, "next_maintenance_on": "2027/4/1", "clerk_code": "C01"},
        {"name": "孙先生", "phone": "13600000001", "plate": "京C22222", "clerk_code": "C01"},
        {"name": "周女士", "phone": "13600000002", "address": "北京市海淀区", "clerk_code": "C02"},
    ])
    await imported(local(11, 3, 9), [{"name": "吴先生", "phone": "13600000003"}])
    _sheets, rows = (await october_forms(db, settings, EN))[Form.archive]
    assert [row[0] for row in rows[1:4]] == ["王先生", "陈女士", "赵先生"]  # the visits
    assert all(row[3] is not None for row in rows[1:4])
    assert [(row[0], row[6]) for row in rows[4:]] == [  # then those imported, no visit
        ("孙先生", "京C11111"), ("孙先生", "京C22222"), ("周女士", None)]
    sun = dict(zip(rows[0], rows[4], strict=True))
    assert sun == {
        "Customer name": "孙先生", "Address": None, "Phone": "13600000001",
        "Repair or visit date": None, "Visit type": None, "Vehicle model": "Golf",
        "Plate": "京C11111", "Vehicle type": None, "Service items": None,
        "Maintenance cycle": "6 months", "Next maintenance": datetime(2027, 4, 1, 0, 0),
        "Services the customer wants": None, "Service history": None,
        "Tracking clerk": "Clerk Li", "Archive completed": None,
    }
    zhou = dict(zip(rows[0], rows[6], strict=True))
    assert (zhou["Address"], zhou["Tracking clerk"], zhou["Plate"]) == (
        "北京市海淀区", "Clerk Wu", None)
    # 吴先生 came in November's import: November's archive has him, not October's customers.
    november = month_period(settings.calendar, 2026, 11)
    async with db.session() as session:
        _sheets, rows = read(await export(Form.archive, session, november.start, november.end,
                                          EN))
    assert ("吴先生", None) in [(row[0], row[3]) for row in rows[1:]]
    assert "孙先生" not in [row[0] for row in rows[1:]]
