"""A known year for the report and form tests: October 2026 in full, and a little of March.

Built with the model functions, at the local times given, so every figure is known:

- 王先生 (京A12345, Li's): consultation 10-05; first call 10-09 reached, satisfaction 4, a
  complaint not answered on the call; escalated 10-11; solved by the supervisor 10-12 16:00
  (78 hours); Li calls back 10-12 17:00 (satisfaction 5). The second call is never made.
- 陈女士 (沪B54321, Li's): consultation 10-06, archive completed 10-07 (within 2 days); Wu,
  standing in, makes the first call late on 10-15 (satisfaction 3); the second is never made.
- 赵先生 (粤C11111, Wu's): consultation 10-20; an unanswered call 10-21; an inbound call 10-22
  with a request answered on the call; a notice letter 10-25 by WeChat; the first call is
  never made.
- Campaign "Autumn check day" on 10-30 for customers who visited since 10-01 (王先生, 陈女士):
  Li calls 王先生 10-16 and posts the invitation 10-17; 陈女士 is never called.
- 刘先生 (津D22222, Li's): consultation 03-02, first call 03-06 (satisfaction 5); the second
  call is never made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.settings import Settings
from models.audit import Actor
from models.call_log import Direction, Topic, log_call
from models.campaign import Audience, CampaignKind, create_campaign
from models.complaint import mark_escalated, record_solution
from models.customer import update_archive
from models.db import Database
from models.followup import FollowUp
from models.letter import LetterChannel, LetterKind, record_sent, register_letter
from models.staff import Staff
from models.visit_flow import log_consultation

SHANGHAI = ZoneInfo("Asia/Shanghai")
COMPLAINT = "Brake noise after the repair"
SOLUTION = "Pads replaced free of charge"


def local(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime.combine(date(year, month, day), time(hour, minute),
                            tzinfo=SHANGHAI).astimezone(UTC)


@dataclass(frozen=True)
class Year:
    wang: int
    chen: int
    zhao: int
    liu: int
    campaign: int


async def build_year(db: Database, settings: Settings, *, li: int, wu: int, boss: int) -> Year:
    calendar = settings.calendar
    windows = {"calendar": calendar, "second_call_window": settings.second_call_window}
    async with db.session() as session:
        clerk_li = await session.get(Staff, li)
        clerk_wu = await session.get(Staff, wu)
        supervisor = await session.get(Staff, boss)
        assert clerk_li and clerk_wu and supervisor
        by_li, by_wu, by_boss = Actor(li, "telegram"), Actor(wu, "telegram"), \
            Actor(boss, "telegram")

        async def consult(clerk: Staff, name: str, phone: str, plate: str, topic: str,
                          now: datetime) -> tuple[int, int]:
            opened, first = await log_consultation(
                session, clerk=clerk, customer_name=name, phone=phone, plate=plate,
                topic=topic, now=now, actor=Actor(clerk.id, "telegram"), calendar=calendar,
                first_call_window=settings.first_call_window)
            assert first is not None
            return opened.customer.id, first.id  # type: ignore[return-value]

        # March: 刘先生.
        liu, liu_first = await consult(clerk_li, "刘先生", "13600000004", "津D22222",
                                       "Asked about tyres", local(3, 2, 10))
        await log_call(session, clerk=clerk_li, customer_id=liu, followup_id=liu_first,
                       reached=True, topics=[Topic.usage_opinion], satisfaction=5,
                       notes="Happy with the car", request=None, answered_on_call=False,
                       now=local(3, 6, 10), actor=by_li, **windows)

        # October.
        wang, wang_first = await consult(clerk_li, "王先生", "13812345678", "京A12345",
                                         "Asked about the 40,000 km service", local(10, 5, 10))
        chen, chen_first = await consult(clerk_li, "陈女士", "13900000002", "沪B54321",
                                         "Asked about a paint scratch", local(10, 6, 10))
        for field, value in (("address", "上海市浦东新区世纪大道1号"), ("services_wanted",
                             "Pick-up and delivery"), ("vehicle_model", "Honda Accord"),
                             ("vehicle_type", "轿车"), ("cycle_months", "6"),
                             ("next_maintenance_on", "2027-04-06")):
            await update_archive(session, customer_id=chen, field=field, value=value,
                                 now=local(10, 7, 10), actor=by_li)
        campaign = await create_campaign(
            session, kind=CampaignKind.event, title="Autumn check day",
            content="Free 20-point check and coffee", event_on=date(2026, 10, 30),
            address="Shop hall", audience=Audience.visited_since, audience_value="2026-10-01",
            now=local(10, 8, 10), actor=by_boss, calendar=calendar)
        campaign_id: int = campaign.campaign.id  # type: ignore[assignment]

        logged = await log_call(
            session, clerk=clerk_li, customer_id=wang, followup_id=wang_first, reached=True,
            topics=[Topic.usage_opinion, Topic.new_needs], satisfaction=4,
            notes="Car runs well; asks about brakes", request=COMPLAINT,
            answered_on_call=False, now=local(10, 9, 10), actor=by_li, **windows)
        assert logged.complaint is not None
        complaint_id: int = logged.complaint.id  # type: ignore[assignment]
        assert await mark_escalated(session, complaint_id=complaint_id, now=local(10, 11, 10))
        _complaint, callback = await record_solution(
            session, complaint_id=complaint_id, staff=supervisor, solution=SOLUTION,
            now=local(10, 12, 16), actor=by_boss, calendar=calendar)
        assert callback is not None
        await log_call(session, clerk=clerk_li, customer_id=wang, followup_id=callback.id,
                       reached=True, topics=[Topic.consultation], satisfaction=5,
                       notes="Told him the pads are replaced free", request=None,
                       answered_on_call=False, now=local(10, 12, 17), actor=by_li, **windows)

        await log_call(session, clerk=clerk_wu, customer_id=chen, followup_id=chen_first,
                       reached=True, topics=[Topic.care_tips], satisfaction=3,
                       notes="Standing in for Li", request=None, answered_on_call=False,
                       now=local(10, 15, 10), actor=by_wu, **windows)

        wang_campaign = (await session.exec(select(FollowUp).where(
            FollowUp.key == f"camp:{campaign_id}:{wang}"))).one()
        invited = await log_call(
            session, clerk=clerk_li, customer_id=wang, followup_id=wang_campaign.id,
            reached=True, topics=[Topic.events], satisfaction=None, notes="Will come",
            request=None, answered_on_call=False, now=local(10, 16, 11), actor=by_li,
            **windows)
        assert invited.letter_id is not None
        await record_sent(session, letter_id=invited.letter_id, channel=LetterChannel.post,
                          sent_at=local(10, 17, 10), clerk_id=li, now=local(10, 17, 10),
                          actor=by_li, summary="Invitation to the Autumn check day")

        zhao, _zhao_first = await consult(clerk_wu, "赵先生", "13700000003", "粤C11111",
                                          "Asked about winter tyres", local(10, 20, 10))
        await log_call(session, clerk=clerk_wu, customer_id=zhao, followup_id=None,
                       reached=False, topics=[], satisfaction=None, notes="No answer",
                       request=None, answered_on_call=False, now=local(10, 21, 10),
                       actor=by_wu, **windows)
        await log_call(session, clerk=clerk_wu, customer_id=zhao, followup_id=None,
                       reached=True, topics=[Topic.consultation], satisfaction=None,
                       notes="He called back", request="Price of winter tyres?",
                       answered_on_call=True, now=local(10, 22, 10), actor=by_wu,
                       direction=Direction.inbound, **windows)
        await register_letter(session, customer_id=zhao, kind=LetterKind.notice,
                              channel=LetterChannel.wechat, summary="Winter check reminder",
                              clerk_id=wu, sent_at=local(10, 25, 10), now=local(10, 25, 10),
                              actor=by_wu)
        await session.commit()
    return Year(wang, chen, zhao, liu, campaign_id)
