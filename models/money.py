"""Amounts people type (W5 estimates, W6 and W8 compensations): one reader for all of them.

"300", "¥85.5元", "1,200", "８０" (full width) → fen. Anything else — exponents (``1e30``),
thirty nines, more than two decimals, signs, words — is not an amount: ``None``, never an
exception, so a conversation step can answer and stay where it is.
"""

from __future__ import annotations

import re
import unicodedata

# Up to 12 digits of yuan (far above any limit a caller sets) and at most two decimals.
_AMOUNT = re.compile(r"^([0-9]{1,12})(?:\.([0-9]{1,2}))?$")
MAX_TYPED = 40  # characters: a longer answer is not an amount whatever it holds


def parse_fen(text: str) -> int | None:
    """The amount in fen, or None when ``text`` is not a plain amount of yuan."""
    if len(text) > MAX_TYPED:
        return None
    cleaned = unicodedata.normalize("NFKC", text).strip()
    for mark in ("¥", "￥", "元", "RMB", "rmb"):
        cleaned = cleaned.replace(mark, "")
    cleaned = cleaned.replace(",", "").strip()
    match = _AMOUNT.match(cleaned)
    if match is None:
        return None
    yuan, cents = match.groups()
    return int(yuan) * 100 + int((cents or "").ljust(2, "0"))
