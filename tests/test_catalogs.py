"""Every message a person reads exists in zh_CN and en, translated and not fuzzy."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "t": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
LOCALES = ["zh_CN", "en"]


def source_messages() -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
    for folder in ("bot", "handlers", "jobs", "models"):
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS,
        ):
            found.add(message if isinstance(message, str) else tuple(message))
    return found


def catalog(locale: str) -> Catalog:
    path = ROOT / "locales" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated(locale: str) -> None:
    translations = catalog(locale)
    missing, fuzzy, empty = [], [], []
    for message in source_messages():
        entry = translations.get(message if isinstance(message, str) else message[0])
        if entry is None:
            missing.append(message)
        elif entry.fuzzy:
            fuzzy.append(message)
        elif not (all(entry.string) if isinstance(entry.string, tuple) else entry.string):
            empty.append(message)
    assert not missing, f"{locale}: not in the catalog: {missing}"
    assert not fuzzy, f"{locale}: fuzzy: {fuzzy}"
    assert not empty, f"{locale}: untranslated: {empty}"


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_survive_translation(locale: str) -> None:
    import re

    field = re.compile(r"\{(\w+)\}")
    for entry in catalog(locale):
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        wanted = set(field.findall(ids[-1]))
        for string in strings:
            assert set(field.findall(string)) <= wanted | set(field.findall(ids[0])), (
                f"{locale}: {entry.id!r} → {string!r} has other placeholders"
            )


def test_chinese_is_really_chinese() -> None:
    """A zh_CN entry that is just the English text back is a forgotten translation."""
    lazy = [
        entry.id for entry in catalog("zh_CN")
        if entry.id and isinstance(entry.string, str) and entry.string == entry.id
        and any(ch.isalpha() and ch.isascii() for ch in entry.id.replace("{", "").split("}")[-1])
        and len(entry.id) > 12
    ]
    assert not lazy, f"zh_CN left in English: {lazy}"
