"""The after-sales rules (A2–A11) on their own: windows in shop time, routing to stand-ins,
logging calls, complaints, campaigns, letters and maintenance tasks."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from models.absence import record_absence, route
from models.audit import Actor
from models.call_log import Topic, log_call
from models.campaign import Audience, CampaignKind, create_campaign
from models.complaint import (
    ComplaintStatus,
    assign_back,
    due_for_escalation,
    history,
    mark_escalated,
    record_solution,
)
from models.customer import Customer, Visit, missing_fields, update_archive, vehicles_of
from models.db import Database
from models.followup import (
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    due_reminders,
    mark_reminded,
    no_answer,
    snooze,
    wrong_number,
)
from models.letter import Letter, LetterChannel, record_sent
from models.rules import Refused
from models.shop_time import ShopCalendar
from models.staff import Role, add_staff
from models.visit_flow import log_consultation, schedule_maintenance_calls

SHANGHAI = ShopCalendar(ZoneInfo("Asia/Shanghai"))
ACTOR = Actor(None, None)
# Monday 30 Nov 2026, 15:00 in Shanghai.
NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


def test_first_call_window_is_whole_local_days() -> None:
    start, end = SHANGHAI.window(date(2026, 11, 30), 3, 7)
    assert start == datetime(2026, 12, 3, 0, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert end == datetime(2026, 12, 8, 0, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_windows_survive_daylight_saving() -> None:
    new_york = ShopCalendar(ZoneInfo("America/New_York"))
    start, end = new_york.window(date(2026, 3, 5), 3, 7)  # DST starts on 8 March 2026
    assert start.astimezone(new_york.tz).time() == time(0, 0)
    assert end.astimezone(new_york.tz).time() == time(0, 0)
    assert end - start == timedelta(days=5) - timedelta(hours=1)
    # A 02:30 reminder on the day the clocks jump does not vanish.
    assert new_york.at(date(2026, 3, 8), time(2, 30)).astimezone(new_york.tz).hour == 3


def test_working_hours_and_next_working_day() -> None:
    saturday_evening = datetime(2026, 12, 5, 11, 0, tzinfo=UTC)  # 19:00 local, Saturday
    assert not SHANGHAI.in_working_hours(saturday_evening)
    monday_nine = SHANGHAI.next_working_start(saturday_evening)
    assert SHANGHAI.local(monday_nine).strftime("%a %H:%M") == "Mon 09:00"
    assert SHANGHAI.next_working_day_start(NOW) == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


async def _people(db: Database):  # type: ignore[no-untyped-def]
    async with db.session() as session:
        ttl = timedelta(days=7)
        clerk, _ = await add_staff(session, name="Clerk Li", roles={Role.tracking_clerk},
                                   now=NOW, invite_ttl=ttl)
        standin, _ = await add_staff(session, name="Clerk Wu", roles={Role.tracking_clerk},
                                     now=NOW, invite_ttl=ttl)
        boss, _ = await add_staff(session, name="Boss Ma", roles={Role.supervisor}, now=NOW,
                                  invite_ttl=ttl)
        await session.commit()
    return clerk, standin, boss


async def _consult(db: Database, clerk):  # type: ignore[no-untyped-def]
    async with db.session() as session:
        opened, first = await log_consultation(
            session, clerk=clerk, customer_name="王先生", phone="13812345678",
            plate="京A12345", topic="Asked about the 40,000 km service", now=NOW,
            actor=ACTOR, calendar=SHANGHAI, first_call_window=(3, 7),
        )
        await session.commit()
    assert first is not None
    return opened, first


async def test_consultation_opens_archive_and_first_call(db: Database) -> None:
    clerk, _, _ = await _people(db)
    opened, first = await _consult(db, clerk)
    assert opened.customer.clerk_id == clerk.id and opened.new_customer
    assert first.kind == FollowUpKind.first_call
    assert SHANGHAI.local(first.remind_at).strftime("%m-%d %H:%M") == "12-03 09:00"
    async with db.session() as session:
        vehicles = await vehicles_of(session, opened.customer.id)  # type: ignore[arg-type]
        assert "address" in missing_fields(opened.customer, vehicles)
        assert await due_reminders(session, now=first.remind_at - timedelta(seconds=1)) == []
        due = await due_reminders(session, now=first.remind_at)
        assert [f.id for f in due] == [first.id]
        await mark_reminded(session, followup_id=first.id, staff_id=clerk.id,  # type: ignore[arg-type]
                            now=first.remind_at)
        assert await due_reminders(session, now=first.remind_at + timedelta(hours=1)) == []
        # No answer: counted, and back on the list next working day (Friday 4 Dec).
        later = await no_answer(session, followup_id=first.id,  # type: ignore[arg-type]
                                now=first.remind_at + timedelta(hours=2),
                                calendar=SHANGHAI, actor=ACTOR)
        assert later.attempts == 1
        assert SHANGHAI.local(later.remind_at).strftime("%a %H:%M") == "Fri 09:00"
        with pytest.raises(Refused):
            await snooze(session, followup_id=first.id, until=NOW - timedelta(hours=1),  # type: ignore[arg-type]
                         now=NOW, actor=ACTOR)
        await wrong_number(session, followup_id=first.id, now=NOW, calendar=SHANGHAI,  # type: ignore[arg-type]
                           actor=ACTOR)
        customer = await session.get(Customer, opened.customer.id)
        assert customer is not None and customer.phones == ""


async def test_archive_completes_field_by_field(db: Database) -> None:
    clerk, _, _ = await _people(db)
    opened, _ = await _consult(db, clerk)
    customer_id = opened.customer.id
    steps = [("address", "北京市朝阳区建国路1号"), ("vehicle_model", "Camry"),
             ("vehicle_type", "轿车"), ("cycle_months", "6"),
             ("next_maintenance_on", "2027-05-30"), ("services_wanted", "Pick-up service")]
    async with db.session() as session:
        with pytest.raises(Refused):
            await update_archive(session, customer_id=customer_id, field="cycle_months",  # type: ignore[arg-type]
                                 value="many", now=NOW, actor=ACTOR)
        with pytest.raises(Refused):
            await update_archive(session, customer_id=customer_id, field="phones",  # type: ignore[arg-type]
                                 value="12", now=NOW, actor=ACTOR)
        missing: list[str] = []
        for field, value in steps:
            missing = await update_archive(session, customer_id=customer_id, field=field,  # type: ignore[arg-type]
                                           value=value, now=NOW, actor=ACTOR)
        assert missing == []
        await session.commit()
        visit = await session.get(Visit, opened.visit.id)
        assert visit is not None and visit.archive_completed_at == NOW


async def test_first_call_reached_schedules_the_second(db: Database) -> None:
    clerk, _, _ = await _people(db)
    opened, first = await _consult(db, clerk)
    called = first.remind_at + timedelta(hours=1)
    async with db.session() as session:
        logged = await log_call(
            session, clerk=clerk, customer_id=opened.customer.id, followup_id=first.id,  # type: ignore[arg-type]
            reached=True, topics=[Topic.usage_opinion, Topic.care_tips], satisfaction=4,
            notes="Happy with the service", request="Wants a cheaper tyre quote",
            answered_on_call=False, now=called, actor=ACTOR, calendar=SHANGHAI,
            second_call_window=(7, 14),
        )
        await session.commit()
        assert logged.followup is not None and logged.followup.status == FollowUpStatus.done
        second = logged.next_followup
        assert second is not None and second.kind == FollowUpKind.second_call
        assert SHANGHAI.local(second.due_from).date() == date(2026, 12, 10)
        assert SHANGHAI.local(second.due_until).date() == date(2026, 12, 18)
        assert logged.complaint is not None
        assert logged.complaint.status == ComplaintStatus.researching
        # Logging the same follow-up again (a reply to an old reminder) is refused.
        with pytest.raises(Refused) as caught:
            await log_call(
                session, clerk=clerk, customer_id=opened.customer.id, followup_id=first.id,  # type: ignore[arg-type]
                reached=True, topics=[], satisfaction=None, notes="again", request=None,
                answered_on_call=False, now=called, actor=ACTOR, calendar=SHANGHAI,
                second_call_window=(7, 14),
            )
        assert caught.value.code == "followup_closed"


async def test_complaint_lifecycle(db: Database) -> None:
    clerk, _, boss = await _people(db)
    opened, first = await _consult(db, clerk)
    async with db.session() as session:
        logged = await log_call(
            session, clerk=clerk, customer_id=opened.customer.id, followup_id=first.id,  # type: ignore[arg-type]
            reached=True, topics=[], satisfaction=2, notes="Unhappy",
            request="The noise came back", answered_on_call=False, now=NOW, actor=ACTOR,
            calendar=SHANGHAI, second_call_window=(7, 14),
        )
        complaint = logged.complaint
        assert complaint is not None
        assert await due_for_escalation(session, now=NOW + timedelta(days=1)) == []
        due = await due_for_escalation(session, now=NOW + timedelta(days=2))
        assert [c.id for c in due] == [complaint.id]
        assert await mark_escalated(session, complaint_id=complaint.id,  # type: ignore[arg-type]
                                    now=NOW + timedelta(days=2))
        assert not await mark_escalated(session, complaint_id=complaint.id,  # type: ignore[arg-type]
                                        now=NOW + timedelta(days=2))
        with pytest.raises(Refused):
            await assign_back(session, complaint_id=complaint.id, supervisor=clerk,  # type: ignore[arg-type]
                              note=None, now=NOW, actor=ACTOR)
        await assign_back(session, complaint_id=complaint.id, supervisor=boss,  # type: ignore[arg-type]
                          note="Ask the workshop", now=NOW + timedelta(days=2), actor=ACTOR)
        solved_at = NOW + timedelta(days=3)
        complaint, callback = await record_solution(
            session, complaint_id=complaint.id, staff=boss, solution="Free re-check",  # type: ignore[arg-type]
            now=solved_at, actor=ACTOR, calendar=SHANGHAI,
        )
        assert callback is not None and callback.remind_at == solved_at
        assert SHANGHAI.local(callback.due_until).date() == SHANGHAI.local_date(solved_at) + \
            timedelta(days=1)
        await log_call(
            session, clerk=clerk, customer_id=opened.customer.id, followup_id=callback.id,  # type: ignore[arg-type]
            reached=True, topics=[], satisfaction=5, notes="Told the solution",
            request=None, answered_on_call=False, now=solved_at + timedelta(hours=1),
            actor=ACTOR, calendar=SHANGHAI, second_call_window=(7, 14),
        )
        await session.refresh(complaint)
        assert complaint.status == ComplaintStatus.told
        actions = [e.action for e in await history(session, complaint.id)]  # type: ignore[arg-type]
    assert actions == ["opened", "escalated", "assigned_back", "solved", "told"]


async def test_stand_in_routing(db: Database) -> None:
    clerk, standin, boss = await _people(db)
    today = SHANGHAI.local_date(NOW)
    async with db.session() as session:
        with pytest.raises(Refused) as caught:
            await record_absence(session, clerk=clerk, standin=boss, starts_on=today,
                                 ends_on=today, today=today, now=NOW, actor=ACTOR)
        assert caught.value.code == "not_clerk"
        with pytest.raises(Refused) as caught:
            await record_absence(session, clerk=clerk, standin=standin,
                                 starts_on=today - timedelta(days=1), ends_on=today,
                                 today=today, now=NOW, actor=ACTOR)
        assert caught.value.code == "absence_dates"
        await record_absence(session, clerk=clerk, standin=standin,
                             starts_on=today + timedelta(days=1),
                             ends_on=today + timedelta(days=3), today=today, now=NOW,
                             actor=ACTOR)
        assert (await route(session, clerk.id, today)).staff_id == clerk.id  # type: ignore[arg-type]
        away = await route(session, clerk.id, today + timedelta(days=2))  # type: ignore[arg-type]
        assert (away.staff_id, away.standing_in_for) == (standin.id, clerk.id)
        assert (await route(session, clerk.id, today + timedelta(days=4))).staff_id == clerk.id  # type: ignore[arg-type]


async def test_campaign_calls_then_letters(db: Database) -> None:
    clerk, _, _ = await _people(db)
    opened, _ = await _consult(db, clerk)
    event_on = date(2027, 1, 20)
    async with db.session() as session:
        with pytest.raises(Refused) as caught:
            await create_campaign(
                session, kind=CampaignKind.event, title="Winter check", content="Free check",
                event_on=event_on, address="Shop", audience=Audience.model,
                audience_value="Tesla", now=NOW, actor=ACTOR, calendar=SHANGHAI)
        assert caught.value.code == "no_customers"
        await update_archive(session, customer_id=opened.customer.id, field="vehicle_model",  # type: ignore[arg-type]
                             value="Toyota Camry", now=NOW, actor=ACTOR)
        created = await create_campaign(
            session, kind=CampaignKind.free_inspection, title="Winter check",
            content="Free 20-point check", event_on=event_on, address="Shop",
            audience=Audience.model, audience_value="camry", now=NOW, actor=ACTOR,
            calendar=SHANGHAI)
        assert created.calls == 1
        call = (await session.exec(select(FollowUp).where(
            FollowUp.kind == FollowUpKind.campaign))).one()
        assert SHANGHAI.local_date(call.remind_at) == date(2027, 1, 6)
        called = call.remind_at + timedelta(hours=2)
        logged = await log_call(
            session, clerk=clerk, customer_id=opened.customer.id, followup_id=call.id,  # type: ignore[arg-type]
            reached=True, topics=[Topic.events], satisfaction=None, notes="Will come",
            request=None, answered_on_call=False, now=called, actor=ACTOR,
            calendar=SHANGHAI, second_call_window=(7, 14))
        letter = await session.get(Letter, logged.letter_id)
        assert letter is not None and SHANGHAI.local_date(letter.due_at) == date(2027, 1, 9)  # type: ignore[arg-type]
        await record_sent(session, letter_id=letter.id, channel=LetterChannel.post,  # type: ignore[arg-type]
                          sent_at=called, clerk_id=clerk.id, now=called, actor=ACTOR)  # type: ignore[arg-type]
        with pytest.raises(Refused) as caught:
            await record_sent(session, letter_id=letter.id, channel=LetterChannel.post,  # type: ignore[arg-type]
                              sent_at=called, clerk_id=clerk.id, now=called, actor=ACTOR)  # type: ignore[arg-type]
        assert caught.value.code == "letter_already_sent"


async def test_maintenance_calls_once_per_due_date(db: Database) -> None:
    clerk, _, _ = await _people(db)
    opened, _ = await _consult(db, clerk)
    async with db.session() as session:
        await update_archive(session, customer_id=opened.customer.id,  # type: ignore[arg-type]
                             field="next_maintenance_on", value="2026-12-05", now=NOW,
                             actor=ACTOR)
        today = SHANGHAI.local_date(NOW)
        assert await schedule_maintenance_calls(session, today=today, days_before=7, now=NOW,
                                                calendar=SHANGHAI) == 1
        assert await schedule_maintenance_calls(session, today=today, days_before=7, now=NOW,
                                                calendar=SHANGHAI) == 0
