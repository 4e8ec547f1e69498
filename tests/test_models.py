"""The rules in ``models/`` on their own: no chat, just the database and a ``now``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from models import plate
from models.audit import Actor, AuditEvent
from models.db import Database
from models.extra_item import parse_estimate
from models.rules import Refused
from models.shop_time import ShopCalendar
from models.staff import Role, add_staff
from models.work_order import (
    TRANSITIONS,
    ItemStatus,
    OrderStatus,
    clear_lock,
    confirm_plate,
    items_of,
    mark_item_done,
    open_order,
    parse_items,
    self_check,
)

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
CALENDAR = ShopCalendar(ZoneInfo("Asia/Shanghai"))
ACTOR = Actor(None, None)


@pytest.mark.parametrize(
    ("typed", "normalized", "mainland"),
    [
        ("京A12345", "京A12345", True),
        ("京 a·12345", "京A12345", True),
        ("粤B D12345", "粤BD12345", True),  # small new-energy car, 8 characters
        ("沪A12345D", "沪A12345D", True),  # large new-energy vehicle
        ("粤Z1234港", "粤Z1234港", True),
        ("京Ａ１２３４５", "京A12345", True),  # full-width input
        ("京I12345", "京I12345", False),  # no I on plates
        ("京A1234", "京A1234", False),
        ("WJ12345", "WJ12345", False),
        ("ABC-123", "ABC123", False),
    ],
)
def test_plates(typed: str, normalized: str, mainland: bool) -> None:
    assert plate.normalize(typed) == normalized
    assert plate.is_mainland(normalized) is mainland


def test_plausible_plates() -> None:
    assert plate.is_plausible("WJ12345")
    assert not plate.is_plausible("!!")
    assert not plate.is_plausible("X" * 17)


def test_parse_items() -> None:
    assert parse_items("1. 更换机油\n2、更换机滤\n\n- 检查刹车\n") == [
        "更换机油", "更换机滤", "检查刹车"]
    assert parse_items("  \n \n") == []
    assert parse_items("Change oil\n4 wheel alignment") == ["Change oil", "4 wheel alignment"]


@pytest.mark.parametrize(
    ("text", "fen"),
    [("300 150", (30000, 15000)), ("300，150.5", (30000, 15050)), ("80", (8000, 0)),
     ("¥120元 30元", (12000, 3000))],
)
def test_estimates(text: str, fen: tuple[int, int]) -> None:
    assert parse_estimate(text) == fen


@pytest.mark.parametrize("text", ["abc", "-5", "1 2 3", "1.234", "nan", "", "9999999999"])
def test_bad_estimates(text: str) -> None:
    with pytest.raises(Refused) as caught:
        parse_estimate(text)
    assert caught.value.code == "estimate_invalid"


def test_every_status_has_transitions() -> None:
    assert set(TRANSITIONS) == set(OrderStatus)


async def _order(db: Database, **overrides: object):  # type: ignore[no-untyped-def]
    async with db.session() as session:
        advisor, _ = await add_staff(session, name="A", roles={Role.advisor}, now=NOW,
                                     invite_ttl=timedelta(days=7))
        tech, _ = await add_staff(session, name="T", roles={Role.technician}, now=NOW,
                                  invite_ttl=timedelta(days=7))
        fields = dict(plate_text="京A12345", customer_name="王先生",
                      customer_phone="13812345678", vehicle_model="Camry",
                      complaint="noise", items=["Change oil", "Replace filter"])
        fields.update(overrides)
        order = await open_order(session, advisor=advisor, technician=tech, now=NOW,
                                 actor=ACTOR, calendar=CALENDAR,
                                 **fields)  # type: ignore[arg-type]
        await session.commit()
        return order, advisor, tech


async def test_open_order_validates(db: Database) -> None:
    with pytest.raises(Refused) as caught:
        await _order(db, plate_text="ABC123")
    assert caught.value.code == "plate_invalid"
    order, _, _ = await _order(db, plate_text="WJ12345", plate_confirmed=True)
    assert order.plate == "WJ12345" and not order.plate_is_mainland
    assert order.number.startswith("WO261130-")


async def test_plate_mismatch_locks_after_three(db: Database) -> None:
    order, advisor, tech = await _order(db)
    async with db.session() as session:
        for attempt in (1, 2, 3):
            result = await confirm_plate(session, order_id=order.id, typed="京B54321",
                                         technician=tech, now=NOW, actor=ACTOR, lock_after=3)
            assert result.mismatches == attempt and not result.matched
        assert result.locked
        with pytest.raises(Refused) as caught:
            await confirm_plate(session, order_id=order.id, typed="京A12345",
                                technician=tech, now=NOW, actor=ACTOR, lock_after=3)
        assert caught.value.code == "order_locked"
        with pytest.raises(Refused):
            await clear_lock(session, order_id=order.id, advisor=tech, now=NOW, actor=ACTOR)
        await clear_lock(session, order_id=order.id, advisor=advisor, now=NOW, actor=ACTOR)
        result = await confirm_plate(session, order_id=order.id, typed="京a 12345",
                                     technician=tech, now=NOW, actor=ACTOR, lock_after=3)
        assert result.matched
        await session.commit()
        events = (await session.exec(select(AuditEvent.action))).all()
    assert events.count("order.plate_check") == 4  # the refused try on a locked order is none
    assert "order.clear_lock" in events


async def test_a_typo_does_not_count_as_a_mismatch(db: Database) -> None:
    order, _, tech = await _order(db)
    async with db.session() as session:
        with pytest.raises(Refused) as caught:
            await confirm_plate(session, order_id=order.id, typed="hello", technician=tech,
                                now=NOW, actor=ACTOR, lock_after=3)
    assert caught.value.code == "plate_typo"


async def test_items_and_self_check(db: Database) -> None:
    order, _, tech = await _order(db)
    async with db.session() as session:
        with pytest.raises(Refused):  # no work before the plate check
            items = await items_of(session, order.id)
            await mark_item_done(session, item_id=items[0].id, technician=tech, now=NOW,
                                 actor=ACTOR)
        await confirm_plate(session, order_id=order.id, typed="京A12345", technician=tech,
                            now=NOW, actor=ACTOR, lock_after=3)
        items = await items_of(session, order.id)
        with pytest.raises(Refused) as caught:  # N1–N7: the checklist before any work
            await mark_item_done(session, item_id=items[0].id, technician=tech, now=NOW,
                                 actor=ACTOR)
        assert caught.value.code == "checklist_open"
        await tick_checklist(session, order.id, tech)
        await mark_item_done(session, item_id=items[0].id, technician=tech, now=NOW,
                             actor=ACTOR)
        with pytest.raises(Refused) as caught:
            await mark_item_done(session, item_id=items[0].id, technician=tech, now=NOW,
                                 actor=ACTOR)
        assert caught.value.code == "item_already_done"
        with pytest.raises(Refused) as caught:
            await self_check(session, order_id=order.id, technician=tech, now=NOW,
                             actor=ACTOR)
        assert caught.value.code == "items_open"
        await mark_item_done(session, item_id=items[1].id, technician=tech, now=NOW,
                             actor=ACTOR)
        done = await self_check(session, order_id=order.id, technician=tech,
                                now=NOW + timedelta(hours=1), actor=ACTOR)
        await session.commit()
    assert done.status == OrderStatus.self_checked
    assert done.self_checked_at == NOW + timedelta(hours=1)
    assert all(i.status == ItemStatus.done for i in items)


async def tick_checklist(session, order_id, tech):  # type: ignore[no-untyped-def]
    """The pre-work checklist of a job outside the car, done."""
    from models import checklist

    await checklist.set_job_type(session, order_id=order_id, staff=tech,
                                 job_type=checklist.JobType.outside, on=True, now=NOW,
                                 actor=ACTOR)
    await checklist.choose_types(session, order_id=order_id, staff=tech, now=NOW, actor=ACTOR)
    for box in (checklist.Box.ppe, checklist.Box.cover):
        await checklist.set_tick(session, order_id=order_id, staff=tech, box=box, on=True,
                                 now=NOW, actor=ACTOR)
    await checklist.complete(session, order_id=order_id, staff=tech, now=NOW, actor=ACTOR)


async def test_a_long_list_of_roles_fits_the_audit_trail(db: Database) -> None:
    now = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    roles = {Role.technician, Role.team_leader, Role.inspector, Role.advisor}
    async with db.session() as session:
        staff, _invite = await add_staff(session, name="全能王", roles=roles, now=now,
                                         invite_ttl=timedelta(days=7))
        await session.commit()  # PostgreSQL would refuse a value longer than the column
        event = (await session.exec(
            select(AuditEvent).where(AuditEvent.action == "staff.add"))).one()
    assert event.after is not None and len(event.after) == 32 and event.after.endswith("…")
    assert event.detail == {"after": staff.roles}
