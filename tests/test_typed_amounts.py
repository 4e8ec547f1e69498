"""Amounts and quantities people type (W5 estimate, W6 and W8 compensation, W6 quantity): any
text gives a number or a refusal with the step's own code, never an exception."""

from __future__ import annotations

import pytest

from models.equipment import parse_amount as damage_amount
from models.extra_item import parse_estimate
from models.money import parse_fen
from models.parts import parse_amount as compensation_amount
from models.parts import parse_quantity
from models.rules import Refused

HOSTILE = ["1e30", "1E+28", "9" * 30, "9" * 5000, "NaN", "-inf", "Infinity", "0x10", "1_000",
           "12.345", "-5", "+5", "", " ", "\x00", "5\x00", "¥", "元", "1.2.3", "٣٠٠", "1e2"]


@pytest.mark.parametrize(("text", "fen"), [
    ("300", 30000), ("¥85.5元", 8550), ("1,200", 120000), ("８０", 8000), (" 0.05 ", 5),
    ("300元", 30000), ("￥12.30", 1230), ("0", 0),
])
def test_amounts_people_type(text: str, fen: int) -> None:
    assert parse_fen(text) == fen


@pytest.mark.parametrize("text", HOSTILE)
def test_anything_else_is_not_an_amount(text: str) -> None:
    assert parse_fen(text) is None


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize(("parse", "code"), [
    (parse_estimate, "estimate_invalid"), (compensation_amount, "parts_amount_invalid"),
    (damage_amount, "damage_amount_invalid"),
])
def test_each_step_refuses_with_its_own_words(parse: object, code: str, text: str) -> None:
    with pytest.raises(Refused) as refused:
        parse(text)  # type: ignore[operator]
    assert refused.value.code == code


def test_limits_of_each_step() -> None:
    assert parse_estimate("1000000 0") == (100_000_000, 0)
    with pytest.raises(Refused):
        parse_estimate("1000000.01")
    assert compensation_amount("100000") == 10_000_000
    for parse in (compensation_amount, damage_amount):
        with pytest.raises(Refused):
            parse("0")
        with pytest.raises(Refused):
            parse("100000.01")


@pytest.mark.parametrize(("text", "code"), [
    ("0", "parts_quantity_zero"), ("100", "parts_quantity_too_many"),
    ("9" * 5000, "parts_quantity_invalid"), ("1e3", "parts_quantity_invalid"),
    ("2\x00", "parts_quantity_invalid"), ("x" * 10_000, "parts_quantity_invalid"),
])
def test_quantities(text: str, code: str) -> None:
    with pytest.raises(Refused) as refused:
        parse_quantity(text)
    assert refused.value.code == code
    assert parse_quantity("2个") == 2 and parse_quantity("3 pcs") == 3
    assert parse_quantity("２件") == 2
