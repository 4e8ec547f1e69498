"""Mainland licence plates: normalise what people type, tell a valid plate from a typo."""

from __future__ import annotations

import re
import unicodedata

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_LETTER = "A-HJ-NP-Z"  # plates use no I and no O
_ALNUM = "A-HJ-NP-Z0-9"

# 7 characters: province, issuing office letter, five serial characters (the last may be a
# special-use mark such as 学 learner, 警 police, 挂 trailer, 港/澳 cross-border).
STANDARD = re.compile(rf"^[{PROVINCES}][{_LETTER}][{_ALNUM}]{{4}}[{_ALNUM}挂学警港澳领试超]$")
# 8 characters, new-energy vehicles: small cars D/F first, large vehicles D/F last.
NEW_ENERGY = re.compile(
    rf"^[{PROVINCES}][{_LETTER}](?:[DF][{_ALNUM}][0-9]{{4}}|[0-9]{{5}}[DF])$"
)
_SEPARATORS = re.compile(r"[\s·•・.\-_]+")
MAX_LENGTH = 16


def normalize(text: str) -> str:
    """Upper case, half-width, without spaces or the dot people type after the prefix."""
    text = unicodedata.normalize("NFKC", text)
    return _SEPARATORS.sub("", text).upper()


def is_mainland(plate: str) -> bool:
    """Whether an already normalised plate has a mainland format (fuel or new-energy)."""
    return bool(STANDARD.match(plate) or NEW_ENERGY.match(plate))


def is_plausible(plate: str) -> bool:
    """Good enough to keep after an explicit confirm: letters, digits or CJK, 2..16 long."""
    return 2 <= len(plate) <= MAX_LENGTH and all(
        ch.isalnum() for ch in plate
    )
