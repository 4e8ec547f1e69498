"""Mainland licence plates: normalise what people type, tell a valid plate from a typo, compare
a plate read from a photo with the order's plate, and pick plate-shaped strings out of OCR text.

The grammar (GA 36 and the new-energy rules):

* fuel plates, 7 characters: province, issuing-office letter, five serial characters; the last
  may instead be a special-use mark: 挂 trailer, 学 learner, 警 police, 港/澳 cross-border,
  领 consulate, 试 test, 超 oversize;
* new-energy plates, 8 characters: province, letter, then D/F first and four digits last (small
  cars) or five digits and D/F last (large vehicles);
* embassy plates: 使 and six digits (three for the embassy, three for the car).

Plates use no letter I and no letter O, so a serial position never holds them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
SPECIAL_MARKS = "挂学警港澳领试超"
_LETTER = "A-HJ-NP-Z"  # plates use no I and no O
_ALNUM = "A-HJ-NP-Z0-9"
_STANDARD_BODY = rf"[{_LETTER}][{_ALNUM}]{{4}}[{_ALNUM}{SPECIAL_MARKS}]"
_NEW_ENERGY_BODY = rf"[{_LETTER}](?:[DF][{_ALNUM}][0-9]{{4}}|[0-9]{{5}}[DF])"

# 7 characters: province, issuing office letter, five serial characters (the last may be a
# special-use mark).
STANDARD = re.compile(rf"^[{PROVINCES}]{_STANDARD_BODY}$")
# 8 characters, new-energy vehicles: small cars D/F first, large vehicles D/F last.
NEW_ENERGY = re.compile(rf"^[{PROVINCES}]{_NEW_ENERGY_BODY}$")
EMBASSY = re.compile(r"^使[0-9]{6}$")
# A plate whose province character was not read: the rest of a fuel or new-energy plate.
BODY = re.compile(rf"^(?:{_STANDARD_BODY}|{_NEW_ENERGY_BODY})$")
_SEPARATORS = re.compile(r"[\s·•・.\-_]+")
MAX_LENGTH = 16


def normalize(text: str) -> str:
    """Upper case, half-width, without spaces or the dot people type after the prefix."""
    text = unicodedata.normalize("NFKC", text)
    return unicodedata.normalize("NFKC", _SEPARATORS.sub("", text).upper())


def is_mainland(plate: str) -> bool:
    """Whether an already normalised plate has a mainland format (fuel, new-energy, embassy)."""
    return bool(STANDARD.match(plate) or NEW_ENERGY.match(plate) or EMBASSY.match(plate))


def is_plausible(plate: str) -> bool:
    """Good enough to keep after an explicit confirm: letters, digits or CJK, 2..16 long."""
    return 2 <= len(plate) <= MAX_LENGTH and all(
        ch.isalnum() for ch in plate
    )


def format_plate(plate: str) -> str:
    """京A·12345: the middle dot after the province and office letter of a mainland fuel or
    new-energy plate; anything else as it is."""
    if STANDARD.match(plate) or NEW_ENERGY.match(plate):
        return f"{plate[:2]}·{plate[2:]}"
    return plate


class Verdict(StrEnum):
    MATCH = "match"  # every character equal, province included
    UNSURE = "unsure"  # one character differs, or the province was not read
    MISMATCH = "mismatch"  # two or more characters differ (or the lengths do)
    NO_PLATE = "no_plate"  # nothing plate-like was read


@dataclass(frozen=True)
class PlateVerdict:
    kind: Verdict
    read: str | None  # the normalised plate read (without its province when that was unread)
    expected: str  # the order's plate, normalised
    differs: tuple[int, ...]  # positions in ``expected`` that the reading does not confirm


def _plate_like(plate: str) -> bool:
    return is_mainland(plate) or bool(BODY.match(plate))


def _differences(read: str, expected: str) -> tuple[int, ...]:
    """Positions of ``expected`` not matched by ``read``: character by character when the
    lengths agree, else everything between the common start and the common end."""
    if len(read) == len(expected):
        return tuple(i for i, (a, b) in enumerate(zip(read, expected, strict=True)) if a != b)
    start = 0
    while start < min(len(read), len(expected)) and read[start] == expected[start]:
        start += 1
    end = 0
    while (end < min(len(read), len(expected)) - start
           and read[-1 - end] == expected[-1 - end]):
        end += 1
    span = range(start, max(len(expected) - end, start + 1))
    # a longer reading that begins with the whole expected plate: its last character is marked
    return tuple(i for i in span if i < len(expected)) or tuple(range(len(expected))[-1:])


def compare(read: str | None, expected: str) -> PlateVerdict:
    """The plate read from a photo against the order's plate. A reading without its province
    (``BODY``) is compared with the rest of the order's plate and is at best unsure; readings of
    another length than the order's plate are a mismatch."""
    want = normalize(expected)
    got = normalize(read) if read else ""
    if not got or not _plate_like(got):
        return PlateVerdict(Verdict.NO_PLATE, None, want, ())
    if got == want:
        return PlateVerdict(Verdict.MATCH, got, want, ())
    if BODY.match(got):  # the province unread: the rest must line up with the rest
        aligned = len(got) == len(want) - 1
        differs = (0, *(i + 1 for i in _differences(got, want[1:])))
    else:
        aligned = len(got) == len(want)
        differs = _differences(got, want)
    kind = Verdict.UNSURE if aligned and len(differs) == 1 else Verdict.MISMATCH
    return PlateVerdict(kind, got, want, differs)


# OCR confusions fixed in plate_candidates, only where the grammar leaves one choice: plates
# have no letter O or I, so in a serial position (the third character on) an O can only be the
# digit 0 and an I only the digit 1. Nothing else is guessed: 0/D, 8/B, 2/Z, 5/S are all legal
# in serial positions, and the province and office letter are taken as read.
_SERIAL_FIXES = str.maketrans({"O": "0", "I": "1"})
_LENGTHS = (8, 7)  # new-energy first: a fuel-plate window inside it would also parse


def _fixed(window: str, serial_from: int) -> str:
    return window[:serial_from] + window[serial_from:].translate(_SERIAL_FIXES)


def _plates_in(text: str) -> list[str]:
    found = []
    for start, ch in enumerate(text):
        if ch not in PROVINCES and ch != "使":
            continue
        for length in _LENGTHS:
            window = _fixed(text[start:start + length], 2 if ch != "使" else 1)
            if len(window) == length and is_mainland(window):
                found.append(window)
                break
    return found


def _bodies_in(text: str) -> list[str]:
    """The rest of a plate whose province was not read: the whole line is a plate's body, or a
    line of plate length whose first character is not a province and the rest is a body."""
    found = []
    if BODY.match(whole := _fixed(text, 1)):
        found.append(whole)
    if len(text) in _LENGTHS and text[0] not in PROVINCES:
        rest = _fixed(text[1:], 1)
        if BODY.match(rest):
            found.append(rest)
    return found


def plate_candidates(texts: Iterable[tuple[str, float]]) -> list[str]:
    """Plate-shaped strings in OCR lines (text, confidence), normalised, best first: whole plates
    by the confidence of their line, then readings without the province likewise."""
    plates: list[tuple[float, str]] = []
    bodies: list[tuple[float, str]] = []
    for text, confidence in texts:
        line = "".join(ch for ch in normalize(text) if ch.isalnum())
        whole = _plates_in(line)
        plates.extend((confidence, plate) for plate in whole)
        if not whole:
            bodies.extend((confidence, body) for body in _bodies_in(line))
    ranked = [plate for _, plate in sorted(plates, key=lambda item: -item[0])]
    ranked += [body for _, body in sorted(bodies, key=lambda item: -item[0])]
    return list(dict.fromkeys(ranked))


_CLOSENESS = {Verdict.MATCH: 0, Verdict.UNSURE: 1, Verdict.MISMATCH: 2, Verdict.NO_PLATE: 3}


def best_verdict(candidates: Iterable[str], expected: str) -> PlateVerdict:
    """The verdict of the candidate closest to the order's plate: a photo may show more than
    one plate (the car behind, a bus alongside). Ties go to the better-ranked candidate."""
    verdicts = [compare(candidate, expected) for candidate in candidates]
    if not verdicts:
        return compare(None, expected)
    return min(verdicts, key=lambda verdict: (_CLOSENESS[verdict.kind], len(verdict.differs)))
