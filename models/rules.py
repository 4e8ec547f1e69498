"""How a rule says no: one exception with a code the handlers turn into a sentence."""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    """A rule refuses the action; ``code`` names why, ``params`` fill the message."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params
