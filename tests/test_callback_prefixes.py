"""Callback data: every family of buttons has one prefix, spelled once, in one module.

A module that draws buttons owns their prefix as a constant (``PREFIX``, or ``ORDER_PREFIX`` …
in a cards module that draws several families); whoever answers those buttons imports the
constant and builds its ``pattern=`` from it. So two modules cannot claim the same prefix and a
handler cannot listen under a prefix nobody draws. The callback data itself never changes:
buttons already sitting in people's chats must keep working.

The checks read the source (AST), as ``test_layout`` does, and then the real handlers.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import BaseHandler, CallbackQueryHandler, ConversationHandler

ROOT = Path(__file__).resolve().parent.parent
PREFIX_NAME = re.compile(r"^(?:[A-Z]+_)?PREFIX$")

# ``pattern=`` whose text is not in the source: CustomerPick builds it from the callback data a
# conversation hands it (``f"{PREFIX}:cust:{{id}}"``), which the literal check below covers, and
# the compiled patterns are checked at the end.
DERIVED_PATTERNS = {"handlers/after_sales/customer_pick.py"}


def sources(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def owned_prefixes(tree: ast.Module) -> dict[str, str]:
    """The prefix constants a module defines: name → value."""
    found = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and PREFIX_NAME.match(node.targets[0].id)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            found[node.targets[0].id] = node.value.value
    return found


def all_prefixes() -> dict[str, list[str]]:
    """value → the modules (``module.NAME``) that define it."""
    owners: dict[str, list[str]] = {}
    for path in sources("handlers", "jobs", "bot"):
        for name, value in owned_prefixes(ast.parse(path.read_text())).items():
            owners.setdefault(value, []).append(f"{module_of(path)}.{name}")
    return owners


def prefix_names(tree: ast.Module) -> set[str]:
    """Names that stand for a prefix in this module: its own, and those it imports from the
    module that owns them."""
    names = set(owned_prefixes(tree))
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            source = ROOT / (node.module.replace(".", "/") + ".py")
            if not source.exists():
                continue
            theirs = owned_prefixes(ast.parse(source.read_text()))
            names |= {alias.asname or alias.name for alias in node.names if alias.name in theirs}
    return names


def pieces(node: ast.expr, constants: dict[str, ast.expr]) -> list[str | ast.expr]:
    """A pattern as its parts in order: literal text, or the expression put in."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        out: list[str | ast.expr] = []
        for value in node.values:
            out += pieces(value.value if isinstance(value, ast.FormattedValue) else value,
                          constants)
        return out
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return pieces(node.left, constants) + pieces(node.right, constants)
    if isinstance(node, ast.Name) and node.id in constants:
        return pieces(constants[node.id], constants)
    return [node]


def pattern_problem(node: ast.expr, constants: dict[str, ast.expr], names: set[str]) -> str | None:
    """Why this ``pattern=`` does not start with ``^{A_PREFIX}:`` (None when it does)."""
    parts = pieces(node, constants)
    if len(parts) < 3 or parts[0] != "^":
        return "does not start with ^ and a prefix constant"
    head, rest = parts[1], parts[2]
    if not (isinstance(head, ast.Name) and head.id in names):
        return "does not start with a prefix constant this module owns or imports"
    if not (isinstance(rest, str) and rest.startswith(":")):
        return "has no ':' after its prefix"
    return None


def problems_in(path: Path, prefixes: set[str]) -> Iterator[str]:
    tree = ast.parse(path.read_text())
    where = path.relative_to(ROOT).as_posix()
    constants = {node.targets[0].id: node.value for node in ast.walk(tree)
                 if isinstance(node, ast.Assign) and len(node.targets) == 1
                 and isinstance(node.targets[0], ast.Name)
                 and not PREFIX_NAME.match(node.targets[0].id)}
    names = prefix_names(tree)
    spelled = re.compile(r"^\^?\(?(" + "|".join(map(re.escape, sorted(prefixes))) + r"):")
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                spelled.match(node.value):
            yield f"{where}:{node.lineno}: {node.value!r} spells a prefix by hand"
        if isinstance(node, ast.keyword) and node.arg == "pattern":
            if where in DERIVED_PATTERNS and isinstance(node.value, ast.Attribute):
                continue
            problem = pattern_problem(node.value, constants, names)
            if problem:
                yield f"{where}:{node.value.lineno}: pattern= {problem}"


# --- the checks --------------------------------------------------------------------------------


def test_no_two_modules_share_a_prefix() -> None:
    owners = all_prefixes()
    assert owners, "no prefix constant found"
    assert {value: where for value, where in owners.items() if len(where) > 1} == {}
    assert [value for value in owners if not re.fullmatch(r"[a-z]+", value)] == []


def test_every_pattern_starts_with_a_prefix_constant_and_none_is_spelled_by_hand() -> None:
    prefixes = set(all_prefixes())
    problems = [problem for path in sources("handlers", "jobs")
                for problem in problems_in(path, prefixes)]
    assert problems == []


def test_the_check_sees_a_hand_spelled_prefix_and_a_pattern_without_its_constant(
        tmp_path: Path) -> None:
    folder = tmp_path / "handlers"
    folder.mkdir()
    sample = folder / "sample.py"
    sample.write_text(
        'PREFIX = "smp"\n'
        'DATA = rf"^{PREFIX}:\\d+:ok$"\n'
        'OTHER = "x"\n'
        'a = button("A", f"smp:{1}:ok")\n'
        'b = CallbackQueryHandler(f, pattern=r"^smp:\\d+:ok$")\n'
        'c = CallbackQueryHandler(f, pattern=rf"^{OTHER}:\\d+:ok$")\n'
        'd = CallbackQueryHandler(f, pattern=DATA)\n'
        'e = CallbackQueryHandler(f, pattern="^" + PREFIX + r":\\d+$")\n'
        'g = CallbackQueryHandler(f, pattern=rf"^({PREFIX}:a|{PREFIX}:b)$")\n'
    )
    global ROOT
    root, ROOT = ROOT, tmp_path
    try:
        found = list(problems_in(sample, {"smp"}))
    finally:
        ROOT = root
    assert sorted(int(line.split(":")[1]) for line in found) == [4, 5, 5, 6, 9], found


def handlers_of(handler: BaseHandler[Any, Any, Any], fallback: bool = False,
                ) -> Iterator[tuple[BaseHandler[Any, Any, Any], bool]]:
    """Every handler inside, and whether it is a conversation's fallback."""
    if isinstance(handler, ConversationHandler):
        for inner in (*handler.entry_points,
                      *(h for state in handler.states.values() for h in state)):
            yield from handlers_of(inner)
        for inner in handler.fallbacks:
            yield from handlers_of(inner, fallback=True)
    else:
        yield handler, fallback


@pytest.mark.parametrize("area", ["floor", "parts", "qc", "duty", "training", "after_sales",
                                  "staff"])
def test_every_real_button_handler_listens_under_a_known_prefix(area: str) -> None:
    """The compiled patterns as the application holds them, derived ones included."""
    import importlib

    routes = importlib.import_module(f"handlers.{area}.routes").routes()
    prefixes = set(all_prefixes())
    wrong = []
    for top in (*routes.conversations, *routes.buttons):
        for handler, fallback in handlers_of(top):
            if not isinstance(handler, CallbackQueryHandler):
                continue
            pattern = handler.pattern
            if pattern is None and fallback:
                continue  # a tap on any button while a step waits: "not what this step needs"
            text = pattern.pattern if isinstance(pattern, re.Pattern) else repr(pattern)
            match = re.match(r"\^([a-z]+):", text)
            if match is None or match.group(1) not in prefixes:
                wrong.append(f"{handler.callback.__qualname__}: {text}")
    assert wrong == []
