"""Every refusal a rule or a handler raises has its words, in exactly one area's table.

The codes are read from the source (AST), so a ``Refused("…")`` on a path no test walks is
checked too; ``tests/test_catalogs.py`` checks that the words exist in both languages."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import Translator
from bot.refusals import TABLES, refusal
from models.rules import Refused

ROOT = Path(__file__).resolve().parent.parent
AREAS = ("floor", "parts", "qc", "duty", "training", "after_sales", "staff")


def literal_codes(node: ast.expr) -> list[str] | None:
    """``"code"`` or ``"a" if … else "b"``; None when the code is not written out."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = literal_codes(node.body), literal_codes(node.orelse)
        return body + orelse if body is not None and orelse is not None else None
    return None


def raised_codes() -> Iterator[tuple[str, str | None]]:
    """(where, code) for every ``Refused(…)`` in models/ and handlers/; code None when it is
    not a literal."""
    for folder in ("models", "handlers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                name = node.func.id if isinstance(node.func, ast.Name) else (
                    node.func.attr if isinstance(node.func, ast.Attribute) else None)
                if name != "Refused":
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                codes = literal_codes(node.args[0])
                if codes is None:
                    yield where, None
                for code in codes or []:
                    yield where, code


def test_every_code_is_written_out() -> None:
    """Otherwise the check below could not see it."""
    assert [where for where, code in raised_codes() if code is None] == []


def test_every_raised_code_has_words_in_exactly_one_table() -> None:
    tables_of: dict[str, list[str]] = defaultdict(list)
    for name, table in TABLES.items():
        for code in table:
            tables_of[code].append(name)
    wrong = []
    for where, code in raised_codes():
        if code is not None and len(tables_of[code]) != 1:
            wrong.append(f"{where}: {code!r} has words in {tables_of[code] or 'no table'}")
    assert wrong == []


def test_no_table_keeps_words_nobody_raises() -> None:
    raised = {code for _, code in raised_codes()}
    assert sorted(code for table in TABLES.values() for code in table if code not in raised) == []


def test_the_lookup_names_chat_and_every_area() -> None:
    import importlib

    assert set(TABLES) == {"chat", *AREAS}
    for name, table in TABLES.items():
        assert table is importlib.import_module(f"handlers.{name}.refusals").REFUSALS


def test_no_words_are_registered_at_import_time() -> None:
    for folder in ("bot", "handlers", "jobs", "models"):
        for path in (ROOT / folder).rglob("*.py"):
            assert "add_refusals" not in path.read_text(), path


@pytest.mark.parametrize("area", ["chat", *AREAS])
def test_a_table_imports_no_conversation(area: str) -> None:
    """``bot.refusals`` imports every table and every conversation imports ``bot.refusals``: a
    table that imported a conversation would close the circle."""
    path = ROOT / "handlers" / area / "refusals.py"
    allowed_handlers = ("handlers.chat.", f"handlers.{area}.cards")
    wrong = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            module = node.module
            if module.startswith("handlers.") and not module.startswith(allowed_handlers):
                wrong.append(module)
            if module.startswith(("bot.", "jobs.")) and module != "bot.i18n":
                wrong.append(module)
        elif isinstance(node, ast.Import):
            wrong += [a.name for a in node.names if a.name.split(".")[0] in (
                "bot", "handlers", "jobs", "telegram")]
    assert wrong == []


def test_an_unknown_code_still_gets_a_sentence() -> None:
    _ = Translator("en", ZoneInfo("Asia/Shanghai"))
    assert refusal(_, Refused("no_such_code")) == "This cannot be done; nothing was changed."
