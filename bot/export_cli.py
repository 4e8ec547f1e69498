"""``workshop-bot export FORM --from DATE --to DATE --out PATH [--locale zh_CN|en]``.

Writes one of the four forms (A13) as an XLSX file, the same file ``/export`` sends in chat.
The dates are the shop's local days, both included. The file is written next to its target
and moved into place when complete, so a failed run leaves no half-written spreadsheet.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # loaded by the command itself, so that `--help` answers at once
    from bot.settings import Settings
    from models.db import Database

# bot.forms.Form's values, here so that the help text needs no spreadsheet code (a test checks)
FORM_NAMES = ("archive", "call-log", "call-register", "letters")


def add_export_command(subparsers: Any) -> None:
    """Add ``export`` to the ``workshop-bot`` command's subparsers."""
    from bot.cli import LOCALES

    parser = subparsers.add_parser(
        "export", help="write one of the four forms (A13) as an XLSX spreadsheet")
    parser.add_argument("form", metavar="FORM", choices=FORM_NAMES,
                        help="one of: " + ", ".join(FORM_NAMES))
    parser.add_argument("--from", dest="first", required=True, metavar="DATE",
                        help="first day, YYYY-MM-DD (shop time, included)")
    parser.add_argument("--to", dest="last", required=True, metavar="DATE",
                        help="last day, YYYY-MM-DD (shop time, included)")
    parser.add_argument("--out", required=True, metavar="PATH", help="the .xlsx file to write")
    parser.add_argument("--locale", choices=LOCALES, default=None,
                        help="column names in zh_CN (the forms' own) or en "
                             "(default: DEFAULT_LOCALE)")
    parser.set_defaults(handler=cmd_export)


def _day(text: str, option: str) -> date:
    from bot.cli import CliError

    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CliError(f"{option} must be a date like 2026-10-01, not {text!r}") from None


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    """Write the form; prints one line saying how many rows went where."""
    from bot.cli import CliError, with_database
    from bot.forms import Form, title, write_form
    from bot.i18n import Translator
    from models.report import days_period

    form = Form(args.form)
    first, last = _day(args.first, "--from"), _day(args.last, "--to")
    if last < first:
        raise CliError(f"--to {last} is before --from {first}")
    out = Path(args.out).expanduser()
    if out.is_dir():
        raise CliError(f"--out {out} is a folder; give a file name ending in .xlsx")
    if not out.parent.is_dir():
        raise CliError(f"--out: the folder {out.parent} does not exist")
    if not os.access(out.parent, os.W_OK):
        raise CliError(f"--out: cannot write in the folder {out.parent}")
    translator = Translator(args.locale or settings.default_locale, settings.tz)
    period = days_period(settings.calendar, first, last)

    handle, temporary = tempfile.mkstemp(prefix=".export-", suffix=".xlsx", dir=out.parent)
    try:
        with os.fdopen(handle, "wb") as target:

            async def work(db: Database) -> int:
                async with db.session() as session:
                    return await write_form(form, session, period.start, period.end,
                                            translator, target)

            rows = with_database(settings, work)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    noun = "row" if rows == 1 else "rows"
    print(f"Wrote {title(form, translator)} ({form.value}), {first} to {last}: "
          f"{rows} {noun} -> {out}")
    return 0
