"""The demo shop the playground opens with (issue 15): staff, customers with history, work on
the floor, calls due, a complaint, a campaign — made with the model functions the bot itself
calls, as the staff would have done it in chat, at times before ``now``.

What a trainer finds (times in the shop's time zone; "today" is ``now``'s day):

- eleven people, one role each, every one bound on Telegram as user ``9100001`` … ``9100011``
  (the chat service shows them by these ids): an advisor, three technicians, a team leader,
  an inspector, a parts clerk, two tracking clerks, a supervisor, an admin;
- four work orders of the advisor's on the floor: one just opened and assigned (its plate not
  checked yet), one in progress with its pre-work checklist half ticked, one whose technician
  asked five minutes ago for an extra item the advisor has not decided (it goes to the
  advisors 15 minutes after the request), one self-checked and waiting for the team leader;
- customers with their cars and visits: a service half a year ago with both follow-up calls
  made; a car delivered 3 days ago whose first call is due today (the clerk is reminded at the
  first run of the jobs in working hours); a car delivered 4 days ago whose first call, an hour
  ago, brought a complaint now being researched (escalated to the supervisor two days after
  it was opened); a consultation an hour ago whose first call is due in 3 days (its archive
  still incomplete: the clerk is reminded of that too);
- a campaign in 20 days for every customer (the calls are due six days from now) and two
  duty areas, a technician responsible for each, from now on (the evening reminders go out
  today; one not confirmed within 30 minutes goes to the team leader).

Seeding goes into an empty database only: a second ``seed`` raises :class:`ShopNotEmpty` and
changes nothing (the playground's ``--reset`` starts from an empty database); :func:`people`
reads the people back from a shop seeded earlier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import Translator
from bot.playground.demo_words import WORDS, Customer, Words
from bot.playground.wecom_api import user_id_of
from bot.settings import LOCALES, Settings
from handlers.chat.labels import role_names
from models import plate
from models.audit import Actor
from models.call_log import CallLogged, Topic, log_call
from models.campaign import Audience, CampaignKind, create_campaign
from models.checklist import Box, JobType, choose_types, complete, set_job_type, set_tick
from models.customer import get_customer, update_archive
from models.db import Database, id_of
from models.duty import create_area
from models.extra_item import request_extra_item
from models.followup import FollowUp
from models.qc import QcCheck, pass_check, submit_self_check, tick_all
from models.staff import ChatAccount, Role, Staff, add_staff, bind_account
from models.visit_flow import deliver, log_consultation
from models.work_order import WorkOrder, confirm_plate, items_of, mark_item_done, open_order

CHANNEL = "telegram"
FIRST_USER_ID = 9_100_001  # the chat service's user (and private chat) ids, in hiring order
EVENT_IN_DAYS = 20  # the campaign's day: its calls fall due six days from now
EXTRA_ITEM = (12_000, 3_000)  # the extra item's estimate in fen: parts, labour


class ShopNotEmpty(Exception):
    """The demo shop goes into an empty database only."""


@dataclass(frozen=True)
class DemoPerson:
    user_id: int  # Telegram user id and private chat id on the local chat service
    staff_id: int
    name: str
    roles: tuple[Role, ...]
    role_labels: str  # the roles in the person's own language
    locale: str
    channel: str = CHANNEL  # or "wecom", as the page's channel switch left them


@dataclass(frozen=True)
class DemoShop:
    lang: str
    people: tuple[DemoPerson, ...]
    new_order: int  # opened and assigned; the technician has not checked the plate
    order_at_work: int  # in progress, the pre-work checklist half ticked
    extra_item_order: int  # in progress, an extra item waiting for the advisor
    extra_item: int  # that extra item request
    qc_order: int  # self-checked, waiting for the team leader's check
    qc_check: int
    followup_today: int  # a first call due today
    followup_in_3_days: int  # a first call due three days from today
    complaint: int  # researching
    campaign: int

    def person(self, role: Role, index: int = 0) -> DemoPerson:
        """The ``index``-th person holding ``role`` (in hiring order)."""
        return [p for p in self.people if role in p.roles][index]


async def seed(db: Database, settings: Settings, now: datetime, *,
               lang: str = "zh_CN") -> DemoShop:
    """Fill an empty, migrated database with the demo shop (one transaction: all or nothing)."""
    if lang not in LOCALES:
        raise ValueError(f"no demo shop in {lang!r}; there is one in {', '.join(LOCALES)}")
    async with db.session() as session:
        if (await session.exec(select(Staff.id).limit(1))).first() is not None:
            raise ShopNotEmpty("the database already has staff; the demo shop is seeded into "
                               "an empty database only (the playground's --reset starts one)")
        shop = await _Seeder(session, settings, now, WORDS[lang], lang).run()
        await session.commit()
    return shop


async def people(db: Database, settings: Settings, now: datetime) -> tuple[DemoPerson, ...]:
    """Every active staff member bound on Telegram, or switched to WeCom on the page (member
    ``demo-<user id>``), by user id."""
    async with db.session() as session:
        return await _people(session, settings, now)


async def _people(session: AsyncSession, settings: Settings, now: datetime
                  ) -> tuple[DemoPerson, ...]:
    rows = (await session.exec(
        select(ChatAccount, Staff)
        .join(Staff, col(Staff.id) == col(ChatAccount.staff_id))
        .where(col(ChatAccount.channel).in_((CHANNEL, "wecom")),
               Staff.active == True)  # noqa: E712
    )).all()
    found = []
    for account, staff in rows:
        user_id = account.chat_id if account.channel == CHANNEL else user_id_of(account.user_key)
        if user_id is None:
            continue
        locale = staff.locale or settings.default_locale
        roles = tuple(role for role in Role if role in staff.role_set)
        found.append(DemoPerson(
            user_id=user_id, staff_id=id_of(staff), name=staff.name, roles=roles,
            role_labels=role_names(Translator(locale, settings.tz, now), roles),
            locale=locale, channel=account.channel))
    return tuple(sorted(found, key=lambda person: person.user_id))


class _Seeder:
    """The shop's history, step by step, as its people did it."""

    def __init__(self, session: AsyncSession, settings: Settings, now: datetime, words: Words,
                 lang: str) -> None:
        self.session = session
        self.settings = settings
        self.calendar = settings.calendar
        self.now = now
        self.words = words
        self.lang = lang
        self.today = self.calendar.local_date(now)
        self.staff: dict[Role, list[Staff]] = {}

    def day(self, days_ago: int, hour: int, minute: int = 0) -> datetime:
        """A time of day ``days_ago`` days before today (shop time)."""
        return self.calendar.at(self.today - timedelta(days=days_ago), time(hour, minute))

    def ago(self, **delta: float) -> datetime:
        return self.now - timedelta(**delta)

    def one(self, role: Role, index: int = 0) -> Staff:
        return self.staff[role][index]

    @staticmethod
    def actor(staff: Staff) -> Actor:
        return Actor(id_of(staff), CHANNEL)

    async def run(self) -> DemoShop:
        await self.hire()
        w = self.words
        # History: customers, their cars and visits, the calls after them.
        ma = await self.delivered(w.ma, w.service_items, w.service_complaint,
                                  self.day(200, 10), technician=1)
        await self.first_and_second_call(ma, self.day(196, 10, 30), self.day(188, 15))
        he = await self.delivered(w.he, w.ev_items, w.ev_complaint, self.day(3, 9, 30),
                                  technician=2)
        guo = await self.delivered(w.guo, w.brake_items, w.brake_complaint,
                                   self.day(4, 9, 30), technician=0)
        complaint = await self.complaint_call(guo, self.ago(hours=1))
        lin = await self.consultation(w.lin, self.ago(hours=1))
        # On the floor now.
        new_order = await self.open(w.ma, w.service_items, w.service_complaint, 0,
                                    self.ago(minutes=10))
        at_work = await self.open(w.gao, w.tyre_items, w.tyre_complaint, 1, self.ago(hours=2))
        await self.half_ticked(at_work, self.ago(hours=1, minutes=50))
        extra_order = await self.open(w.luo, w.wiper_items, w.wiper_complaint, 2,
                                      self.ago(hours=3))
        extra_item = await self.extra_item(extra_order, self.ago(hours=2, minutes=50))
        qc_order = await self.open(w.liang, w.noise_items, w.noise_complaint, 0,
                                   self.ago(hours=5))
        check = await self.worked(qc_order, self.ago(hours=4, minutes=50), self.ago(minutes=30))
        campaign = await self.campaign(self.ago(minutes=20))
        await self.duty_areas()
        return DemoShop(
            lang=self.lang, people=await _people(self.session, self.settings, self.now),
            new_order=id_of(new_order), order_at_work=id_of(at_work),
            extra_item_order=id_of(extra_order), extra_item=extra_item,
            qc_order=id_of(qc_order), qc_check=id_of(check),
            followup_today=he, followup_in_3_days=lin, complaint=complaint,
            campaign=campaign)

    async def hire(self) -> None:
        w = self.words
        hired_at = self.day(365, 9)
        crew = [(w.advisor, Role.advisor),
                *((name, Role.technician) for name in w.technicians),
                (w.team_leader, Role.team_leader), (w.inspector, Role.inspector),
                (w.parts_clerk, Role.parts_clerk),
                *((name, Role.tracking_clerk) for name in w.clerks),
                (w.supervisor, Role.supervisor), (w.admin, Role.admin)]
        for number, (name, role) in enumerate(crew):
            staff, _invite = await add_staff(
                self.session, name=name, roles={role}, now=hired_at, locale=self.lang,
                invite_ttl=timedelta(days=self.settings.invite_ttl_days))
            user_id = FIRST_USER_ID + number
            await bind_account(self.session, staff, channel=CHANNEL, user_key=str(user_id),
                               chat_id=user_id, now=hired_at)
            self.staff.setdefault(role, []).append(staff)

    # --- the floor ---------------------------------------------------------------------------

    async def open(self, customer: Customer, items: tuple[str, ...], complaint: str,
                   technician: int, at: datetime) -> WorkOrder:
        """The advisor opens an order (/neworder) and assigns it."""
        advisor = self.one(Role.advisor)
        return await open_order(
            self.session, plate_text=customer.plate, customer_name=customer.name,
            customer_phone=customer.phone, vehicle_model=customer.model, complaint=complaint,
            items=list(items), advisor=advisor, technician=self.one(Role.technician, technician),
            now=at, actor=self.actor(advisor), calendar=self.calendar)

    async def technician_of(self, order: WorkOrder) -> Staff:
        technician = await self.session.get(Staff, order.technician_id)
        assert technician is not None
        return technician

    async def plate_checked(self, order: WorkOrder, at: datetime) -> Staff:
        technician = await self.technician_of(order)
        await confirm_plate(self.session, order_id=id_of(order), typed=order.plate,
                            technician=technician, now=at, actor=self.actor(technician),
                            lock_after=self.settings.plate_lock_after)
        return technician

    async def checklist(self, order: WorkOrder, types: tuple[JobType, ...],
                        boxes: tuple[Box, ...], at: datetime) -> Staff:
        """Plate checked, job types chosen, ``boxes`` ticked (N1–N7)."""
        technician = await self.plate_checked(order, at)
        order_id, actor = id_of(order), self.actor(technician)
        for job_type in types:
            await set_job_type(self.session, order_id=order_id, staff=technician,
                               job_type=job_type, on=True, now=at, actor=actor)
        await choose_types(self.session, order_id=order_id, staff=technician, now=at,
                           actor=actor)
        for box in boxes:
            await set_tick(self.session, order_id=order_id, staff=technician, box=box, on=True,
                           now=at, actor=actor)
        return technician

    async def started(self, order: WorkOrder, at: datetime) -> Staff:
        """Plate checked and the checklist complete: work may start."""
        outside = (Box.ppe, Box.cover)
        technician = await self.checklist(order, (JobType.outside,), outside, at)
        await complete(self.session, order_id=id_of(order), staff=technician, now=at,
                       actor=self.actor(technician))
        return technician

    async def half_ticked(self, order: WorkOrder, at: datetime) -> None:
        await self.checklist(order, (JobType.outside, JobType.inside), (Box.ppe, Box.cover), at)

    async def extra_item(self, order: WorkOrder, started: datetime) -> int:
        """Work started, the first item done, then an extra item asked for (W5)."""
        technician = await self.started(order, started)
        first = (await items_of(self.session, id_of(order)))[0]
        await mark_item_done(self.session, item_id=id_of(first), technician=technician,
                             now=started + timedelta(minutes=40), actor=self.actor(technician))
        parts, labour = EXTRA_ITEM
        _order, request = await request_extra_item(
            self.session, order_id=id_of(order), technician=technician,
            description=self.words.extra_item, reason=self.words.extra_reason, photos=[],
            parts_fen=parts, labour_fen=labour, now=self.ago(minutes=5),
            actor=self.actor(technician))
        return id_of(request)

    async def worked(self, order: WorkOrder, started: datetime, checked: datetime) -> QcCheck:
        """Every item done and self-checked (W7's first step): the team leader's check waits."""
        technician = await self.started(order, started)
        actor = self.actor(technician)
        for item in await items_of(self.session, id_of(order)):
            await mark_item_done(self.session, item_id=id_of(item), technician=technician,
                                 now=checked - timedelta(minutes=20), actor=actor)
        await tick_all(self.session, order_id=id_of(order), technician=technician, now=checked,
                       actor=actor)
        _order, check = await submit_self_check(self.session, order_id=id_of(order),
                                                technician=technician, now=checked, actor=actor)
        return check

    async def delivered(self, customer: Customer, items: tuple[str, ...], complaint: str,
                        opened: datetime, *, technician: int) -> int:
        """A whole visit: opened, worked, checked twice, delivered, the archive completed by
        its clerk. Returns the customer's first-call follow-up."""
        order = await self.open(customer, items, complaint, technician, opened)
        check = await self.worked(order, opened + timedelta(minutes=20),
                                  opened + timedelta(hours=4))
        leader, inspector = self.one(Role.team_leader), self.one(Role.inspector)
        passed = opened + timedelta(hours=5)
        _order, _check, final = await pass_check(
            self.session, check_id=id_of(check), staff=leader, now=passed,
            actor=self.actor(leader))
        assert final is not None
        await pass_check(self.session, check_id=id_of(final), staff=inspector,
                         now=passed + timedelta(minutes=30), actor=self.actor(inspector))
        advisor = self.one(Role.advisor)
        handed_back = passed + timedelta(hours=1)
        _order, visit, first_call = await deliver(
            self.session, order_id=id_of(order), advisor=advisor, now=handed_back,
            actor=self.actor(advisor), calendar=self.calendar,
            first_call_window=self.settings.first_call_window)
        assert first_call is not None
        clerk = await self.session.get(Staff, visit.customer.clerk_id)
        assert clerk is not None
        for field, value in (("address", customer.address),
                             ("services_wanted", customer.wanted),
                             ("vehicle_type", self.words.sedan), ("cycle_months", "6")):
            await update_archive(self.session, customer_id=id_of(visit.customer), field=field,
                                 value=value, now=handed_back + timedelta(hours=1),
                                 actor=self.actor(clerk), today=self.today)
        return id_of(first_call)

    # --- after sales -------------------------------------------------------------------------

    async def call(self, followup_id: int, at: datetime, *, satisfaction: int, notes: str,
                   request: str | None = None) -> CallLogged:
        """The customer's clerk makes the call and logs it."""
        followup = await self.session.get(FollowUp, followup_id)
        assert followup is not None
        customer = followup.customer_id
        clerk = await self.clerk_of(customer)
        return await log_call(
            self.session, clerk=clerk, customer_id=customer, followup_id=followup_id,
            reached=True, topics=[Topic.usage_opinion, Topic.care_tips],
            satisfaction=satisfaction, notes=notes, request=request, answered_on_call=False,
            now=at, actor=self.actor(clerk), calendar=self.calendar,
            second_call_window=self.settings.second_call_window,
            letter_within_days=self.settings.letter_within_days)

    async def clerk_of(self, customer_id: int) -> Staff:
        customer = await get_customer(self.session, customer_id)
        clerk = await self.session.get(Staff, customer.clerk_id)
        assert clerk is not None
        return clerk

    async def first_and_second_call(self, first: int, first_at: datetime,
                                    second_at: datetime) -> None:
        second = (await self.call(first, first_at, satisfaction=5,
                                  notes=self.words.call_notes_happy)).next_followup
        assert second is not None
        await self.call(id_of(second), second_at, satisfaction=5,
                        notes=self.words.call_notes_happy)

    async def complaint_call(self, first: int, at: datetime) -> int:
        """The first call brings a complaint that cannot be answered on the call (A6)."""
        logged = await self.call(first, at, satisfaction=2, notes=self.words.call_notes_guo,
                                 request=self.words.complaint)
        assert logged.complaint is not None
        return id_of(logged.complaint)

    async def consultation(self, customer: Customer, at: datetime) -> int:
        """A walk-in question the first clerk writes down (/consult): a first call follows."""
        clerk = self.one(Role.tracking_clerk)
        _opened, first_call = await log_consultation(
            self.session, clerk=clerk, customer_name=customer.name, phone=customer.phone,
            plate=plate.normalize(customer.plate), topic=self.words.consultation, now=at,
            actor=self.actor(clerk), calendar=self.calendar,
            first_call_window=self.settings.first_call_window)
        assert first_call is not None
        return id_of(first_call)

    async def campaign(self, at: datetime) -> int:
        supervisor = self.one(Role.supervisor)
        created = await create_campaign(
            self.session, kind=CampaignKind.free_inspection, title=self.words.campaign_title,
            content=self.words.campaign_content,
            event_on=self.today + timedelta(days=EVENT_IN_DAYS),
            address=self.words.campaign_address, audience=Audience.all, audience_value=None,
            now=at, actor=self.actor(supervisor), calendar=self.calendar)
        return id_of(created.campaign)

    async def duty_areas(self) -> None:
        """Set up now: reminders from the next duty time on (W8–W10)."""
        leader = self.one(Role.team_leader)
        for number, name in enumerate(self.words.duty_areas):
            await create_area(self.session, name=name,
                              responsible_id=id_of(self.one(Role.technician, number)),
                              leader=leader, now=self.now, actor=self.actor(leader))
