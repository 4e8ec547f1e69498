"""One way to read a day people type (``models.shop_time.parse_day``), and every conversation
that asks for a day reading it: 2026/12/3 works for /campaign as it does for /parts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from models.campaign import Campaign
from models.parts import parse_expected
from models.report import parse_range
from models.rules import Refused
from models.shop_time import ShopCalendar, parse_day
from models.staff import Role
from models.training import parse_start
from tests.flows import customer_visit
from tests.shop import Shop

TODAY = date(2026, 11, 30)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("typed", [
    "2026-12-03", "2026-12-3", "2026/12/3", "2026/12/03", "2026.12.3", "2026年12月3日",
    "2026年12月3号", "2026年12月3", "20261203", " 2026-12-03 ", "2026 / 12 / 3",
    "１２月３日", "２０２６－１２－０３",  # full-width, from a Chinese keyboard
    "12-3", "12/3", "12.3", "12月3日", "12月3号", "12-03",  # this year
])
def test_a_day_is_read_in_every_usual_form(typed: str) -> None:
    assert parse_day(typed, TODAY) == date(2026, 12, 3)


def test_a_day_without_a_year_is_this_year_even_when_it_has_passed() -> None:
    assert parse_day("1/5", TODAY) == date(2026, 1, 5)
    assert parse_day("1月5日", date(2027, 6, 1)) == date(2027, 1, 5)


@pytest.mark.parametrize("typed", [
    "", "   ", "tomorrow", "next Friday", "明天", "2026", "2026-12", "12", "12-", "-12-3",
    "2026-13-01", "2026-02-30", "2026-02-29", "2/30", "0/1", "12/0", "13月1日", "12月32日",
    "0000-01-01", "1899-12-31", "3000-01-01", "2026-12-03x", "x2026-12-03", "2026-12-03 14:00",
    "2026--12-3", "2026/12//3", "1-2-3", "123-4-5", "2026-123-4", "2026-12-345",
    "99999999999999999999-1-1", "1" * 5000, "12/3/2026", "3.12.2026", "２０２６－１３－０１",
    "2026年12月", "20261332", "٢٠٢٦-١٢-٠٣x",
])
def test_nonsense_impossible_days_and_giant_numbers_are_none_not_an_error(typed: str) -> None:
    assert parse_day(typed, TODAY) is None


def test_a_leap_day_is_a_day_in_a_leap_year_only() -> None:
    assert parse_day("2028-02-29", TODAY) == date(2028, 2, 29)
    assert parse_day("2/29", date(2028, 1, 1)) == date(2028, 2, 29)
    assert parse_day("2/29", TODAY) is None


# --- the places that read a typed day --------------------------------------------------------


def test_parts_expected_day_reads_every_form_and_refuses_the_past() -> None:
    assert parse_expected("12月3日", TODAY) == date(2026, 12, 3)
    assert parse_expected("2026.12.3", TODAY) == date(2026, 12, 3)
    for typed, code in (("2026-12-32", "date_invalid"), ("soon", "date_invalid"),
                        ("11/29", "date_in_past")):
        with pytest.raises(Refused) as refused:
            parse_expected(typed, TODAY)
        assert refused.value.code == code, typed


def test_a_notice_time_reads_the_day_in_every_form() -> None:
    want = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
    for typed in ("2026-12-03 14:00", "2026/12/3 14:00", "12月3日 14:00", "12月3日14:00",
                  "12-3 14：00", "2026-12-03T14:00"):
        assert parse_start(typed, SHANGHAI, TODAY) == want, typed
    for typed in ("2026-12-03", "14:00", "2026-12-0314:00", "2026-12-03 25:00",
                  "2026-02-30 14:00", "tomorrow 14:00"):
        with pytest.raises(Refused):
            parse_start(typed, SHANGHAI, TODAY)


def test_a_report_range_reads_both_days_in_every_form() -> None:
    calendar = ShopCalendar(SHANGHAI)
    now = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    for typed in ("2026-10-01 2026-10-31", "2026/10/1 至 2026/10/31", "10月1日到10月31日",
                  "10/1 ~ 10/31", "2026.10.1 to 2026.10.31", "2026-10-01–2026-10-31"):
        period = parse_range(typed, calendar, now)
        assert (period.first_day, period.last_day) == (date(2026, 10, 1), date(2026, 10, 31)), \
            typed
    for typed in ("2026-10-01", "2026-10-01 2026-10-31 2026-11-01", "2026-10-01 2026-10-32",
                  "October"):
        with pytest.raises(Refused) as refused:
            parse_range(typed, calendar, now)
        assert refused.value.code == "report_range_invalid", typed


# --- in chat ---------------------------------------------------------------------------------


async def test_campaign_takes_a_date_written_with_slashes(shop: Shop) -> None:
    """/parts took 2026/12/3 and /campaign refused it; both now read the same way."""
    boss = await shop.hire("Ma Boss", Role.supervisor)
    clerk = await shop.hire("Li Clerk", Role.tracking_clerk)
    await customer_visit(shop, clerk.staff_id)  # type: ignore[arg-type]

    await boss.send("/campaign")
    await boss.tap("free inspection week")
    await boss.send("Winter check")
    await boss.send("Free 20-point check and a car wash")
    assert await boss.send("2026/12/32") == ["Please send a date like 2026-12-01."]
    assert await boss.send("2026/12/3") == [
        "Where does it take place? The address goes into the invitation. Or tap “No address”."]
    await boss.send("Shop, 1 Jianguo Road")
    replies = await boss.tap("All customers")
    assert "Date: 3 Dec 2026 · Address: Shop, 1 Jianguo Road" in replies[0]
    await boss.tap("Create campaign")
    async with shop.db.session() as session:
        (campaign,) = (await session.exec(select(Campaign))).all()
    assert campaign.event_on == date(2026, 12, 3)
