"""``constraints.txt`` pins releases from the package index, never a file on one machine (a pin
that named a wheel in /tmp once made every fresh install fail), and pins every dependency that
``pyproject.toml`` names."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==[A-Za-z0-9.+!-]+$")


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_pin_is_an_index_release_and_every_dependency_is_pinned() -> None:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"not a plain name==version pin: {line}"
        pins[normal(match.group(1))] = line
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["test"]
    names = {normal(re.split(r"[\[<>=!~ ;]", spec, maxsplit=1)[0]) for spec in wanted}
    assert names - set(pins) == set(), f"not pinned: {sorted(names - set(pins))}"
