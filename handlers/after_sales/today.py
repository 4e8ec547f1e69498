"""/today: a clerk's follow-up calls for the day — due, overdue, and done today (A6, A7, A9).

A clerk sees the customers they answer for today: their own, and those of a clerk they stand
in for (A11). A supervisor sees everyone's, grouped by clerk. Each open call has a button to
log it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import WorkshopContext
from bot.i18n import Translator
from bot.refusals import refusal
from handlers.after_sales.cards.followup import FOLLOWUP_PREFIX, window_text
from handlers.chat.labels import followup_kind_name
from handlers.chat.ui import button, keyboard, reply
from models.absence import absences_on, route
from models.customer import Customer, Vehicle
from models.db import id_of
from models.followup import FollowUp, FollowUpStatus, day_bounds, day_list, is_overdue
from models.rules import Refused
from models.staff import Role, Staff, require_after_sales

MAX_BUTTONS = 20
MAX_LINES = 30  # per section; the rest is counted


async def show_today(update: Update, context: WorkshopContext) -> None:
    """The list, and a 📝 button per open call."""
    _ = context._
    me = context.me
    try:
        require_after_sales(me)
    except Refused as refused:
        await reply(update, refusal(_, refused))
        return
    now = context.now()
    calendar = context.services.settings.calendar
    today = calendar.local_date(now)
    start, end = day_bounds(calendar, now)
    async with context.services.db.session() as session:
        if me.has(Role.supervisor):
            rows = await day_list(session, start=start, end=end, now=now)
        else:
            clerk_ids = [id_of(me)] + [
                absence.clerk_id for absence in await absences_on(session, today)
                if (await route(session, absence.clerk_id, today)).staff_id == me.id
            ]
            rows = await day_list(session, start=start, end=end, now=now,
                                  clerk_ids=clerk_ids,
                                  done_by=me.id)
        lines = await describe(session, _, rows, now)
        names = await clerk_names(session, rows)
    header = _("📋 Follow-up calls today, {day}").format(day=_.day(today))
    if not rows:
        await reply(update, header + "\n" + _("Nothing due today."))
        return
    if me.has(Role.supervisor):
        text = header + " — " + _("everyone") + supervisor_view(_, rows, lines, names, now)
    else:
        text = header + clerk_view(_, rows, lines, me, names, now)
    await reply(update, text, log_buttons(_, rows))


async def describe(session: AsyncSession, _: Translator, rows: list[tuple[FollowUp, Customer]],
                   now: datetime) -> dict[int, str]:
    """One line per follow-up: who, which car, which call, and its window or outcome."""
    lines = {}
    for followup, customer in rows:
        vehicle = await session.get(Vehicle, followup.vehicle_id) if followup.vehicle_id \
            else None
        who = f"{customer.name} · {vehicle.plate}" if vehicle else customer.name
        if followup.status == FollowUpStatus.done:
            done_by = await session.get(Staff, followup.done_by) if followup.done_by else None
            state = _("logged {at} by {name}").format(
                at=_.time(followup.done_at), name=done_by.name if done_by else "?")  # type: ignore[arg-type]
        elif is_overdue(followup, now):
            state = _("window ended {at}").format(at=_.time(followup.due_until))
        else:
            state = window_text(_, followup)
        text = f"• {who} — {followup_kind_name(_, followup.kind)}, {state}"
        if followup.attempts:
            text += " " + _.ngettext("({count} attempt without answer)",
                                     "({count} attempts without answer)",
                                     followup.attempts).format(count=followup.attempts)
        lines[id_of(followup)] = text
    return lines


async def clerk_names(session: AsyncSession, rows: list[tuple[FollowUp, Customer]]
                      ) -> dict[int | None, str]:
    names: dict[int | None, str] = {}
    for _followup, customer in rows:
        if customer.clerk_id not in names:
            clerk = await session.get(Staff, customer.clerk_id) if customer.clerk_id else None
            names[customer.clerk_id] = clerk.name if clerk else ""
    return names


def sections(_: Translator, rows: list[tuple[FollowUp, Customer]], lines: dict[int, str],
             now: datetime, note: dict[int, str] | None = None) -> str:
    """Due, overdue and done, each counted; long sections are cut with "… and N more"."""
    due = [f for f, _c in rows if f.status == FollowUpStatus.open and not is_overdue(f, now)]
    overdue = [f for f, _c in rows if is_overdue(f, now)]
    done = [f for f, _c in rows if f.status == FollowUpStatus.done]
    out = []
    for title, followups in ((_("Due ({count}):"), due), (_("⚠️ Overdue ({count}):"), overdue),
                             (_("✅ Done today ({count}):"), done)):
        if not followups:
            continue
        out.append(title.format(count=len(followups)))
        for followup in followups[:MAX_LINES]:
            followup_id = id_of(followup)
            out.append(lines[followup_id] + (note or {}).get(followup_id, ""))
        if len(followups) > MAX_LINES:
            out.append(_("… and {count} more").format(count=len(followups) - MAX_LINES))
    return "\n".join(out)


def clerk_view(_: Translator, rows: list[tuple[FollowUp, Customer]], lines: dict[int, str],
               me: Staff, names: dict[int | None, str], now: datetime) -> str:
    """Customers of a clerk this person stands in for say whose they are."""
    note = {id_of(followup): " " + _("(for {clerk}'s customer)").format(
                clerk=names.get(customer.clerk_id) or "—")
            for followup, customer in rows if customer.clerk_id != me.id}
    return "\n\n" + sections(_, rows, lines, now, note)


def supervisor_view(_: Translator, rows: list[tuple[FollowUp, Customer]],
                    lines: dict[int, str], names: dict[int | None, str], now: datetime) -> str:
    groups: dict[int | None, list[tuple[FollowUp, Customer]]] = {}
    for followup, customer in rows:
        groups.setdefault(customer.clerk_id, []).append((followup, customer))
    out = []
    for clerk_id in sorted(groups, key=lambda c: (c is None, names.get(c, ""))):
        title = f"👤 {names[clerk_id]}" if names.get(clerk_id) else _("👤 No clerk assigned")
        out.append(title + "\n" + sections(_, groups[clerk_id], lines, now))
    return "\n\n" + "\n\n".join(out)


def log_buttons(_: Translator, rows: list[tuple[FollowUp, Customer]]
                ) -> InlineKeyboardMarkup | None:
    buttons: list[list[InlineKeyboardButton]] = [
        [button(_("📝 {name} · {kind}").format(name=customer.name[:20],
                                               kind=followup_kind_name(_, followup.kind)),
                f"{FOLLOWUP_PREFIX}:{followup.id}:log")]
        for followup, customer in rows if followup.status == FollowUpStatus.open
    ][:MAX_BUTTONS]
    return keyboard(*buttons) if buttons else None


def handlers() -> list[BaseHandler[Update, WorkshopContext, None]]:
    return [CommandHandler("today", show_today)]
