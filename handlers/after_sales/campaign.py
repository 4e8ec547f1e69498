"""A8: /campaign — the supervisor announces an event, an offer or a free-inspection week.

Steps: kind → title → content → date (in the future) → address (optional) → which customers
(all, by vehicle model, visited since a date, not visited since a date) → how many match →
confirm. Every matching customer gets a call task due 14 days before the date; once a call is
logged, the invitation letter is due within 2 days (:mod:`handlers.after_sales.letters`). An
audience with no customer creates nothing and asks again."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import WorkshopContext
from bot.i18n import Translator
from bot.refusals import refusal, refuse
from handlers.chat.conversation import END, conversation, draft, drop_draft, read_text
from handlers.chat.labels import campaign_kind_name
from handlers.chat.ui import answer_tap, button, keyboard, reply
from models.campaign import (
    CALL_DAYS_AHEAD,
    Audience,
    CampaignKind,
    count_audience,
    create_campaign,
)
from models.rules import Refused
from models.shop_time import parse_day
from models.staff import Role

PREFIX = "camp"  # the callback data of this module's buttons: camp:…

KIND, TITLE, CONTENT, EVENT_DATE, ADDRESS, AUDIENCE, AUDIENCE_VALUE, CONFIRM = range(8)
DRAFT = "campaign"
TEXT = filters.TEXT & ~filters.COMMAND
MAX_TITLE = 100
MAX_CONTENT = 2000
MAX_ADDRESS = 200
MAX_MODEL = 64
KIND_DATA = rf"^{PREFIX}:k:(" + "|".join(k.value for k in CampaignKind) + r")$"
AUDIENCE_DATA = rf"^{PREFIX}:a:(" + "|".join(a.value for a in Audience) + r")$"


def audience_name(_: Translator, audience: str, value: str | None) -> str:
    if audience == Audience.model:
        return _("customers with a {model}").format(model=value)
    if audience == Audience.visited_since:
        return _("customers who visited since {date}").format(date=_shown_day(_, value))
    if audience == Audience.not_visited_since:
        return _("customers who have not visited since {date}").format(
            date=_shown_day(_, value))
    return _("all customers")


def _shown_day(_: Translator, value: str | None) -> str:
    """A day kept as ISO text (the audience's), as people read days."""
    try:
        return _.day(date.fromisoformat(value or ""))
    except ValueError:
        return value or "—"


def kind_buttons(_: Translator) -> InlineKeyboardMarkup:
    icons = {CampaignKind.event: "🎉", CampaignKind.offer: "🏷️",
             CampaignKind.free_inspection: "🔍", CampaignKind.talk: "🎓",
             CampaignKind.other: "📣"}
    kinds = [button(f"{icons[k]} {campaign_kind_name(_, k)}", f"{PREFIX}:k:{k.value}")
             for k in CampaignKind]
    return keyboard(kinds[:2], kinds[2:4], kinds[4:])


def audience_buttons(_: Translator) -> InlineKeyboardMarkup:
    return keyboard(
        [button(_("👥 All customers"), f"{PREFIX}:a:all"),
         button(_("🚗 By vehicle model"), f"{PREFIX}:a:model")],
        [button(_("📅 Visited since a date"), f"{PREFIX}:a:visited_since"),
         button(_("💤 Not visited since a date"), f"{PREFIX}:a:not_visited_since")],
    )


def first_call_day(event_on: date, today: date) -> date:
    """The day the call tasks come due: 14 days ahead, or today when that has passed."""
    return max(event_on - timedelta(days=CALL_DAYS_AHEAD), today)


async def start(update: Update, context: WorkshopContext) -> int:
    """Supervisors only: what kind of campaign?"""
    if not context.me.has(Role.supervisor):
        await refuse(update, context, Refused("not_supervisor"))
        return END
    drop_draft(context, DRAFT)
    draft(context, DRAFT)
    await reply(update, context._("📣 New campaign. What kind is it? /cancel stops."),
                kind_buttons(context._))
    return KIND


async def got_kind(update: Update, context: WorkshopContext) -> int:
    """Kept; the title next."""
    query = update.callback_query
    assert query is not None and query.data is not None
    kind = CampaignKind(query.data.rsplit(":", 1)[1])
    draft(context, DRAFT)["kind"] = kind.value
    await answer_tap(update)
    await reply(update, context._("{kind}. Its title (e.g. “Winter free inspection week”)?")
                .format(kind=campaign_kind_name(context._, kind).capitalize()))
    return TITLE


async def got_title(update: Update, context: WorkshopContext) -> int:
    """A short title; the content next."""
    assert update.message is not None
    title = await read_text(update, context, MAX_TITLE)
    if title is None:
        return TITLE
    draft(context, DRAFT)["title"] = title
    await reply(update, context._("What is on offer? The clerks tell the customers this on the "
                                  "phone and it goes into the invitation letter."))
    return CONTENT


async def got_content(update: Update, context: WorkshopContext) -> int:
    """What the customers are told; the date next."""
    assert update.message is not None
    content = await read_text(update, context, MAX_CONTENT)
    if content is None:
        return CONTENT
    draft(context, DRAFT)["content"] = content
    await reply(update, context._("On which date (the event, or the first day of the offer)? "
                                  "For example 2027-01-20."))
    return EVENT_DATE


async def got_date(update: Update, context: WorkshopContext) -> int:
    """A date in the future; the calls are due 14 days before it."""
    _ = context._
    assert update.message is not None
    today = context.services.settings.calendar.local_date(context.now())
    event_on = parse_day(update.message.text or "", today)
    if event_on is None:
        await reply(update, refusal(_, Refused("date_invalid")))
        return EVENT_DATE
    if event_on <= today:
        await reply(update, refusal(_, Refused("date_in_past")))
        return EVENT_DATE
    draft(context, DRAFT)["event_on"] = event_on.isoformat()
    await reply(update, _("Where does it take place? The address goes into the invitation. Or "
                          "tap “No address”."),
                keyboard([button(_("No address"), f"{PREFIX}:noaddr")]))
    return ADDRESS


async def got_address(update: Update, context: WorkshopContext) -> int:
    """The address as typed."""
    assert update.message is not None
    address = await read_text(update, context, MAX_ADDRESS)
    if address is None:
        return ADDRESS
    draft(context, DRAFT)["address"] = address
    return await ask_audience(update, context)


async def no_address(update: Update, context: WorkshopContext) -> int:
    """An offer may have no address."""
    await answer_tap(update)
    draft(context, DRAFT)["address"] = ""
    return await ask_audience(update, context)


async def ask_audience(update: Update, context: WorkshopContext) -> int:
    await reply(update, context._("Which customers are invited?"), audience_buttons(context._))
    return AUDIENCE


async def got_audience(update: Update, context: WorkshopContext) -> int:
    """All customers are counted at once; a model or a date is asked for first."""
    _ = context._
    query = update.callback_query
    assert query is not None and query.data is not None
    audience = Audience(query.data.rsplit(":", 1)[1])
    form = draft(context, DRAFT)
    form["audience"] = audience.value
    form.pop("audience_value", None)
    await answer_tap(update)
    if audience is Audience.all:
        return await count_and_confirm(update, context)
    if audience is Audience.model:
        await reply(update, _("Which vehicle model? Part of the name is enough (e.g. "
                              "“Camry”)."))
    elif audience is Audience.visited_since:
        await reply(update, _("Customers who visited on or after which date? For example "
                              "2026-06-01."))
    else:
        await reply(update, _("Customers whose last visit was before which date? For example "
                              "2026-06-01."))
    return AUDIENCE_VALUE


async def got_audience_value(update: Update, context: WorkshopContext) -> int:
    """The model, or a date that has already come."""
    _ = context._
    assert update.message is not None
    form = draft(context, DRAFT)
    value = await read_text(update, context, MAX_MODEL)
    if value is None:
        return AUDIENCE_VALUE
    if form["audience"] != Audience.model:
        today = context.services.settings.calendar.local_date(context.now())
        since = parse_day(value, today)
        if since is None:
            await reply(update, refusal(_, Refused("date_invalid")))
            return AUDIENCE_VALUE
        if since > today:
            await reply(update, refusal(_, Refused("time_in_future")))
            return AUDIENCE_VALUE
        value = since.isoformat()
    form["audience_value"] = value
    return await count_and_confirm(update, context)


async def count_and_confirm(update: Update, context: WorkshopContext) -> int:
    """How many customers match; none → choose again, nothing is created."""
    _ = context._
    form = draft(context, DRAFT)
    audience = Audience(form["audience"])
    value = form.get("audience_value")
    settings = context.services.settings
    async with context.services.db.session() as session:
        count = await count_audience(session, audience, value, settings.calendar)
    if count == 0:
        if audience is Audience.all:
            text = _("There are no customers yet; nothing was created. Choose other customers, "
                     "or /cancel.")
        else:
            text = _("No customer matches ({audience}); nothing was created. Type another, or "
                     "choose other customers.").format(audience=audience_name(_, audience, value))
        await reply(update, text, audience_buttons(_))
        return AUDIENCE if audience is Audience.all else AUDIENCE_VALUE
    form["count"] = count
    await reply(update, summary(_, form, settings.calendar.local_date(context.now())),
                keyboard([button(_("✅ Create campaign"), f"{PREFIX}:ok")],
                         [button(_("👥 Other customers"), f"{PREFIX}:redo")]))
    return CONFIRM


def summary(_: Translator, form: dict[str, Any], today: date) -> str:
    event_on = date.fromisoformat(str(form["event_on"]))
    count = int(form["count"])
    return "\n".join([
        _("📣 {kind}: {title}").format(kind=campaign_kind_name(_, str(form["kind"])).capitalize(),
                                       title=form["title"]),
        str(form["content"]),
        _("Date: {date} · Address: {address}").format(date=_.day(event_on),
                                                      address=form.get("address") or "—"),
        _.ngettext("Invited: {audience} — {count} customer.",
                   "Invited: {audience} — {count} customers.", count).format(
            audience=audience_name(_, str(form["audience"]),
                                   form.get("audience_value")),
            count=count),
        _("Each gets a call from {day} and an invitation letter within 2 days of the call.")
        .format(day=_.day(first_call_day(event_on, today))),
        "",
        _("Create it?"),
    ])


async def choose_again(update: Update, context: WorkshopContext) -> int:
    """Other customers, before anything is created."""
    await answer_tap(update)
    return await ask_audience(update, context)


async def confirmed(update: Update, context: WorkshopContext) -> int:
    """Create the campaign and a call task for each customer."""
    _ = context._
    form = draft(context, DRAFT)
    settings = context.services.settings
    now = context.now()
    async with context.services.db.session() as session:
        try:
            created = await create_campaign(
                session, kind=CampaignKind(form["kind"]), title=form["title"],
                content=form["content"], event_on=date.fromisoformat(form["event_on"]),
                address=form.get("address", ""), audience=Audience(form["audience"]),
                audience_value=form.get("audience_value"), now=now, actor=context.actor,
                calendar=settings.calendar,
            )
        except Refused as refused:
            await session.rollback()
            await answer_tap(update)
            await reply(update, refusal(_, refused))
            if refused.code == "no_customers":
                return await ask_audience(update, context)
            if refused.code == "date_in_past":
                await reply(update, _("On which date (the event, or the first day of the "
                                      "offer)? For example 2027-01-20."))
                return EVENT_DATE
            drop_draft(context, DRAFT)
            return END
        await session.commit()
    drop_draft(context, DRAFT)
    await answer_tap(update)
    day = first_call_day(created.campaign.event_on, settings.calendar.local_date(now))
    text = _.ngettext("✅ Campaign “{title}” created: {count} call task due from {day}.",
                      "✅ Campaign “{title}” created: {count} call tasks due from {day}.",
                      created.calls).format(title=created.campaign.title, count=created.calls,
                                            day=_.day(day))
    if update.callback_query is not None:
        await update.callback_query.edit_message_text(text)
    else:
        await reply(update, text)
    return END


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "campaign",
            draft_key=DRAFT,
            entry_points=[CommandHandler("campaign", start)],
            states={
                KIND: [CallbackQueryHandler(got_kind, pattern=KIND_DATA)],
                TITLE: [MessageHandler(TEXT, got_title)],
                CONTENT: [MessageHandler(TEXT, got_content)],
                EVENT_DATE: [MessageHandler(TEXT, got_date)],
                ADDRESS: [MessageHandler(TEXT, got_address),
                          CallbackQueryHandler(no_address, pattern=rf"^{PREFIX}:noaddr$")],
                AUDIENCE: [CallbackQueryHandler(got_audience, pattern=AUDIENCE_DATA)],
                AUDIENCE_VALUE: [MessageHandler(TEXT, got_audience_value),
                                 CallbackQueryHandler(got_audience, pattern=AUDIENCE_DATA)],
                CONFIRM: [CallbackQueryHandler(confirmed, pattern=rf"^{PREFIX}:ok$"),
                          CallbackQueryHandler(choose_again, pattern=rf"^{PREFIX}:redo$")],
            },
        ),
    ]
