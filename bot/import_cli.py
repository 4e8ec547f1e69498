"""``workshop-bot import orders FILE`` and ``workshop-bot import customers FILE``.

FILE is a .csv (UTF-8 with or without BOM, or GBK/GB18030 as Excel in China saves it) or .xlsx
whose header row names the columns (``import --help`` lists them; ``import --template
orders|customers PATH`` writes an empty .xlsx with them). Every row is
checked before anything is written; a bad row is reported by row and column and then nothing
is imported, unless ``--skip-bad`` imports the good rows. ``--dry-run`` only checks. Orders and
vehicles already on file are skipped, so importing a file twice is harmless. A progress line
(``  1200/5000 rows``) goes to stderr; the result to stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.clock import Clock

if TYPE_CHECKING:  # loaded by the command itself, so that `--help` answers at once
    from bot.settings import Settings
    from models.db import Database

MAX_SHOWN = 50  # bad rows listed before "… and N more"


def add_import_command(subparsers: Any) -> None:
    """Add ``import`` to the ``workshop-bot`` command's subparsers."""
    from bot.dms_columns import COLUMNS, describe

    files = "\n\n".join(describe(kind) for kind in COLUMNS)
    parser = subparsers.add_parser(
        "import", help="import work orders or customers from a CSV or XLSX file",
        description="Import work orders or customers from a .csv (UTF-8, UTF-8 with BOM or "
                    "GBK/GB18030, as Excel saves it) or .xlsx file whose first row names the "
                    "columns.",
        epilog=files, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template", nargs=2, metavar=("WHAT", "PATH"),
                        help="write an empty .xlsx file with the columns of WHAT (orders or "
                             "customers) to PATH, and import nothing")
    parser.set_defaults(handler=cmd_import, import_kind=None)
    kinds = parser.add_subparsers(dest="import_kind", metavar="WHAT")
    for kind, help_text in (
        ("orders", "work orders (opened for their technicians; existing numbers skipped)"),
        ("customers", "customers and their vehicles (existing plates skipped)"),
    ):
        sub = kinds.add_parser(kind, help=help_text, description=describe(kind),
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.add_argument("file", metavar="FILE", help="a .csv or .xlsx file with a header row")
        sub.add_argument("--skip-bad", action="store_true",
                         help="import the good rows even if some rows are bad")
        sub.add_argument("--dry-run", action="store_true",
                         help="check every row, import nothing")
        sub.set_defaults(handler=cmd_import)


class ProgressLine:
    """``\r  checking 1200/5000 rows`` on stderr, redrawn at most ten times a second; each
    phase (checking, importing) ends on its own line."""

    def __init__(self, stream: TextIO, clock: Clock | None = None) -> None:
        self.stream = stream
        self.clock = clock or Clock()
        self._phase: str | None = None
        self._last = 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = self.clock.monotonic()
        if phase == self._phase and done < total and now - self._last < 0.1:
            return
        if self._phase not in (None, phase):
            self.stream.write("\n")
        self._phase, self._last = phase, now
        self.stream.write(f"\r  {phase} {done}/{total} rows")
        self.stream.flush()

    def end(self) -> None:
        if self._phase is not None:
            self.stream.write("\n")
            self.stream.flush()
            self._phase = None


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli import EXIT_ERROR, CliError, with_database
    from bot.clock import Clock
    from bot.dms_columns import CUSTOMER_COLUMNS, ORDER_COLUMNS
    from bot.importer import ImportFailed, import_customers, import_orders, read_table
    from models.audit import Actor

    if args.template:
        return write_template(settings, *args.template)
    if args.import_kind is None:
        raise CliError("say what to import: import orders FILE, import customers FILE, or "
                       "import --template orders|customers PATH")
    path = Path(args.file).expanduser()
    if not path.is_file():
        raise CliError(f"{path}: no such file")
    orders = args.import_kind == "orders"
    try:
        table = read_table(path, ORDER_COLUMNS if orders else CUSTOMER_COLUMNS)
    except ImportFailed as exc:
        raise CliError(f"{path.name}: {exc}") from None
    if table.ignored:
        print(f"Ignoring column(s) {', '.join(map(repr, table.ignored))}.", file=sys.stderr)
    progress = ProgressLine(sys.stderr)
    work = import_orders if orders else import_customers

    async def run(db: Database) -> Any:
        async with db.session() as session:
            report = await work(session, table, now=Clock().now(), actor=Actor(None, None),
                                skip_bad=args.skip_bad, dry_run=args.dry_run,
                                progress=progress)
            if report.written:
                await session.commit()
            return report

    try:
        report = with_database(settings, run)
    except ImportFailed as exc:
        raise CliError(f"{path.name}: {exc}; nothing was imported") from None
    finally:
        progress.end()
    noun = "order" if orders else "customer"
    for error in report.bad[:MAX_SHOWN]:
        print(f"{path.name}: {error}", file=sys.stderr)
    if len(report.bad) > MAX_SHOWN:
        print(f"… and {len(report.bad) - MAX_SHOWN} more problem(s)", file=sys.stderr)
    if report.bad and not args.skip_bad:
        print(f"{report.bad_rows} of {report.total} row(s) are bad; nothing was imported. "
              "Fix them, or use --skip-bad to import the good rows.", file=sys.stderr)
        return EXIT_ERROR
    skipped = f", {report.bad_rows} bad row(s) skipped" if report.bad else ""
    existing = f", {report.existing} already on file" if report.existing else ""
    if args.dry_run:
        good = report.total - report.bad_rows - report.existing
        print(f"Checked {report.total} row(s) of {path.name}: {good} to import{existing}"
              f"{skipped}. Nothing was imported (--dry-run).")
    else:
        plural = "" if report.imported == 1 else "s"
        print(f"Imported {report.imported} {noun}{plural} from {path.name}{existing}{skipped}.")
    return 0


def write_template(settings: Settings, kind: str, target: str) -> int:
    """``import --template orders|customers PATH``: an empty .xlsx with the file's header row,
    in the shop's language (the DMS's Chinese headers for zh_CN), required columns in bold."""
    from bot.cli import CliError
    from bot.dms_columns import COLUMNS

    if kind not in COLUMNS:
        raise CliError(f"--template {kind}: say orders or customers")
    path = Path(target).expanduser()
    if path.suffix.lower() != ".xlsx":
        raise CliError(f"{path}: a template is an .xlsx file; name it …/{kind}.xlsx")
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    chinese = settings.default_locale.startswith("zh")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = kind
    columns = COLUMNS[kind]
    sheet.append([column.zh if chinese else column.name for column in columns])
    for position, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=position)
        cell.font = Font(bold=column.required)
        letter = get_column_letter(position)
        sheet.column_dimensions[letter].width = max(12, 2 * len(str(cell.value)) + 2)
        if column.hint.startswith("a day"):
            for row in range(2, 1002):  # typed days stay days, whatever the locale shows
                sheet[f"{letter}{row}"].number_format = "yyyy/m/d"
    sheet.freeze_panes = "A2"
    try:
        book.save(path)
    except OSError as exc:
        raise CliError(f"{path}: cannot write it: {exc.strerror or exc}") from None
    print(f"Wrote {path}: the {kind} columns ({len(columns)}), "
          f"{sum(c.required for c in columns)} required (bold).")
    return 0
