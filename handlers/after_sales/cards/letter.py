"""The letter task card (A8, A10) and its overdue notice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import Translator
from bot.messenger import Rendered
from handlers.chat.ui import button, keyboard
from models.campaign import Campaign
from models.customer import Customer, get_customer
from models.letter import (
    Letter,
    LetterChannel,
    LetterKind,
)
from models.staff import Staff


def kind_name(_: Translator, kind: str) -> str:
    return {
        LetterKind.notice: _("notice"),
        LetterKind.invitation: _("invitation"),
        LetterKind.reply: _("reply letter"),
    }.get(kind, kind)


def channel_name(_: Translator, channel: str | None) -> str:
    return {
        LetterChannel.post: _("post"),
        LetterChannel.email: _("email"),
        LetterChannel.wechat: _("WeChat"),
        LetterChannel.sms: _("SMS"),
        LetterChannel.by_hand: _("hand delivery"),
    }.get(channel or "", channel or "—")


def local_day(_: Translator, at: datetime | None) -> str:
    return at.astimezone(_.tz).date().isoformat() if at else "—"


def last_day(_: Translator, due_at: datetime) -> str:
    """A due time is the first instant after the window: the day before it is the last day."""
    return (due_at - timedelta(seconds=1)).astimezone(_.tz).date().isoformat()


@dataclass(frozen=True)
class LetterFacts:
    letter: Letter
    customer: Customer
    campaign: Campaign | None
    clerk: Staff | None


async def letter_facts(session: AsyncSession, letter: Letter) -> LetterFacts:
    customer = await get_customer(session, letter.customer_id)
    campaign = (await session.get(Campaign, letter.campaign_id)
                if letter.campaign_id is not None else None)
    clerk = await session.get(Staff, letter.clerk_id)
    return LetterFacts(letter, customer, campaign, clerk)


def letter_card(_: Translator, facts: LetterFacts, *, overdue: bool = False,
                standing_in_for: str | None = None) -> Rendered:
    """What to send, to whom, and the button to register it; once sent, how and when."""
    letter, customer, campaign = facts.letter, facts.customer, facts.campaign
    lines = []
    if standing_in_for:
        lines.append(_("👥 You stand in for {name}; this is their customer.").format(
            name=standing_in_for))
    if letter.sent_at is not None:
        lines.append(_("✅ {kind} to {customer} sent by {channel} on {date}; registered by "
                       "{name}.").format(kind=kind_name(_, letter.kind).capitalize(),
                                         customer=customer.name,
                                         channel=channel_name(_, letter.channel),
                                         date=local_day(_, letter.sent_at),
                                         name=facts.clerk.name if facts.clerk else "?"))
    elif letter.due_at is not None:
        lines.append(_("📮 Send the {kind} to {customer} by {date}.").format(
            kind=kind_name(_, letter.kind), customer=customer.name,
            date=last_day(_, letter.due_at)))
    else:
        lines.append(_("📮 {kind} to {customer}").format(
            kind=kind_name(_, letter.kind).capitalize(), customer=customer.name))
    if campaign is not None:
        lines.append(_("Campaign: {title} — {date}, {address}").format(
            title=campaign.title, date=campaign.event_on.isoformat(),
            address=campaign.address or "—"))
        if letter.sent_at is None:
            lines.append(_("Content: {content}").format(content=campaign.content))
    if letter.summary:
        lines.append(_("Summary: {summary}").format(summary=letter.summary))
    if letter.sent_at is not None:
        return "\n".join(lines), None
    lines += [
        _("Customer: {name} · {phones}").format(
            name=customer.name, phones=", ".join(customer.phone_list) or "—"),
        _("Address: {address}").format(address=customer.address or "—"),
        _("Clerk: {name}").format(name=facts.clerk.name if facts.clerk else "—"),
    ]
    if overdue and letter.due_at is not None:
        lines += ["", _("⏰ Overdue: it was due by {date} and is not registered as sent.")
                  .format(date=last_day(_, letter.due_at))]
    return "\n".join(lines), keyboard([button(_("📮 Record as sent"), f"lt:{letter.id}:sent")])
