"""W8–W10 duty areas (and N8 in the morning briefing): ``/duty`` lists them with who is
responsible; a team leader adds areas, changes who is responsible or removes one. The reminders
(:mod:`jobs.duty_reminders`) are cards rendered by :func:`reminder_card`, each with **Done** and
**Done with a photo**.

Done is one tap; with a photo it is a short conversation: photos, then “Done — send”. The
responsible person or a team leader may confirm; the first confirmation counts, every copy of
the card then says who and when.
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import WorkshopContext
from bot.i18n import Translator
from bot.refusals import refusal, refuse
from bot.settings import Settings
from handlers.chat.conversation import (
    END,
    Decides,
    conversation,
    draft,
    drop_draft,
    keep_photo,
    read_text,
)
from handlers.chat.deciding import end_other_steps
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply
from handlers.duty.cards import DUTY_PREFIX, kind_name, reminder_card, reminder_facts
from models.card import CardKind
from models.duty import (
    MAX_AREA_NAME,
    MAX_PHOTOS,
    DutyArea,
    DutyReminder,
    active_responsible,
    areas,
    check_confirmable,
    check_new_name,
    confirm,
    create_area,
    get_area,
    remove_area,
    require_leader,
    responsible_candidates,
    set_responsible,
)
from models.rules import Refused
from models.staff import Staff

PREFIX = "dut"  # the callback data of this module's buttons: dut:…

NAME, RESPONSIBLE = range(2)
PHOTOS = 0
DRAFT = "duty_area"
PHOTO_DRAFT = "duty_photo"
TEXT = filters.TEXT & ~filters.COMMAND

def weekday_name(_: Translator, day: int) -> str:
    return [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"),
            _("Saturday"), _("Sunday")][day]


# --- /duty: the list, and setting it up ------------------------------------------------------


def schedule_text(_: Translator, settings: Settings) -> str:
    schedule = settings.duty_schedule
    return _("Reminders: before work {morning}, before leaving {evening} (working days); "
             "walls and windows Fridays {friday}; washing of protection covers and rags "
             "{wash_day} {wash}. Not confirmed within {missed} minutes: the team leaders are "
             "told.").format(
        morning=settings.duty_morning_time, evening=settings.duty_evening_time,
        friday=settings.duty_friday_time, wash_day=weekday_name(_, schedule.wash[0]),
        wash=schedule.wash[1].strftime("%H:%M"), missed=settings.duty_missed_minutes)


async def area_lines(_: Translator, session: AsyncSession, listed: list[DutyArea]) -> list[str]:
    lines = []
    for area in listed:
        person = await active_responsible(session, area)
        if person is None:
            lines.append(_("• {area}: ⚠️ nobody is responsible — its reminders go to the team "
                           "leaders.").format(area=area.name))
        else:
            lines.append(_("• {area}: {name}").format(area=area.name, name=person.name))
    return lines


async def show_areas(update: Update, context: WorkshopContext) -> None:
    """/duty: every area and who is responsible; team leaders get the buttons to change it."""
    _ = context._
    leader = True
    try:
        require_leader(context.me)
    except Refused:
        leader = False
    async with context.services.db.session() as session:
        listed = await areas(session)
        lines = [_("🧹 Duty areas (W10)")]
        if listed:
            lines += await area_lines(_, session, listed)
        else:
            lines.append(_("No duty area is set up yet."))
    lines += ["", schedule_text(_, context.services.settings)]
    if not leader:
        if not listed:
            lines.append(_("Your team leader sets them up with /duty."))
        await reply(update, "\n".join(lines))
        return
    lines.append(_("Tap an area to change who is responsible, or add one."))
    buttons = [button(_("➕ New area"), f"{PREFIX}:new")]
    buttons += [button("✏️ " + area.name, f"{PREFIX}:{area.id}:edit") for area in listed]
    await reply(update, "\n".join(lines),
                keyboard(*[buttons[i : i + 2] for i in range(0, len(buttons), 2)]))


async def new_area(update: Update, context: WorkshopContext) -> int:
    """➕ New area: a team leader names it first."""
    try:
        require_leader(context.me)
    except Refused as refused:
        await refuse(update, context, refused)
        return END
    drop_draft(context, DRAFT)
    draft(context, DRAFT)["mode"] = "new"
    await answer_tap(update)
    await reply(update, context._("Name of the new duty area (e.g. Bay 1, Tool room, Washing "
                                  "area)? At most {limit} characters. /cancel stops.")
                .format(limit=MAX_AREA_NAME))
    return NAME


async def got_name(update: Update, context: WorkshopContext) -> int:
    """A name no other area has; then who is responsible."""
    assert update.message is not None
    text = await read_text(update, context, MAX_AREA_NAME)
    if text is None:
        return NAME
    async with context.services.db.session() as session:
        try:
            name = await check_new_name(session, text or "")
        except Refused as refused:
            await reply(update, refusal(context._, refused))
            return NAME
    draft(context, DRAFT)["name"] = name
    await ask_responsible(update, context,
                          context._("Who is responsible for {area}?").format(area=name))
    return RESPONSIBLE


async def edit_area(update: Update, context: WorkshopContext) -> int:
    """✏️ on an area: who should be responsible now (or remove the area)."""
    _ = context._
    async with context.services.db.session() as session:
        try:
            require_leader(context.me)
            area = await get_area(session, callback_int(update))
        except Refused as refused:
            await refuse(update, context, refused)
            return END
        person = await active_responsible(session, area)
    drop_draft(context, DRAFT)
    draft(context, DRAFT).update(mode="edit", area_id=area.id, name=area.name)
    await answer_tap(update)
    now = person.name if person else _("nobody")
    await ask_responsible(update, context, _("{area} — responsible now: {name}. Who should be "
                                             "responsible?").format(area=area.name, name=now))
    return RESPONSIBLE


async def ask_responsible(update: Update, context: WorkshopContext, question: str) -> None:
    _ = context._
    form = draft(context, DRAFT)
    async with context.services.db.session() as session:
        people = await responsible_candidates(session)
    extra = [button(_("🗑 Remove this area"), f"{PREFIX}:p:remove")] if form.get("mode") == "edit" \
        else []
    if not people:
        await reply(update, _("Nobody can be made responsible: there is no active technician "
                              "or team leader. Add one, then tap Refresh. Nothing is lost."),
                    keyboard([button(_("🔄 Refresh"), f"{PREFIX}:p:refresh"), *extra]))
        return
    buttons = [button(p.name, f"{PREFIX}:p:{p.id}") for p in people]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    await reply(update, question + " " + _("/cancel stops."), keyboard(*rows, extra))


async def got_responsible(update: Update, context: WorkshopContext) -> int:
    """Create the area, or change or remove it; the person responsible is told."""
    _ = context._
    query = update.callback_query
    assert query is not None and query.data is not None
    choice = query.data.rsplit(":", 1)[1]
    form = draft(context, DRAFT)
    if choice == "refresh":
        await answer_tap(update)
        await ask_responsible(update, context, _("Who is responsible for {area}?").format(
            area=form.get("name", "")))
        return RESPONSIBLE
    now = context.now()
    async with context.services.db.session() as session:
        try:
            if choice == "remove":
                if form.get("mode") != "edit":
                    raise Refused("duty_area_missing")
                area = await remove_area(session, area_id=form["area_id"], leader=context.me,
                                         now=now, actor=context.actor)
            elif form.get("mode") == "edit":
                area = await set_responsible(session, area_id=form["area_id"],
                                             responsible_id=int(choice), leader=context.me,
                                             now=now, actor=context.actor)
            else:
                area = await create_area(session, name=form["name"],
                                         responsible_id=int(choice), leader=context.me,
                                         now=now, actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            if refused.code in ("duty_bad_responsible",):
                return RESPONSIBLE
            drop_draft(context, DRAFT)
            return END
        await session.commit()
        person = await active_responsible(session, area)
        if area.active and person is not None and person.id != context.me.id:
            settings = context.services.settings
            await context.services.messenger.send(
                session, person,
                lambda t: (t("🧹 You are now responsible for the duty area {area}. "
                             "Its reminders come to you, each with a Done button.").format(
                                 area=area.name) + "\n" + schedule_text(t, settings), None))
    drop_draft(context, DRAFT)
    await answer_tap(update)
    if not area.active:
        text = _("🗑 {area} removed; no more reminders for it. Its history stays.").format(
            area=area.name)
    else:
        text = _("✅ {area}: {name} is responsible.").format(
            area=area.name, name=person.name if person else "?")
    await query.edit_message_text(text)
    return END


# --- the reminder card -----------------------------------------------------------------------


async def photo_start(update: Update, context: WorkshopContext) -> int:
    """📷 Done with a photo: the responsible person (or a team leader), not yet confirmed."""
    reminder_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            await check_confirmable(session, reminder_id=reminder_id, staff=context.me)
        except Refused as refused:
            await refuse(update, context, refused)
            return END
    drop_draft(context, PHOTO_DRAFT)
    draft(context, PHOTO_DRAFT).update(reminder_id=reminder_id, photos=[])
    await answer_tap(update)
    await reply(update, context._("Send a photo of the cleaned area (up to {limit}), then tap "
                                  "“Done — send”. /cancel stops.").format(limit=MAX_PHOTOS),
                send_button(context._, reminder_id))
    return PHOTOS


def send_button(_: Translator, reminder_id: int) -> InlineKeyboardMarkup:
    return keyboard([button(_("✅ Done — send"), f"{DUTY_PREFIX}:{reminder_id}:send")])


async def got_photo(update: Update, context: WorkshopContext) -> int:
    """Keep the largest size of each photo, up to the cap."""
    _ = context._
    message = update.message
    assert message is not None and message.photo
    reminder_id = draft(context, PHOTO_DRAFT)["reminder_id"]
    count = keep_photo(context, PHOTO_DRAFT, message, MAX_PHOTOS)
    if not count:
        text = _("At most {limit} photos; this one was not kept. Tap “Done — send”.").format(
            limit=MAX_PHOTOS)
    else:
        text = _.ngettext("{count} photo kept. Send more, or tap “Done — send”.",
                          "{count} photos kept. Send more, or tap “Done — send”.",
                          count).format(count=count)
    await reply(update, text, send_button(_, reminder_id))
    return PHOTOS


async def text_instead_of_photo(update: Update, context: WorkshopContext) -> int:
    """This step takes photos; say so and keep what was sent."""
    reminder_id = draft(context, PHOTO_DRAFT)["reminder_id"]
    await reply(update, context._("This step takes photos. Send one, then tap “Done — send” "
                                  "(or type /done). /cancel stops."),
                send_button(context._, reminder_id))
    return PHOTOS


async def photo_send(update: Update, context: WorkshopContext) -> int:
    """Confirm with the photos kept; without a photo the step waits for one."""
    _ = context._
    form = draft(context, PHOTO_DRAFT)
    if update.callback_query is not None and callback_int(update) != form["reminder_id"]:
        await answer_tap(update, _("This button is no longer active."), alert=True)
        return PHOTOS
    if not form.get("photos"):
        await answer_tap(update)
        await reply(update, _("No photo yet: send one first, or /cancel and tap “✅ Done” on "
                              "the reminder."), send_button(_, form["reminder_id"]))
        return PHOTOS
    reminder = await record_done(update, context, form["reminder_id"], form["photos"])
    drop_draft(context, PHOTO_DRAFT)
    if reminder is None:
        return END
    await answer_tap(update)
    count = len(form["photos"])
    await reply(update, _.ngettext("✅ Recorded: {kind} done, with {count} photo.",
                                   "✅ Recorded: {kind} done, with {count} photos.",
                                   count).format(kind=kind_name(_, reminder.kind), count=count))
    return END


# --- the weekly summary --------------------------------------------------------------------


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "duty_area",
            draft_key=DRAFT,
            entry_points=[CallbackQueryHandler(new_area, pattern=rf"^{PREFIX}:new$"),
                          CallbackQueryHandler(edit_area, pattern=rf"^{PREFIX}:\d+:edit$")],
            states={
                NAME: [MessageHandler(TEXT, got_name)],
                RESPONSIBLE: [CallbackQueryHandler(got_responsible,
                                                   pattern=rf"^{PREFIX}:p:(\d+|refresh|remove)$")],
            },
        ),
        conversation(
            "duty_photo",
            draft_key=PHOTO_DRAFT,
            decides=Decides(CardKind.duty_reminder, "reminder_id", photo_still_open),
            entry_points=[CallbackQueryHandler(photo_start, pattern=rf"^{DUTY_PREFIX}:\d+:photo$")],
            states={
                PHOTOS: [
                    MessageHandler(filters.PHOTO, got_photo),
                    CallbackQueryHandler(photo_send, pattern=rf"^{DUTY_PREFIX}:\d+:send$"),
                    CommandHandler("done", photo_send),
                    MessageHandler(TEXT, text_instead_of_photo),
                ],
            },
        ),
        CommandHandler("duty", show_areas),
        CallbackQueryHandler(done, pattern=rf"^{DUTY_PREFIX}:\d+:done$"),
    ]


async def record_done(
    update: Update, context: WorkshopContext, reminder_id: int,
    photos: list[dict[str, str]] | None = None,
) -> DutyReminder | None:
    """Confirm once, redraw every copy of the card; ``None`` after telling why not."""
    async with context.services.db.session() as session:
        try:
            reminder = await confirm(session, reminder_id=reminder_id, staff=context.me,
                                     now=context.now(), actor=context.actor, photos=photos)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            return None
        await session.commit()
        facts = await reminder_facts(session, reminder)
        await context.services.messenger.update_cards(
            session, CardKind.duty_reminder, reminder_id, lambda t: reminder_card(t, facts))
    await end_other_steps(context, CardKind.duty_reminder, reminder_id)
    return reminder


async def photo_still_open(context: WorkshopContext, session: AsyncSession, staff: Staff,
                           form: dict[str, Any], _: Translator) -> str | None:
    """Photos for a reminder go on while nobody has confirmed it (the first one counts)."""
    try:
        await check_confirmable(session, reminder_id=form["reminder_id"], staff=staff)
    except Refused as refused:
        return refusal(_, refused)
    return None


async def done(update: Update, context: WorkshopContext) -> None:
    """✅ Done: one tap."""
    reminder = await record_done(update, context, callback_int(update))
    if reminder is not None:
        await answer_tap(update, context._("Recorded: {kind} done.").format(
            kind=kind_name(context._, reminder.kind)))
