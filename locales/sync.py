"""Refresh the catalogs after changing messages: ``python locales/sync.py``.

Extracts ``messages.pot`` from the code, merges it into ``zh_CN`` and ``en``, and fills the
English catalog with the English message ids (they *are* the English text). New zh_CN entries
stay empty until translated; ``tests/test_catalogs.py`` fails while any is missing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
POT = HERE / "messages.pot"


def main() -> None:
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "t", "-k", "N_", "-k", "ngettext:1,2", "--no-location", "--sort-output",
         "--project", "workshop-bot", "-o", str(POT), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    for locale in ("zh_CN", "en"):
        po = HERE / locale / "LC_MESSAGES" / "messages.po"
        command = "update" if po.exists() else "init"
        args = [sys.executable, "-m", "babel.messages.frontend", command, "-i", str(POT),
                "-l", locale, "-o", str(po)]
        if command == "update":
            args += ["--no-fuzzy-matching", "--ignore-obsolete"]
        subprocess.run(args, cwd=ROOT, check=True, capture_output=True)
        if locale == "en":
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=locale)
            for message in catalog:
                if not message.id:
                    continue
                if isinstance(message.id, tuple):
                    message.string = tuple(message.id)
                else:
                    message.string = message.id
                message.flags.discard("fuzzy")
            with po.open("wb") as handle:
                write_po(handle, catalog, width=100, omit_header=False)


if __name__ == "__main__":
    main()
