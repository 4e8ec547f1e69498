"""The files a shop deploys with say what the bot understands: every setting they name is one
of the bot's, every command they give parses, and the three agree on how the bot starts.
The image itself is built and run by ``tests/test_image.py``."""

from __future__ import annotations

import configparser
import json
import re
import shlex
from pathlib import Path

from bot.cli import build_parser
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {name.upper() for name in Settings.model_fields}
NOT_THE_BOTS = {"POSTGRES_PASSWORD"}  # compose.yaml's PostgreSQL


def _parses(argv: list[str]) -> None:
    build_parser().parse_args(argv)  # argparse exits (SystemExit) on anything it refuses


def test_the_env_example_names_only_real_settings() -> None:
    names = re.findall(r"^#?([A-Z][A-Z0-9_]+)=", (ROOT / "deploy/env.example").read_text(),
                       re.MULTILINE)
    assert {"WECOM_CORP_ID", "TELEGRAM_BOT_TOKEN", "DATABASE_URL", "BACKUP_DIR"} <= set(names)
    unknown = set(names) - SETTINGS - NOT_THE_BOTS
    assert not unknown, f"deploy/env.example names settings the bot does not have: {unknown}"


def test_the_image_starts_what_compose_and_systemd_start() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    [entrypoint] = re.findall(r"^ENTRYPOINT (\[.*\])$", dockerfile, re.MULTILINE)
    [command] = re.findall(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)
    assert json.loads(entrypoint) == ["workshop-bot"]
    image_command = json.loads(command)
    _parses(image_command)
    assert image_command == ["run", "--upgrade"]  # the schema current before the bot starts
    for name in re.findall(r"^\s+([A-Z_]+)=", dockerfile.split("ENV PATH=", 1)[1],
                           re.MULTILINE):
        assert name in SETTINGS, f"the Dockerfile sets {name}, which is not a setting"
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    assert re.search(r"^USER workshop$", dockerfile, re.MULTILINE)  # not root

    compose = (ROOT / "compose.yaml").read_text()
    [compose_command] = re.findall(r"^\s+command: (\[.*\])$", compose, re.MULTILINE)
    assert json.loads(compose_command) == image_command
    assert "condition: service_healthy" in compose  # PostgreSQL answers before the bot starts
    for name in re.findall(r"^      ([A-Z_]+): ", compose, re.MULTILINE):
        assert name in SETTINGS | {"POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD"}, name

    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((ROOT / "deploy/workshop-bot.service").read_text())
    program, *arguments = shlex.split(unit["Service"]["ExecStart"])
    assert program.endswith("/bin/workshop-bot")
    assert arguments == image_command
    assert unit["Service"]["User"] == "workshop"
    assert unit["Service"]["KillSignal"] == "SIGTERM"
