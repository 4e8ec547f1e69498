"""The letter task card (A8, A10) and its overdue notice."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import Translator
from bot.messenger import Rendered
from handlers.chat.labels import letter_channel_name, letter_kind_name
from handlers.chat.ui import button, keyboard
from models.campaign import Campaign
from models.customer import Customer, get_customer
from models.letter import Letter
from models.staff import Staff

# The callback data of the buttons these cards draw, one prefix per family; the
# handlers that answer them match on the same constants.
LETTER_PREFIX = "lt"  # a letter task: lt:<letter id>:…


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
                       "{name}.").format(kind=letter_kind_name(_, letter.kind).capitalize(),
                                         customer=customer.name,
                                         channel=letter_channel_name(_, letter.channel),
                                         date=_.day(letter.sent_at),
                                         name=facts.clerk.name if facts.clerk else "?"))
    elif letter.due_at is not None:
        lines.append(_("📮 Send the {kind} to {customer} by {date}.").format(
            kind=letter_kind_name(_, letter.kind), customer=customer.name,
            date=_.last_day(letter.due_at)))
    else:
        lines.append(_("📮 {kind} to {customer}").format(
            kind=letter_kind_name(_, letter.kind).capitalize(), customer=customer.name))
    if campaign is not None:
        lines.append(_("Campaign: {title} — {date}, {address}").format(
            title=campaign.title, date=_.day(campaign.event_on),
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
                  .format(date=_.last_day(letter.due_at))]
    return "\n".join(lines), keyboard([button(_("📮 Record as sent"),
                                              f"{LETTER_PREFIX}:{letter.id}:sent")])
