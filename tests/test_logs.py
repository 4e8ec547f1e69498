"""The bot's log: each line names the update or job run it belongs to, mobile numbers are masked,
message texts (customers' addresses) are not logged, and ``LOG_FORMAT=json`` writes one JSON
object per line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from telegram import Update
from telegram.ext import TypeHandler

import jobs.outbox
from bot import cli, logs
from bot.settings import Settings
from models.staff import Role
from tests.shop import Shop

PHONE = "13812345678"
ADDRESS = "北京市朝阳区建国路88号"
said = logging.getLogger("tests.logs")


@pytest.fixture
def root_logger(monkeypatch: pytest.MonkeyPatch) -> Iterator[logging.Logger]:
    """The root logger at INFO; as it was afterwards."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    yield root
    root.setLevel(level)


@pytest.fixture
def text_log(root_logger: logging.Logger) -> io.StringIO:
    stream = io.StringIO()
    root_logger.addHandler(logs.handler(stream, "text"))
    return stream


def logging_handler(seen: list[int], *, fail: bool = False) -> TypeHandler[Update, Any]:
    """A handler after all others that logs a customer's phone number."""

    async def callback(update: Update, context: Any) -> None:
        seen.append(update.update_id)
        said.info("customer %s wrote", PHONE)
        if fail:
            raise RuntimeError(f"no customer with phone {PHONE}")

    return TypeHandler(Update, callback)


async def test_a_line_carries_its_update_id_and_no_phone_number_or_address(
    shop: Shop, text_log: io.StringIO
) -> None:
    advisor = await shop.hire("Chen Advisor", Role.advisor)
    seen: list[int] = []
    shop.app.add_handler(logging_handler(seen), group=900)

    await advisor.send(f"customer at {ADDRESS}, call {PHONE}")
    [update_id] = seen
    [line] = [line for line in text_log.getvalue().splitlines() if "tests.logs" in line]
    assert f"INFO tests.logs [u:{update_id}]: customer 138****5678 wrote" in line
    assert PHONE not in text_log.getvalue()


async def test_a_failed_update_is_logged_without_its_text(
    shop: Shop, text_log: io.StringIO
) -> None:
    advisor = await shop.hire("Chen Advisor", Role.advisor)
    seen: list[int] = []
    shop.app.add_handler(logging_handler(seen, fail=True), group=900)

    await advisor.send(f"customer at {ADDRESS}, call {PHONE}")
    [update_id] = seen
    [error] = shop.errors
    assert isinstance(error, RuntimeError)
    shop.errors.clear()
    output = text_log.getvalue()
    [failed] = [line for line in output.splitlines() if "failed" in line and "ERROR" in line]
    assert failed.endswith(f"ERROR bot.application [u:{update_id}]: update {update_id} "
                           f"(a message from user {advisor.user_id}) failed")
    assert "RuntimeError: no customer with phone 138****5678" in output  # the traceback
    assert PHONE not in output
    assert ADDRESS not in output


async def test_a_job_run_carries_its_job_id(
    shop: Shop, text_log: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def sent_some(services: Any, now: Any) -> int:
        said.info("sending to %s", PHONE)
        return 2

    monkeypatch.setattr(jobs.outbox, "run", sent_some)
    [job] = shop.app.job_queue.get_jobs_by_name("outbox:telegram")
    await job.run(shop.app)
    await job.run(shop.app)

    lines = [line for line in text_log.getvalue().splitlines() if "[job:" in line]
    assert [line.split(" ", 2)[2] for line in lines] == [
        "INFO tests.logs [job:outbox:telegram:1]: sending to 138****5678",
        "INFO jobs.outbox [job:outbox:telegram:1]: outbox: 2 kept message(s) sent",
        "INFO tests.logs [job:outbox:telegram:2]: sending to 138****5678",
        "INFO jobs.outbox [job:outbox:telegram:2]: outbox: 2 kept message(s) sent",
    ]
    assert logs.context_id.get() is None  # the run's id ended with it


async def test_log_format_json_writes_one_object_per_line(
    shop: Shop, root_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    monkeypatch.setattr(root_logger, "handlers", [])  # as in a new process (not pytest's)
    settings = Settings(_env_file=None, log_format="json", log_level="INFO")  # type: ignore[call-arg]
    cli.configure_logging(settings, verbose=True)
    advisor = await shop.hire("Chen Advisor", Role.advisor)
    seen: list[int] = []
    shop.app.add_handler(logging_handler(seen, fail=True), group=900)

    said.warning("outside any update: %s", PHONE)
    await advisor.send(f"call {PHONE}")
    shop.errors.clear()

    lines = [json.loads(line) for line in stderr.getvalue().splitlines()]
    assert lines and all(set(line) >= {"time", "level", "logger", "id", "message"}
                         for line in lines)
    [update_id] = seen
    [ours] = [line for line in lines if line["logger"] == "tests.logs" and line["id"]]
    assert ours["id"] == f"u:{update_id}"
    assert ours["level"] == "INFO"
    assert ours["message"].startswith("customer 138****5678 wrote")
    [failed] = [line for line in lines if line["level"] == "ERROR"]
    assert failed["id"] == f"u:{update_id}"
    assert "RuntimeError: no customer with phone 138****5678" in failed["exc_info"]
    [outside] = [line for line in lines if line["level"] == "WARNING"]
    assert outside["id"] is None
    assert outside["message"] == "outside any update: 138****5678"
    assert PHONE not in stderr.getvalue()


@pytest.mark.parametrize(("text", "masked"), [
    ("13812345678", "138****5678"),
    ("+86 138-1234-5678 or 8613912345678", "138****5678 or 139****5678"),
    ("order 2026120113812345678", "order 2026120113812345678"),  # part of a longer number
    ("12812345678 is no mobile number", "12812345678 is no mobile number"),
])
def test_mobile_numbers_are_masked(text: str, masked: str) -> None:
    assert logs.mask(text) == masked


def test_a_bad_log_format_is_one_line() -> None:
    with pytest.raises(Exception, match="log_format"):
        Settings(_env_file=None, log_format="xml")  # type: ignore[call-arg]
