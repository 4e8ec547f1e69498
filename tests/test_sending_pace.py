"""Sending at the platform's pace (``bot.pacing``) and a reminder drain that takes everything
due in one pass, interleaving the clerks (``jobs.followup_reminders``). Measured at full size
by ``bench/sending.py``; here the mechanism: who waits for whom, and nothing left behind."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram.error import RetryAfter

import jobs.followup_reminders
from bot import logs
from bot.pacing import Pacer
from models.customer import Customer, Vehicle
from models.db import id_of
from models.followup import FollowUp, FollowUpKind, Rounds
from models.staff import Role
from tests.shop import Shop


class Sends:
    """A Bot API method that records when each call reached it, refusing the ones asked to."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.at: list[tuple[str, Any, float]] = []
        self.refuse: dict[Any, int] = {}  # chat -> how many 429s still to answer

    def call(self, who: str, chat: Any) -> Any:
        async def send() -> dict[str, Any]:
            if self.refuse.get(chat):
                self.refuse[chat] -= 1
                raise RetryAfter(timedelta(seconds=0.3))
            self.at.append((who, chat, self.loop.time()))
            return {"ok": True}
        return send

    def times(self, who: str) -> list[float]:
        return [t for w, _, t in self.at if w == who]


@pytest.fixture
def in_a_job() -> Iterator[None]:
    token = logs.context_id.set("job:test:1")
    yield
    logs.context_id.reset(token)


async def _send(pacer: Pacer, sends: Sends, who: str, chat: Any, *, job: bool) -> None:
    token = logs.context_id.set("job:test:1" if job else "u:1")
    try:
        await pacer.process_request(sends.call(who, chat), (), {}, "sendMessage",
                                    {"chat_id": chat}, None)
    finally:
        logs.context_id.reset(token)


async def test_a_jobs_messages_to_one_chat_are_spaced_and_the_floor_does_not_wait() -> None:
    sends = Sends(asyncio.get_running_loop())
    pacer = Pacer(bot_rate=200, chat_interval=0.25)
    job = asyncio.gather(*(_send(pacer, sends, "job", 7, job=True) for _ in range(4)))
    await asyncio.sleep(0.05)
    # A technician writes meanwhile: their replies (two at once) do not queue behind the job.
    started = asyncio.get_running_loop().time()
    await _send(pacer, sends, "reply", 8, job=False)
    await _send(pacer, sends, "reply", 8, job=False)
    replied = asyncio.get_running_loop().time() - started
    await job
    times = sends.times("job")
    assert len(times) == 4
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.25, gaps  # one chat: a job's messages a quarter-second apart
    assert replied < 0.2, replied  # the replies went at once, not after the job's 0.75 s


async def test_the_bot_wide_pace_spaces_every_message() -> None:
    sends = Sends(asyncio.get_running_loop())
    pacer = Pacer(bot_rate=20, chat_interval=0)
    await asyncio.gather(*(_send(pacer, sends, "job", chat, job=True) for chat in range(6)))
    times = sorted(sends.times("job"))
    assert times[-1] - times[0] >= 5 / 20 - 0.01  # six messages: five gaps of 1/20 s, no burst


async def test_a_429_holds_back_that_chat_and_the_jobs_not_the_floor() -> None:
    sends = Sends(asyncio.get_running_loop())
    pacer = Pacer(bot_rate=200, chat_interval=0)
    sends.refuse[1] = 1
    job = asyncio.create_task(_send(pacer, sends, "job", 1, job=True))
    await asyncio.sleep(0.05)  # refused, waiting 0.3 s
    started = asyncio.get_running_loop().time()
    await _send(pacer, sends, "reply", 2, job=False)  # another chat, a person: not held
    assert asyncio.get_running_loop().time() - started < 0.1
    other_job = asyncio.create_task(_send(pacer, sends, "later", 3, job=True))
    await asyncio.gather(job, other_job)
    assert pacer.waited_429 == 1
    [(_, _, sent_at)] = [entry for entry in sends.at if entry[0] == "job"]
    [(_, _, later_at)] = [entry for entry in sends.at if entry[0] == "later"]
    assert later_at - started >= 0.2  # background sending waited for the retry_after too
    assert sent_at > started  # tried again after the wait, delivered


async def test_a_429_past_the_retries_reaches_the_sender() -> None:
    sends = Sends(asyncio.get_running_loop())
    pacer = Pacer(bot_rate=200, chat_interval=0, max_retries=1)
    sends.refuse[1] = 5
    with pytest.raises(RetryAfter):  # the messenger then keeps it for the outbox
        await _send(pacer, sends, "job", 1, job=False)


async def test_calls_that_send_nothing_are_not_paced() -> None:
    pacer = Pacer(bot_rate=1, chat_interval=10)
    started = asyncio.get_running_loop().time()
    for _ in range(3):
        await pacer.process_request(_answer, (), {}, "answerCallbackQuery", {}, None)
        await pacer.process_request(_answer, (), {}, "getUpdates", {}, None)
    assert asyncio.get_running_loop().time() - started < 0.5


async def _answer() -> bool:
    return True


async def test_one_pass_sends_every_due_reminder_interleaving_the_clerks(shop: Shop) -> None:
    """More reminders than a page (500), three clerks with their customers in blocks: one pass
    sends them all, once each, and never two cards in a row to one clerk while another waits."""
    clerks = [await shop.hire(f"Clerk {n}", Role.tracking_clerk) for n in range(3)]
    now = shop.now()
    count = 540
    async with shop.db.session() as session:
        customers = [Customer(name=f"客户{n}", phones=f"139{n:08d}",
                              clerk_id=clerks[n * 3 // count].staff_id,  # in blocks of 180
                              created_at=now, updated_at=now, archive_completed_at=now)
                     for n in range(count)]
        session.add_all(customers)
        await session.flush()
        session.add_all([Vehicle(customer_id=id_of(c), plate=f"京W{n:05d}", created_at=now)
                         for n, c in enumerate(customers)])
        session.add_all([FollowUp(key=f"maint:{id_of(c)}", kind=FollowUpKind.maintenance,
                                  customer_id=id_of(c), due_from=now - timedelta(hours=1),
                                  due_until=now + timedelta(days=2),
                                  remind_at=now - timedelta(minutes=5), created_at=now)
                         for c in customers])
        await session.commit()

    assert await jobs.followup_reminders.run(shop.services, shop.now()) == count
    chats = {clerk.user_id for clerk in clerks}
    order = [call.chat_id for call in shop.api.calls
             if call.method == "sendMessage" and call.chat_id in chats]
    assert len(order) == count
    assert all(len(shop.api.sent_to(clerk.user_id, "sendMessage")) == count // 3
               for clerk in clerks)
    # The first page (500) in rounds: the clerks take turns (in blocks, the first 30 cards
    # would all go to the first clerk; several are in hand at once, so roughly a third each).
    assert all(order[:30].count(chat) >= 8 for chat in chats), order[:30]
    assert await jobs.followup_reminders.run(shop.services, shop.now()) == 0  # nothing left


@given(st.lists(st.lists(st.integers(0, 5), max_size=40), min_size=1, max_size=4),
       st.integers(1, 8))
def test_rounds_deal_each_reminder_once_never_two_at_once_for_one_clerk(
    pages: list[list[int]], at_once: int,
) -> None:
    """Pages of reminders (each number: the reminder's clerk, 0 for none: the supervisors)
    dealt by ``at_once`` hands: each reminder once, never two in hand for one clerk, and a
    clerk's reminders in their order."""
    rounds = Rounds()
    made = 0
    taken: list[FollowUp] = []
    for page in pages:
        followups = [FollowUp.model_construct(id=made + n, customer_id=made + n)
                     for n in range(len(page))]
        rounds.add(followups, {f.customer_id: clerk or None
                               for f, clerk in zip(followups, page, strict=True)})
        made += len(page)
        in_hand: list[int | None] = []
        while (dealt := rounds.take()) is not None:
            followup, clerk = dealt
            assert clerk not in in_hand
            in_hand.append(clerk)
            taken.append(followup)
            if len(in_hand) == at_once:
                rounds.done(in_hand.pop(0))
        for clerk in in_hand:
            rounds.done(clerk)
    while (dealt := rounds.take()) is not None:
        taken.append(dealt[0])
        rounds.done(dealt[1])
    assert sorted(f.id or 0 for f in taken) == list(range(made))
    assert len(rounds) == 0
    clerk_of = {made_id: clerk for made_id, clerk in
                enumerate(clerk for page in pages for clerk in page)}
    for clerk in set(clerk_of.values()):
        ids = [f.id for f in taken if clerk_of[f.id or 0] == clerk]
        assert ids == sorted(ids)


def test_rounds_serve_the_clerk_served_longest_ago() -> None:
    rounds = Rounds()
    rounds.add([FollowUp.model_construct(id=n, customer_id=n) for n in range(6)],
               {0: 1, 1: 1, 2: 1, 3: 2, 4: 3, 5: 2})
    order = []
    while (dealt := rounds.take()) is not None:
        order.append(dealt[1])
        rounds.done(dealt[1])
    assert order == [1, 2, 3, 1, 2, 1]
