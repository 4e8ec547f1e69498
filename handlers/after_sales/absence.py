"""A11: ``/away`` — the supervisor records a clerk's absence and names a stand-in.

In one line, ``/away 张三 2026-12-01 2026-12-05 李四`` (names as in the staff list, or staff codes;
dates in the shop's calendar, both days included), or ``/away`` alone: it lists the absences
under way and to come, then asks who, from, until and who stands in. From the first day every
reminder for the clerk's customers goes to the stand-in, marked with whose customer it is;
after the last day they go back. The clerk and the stand-in are told.
"""

from __future__ import annotations

import re
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import WorkshopContext
from bot.refusals import refusal
from handlers.chat.conversation import END, conversation, draft, drop_draft
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply
from models.absence import Absence, absences_from, record_absence
from models.db import id_of
from models.rules import Refused
from models.shop_time import parse_day
from models.staff import Role, Staff, StaffError, active_with_role, find_staff

PREFIX = "awy"  # the callback data of this module's buttons: awy:…

CLERK, FIRST, LAST, STANDIN = range(4)
DRAFT = "away"
TEXT = filters.TEXT & ~filters.COMMAND
# A word shaped like a day (digits and a day's separator), to find the two days in a line; a
# staff id alone (digits only) is not one.
DAY_SHAPED = re.compile(r"^\d+(?:[-/.年月]\d*)+[日号]?$")

def read_day(text: str, today: date) -> date:
    """A typed day (:func:`models.shop_time.parse_day`); anything else is refused."""
    day = parse_day(text, today)
    if day is None:
        raise Refused("date_invalid")
    return day


def parse_line(args: list[str], today: date) -> tuple[str, date, date, str]:
    """Who (may contain spaces), first day, last day, stand-in (may contain spaces)."""
    days = [i for i, arg in enumerate(args) if DAY_SHAPED.match(arg)]
    if len(days) != 2 or days[1] != days[0] + 1 or days[0] == 0 or days[1] == len(args) - 1:
        raise Refused("away_usage")
    first, last = days
    return (" ".join(args[:first]), read_day(args[first], today), read_day(args[last], today),
            " ".join(args[last + 1:]))


async def start(update: Update, context: WorkshopContext) -> int:
    """Supervisors only. With arguments: record at once; without: list, then ask."""
    _ = context._
    if not context.me.has(Role.supervisor):
        await reply(update, refusal(_, Refused("not_supervisor")))
        return END
    if context.args:
        await one_line(update, context, context.args)
        return END
    drop_draft(context, DRAFT)
    draft(context, DRAFT)
    today = context.services.settings.calendar.local_date(context.now())
    async with context.services.db.session() as session:
        listing = await absences_text(context, session, today)
        clerks = await active_with_role(session, Role.tracking_clerk)
    if not clerks:
        drop_draft(context, DRAFT)
        await reply(update, listing + "\n\n" + _("There is no active tracking clerk."))
        return END
    await reply(update, listing + "\n\n" + _("Who will be away? /cancel stops."),
                staff_keyboard(clerks, f"{PREFIX}:c"))
    return CLERK


async def absences_text(context: WorkshopContext, session: AsyncSession, today: date) -> str:
    _ = context._
    absences = await absences_from(session, today)
    if not absences:
        return _("No absence is recorded from today on.")
    lines = [_("Absences now and to come:")]
    for absence in absences:
        clerk = await session.get(Staff, absence.clerk_id)
        standin = await session.get(Staff, absence.standin_id)
        lines.append(_("• {clerk}: {first} to {last}, stand-in {standin}").format(
            clerk=clerk.name if clerk else "?", first=_.day(absence.starts_on),
            last=_.day(absence.ends_on), standin=standin.name if standin else "?"))
    return "\n".join(lines)


def staff_keyboard(people: list[Staff], prefix: str) -> InlineKeyboardMarkup:
    buttons = [button(p.name, f"{prefix}:{p.id}") for p in people]
    return keyboard(*[buttons[i : i + 2] for i in range(0, len(buttons), 2)])


async def one_line(update: Update, context: WorkshopContext, args: list[str]) -> None:
    """``/away 张三 2026-12-01 2026-12-05 李四``: every problem is named, nothing half-saved."""
    _ = context._
    try:
        clerk_name, first, last, standin_name = parse_line(
            args, context.services.settings.calendar.local_date(context.now()))
    except Refused as refused:
        await reply(update, refusal(_, refused))
        return
    async with context.services.db.session() as session:
        people = []
        for name in (clerk_name, standin_name):
            try:
                people.append(await find_staff(session, name))
            except StaffError:
                await reply(update, refusal(_, Refused("away_unknown_staff", name=name[:64])))
                return
    clerk, standin = people
    result = await save(update, context, id_of(clerk), first, last, id_of(standin))
    if isinstance(result, Refused):
        await reply(update, refusal(_, result))


async def got_clerk(update: Update, context: WorkshopContext) -> int:
    """The absent clerk; then the first day."""
    _ = context._
    async with context.services.db.session() as session:
        clerk = await session.get(Staff, callback_int(update, 2))
    if clerk is None or not clerk.has(Role.tracking_clerk):
        name = clerk.name if clerk else "?"
        await answer_tap(update, refusal(_, Refused("not_clerk", name=name)), alert=True)
        return CLERK
    await answer_tap(update)
    draft(context, DRAFT)["clerk_id"] = clerk.id
    today = context.services.settings.calendar.local_date(context.now())
    await reply(update, _("{name} is away from which day? (e.g. {today})").format(
        name=clerk.name, today=_.typed_day(today)))
    return FIRST


async def got_first(update: Update, context: WorkshopContext) -> int:
    """The first day away: today or later."""
    _ = context._
    assert update.message is not None
    today = context.services.settings.calendar.local_date(context.now())
    try:
        first = read_day(update.message.text or "", today)
        if first < today:
            raise Refused("absence_dates")
    except Refused as refused:
        await reply(update, refusal(_, refused))
        return FIRST
    draft(context, DRAFT)["first"] = first.isoformat()
    await reply(update, _("And the last day away (that day included)?"))
    return LAST


async def got_last(update: Update, context: WorkshopContext) -> int:
    """The last day away: not before the first; then the stand-in."""
    _ = context._
    assert update.message is not None
    form = draft(context, DRAFT)
    today = context.services.settings.calendar.local_date(context.now())
    try:
        last = read_day(update.message.text or "", today)
        if last < date.fromisoformat(form["first"]):
            raise Refused("absence_dates")
    except Refused as refused:
        await reply(update, refusal(_, refused))
        return LAST
    form["last"] = last.isoformat()
    async with context.services.db.session() as session:
        clerks = [c for c in await active_with_role(session, Role.tracking_clerk)
                  if c.id != form["clerk_id"]]
    if not clerks:
        drop_draft(context, DRAFT)
        await reply(update, _("There is no other active tracking clerk to stand in. Nothing "
                              "was saved."))
        return END
    await reply(update, _("Who stands in?"), staff_keyboard(clerks, f"{PREFIX}:s"))
    return STANDIN


async def got_standin(update: Update, context: WorkshopContext) -> int:
    """Record it; dates that became wrong send the supervisor back to the first day."""
    _ = context._
    form = draft(context, DRAFT)
    result = await save(update, context, form["clerk_id"], date.fromisoformat(form["first"]),
                        date.fromisoformat(form["last"]), callback_int(update, 2))
    if isinstance(result, Refused):
        if result.code in ("absence_overlaps", "absence_dates"):
            await answer_tap(update)
            await reply(update, refusal(_, result) + "\n" + _(
                "Send another first day, or /cancel."))
            return FIRST
        await answer_tap(update, refusal(_, result), alert=True)
        return STANDIN
    drop_draft(context, DRAFT)
    await answer_tap(update)
    return END


async def save(
    update: Update, context: WorkshopContext, clerk_id: int, first: date, last: date,
    standin_id: int,
) -> Absence | Refused:
    """Record the absence, tell both clerks and confirm to the supervisor."""
    _ = context._
    if not context.me.has(Role.supervisor):
        return Refused("not_supervisor")
    now = context.now()
    today = context.services.settings.calendar.local_date(now)
    boss = context.me
    async with context.services.db.session() as session:
        clerk = await session.get(Staff, clerk_id)
        standin = await session.get(Staff, standin_id)
        try:
            if clerk is None or standin is None:
                raise Refused("not_clerk", name="?")
            absence = await record_absence(
                session, clerk=clerk, standin=standin, starts_on=first, ends_on=last,
                today=today, now=now, actor=context.actor)
        except Refused as refused:
            await session.rollback()
            return refused
        await session.commit()
        messenger = context.services.messenger
        await messenger.send(
            session, clerk,
            lambda t: (t("📅 {boss} recorded your absence from {first} to {last}. {standin} "
                         "takes your customers' follow-ups meanwhile.").format(
                boss=boss.name, first=t.day(first), last=t.day(last),
                standin=standin.name), None),
            now=now,
        )
        await messenger.send(
            session, standin,
            lambda t: (t("📅 You stand in for {clerk} from {first} to {last}: their customers' "
                         "reminders come to you, marked with their name.").format(
                clerk=clerk.name, first=t.day(first), last=t.day(last)), None),
            now=now,
        )
    await reply(update, _("✅ Recorded: {clerk} is away from {first} to {last}; {standin} "
                          "stands in. Both have been told.").format(
        clerk=clerk.name, first=_.day(first), last=_.day(last), standin=standin.name))
    return absence


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "away",
            draft_key=DRAFT,
            entry_points=[CommandHandler("away", start)],
            states={
                CLERK: [CallbackQueryHandler(got_clerk, pattern=rf"^{PREFIX}:c:\d+$")],
                FIRST: [MessageHandler(TEXT, got_first)],
                LAST: [MessageHandler(TEXT, got_last)],
                STANDIN: [CallbackQueryHandler(got_standin, pattern=rf"^{PREFIX}:s:\d+$")],
            },
        )
    ]
