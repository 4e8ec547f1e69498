"""Every parser of what people type, fed anything (hypothesis): it answers with a value or a
``Refused``, never another exception, and what it keeps fits its column. Bounded so the suite
stays quick; the examples that once crashed are pinned with ``@example``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from models import plate
from models.customer import normalize_phone
from models.equipment import parse_amount as damage_amount
from models.extra_item import parse_estimate
from models.money import parse_fen
from models.parts import parse_amount as compensation_amount
from models.parts import parse_expected, parse_quantity
from models.report import parse_period, parse_range
from models.rules import Refused
from models.shop_time import ShopCalendar, parse_day, parse_days
from models.training import parse_start
from models.work_order import MAX_ITEM_LENGTH, parse_items, split_standard_hours

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 30)
NOW = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
CALENDAR = ShopCalendar(SHANGHAI)

# What people (and fuzzers) type: any text, plus the shapes that reach deep into the parsers.
TYPED = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="0123456789.,-/ :年月日号eE+¥元|｜个件hx\x00\n", max_size=40),
    st.from_regex(r"\A[0-9]{1,40}(\.[0-9]{0,5})?\Z"),
    st.from_regex(r"\A[0-9]{1,4}[-/.年][0-9]{1,3}[-/.月][0-9]{1,3}日?( [0-9]{1,3}:[0-9]{2})?\Z"),
)
FUZZ = settings(max_examples=150, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


def answers(parse: Callable[[str], Any], text: str) -> Any:
    """The parser's value, or None when it refused in words."""
    try:
        return parse(text)
    except Refused:
        return None


PARSERS: dict[str, Callable[[str], Any]] = {
    "estimate": parse_estimate,
    "compensation": compensation_amount,
    "damage": damage_amount,
    "quantity": parse_quantity,
    "expected day": lambda text: parse_expected(text, TODAY),
    "notice start": lambda text: parse_start(text, SHANGHAI, TODAY),
    "report period": lambda text: parse_period(text, CALENDAR, NOW),
    "report range": lambda text: parse_range(text, CALENDAR, NOW),
}


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(text=TYPED)
@example(text="1e30").via("found by fuzzing")
@example(text="1E+28").via("found by fuzzing")
@example(text="9" * 30).via("found by fuzzing")
@example(text="9" * 5000).via("found by fuzzing")
@example(text="2026-02-30 14:00").via("an impossible day")
@example(text="99999-1-1").via("a giant year")
def test_a_parser_answers_or_refuses(name: str, text: str) -> None:
    answers(PARSERS[name], text)


@FUZZ
@given(text=TYPED)
def test_amounts_are_whole_fen_within_reach(text: str) -> None:
    fen = parse_fen(text)
    assert fen is None or 0 <= fen < 10**14


@FUZZ
@given(text=TYPED)
def test_days_are_real_days(text: str) -> None:
    day = parse_day(text, TODAY)
    assert day is None or 1900 <= day.year <= 2999
    try:
        assert parse_days(text) <= frozenset(range(7))
    except ValueError:
        pass  # parse_days reads settings, not chat: a ValueError names the bad setting


@FUZZ
@given(text=TYPED)
def test_plates_and_phones(text: str) -> None:
    typed = plate.normalize(text)
    assert not plate.is_plausible(typed) or len(typed) <= plate.MAX_LENGTH
    phone = normalize_phone(text)
    assert phone is None or (phone.isdigit() and len(phone) <= 12)


@FUZZ
@given(text=st.text(max_size=400))
def test_items_and_their_hours(text: str) -> None:
    for item in parse_items(text):
        description, minutes = split_standard_hours(item)
        assert description == description.strip()
        assert minutes is None or 1 <= minutes <= 99 * 60
    assert all(item.strip() for item in parse_items(text))
    assert MAX_ITEM_LENGTH == 200  # the column a step checks against before saving
