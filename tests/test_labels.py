"""One table of words per enum (``handlers/chat/labels.py``): every member has its words, and a
value the table does not know is shown as stored rather than failing."""

from __future__ import annotations

from enum import StrEnum
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import Translator
from handlers.chat import labels
from models.call_log import Topic
from models.campaign import CampaignKind
from models.complaint import ComplaintStatus
from models.customer import VisitKind
from models.extra_item import Decision
from models.followup import FollowUpKind
from models.letter import LetterChannel, LetterKind
from models.staff import Role
from models.work_order import OrderStatus

TABLES: list[tuple[dict[str, str], type[StrEnum]]] = [
    (labels.ORDER_STATUS_NAMES, OrderStatus), (labels.DECISION_NAMES, Decision),
    (labels.ROLE_NAMES, Role), (labels.FOLLOWUP_KIND_NAMES, FollowUpKind),
    (labels.TOPIC_NAMES, Topic), (labels.COMPLAINT_STATUS_NAMES, ComplaintStatus),
    (labels.VISIT_KIND_NAMES, VisitKind), (labels.CAMPAIGN_KIND_NAMES, CampaignKind),
    (labels.LETTER_KIND_NAMES, LetterKind), (labels.LETTER_CHANNEL_NAMES, LetterChannel),
]


@pytest.mark.parametrize(("table", "enum"), TABLES, ids=[e.__name__ for _t, e in TABLES])
def test_every_member_has_its_words(table: dict[str, str], enum: type[StrEnum]) -> None:
    assert set(table) == set(enum)
    assert len(set(table.values())) == len(table), "two members share their words"


def test_every_table_is_listed_here() -> None:
    names = {name for name in vars(labels) if name.endswith("_NAMES")}
    assert names == {name for name, value in vars(labels).items()
                     if any(value is table for table, _enum in TABLES)}


def test_words_in_the_readers_language_and_an_unknown_value_as_stored() -> None:
    zh = Translator("zh_CN", ZoneInfo("Asia/Shanghai"))
    en = Translator("en", ZoneInfo("Asia/Shanghai"))
    assert labels.complaint_status_name(en, "escalated") == "with the supervisor"
    assert labels.complaint_status_name(zh, "escalated") == "业务主管处理中"
    assert labels.role_names(en, ["supervisor", "technician"]) == "Technician, Supervisor"
    assert labels.role_names(en, []) == "—"
    assert labels.topic_names(en, [Topic.care_tips, "usage_opinion"]) == (
        "Car-care tips, Usage and opinions")
    assert labels.followup_kind_name(en, "a_kind_from_a_newer_version") == (
        "a_kind_from_a_newer_version")
    assert labels.letter_channel_name(en, None) == "—"


def test_one_way_to_show_a_day_and_a_window() -> None:
    """The translator shows every day as 3 Dec 2026, a moment by its day in the shop's zone, and
    a window by its first and last whole day (its end is the first instant after it)."""
    from datetime import UTC, date, datetime

    zh = Translator("zh_CN", ZoneInfo("Asia/Shanghai"))
    en = Translator("en", ZoneInfo("Asia/Shanghai"))
    late_evening = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 January in Shanghai
    assert en.day(late_evening) == "1 Jan 2027"
    assert zh.day(late_evening) == "2027年1月1日"
    assert en.day(date(2026, 12, 3)) == "3 Dec 2026"
    assert en.day(None) == "—"
    start = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)  # 3 December, 00:00 in Shanghai
    until = datetime(2026, 12, 7, 16, 0, tzinfo=UTC)  # 8 December, 00:00: the 7th is the last
    assert en.last_day(until) == "7 Dec 2026"
    assert en.window(start, until) == "3 Dec 2026 to 7 Dec 2026"
    assert zh.window(start, until) == "2026年12月3日 至 2026年12月7日"
    assert en.typed_day(date(2026, 12, 3)) == zh.typed_day(date(2026, 12, 3)) == "2026-12-03"


def test_a_moment_shows_its_date_spelled_out_and_its_year_when_not_this_years() -> None:
    """12月7日 00:05 / 7 Dec 00:05, never the ambiguous 12-07; the year only when the moment
    is not in the shop's current year (by the shop's clock, passed in), or none is known."""
    from datetime import UTC, datetime

    shanghai = ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 12, 6, 16, 10, tzinfo=UTC)  # 7 December 2026, 00:10 in Shanghai
    zh, en = Translator("zh_CN", shanghai, now), Translator("en", shanghai, now)
    opened = datetime(2026, 12, 6, 16, 5, tzinfo=UTC)  # 00:05 on the 7th in Shanghai
    assert zh.time(opened) == "12月7日 00:05"
    assert en.time(opened) == "7 Dec 00:05"
    last_year = datetime(2025, 12, 31, 15, 59, tzinfo=UTC)  # 23:59 on New Year's Eve
    assert zh.time(last_year) == "2025年12月31日 23:59"
    assert en.time(last_year) == "31 Dec 2025 23:59"
    new_year = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # 00:00 on 1 January 2027 there
    assert en.time(new_year) == "1 Jan 2027 00:00"  # next year, by the shop's zone
    assert Translator("en", shanghai).time(opened) == "7 Dec 2026 00:05"  # no clock: a year
