"""A8: the invitation letter after a campaign call, due within 2 days.

1. A new letter task → its clerk (or their stand-in today) gets the letter card with
   "📮 Record as sent", once.
2. Still unsent at its due time → the clerk gets the card again, marked overdue, and every
   supervisor gets it too, once.

Both inside working hours. ``letter.reminded_at`` records what went out last: a time before
``due_at`` is the first reminder, a time on or after it the overdue notice
(:func:`models.letter.overdue_letters`), so no extra column is needed. A letter whose first
reminder would only go out after its due time (the bot was down) gets the overdue notice
straight away. Send first, mark after: a crash in between sends at most once more.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services import Services
from handlers.after_sales.cards.letter import LetterFacts, letter_card, letter_facts
from models.absence import route
from models.card import CardKind
from models.claims import claim_row, release
from models.db import id_of
from models.letter import Letter, due_letters, overdue_letters
from models.staff import Role, Staff, active_with_role

# What a worker claims before it sends (models.claims).
REMIND = "letter.remind"
OVERDUE = "letter.overdue"


async def run(services: Services, now: datetime) -> int:
    """One pass; returns how many messages went out."""
    if not services.settings.calendar.in_working_hours(now):
        return 0
    return await remind(services, now) + await report_overdue(services, now)


async def remind(services: Services, now: datetime) -> int:
    sent = 0
    async with services.db.session() as session:
        for letter in await due_letters(session, now=now):
            if letter.due_at is not None and letter.due_at <= now:
                continue  # the overdue notice below covers it
            if not await claim_row(session, REMIND, letter, worker=services.worker,
                                   now=services.clock.now(),
                                   still_due=lambda row: row.sent_at is None
                                   and row.reminded_at is None):
                continue
            facts = await letter_facts(session, letter)
            sent += (await to_clerk(services, session, letter, facts, now, overdue=False))[1]
            letter.reminded_at = now
            await release(session, REMIND, id_of(letter), worker=services.worker)
            await session.commit()
    return sent


async def report_overdue(services: Services, now: datetime) -> int:
    sent = 0
    async with services.db.session() as session:
        letters = await overdue_letters(session, now=now)
        if not letters:
            return 0
        supervisors = await active_with_role(session, Role.supervisor)
        for letter in letters:
            if not await claim_row(session, OVERDUE, letter, worker=services.worker,
                                   now=services.clock.now(),
                                   still_due=lambda row: is_overdue(row, now)):
                continue
            facts = await letter_facts(session, letter)
            clerk_id, told = await to_clerk(services, session, letter, facts, now, overdue=True)
            sent += told
            for supervisor in supervisors:
                if supervisor.id == clerk_id:
                    continue
                sent += await services.messenger.send(
                    session, supervisor, partial(letter_card, facts=facts, overdue=True),
                    card=(CardKind.letter, id_of(letter)), now=now,
                )
            letter.reminded_at = now
            await release(session, OVERDUE, id_of(letter), worker=services.worker)
            await session.commit()
    return sent


def is_overdue(letter: Letter, now: datetime) -> bool:
    """What ``overdue_letters`` selects, for one letter read again after its claim."""
    return (letter.sent_at is None and letter.due_at is not None and letter.due_at <= now
            and (letter.reminded_at is None or letter.reminded_at < letter.due_at))


async def to_clerk(services: Services, session: AsyncSession, letter: Letter,
                   facts: LetterFacts, now: datetime, *, overdue: bool) -> tuple[int, int]:
    """The letter's clerk, or whoever stands in for them today: (who, messages sent)."""
    to = await route(session, letter.clerk_id, services.settings.calendar.local_date(now))
    staff = await session.get(Staff, to.staff_id)
    if staff is None or not staff.active:
        return to.staff_id, 0
    standing_in_for = facts.clerk.name if to.standing_in_for is not None and facts.clerk \
        else None
    return to.staff_id, await services.messenger.send(
        session, staff,
        partial(letter_card, facts=facts, overdue=overdue, standing_in_for=standing_in_for),
        card=(CardKind.letter, id_of(letter)), now=now,
    )
