"""W11: before a training or meeting, remind the invitees who have not declined; when it
starts, ask the organiser to mark attendance.

Both come from the database (``notice_invitee.reminded_at``, ``notice.roll_call_sent_at``):
send first, then mark, so a crash between the two sends a message at most once more and a
restart loses nothing. A reminder whose time passed while the bot was down still goes out
until the notice starts; after that it would only confuse, so it is dropped. Several workers
on one database: each is claimed before it is sent and released with its mark
(``models.claims``), so it goes out once per group of stores.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from bot.services import Services
from handlers.training.cards import CardFacts, invitee_card, roll_call_card
from models.card import CardKind
from models.claims import claim_row, release
from models.db import id_of
from models.staff import Role, Staff, active_with_role
from models.training import (
    Answer,
    due_reminders,
    due_roll_calls,
    mark_reminded,
    mark_roll_call_sent,
    notice_tally,
)

# What a worker claims before it sends (models.claims).
REMIND = "training.remind"  # an invitee
ROLL_CALL = "training.roll_call"  # a notice


async def run(services: Services, now: datetime) -> int:
    """One pass; returns how many messages went out."""
    messenger = services.messenger
    before = timedelta(minutes=services.settings.notice_reminder_minutes)
    sent = 0
    async with services.db.session() as session:
        for invitee, notice, staff in await due_reminders(session, now=now, before=before):
            if not await claim_row(session, REMIND, invitee, worker=services.worker,
                                   now=services.clock.now(),
                                   still_due=lambda row: row.reminded_at is None
                                   and row.answer != Answer.declined):
                continue
            organiser = await session.get(Staff, notice.organiser_id)
            facts = CardFacts(notice, organiser.name if organiser else "?", invitee)
            delivered = await messenger.send(
                session, staff, partial(invitee_card, facts=facts, reminder=True),
                card=(CardKind.notice, id_of(invitee)), now=now)
            sent += delivered > 0
            await session.commit()  # the card first: a crash before the mark resends once
            await mark_reminded(session, invitee_id=id_of(invitee), now=now)
            await release(session, REMIND, id_of(invitee), worker=services.worker)
            await session.commit()
        for notice in await due_roll_calls(session, now=now):
            notice_id = id_of(notice)
            if not await claim_row(session, ROLL_CALL, notice, worker=services.worker,
                                   now=services.clock.now(),
                                   still_due=lambda row: row.roll_call_sent_at is None
                                   and row.attendance_saved_at is None):
                continue
            organiser = await session.get(Staff, notice.organiser_id)
            # An organiser who has left: the supervisors keep the register instead.
            recipients = ([organiser] if organiser is not None and organiser.active
                          else await active_with_role(session, Role.supervisor))
            counts = await notice_tally(session, notice_id)
            for person in recipients:
                delivered = await messenger.send(
                    session, person, partial(roll_call_card, notice=notice, counts=counts),
                    card=(CardKind.notice_roll, notice_id), now=now)
                sent += delivered > 0
            await session.commit()
            await mark_roll_call_sent(session, notice_id=notice_id, now=now)
            await release(session, ROLL_CALL, notice_id, worker=services.worker)
            await session.commit()
    return sent
