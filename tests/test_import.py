"""``workshop-bot import orders|customers FILE``: CSV and XLSX, every row checked first, bad rows
reported by row and column with nothing imported (unless ``--skip-bad``), a progress line."""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from sqlmodel import select

from bot import cli
from bot.dms_columns import CUSTOMER_COLUMNS, ORDER_COLUMNS
from bot.import_cli import add_import_command
from bot.importer import cell_day
from models.audit import AuditEvent
from models.customer import Customer, Vehicle
from models.db import Database
from models.staff import Staff
from models.work_order import OrderItem, WorkOrder

ORDER_HEADER = ["order_number", "plate", "customer_name", "phone", "vehicle_model", "complaint",
                "items", "advisor_code", "technician_code"]
ORDERS = [
    ["RO-001", "京A12345", "王先生", "13812345678", "Camry", "Brakes squeal",
     "Replace pads; Check discs", "A01", "T07"],
    ["RO-002", "沪B54321", "李女士", "021-62345678", "Passat", "Oil service due",
     "Change oil\nReplace filter", "A01", "T07"],
    ["RO-003", "粤C1234D", "陈先生", "13900001111", "BYD Han", "AC weak", "AC check",
     "A01", "T08"],
]


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
           ) -> str:
    """A migrated SQLite file with an advisor (A01), two technicians (T07, T08) and a clerk."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'data' / 'workshop.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_USERNAME", "TIMEZONE", "DEFAULT_LOCALE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "workshop_test_bot")
    assert cli.main(["db", "upgrade"]) == 0
    for name, role, code in (("Liu Advisor", "advisor", "A01"), ("Zhang Tech", "technician",
                                                                   "T07"),
                             ("Li Tech", "technician", "T08"),
                             ("Zhou Clerk", "tracking-clerk", "C01")):
        assert cli.main(["staff", "add", "--name", name, "--role", role, "--code", code]) == 0
    capsys.readouterr()
    return url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``workshop-bot import …`` as bot.cli will run it (a subcommand of the same parser)."""
    parser = argparse.ArgumentParser(prog="workshop-bot")
    add_import_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["import", *argv])
    try:
        code = args.handler(cli.load_settings(), args)
    except cli.CliError as exc:
        print(f"workshop-bot: {exc}", file=sys.stderr)
        code = cli.EXIT_ERROR
    out, err = capsys.readouterr()
    return code, out, err


def write_csv(path: Path, header: list[str], rows: list[list[str]],
              encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def read(url: str, model: type) -> list:  # type: ignore[type-arg]
    async def go() -> list:  # type: ignore[type-arg]
        db = Database(url)
        async with db.session() as session:
            rows = list((await session.exec(select(model))).all())
        await db.dispose()
        return rows

    return asyncio.run(go())


def test_good_csv_of_orders(db_url: str, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "orders.csv", ORDER_HEADER, ORDERS)
    code, out, err = run(capsys, "orders", str(path))
    assert code == 0, err
    assert out.strip() == "Imported 3 orders from orders.csv."
    assert "\r  checking 3/3 rows" in err and "\r  importing 3/3 rows" in err
    orders = {o.number: o for o in read(db_url, WorkOrder)}
    assert set(orders) == {"RO-001", "RO-002", "RO-003"}
    assert (orders["RO-002"].customer_phone, orders["RO-002"].status) == ("02162345678", "open")
    assert orders["RO-003"].plate == "粤C1234D"
    staff = {s.code: s.id for s in read(db_url, Staff)}
    assert orders["RO-003"].technician_id == staff["T08"]
    items = sorted((i.order_id, i.position, i.description) for i in read(db_url, OrderItem))
    assert [d for o, _, d in items if o == orders["RO-001"].id] == ["Replace pads",
                                                                    "Check discs"]
    assert [d for o, _, d in items if o == orders["RO-002"].id] == ["Change oil",
                                                                    "Replace filter"]
    assert sum(e.action == "order.intake" for e in read(db_url, AuditEvent)) == 3
    # Again: nothing new, nothing broken.
    code, out, _err = run(capsys, "orders", str(path))
    assert (code, out.strip()) == (0, "Imported 0 orders from orders.csv, 3 already on file.")
    assert len(read(db_url, WorkOrder)) == 3


def test_good_xlsx_of_orders_and_customers(db_url: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    # The DMS's Chinese headers; a phone typed as a number; a real date cell.
    orders = [[row[0], row[1], row[2], int(row[3]) if row[3].isdigit() else row[3], *row[4:]]
              for row in ORDERS]
    path = write_xlsx(tmp_path / "orders.xlsx",
                      ["工单号", "车牌号", "客户姓名", "联系电话", "车型", "故障描述", "维修项目",
                       "服务顾问工号", "技师工号"], orders)
    code, out, err = run(capsys, "orders", str(path))
    assert code == 0, err
    assert out.strip() == "Imported 3 orders from orders.xlsx."
    assert {o.customer_phone for o in read(db_url, WorkOrder)} == {
        "13812345678", "02162345678", "13900001111"}
    path = write_xlsx(
        tmp_path / "customers.xlsx",
        ["客户姓名", "电话", "地址", "车牌号", "车型", "车种", "保养周期(月)", "下次保养日期",
         "需求服务", "跟踪业务员工号", "Notes"],
        [["王先生", 13812345678, "北京市朝阳区", "京A12345", "Camry", "轿车", 6,
          datetime(2027, 3, 1), "Tyre offers", "C01", "VIP"],
         ["王先生", "13812345678", None, "京A67890", "RAV4", "SUV", None, None, None, None,
          None],
         ["赵女士", "010-87654321；13711112222", None, None, None, None, None, "2027/01/15",
          None, None, None]])
    code, out, err = run(capsys, "customers", str(path))
    assert code == 0, err
    assert out.strip() == "Imported 3 customers from customers.xlsx."
    assert "Ignoring column(s) 'Notes'." in err
    customers = {c.name: c for c in read(db_url, Customer)}
    assert set(customers) == {"王先生", "赵女士"}  # the second row added a vehicle to 王先生
    wang = customers["王先生"]
    assert (wang.phones, wang.address, wang.services_wanted) == (
        "13812345678", "北京市朝阳区", "Tyre offers")
    clerk = next(s for s in read(db_url, Staff) if s.code == "C01")
    assert wang.clerk_id == clerk.id and customers["赵女士"].clerk_id == clerk.id
    assert customers["赵女士"].phones == "01087654321,13711112222"
    vehicles = {v.plate: v for v in read(db_url, Vehicle)}
    assert set(vehicles) == {"京A12345", "京A67890"}
    assert vehicles["京A12345"].customer_id == wang.id == vehicles["京A67890"].customer_id
    assert (vehicles["京A12345"].cycle_months, vehicles["京A12345"].next_maintenance_on,
            vehicles["京A12345"].vehicle_type) == (6, date(2027, 3, 1), "轿车")
    code, out, _err = run(capsys, "customers", str(path))
    assert out.strip() == ("Imported 0 customers from customers.xlsx, 3 already on file.")


def test_a_bad_row_is_reported_and_nothing_is_imported(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [list(row) for row in ORDERS]
    rows[1][3] = "12345"  # row 3 of the sheet: the phone
    rows[2][8] = "T99"  # row 4: an unknown technician
    rows.append(["RO-001", "京A11111", "刘先生", "13800000000", "Golf", "Check", "Check",
                 "A01", "T07"])  # row 5: the number of row 2 again
    rows.append(["RO-004", "", "", "13800000000", "Golf", "Check", "", "A01", "T07"])
    path = write_csv(tmp_path / "orders.csv", ORDER_HEADER, rows)
    code, out, err = run(capsys, "orders", str(path))
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert "orders.csv: row 3, column phone: not a phone number (e.g. 13812345678 or " \
           "010-12345678)" in lines
    assert "orders.csv: row 4, column technician_code: no staff member has the code 'T99'" \
        in lines
    assert "orders.csv: row 5, column order_number: RO-001 is also on row 2" in lines
    for column in ("plate", "customer_name", "items"):  # blank cells
        assert f"orders.csv: row 6, column {column}: Field required" in lines
    assert lines[-1] == ("4 of 5 row(s) are bad; nothing was imported. Fix them, or use "
                         "--skip-bad to import the good rows.")
    assert read(db_url, WorkOrder) == []
    # Chinese headers are reported as the file spells them.
    path = write_csv(tmp_path / "orders-zh.csv",
                     ["工单号", "车牌号", "客户姓名", "联系电话", "车型", "故障描述", "维修项目",
                      "服务顾问工号", "技师工号"], [[*ORDERS[0][:3], "x", *ORDERS[0][4:]]])
    code, _out, err = run(capsys, "orders", str(path))
    assert code == 2 and "row 2, column 联系电话: not a phone number" in err


def test_skip_bad_imports_the_good_rows(db_url: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    rows = [list(row) for row in ORDERS]
    rows[1][1] = "??"
    path = write_csv(tmp_path / "orders.csv", ORDER_HEADER, rows)
    code, out, _err = run(capsys, "orders", str(path), "--dry-run", "--skip-bad")
    assert out.strip() == ("Checked 3 row(s) of orders.csv: 2 to import, 1 bad row(s) "
                           "skipped. Nothing was imported (--dry-run).")
    assert read(db_url, WorkOrder) == []
    code, out, err = run(capsys, "orders", str(path), "--skip-bad")
    assert code == 0
    assert "orders.csv: row 3, column plate: not a licence plate" in err
    assert out.strip() == "Imported 2 orders from orders.csv, 1 bad row(s) skipped."
    assert sorted(o.number for o in read(db_url, WorkOrder)) == ["RO-001", "RO-003"]


def test_gbk_csv(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "customers.csv", ["姓名", "电话", "车牌号"],
                     [["王先生", "13812345678", "京A12345"]], encoding="gb18030")
    code, _out, err = run(capsys, "customers", str(path))
    assert code == 0, err
    assert [c.name for c in read(db_url, Customer)] == ["王先生"]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("orders.xlsx", b"not a zip file", "orders.xlsx: not a readable XLSX file"),
    ("orders.txt", b"a,b", "the file must end in .csv or .xlsx"),
    ("orders.csv", b"", "orders.csv: the file is empty: no header row"),
    ("orders.xls", b"\xd0\xcf", "orders.xls: the file must end in .csv or .xlsx (save an .xls"),
    ("orders.csv", "order_number,plate\nRO-1,京A12345\n".encode(),
     "missing column(s): customer_name, phone, vehicle_model, complaint, items, "
     "advisor_code, technician_code"),
    ("orders.csv", b"\x81\x30\xff\x00", "orders.csv: the CSV file is not UTF-8, UTF-8 with "
     "BOM or GB18030/GBK text (the encodings tried)"),
    ("orders.csv", "工单号,车牌\n".encode("utf-16"), "orders.csv: the CSV file is UTF-16 text, "
     "not UTF-8, UTF-8 with BOM or GB18030/GBK text"),
])
def test_a_malformed_file_gets_one_clear_line(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str,
        content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    code, out, err = run(capsys, "orders", str(path))
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("workshop-bot: ") and message in lines[0]
    assert read(db_url, WorkOrder) == []


def test_a_missing_file(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(capsys, "customers", str(tmp_path / "nope.csv"))
    assert code == 2 and "nope.csv: no such file" in err


# --- as Chinese Excel writes it ------------------------------------------------------------------

TODAY = date(2026, 12, 6)


@pytest.mark.parametrize(("cell", "day"), [
    ("2026/6/1", date(2026, 6, 1)), ("2026年12月1日", date(2026, 12, 1)),
    ("2026-6-1", date(2026, 6, 1)), ("2026-06-01", date(2026, 6, 1)),
    ("2026/6/1 0:00", date(2026, 6, 1)), ("2026/6/1 13:45:10", date(2026, 6, 1)),
    (" 2026 年 6 月 1 日 ", date(2026, 6, 1)), ("２０２６/６/１", date(2026, 6, 1)),
    (datetime(2027, 3, 1, 9, 30), date(2027, 3, 1)), (date(2027, 3, 1), date(2027, 3, 1)),
    (46174, date(2026, 6, 1)),  # a date cell formatted as a number: Excel's serial day
])
def test_a_day_as_excel_writes_it(cell: object, day: date) -> None:
    assert cell_day(cell, TODAY) == day


@pytest.mark.parametrize("cell", ["2026/2/30", "2026/13/1", "1/6/2026", "soon", "46174",
                                  "2026/6/1 25:00:00x", True, 0, -3, 1.5, None])
def test_not_a_day(cell: object) -> None:
    with pytest.raises(ValueError, match="not a day"):
        cell_day(cell, TODAY)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)),
       st.sampled_from(["{y}/{m}/{d}", "{y}-{m}-{d}", "{y}年{m}月{d}日", "{y}-{m:02}-{d:02}",
                        "{y}/{m}/{d} 0:00", "{y}/{m:02}/{d:02} 12:30:59", "{y}.{m}.{d}"]))
def test_every_form_of_every_day_reads_back(day: date, form: str) -> None:
    assert cell_day(form.format(y=day.year, m=day.month, d=day.day), TODAY) == day


@given(st.text(max_size=30))
def test_any_cell_text_is_a_day_or_a_value_error(text: str) -> None:
    try:
        assert 1900 <= cell_day(text, TODAY).year <= 2999
    except ValueError as exc:
        assert str(exc).startswith("not a day")


CUSTOMERS_ZH = ["客户姓名", "联系电话", "车牌号", "上次保养日期", "下次保养日期"]
DAYS = [["王先生", "13812345678", "京A12345", "2026/6/1", "2026年12月1日"],
        ["李女士", "13900001111", "沪B54321", "2026-6-1", "2026/12/1 0:00"],
        ["陈先生", "13700002222", "粤C1234D", "2026-06-01", ""]]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "gbk", "utf-8"])
def test_customers_csv_as_excel_saves_it(db_url: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str],
                                         encoding: str) -> None:
    path = write_csv(tmp_path / "客户.csv", CUSTOMERS_ZH, DAYS, encoding=encoding)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    code, out, err = run(capsys, "customers", str(path))
    assert code == 0, err
    assert out.strip() == "Imported 3 customers from 客户.csv."
    vehicles = {v.plate: v for v in read(db_url, Vehicle)}
    assert {p: (v.last_service_on, v.next_maintenance_on) for p, v in vehicles.items()} == {
        "京A12345": (date(2026, 6, 1), date(2026, 12, 1)),
        "沪B54321": (date(2026, 6, 1), date(2026, 12, 1)),
        "粤C1234D": (date(2026, 6, 1), None)}
    assert {c.name for c in read(db_url, Customer)} == {"王先生", "李女士", "陈先生"}


def test_a_bad_day_is_named_by_row_and_column(db_url: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    rows = [list(row) for row in DAYS]
    rows[1][4] = "2026/2/30"
    path = write_csv(tmp_path / "customers.csv", CUSTOMERS_ZH, rows, encoding="gb18030")
    code, out, err = run(capsys, "customers", str(path))
    assert code == 2 and out == ""
    assert "customers.csv: row 3, column 下次保养日期: not a day: '2026/2/30' (e.g. 2026/6/1, " \
           "2026-6-1 or 2026年6月1日)" in err.splitlines()
    assert "Traceback" not in err and read(db_url, Customer) == []


def help_text(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    parser = argparse.ArgumentParser(prog="workshop-bot")
    add_import_command(parser.add_subparsers(dest="command", required=True))
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["import", *argv, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


def test_help_lists_the_columns_of_each_file(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys)
    orders, customers = text.split("orders file columns")[1].split("customers file columns")
    for column in ORDER_COLUMNS:
        assert f"* {column.name} / {column.zh}" in orders
    for column in CUSTOMER_COLUMNS:
        assert f"{'*' if column.required else ' '} {column.name} / {column.zh}" in customers
    assert "each row needs a phone or a plate" in customers
    assert "--template WHAT PATH" in text and "GBK" in text
    assert "* technician_code / 技师工号" in help_text(capsys, "orders")
    assert "下次保养日期  (a day: 2026/6/1" in help_text(capsys, "customers")


@pytest.mark.parametrize(("locale", "kind"), [("zh_CN", "orders"), ("zh_CN", "customers"),
                                              ("en", "orders"), ("en", "customers")])
def test_template_is_an_empty_xlsx_the_import_reads(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, locale: str, kind: str) -> None:
    monkeypatch.setenv("DEFAULT_LOCALE", locale)
    path = tmp_path / f"{kind}-template.xlsx"
    code, out, err = run(capsys, "--template", kind, str(path))
    assert code == 0, err
    assert out.startswith(f"Wrote {path}: the {kind} columns")
    columns = ORDER_COLUMNS if kind == "orders" else CUSTOMER_COLUMNS
    book = load_workbook(path)
    sheet = book.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    assert header == [c.zh if locale == "zh_CN" else c.name for c in columns]
    assert [bool(cell.font.b) for cell in sheet[1]] == [c.required for c in columns]
    assert all(v is None for row in sheet.iter_rows(min_row=2, values_only=True) for v in row)
    # Empty, it imports nothing; filled in, it imports.
    code, out, err = run(capsys, kind, str(path))
    assert (code, out.strip()) == (0, f"Imported 0 {kind} from {path.name}."), err
    if kind == "orders":
        sheet.append(ORDERS[0])
    else:
        sheet.append(["王先生", "13812345678", None, "京A12345", None, None, 6, None,
                      "2026/6/1", datetime(2026, 12, 1), None, "C01"])
    book.save(path)
    code, out, err = run(capsys, kind, str(path))
    assert code == 0, err
    assert out.strip() == f"Imported 1 {kind.removesuffix('s')} from {path.name}."
    if kind == "customers":
        vehicle, = read(db_url, Vehicle)
        assert (vehicle.last_service_on, vehicle.next_maintenance_on) == (
            date(2026, 6, 1), date(2026, 12, 1))


@pytest.mark.parametrize(("argv", "message"), [
    (["--template", "invoices", "t.xlsx"], "--template invoices: say orders or customers"),
    (["--template", "orders", "t.csv"], "t.csv: a template is an .xlsx file"),
    (["--template", "orders", "no/such/dir/t.xlsx"], "t.xlsx: cannot write it"),
    ([], "say what to import: import orders FILE"),
])
def test_template_and_bare_import_mistakes_get_one_line(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
        message: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("workshop-bot: ") and message in lines[0]
