"""The system's Chromium for the browser tests (the playground, the customer's page).

Playwright drives Debian's ``/usr/bin/chromium`` (installed by ``.ci/run``), never a browser it
downloads. Without it a browser test is skipped, except under CI, where it fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI runs the browser tests: install Chromium at {CHROMIUM} "
                    "(.ci/run does, with apt)")
    pytest.skip(f"no Chromium at {CHROMIUM}")


def browser_env() -> dict[str, str]:
    """The environment for Chromium: the real clock (libfaketime in .ci/run is for the bot)."""
    return {name: value for name, value in os.environ.items()
            if name != "LD_PRELOAD" and not name.startswith("FAKETIME")}


def shots(name: str) -> Path:
    """The folder for one test's screenshots (kept as CI artefacts)."""
    folder = ARTIFACTS / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
