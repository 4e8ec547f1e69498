"""The shape of the code, checked: imports point only where ARCHITECTURE's table allows, nothing
but ``bot/clock.py`` reads the wall clock, every area has the same rooms, and the README's rule
table points at modules that exist and say which rule they carry.

These walk the source (AST), so a violation anywhere fails here, whether a test runs that code or
not."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("bot", "handlers", "jobs", "models")
AREAS = ("floor", "parts", "qc", "duty", "training", "after_sales", "staff")


def sources(*folders: str) -> Iterator[Path]:
    for folder in folders or LAYERS:
        yield from sorted((ROOT / folder).rglob("*.py"))


def module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> Iterator[tuple[int, str]]:
    """Every module a file imports, wherever the import stands (functions, TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            # ``from handlers.floor import cards`` imports handlers.floor.cards
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if (ROOT / (candidate.replace(".", "/") + ".py")).exists() or (
                        ROOT / candidate.replace(".", "/")).is_dir():
                    yield node.lineno, candidate


def area_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "handlers" and len(parts) > 1 else None


def is_cards(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == "handlers" and len(parts) > 2 and parts[2] == "cards"


def forbidden(importer: str, imported: str) -> str | None:
    """Why ``importer`` may not import ``imported`` (None when the table allows it)."""
    top = imported.split(".")[0]
    layer = importer.split(".")[0]
    if top not in (*LAYERS, "telegram"):
        return None  # the standard library and third-party packages: see the next test
    if layer == "models":
        return None if top == "models" else "models/ imports only models, sqlmodel, sqlalchemy"
    if layer == "jobs" or importer == "bot.intake":
        if top in ("models", "bot", "telegram", "jobs"):
            return None
        if is_cards(imported) or imported in ("handlers", f"handlers.{area_of(imported)}"):
            return None
        return "jobs/ and bot/intake.py import handlers/<area>/cards only"
    if layer == "handlers":
        if top in ("models", "bot", "telegram"):
            return None
        if top == "jobs":
            return "handlers/ never import jobs/"
        area, theirs = area_of(importer), area_of(imported)
        if theirs in (None, "chat") or imported == f"handlers.{theirs}":
            return None
        if area == "chat":
            return "handlers/chat/ is shared by every area and imports none of them"
        if theirs == area or is_cards(imported):
            return None
        return "an area imports another area's cards only"
    return None  # bot/ wires everything together


def test_imports_follow_the_architecture_table() -> None:
    wrong = []
    for path in sources():
        importer = module_of(path)
        for line, imported in imports_of(path):
            reason = forbidden(importer, imported)
            if reason:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {imported}: {reason}")
    assert wrong == []


# models/ is the shop's rules as plain functions: no chat framework, nothing from the outside.
MODELS_MAY_IMPORT = {"sqlmodel", "sqlalchemy", "models", "__future__"}


def test_models_import_nothing_but_the_database_layer_and_the_standard_library() -> None:
    import sys

    wrong = []
    for path in sources("models"):
        for line, imported in imports_of(path):
            top = imported.split(".")[0]
            if top not in MODELS_MAY_IMPORT and top not in sys.stdlib_module_names:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert wrong == []


def test_the_layering_check_catches_a_wrong_arrow() -> None:
    """The table above, read the other way: these arrows must be refused."""
    assert forbidden("models.work_order", "telegram")
    assert forbidden("models.work_order", "bot.clock")
    assert forbidden("jobs.escalation", "handlers.floor.fault_report")
    assert forbidden("jobs.escalation", "handlers.chat.ui")
    assert forbidden("bot.intake", "handlers.floor.orders")
    assert forbidden("handlers.floor.orders", "handlers.qc.checks")
    assert forbidden("handlers.floor.orders", "jobs.workshop")
    assert forbidden("handlers.chat.ui", "handlers.floor.cards")
    assert not forbidden("handlers.floor.orders", "handlers.qc.cards")
    assert not forbidden("handlers.floor.orders", "handlers.chat.order_step")
    assert not forbidden("jobs.escalation", "handlers.floor.cards")
    assert not forbidden("bot.application", "handlers.floor.routes")


# --- one clock ---------------------------------------------------------------------------------
# Reads of the wall clock: ``datetime.now()``, ``date.today()``, ``time.time()``… and the database
# server's clock (``func.now()``). ``time.monotonic`` measures a duration and is allowed.
WALL_CLOCK = {
    ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
    ("time", "time"), ("time", "time_ns"), ("time", "localtime"), ("time", "gmtime"),
    ("time", "ctime"), ("time", "asctime"), ("time", "strftime"), ("func", "now"),
    ("func", "current_timestamp"), ("func", "current_date"), ("func", "localtimestamp"),
}


def wall_clock_reads(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name | ast.Attribute):
            owner = node.value.id if isinstance(node.value, ast.Name) else node.value.attr
            if (owner, node.attr) in WALL_CLOCK:
                yield node.lineno, f"{owner}.{node.attr}"
        elif isinstance(node, ast.ImportFrom) and node.module in ("time", "datetime"):
            for alias in node.names:
                if (node.module, alias.name) in WALL_CLOCK:
                    yield node.lineno, f"from {node.module} import {alias.name}"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and re.search(
                r"\b(now|current_timestamp|localtimestamp)\(\)", node.value, re.IGNORECASE):
            yield node.lineno, f"SQL {node.value!r}"


def test_only_bot_clock_reads_the_wall_clock() -> None:
    reads = [f"{path.relative_to(ROOT)}:{line}: {what}"
             for path in sources() if path != ROOT / "bot" / "clock.py"
             for line, what in wall_clock_reads(path)]
    assert reads == []


def test_the_clock_check_sees_a_wall_clock_read(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import datetime, time\nfrom datetime import date\n"
                      "a = datetime.datetime.now()\nb = date.today()\nc = time.time()\n"
                      "d = time.monotonic()\n")
    assert [what for _, what in wall_clock_reads(sample)] == [
        "datetime.now", "date.today", "time.time"]


# --- areas ---------------------------------------------------------------------------------------

# staff/ (access, /start, menus, the staff list) sends nothing to anyone else: no cards.
WITHOUT_CARDS = {"staff"}


@pytest.mark.parametrize("area", AREAS)
def test_every_area_has_the_same_rooms(area: str) -> None:
    folder = ROOT / "handlers" / area
    assert (folder / "__init__.py").exists()
    assert (folder / "routes.py").exists(), f"{area}: routes.py lists its handlers"
    assert (folder / "refusals.py").exists(), f"{area}: refusals.py, its refusals in words"
    has_cards = (folder / "cards.py").exists() or (folder / "cards" / "__init__.py").exists()
    assert has_cards != (area in WITHOUT_CARDS), (
        f"{area}: cards (what other people and the jobs see)")


def test_handlers_hold_nothing_but_the_areas_and_chat() -> None:
    entries = {p.name for p in (ROOT / "handlers").iterdir() if p.name != "__pycache__"}
    assert entries == {"__init__.py", "chat", *AREAS}


# --- the README's rule table ---------------------------------------------------------------------
RULE_ID = re.compile(r"\b([WNA])(\d+)(?:\s*[–-]\s*(?:\1)?(\d+))?\b")


def rule_ids(text: str) -> set[str]:
    """``W8–W10`` → W8, W9, W10; ``N1–N4, N6`` → N1 … N4, N6."""
    found = set()
    for letter, first, last in RULE_ID.findall(text):
        for number in range(int(first), int(last or first) + 1):
            found.add(f"{letter}{number}")
    return found


def rule_table() -> list[tuple[set[str], list[str]]]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The shop's rules, and where they are implemented", 1)[1]
    section = section.split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and rule_ids(cells[0]):
            rows.append((rule_ids(cells[0]), re.findall(r"`([\w/]+\.py)`", cells[-1])))
    return rows


def test_the_rule_table_names_every_rule_once() -> None:
    rules = [rule for ids, _ in rule_table() for rule in ids]
    every = {f"W{n}" for n in range(1, 12)} | {f"N{n}" for n in range(1, 9)} | {
        f"A{n}" for n in range(1, 14)}
    assert sorted(rules) == sorted(every)


def test_every_module_in_the_rule_table_exists_and_names_its_rule() -> None:
    wrong = []
    for ids, paths in rule_table():
        assert paths, f"{sorted(ids)}: no module named"
        for relative in paths:
            path = ROOT / relative
            if not path.exists():
                wrong.append(f"{relative}: no such file")
                continue
            docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
            if not rule_ids(docstring) & ids:
                wrong.append(f"{relative}: its docstring names none of {sorted(ids)}")
    assert wrong == []


def test_rule_ids_read_ranges() -> None:
    assert rule_ids("N1–N4, N6, N7") == {"N1", "N2", "N3", "N4", "N6", "N7"}
    assert rule_ids("W8–W10 duty") == {"W8", "W9", "W10"}
    assert rule_ids("A2–12") == {f"A{n}" for n in range(2, 13)}


# The README's import table, as the check above reads it: change both together.
README_IMPORT_TABLE = {
    "`models/`": "`models`, sqlmodel, sqlalchemy, the standard library",
    "`handlers/chat/`": "telegram, `models`, `bot`",
    "`handlers/<area>/`": "telegram, `models`, `bot`, `handlers/chat`, its own area, another "
                          "area's `cards`",
    "`jobs/`, `bot/intake.py`": "telegram, `models`, `bot`, `handlers/<area>/cards`",
    "`bot/`": "everything (it wires the rest together)",
}


def test_the_readme_import_table_is_the_one_checked() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("| folder | may import |", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in section.strip().splitlines()[1:]:
        folder, allowed = (cell.strip() for cell in line.strip().strip("|").split("|"))
        rows[folder] = allowed
    assert rows == README_IMPORT_TABLE
