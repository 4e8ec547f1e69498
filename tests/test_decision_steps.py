"""Nobody is stuck in a decided step (handlers/chat/deciding.py).

Two people have the same card; one is in the middle of deciding it (the consent question, a
reason, the old-part question …) when the other decides first. The first one's question says at
once who decided and when and loses its buttons; their next message of any kind ends the step
with the same words and then works as usual — never "Finish this step first". The same for a
step saved by an older version, and across restarts. While one advisor is asking the customer,
a second one is told who is on it instead of being asked too.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import select

from bot.i18n import Translator
from models.conversation_store import ConversationState, UserDataRow
from models.extra_item import ExtraItemRequest
from models.parts import PartRequest
from models.qc import QcCheck
from models.staff import Role
from tests.flows import order_in_progress, pending_check, self_check
from tests.shop import Person, Shop
from tests.test_extra_item import ask_for_extra, decisions_audited, escalate, the_request
from tests.test_parts import ask_for_part

pytestmark = pytest.mark.both_channels

ENDED = "This step has ended; nothing you entered in it was saved."
STUCK = "Finish this step first"
CONSENT = ["📞 phone", "🤝 in person", "💬 WeChat", "✏️ other"]


def at(shop: Shop, moment: datetime | None = None) -> str:
    """A moment as the English reader sees it (the Translator's own format)."""
    return Translator("en", shop.settings.tz, shop.now()).time(moment or shop.now())


async def two_advisors_and_an_item(shop: Shop) -> tuple[Person, Person, Person, int]:
    """Zhao's order has an extra item waiting; after 16 minutes Wang has the card too."""
    zhao = await shop.hire("Zhao Advisor", Role.advisor)
    wang = await shop.hire("Wang Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    order_id = await order_in_progress(shop, zhao, tech)
    await ask_for_extra(tech, order_id)
    shop.advance(minutes=16)
    assert await escalate(shop) == 1
    return zhao, wang, tech, order_id


async def test_a_decision_ends_the_other_advisors_consent_question(shop: Shop) -> None:
    zhao, wang, tech, _order_id = await two_advisors_and_an_item(shop)
    await zhao.tap("Approve")
    question = zhao.last
    assert [label for label, _ in question.buttons] == CONSENT
    since = at(shop)

    # Wang is told Zhao is on it, not asked to phone the customer too …
    shop.advance(minutes=3)
    replies = await wang.tap("Approve")
    assert replies == [f"✋ Zhao Advisor is on it since {since}. Leave it to them, so that nobody "
                       "does it twice — or tap “🙋 Decide it myself” to decide it yourself; the "
                       "first decision recorded counts."]
    assert [label for label, _ in wang.last.buttons] == ["🙋 Decide it myself"]
    # … and may decide it himself (the customer is standing at his desk).
    assert (await wang.tap("Decide it myself"))[-1].endswith("How did the customer consent?")
    await wang.tap("in person")
    decided = f"Already approved by Wang Advisor at {at(shop)}."

    # Zhao's question says so at once, its buttons gone.
    assert question.text.endswith(f"\n\n⏹ {decided} {ENDED}")
    assert question.buttons == []
    # His next command ends the step with the same words, then works as usual.
    replies = await zhao.send("/orders")
    assert replies[0] == decided
    assert any(reply.startswith("Work order ") for reply in replies[1:]), replies
    assert not any(STUCK in reply for reply in replies)
    assert await zhao.send("/cancel") == ["There is nothing to cancel."]
    request = await the_request(shop)
    assert (request.status, request.decided_by, request.consent_method) == (
        "approved", wang.staff_id, "in_person")
    assert await decisions_audited(shop) == 1
    assert sum("was approved by" in t for t in tech.inbox) == 1


async def test_a_reason_step_ends_across_restarts(shop: Shop) -> None:
    zhao, wang, _tech, _order_id = await two_advisors_and_an_item(shop)
    await zhao.tap("Reject")
    question = zhao.last
    await shop.restart()  # Zhao's step, saved, is still known after a redeploy
    assert (await wang.tap("Approve"))[0].startswith("✋ Zhao Advisor is on it since")
    await wang.tap("Decide it myself")
    await wang.tap("phone")
    decided = f"Already approved by Wang Advisor at {at(shop)}."
    assert question.text.endswith(f"\n\n⏹ {decided} {ENDED}")
    await shop.restart()
    # What Zhao types now is not taken as a reason: the step ends, saying why.
    replies = await zhao.send("The customer will not pay for it")
    assert replies[0] == decided
    assert not any(STUCK in reply for reply in replies)
    request = await the_request(shop)
    assert (request.status, request.reject_reason) == ("approved", None)
    replies = await zhao.send("/orders")
    assert replies and all(reply.startswith("Work order ") for reply in replies), replies
    assert await decisions_audited(shop) == 1


async def test_a_step_saved_by_an_older_version(shop: Shop) -> None:
    """Steps saved before the bot kept what they decide: the next input finds out itself."""
    zhao, wang, _tech, _order_id = await two_advisors_and_an_item(shop)
    await zhao.tap("Approve")
    await shop.app.update_persistence()
    async with shop.db.session() as session:
        row = (await session.exec(select(UserDataRow).where(
            UserDataRow.channel == shop.channel, UserDataRow.user_id == zhao.user_id))).one()
        row.data = {key: value for key, value in row.data.items() if key != "_deciding"}
        await session.commit()
    await shop.restart()
    await wang.tap("Approve")  # nobody is known to be on it
    await wang.tap("WeChat")
    decided = f"Already approved by Wang Advisor at {at(shop)}."
    replies = await zhao.send("/orders")
    assert replies[0] == decided
    assert any(reply.startswith("Work order ") for reply in replies[1:]), replies
    async with shop.db.session() as session:
        left = (await session.exec(select(ConversationState).where(
            ConversationState.channel == shop.channel,
            ConversationState.name == "extra_decision"))).all()
    assert left == []  # the saved step is gone too
    # A tap on the old consent question is answered by the card's rules.
    assert await zhao.tap("phone") == [decided]


async def test_on_it_until_the_first_advisor_cancels(shop: Shop) -> None:
    zhao, wang, _tech, _order_id = await two_advisors_and_an_item(shop)
    card, approve = zhao.find_button("Approve")
    await zhao.tap("Approve")
    assert (await wang.tap("Reject"))[0].startswith("✋ Zhao Advisor is on it since")
    assert (await the_request(shop)).status == "pending"
    assert await zhao.send("/cancel") == ["Cancelled. Nothing was saved."]
    replies = await wang.tap("Reject")
    assert replies[-1].endswith("Why? The technician will read your reason.")
    await wang.send("Not needed this time")
    request = await the_request(shop)
    assert (request.status, request.decided_by) == ("rejected", wang.staff_id)
    assert await zhao.tap_data(approve, card) == [
        f"Already rejected by Wang Advisor at {at(shop)}."]


async def test_a_clerks_old_part_question_ends_when_another_declines(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    first = await shop.hire("Wang Clerk", Role.parts_clerk)
    second = await shop.hire("Zhao Clerk", Role.parts_clerk)
    order_id = await order_in_progress(shop, advisor, tech)
    await ask_for_part(tech, order_id)
    await first.tap("Issue")
    question = first.last
    labels = [label for label, _ in question.buttons]
    # Out of stock leaves issuing possible: the first clerk's question stays as it is.
    await second.tap("Out of stock")
    await second.tap("Tomorrow")
    assert [label for label, _ in question.buttons] == labels
    assert "⏹" not in question.text
    await shop.restart()
    # Declining ends it.
    shop.advance(minutes=5)
    await second.tap("Decline")
    await second.send("Discontinued; order the new part number")
    decided = f"Already declined by Zhao Clerk at {at(shop)}."
    assert question.text.endswith(f"\n\n⏹ {decided} {ENDED}") and question.buttons == []
    replies = await first.send("/parts")
    assert replies[0] == decided
    assert not any(STUCK in reply for reply in replies)
    async with shop.db.session() as session:
        request = (await session.exec(select(PartRequest))).one()
    assert (request.status, request.issued_by) == ("declined", None)


async def test_a_rework_question_ends_when_another_leader_passes(shop: Shop) -> None:
    advisor = await shop.hire("Liu Advisor", Role.advisor)
    tech = await shop.hire("Zhang Tech", Role.technician)
    wang = await shop.hire("Wang Leader", Role.team_leader)
    qian = await shop.hire("Qian Leader", Role.team_leader)
    order_id = await order_in_progress(shop, advisor, tech)
    await tech.tap("Done: 1.")
    await tech.tap("Done: 2.")
    await self_check(tech, order_id)
    check_id = await pending_check(shop, order_id)
    await wang.tap("🔁 Rework")
    await wang.tap("1. Change oil")  # now asked why
    asked = wang.last
    item_question = wang.find_button("2. Replace filter")[0]
    await shop.restart()
    shop.advance(minutes=1)
    await qian.tap(data=f"qc:{check_id}:pass")
    decided = f"Already passed by Qian Leader at {at(shop)}."
    assert asked.text.endswith(f"\n\n⏹ {decided} {ENDED}")
    assert item_question.buttons == [] and item_question.text.endswith(ENDED)
    replies = await wang.send("Drain plug not torqued")
    assert replies[0] == decided
    async with shop.db.session() as session:
        check = await session.get(QcCheck, check_id)
    assert check is not None and (check.status, check.reason) == ("passed", None)


async def test_the_first_advisor_may_still_decide_after_being_overtaken(shop: Shop) -> None:
    """Wang decided it himself while Zhao was on the phone; Zhao's answer is not taken twice."""
    zhao, wang, _tech, _order_id = await two_advisors_and_an_item(shop)
    await zhao.tap("Approve")
    await zhao.tap("other")  # Zhao writes how the customer agreed
    await wang.tap("Approve")
    await wang.tap("Decide it myself")
    await wang.tap("phone")
    decided = f"Already approved by Wang Advisor at {at(shop)}."
    replies = await zhao.send("His wife agreed at the counter")
    assert replies[0] == decided
    request: ExtraItemRequest = await the_request(shop)
    assert (request.consent_method, request.consent_note) == ("phone", None)
    assert await decisions_audited(shop) == 1


async def test_a_supervisors_note_step_ends_when_another_solves_the_complaint(
        shop: Shop) -> None:
    from tests.test_complaints import escalated, people, the_complaint

    clerk, boss, other_boss = await people(shop)
    complaint_id = await escalated(shop, clerk)
    await boss.tap("Assign back")  # asked for a note, with Skip
    question = boss.last
    await other_boss.tap("Record solution")
    await other_boss.send("New pads at cost")
    assert "⏹ Already solved by Zhou Boss" in question.text and question.text.endswith(ENDED)
    assert question.buttons == []
    replies = await boss.send("Ask the workshop about the pads")
    assert replies[0].startswith("Already solved by Zhou Boss")
    complaint = await the_complaint(shop, complaint_id)
    assert (complaint.status, complaint.solved_by) == ("solved", other_boss.staff_id)


async def test_a_compensation_step_ends_when_another_supervisor_decides(shop: Shop) -> None:
    from tests.test_equipment import report, reports, staff

    tech, _other, boss, boss2 = await staff(shop)
    await report(tech)
    (damage,) = await reports(shop)
    await boss.tap(data=f"dmg:{damage.id}:pay")
    await boss.send("85.5")  # now asked who pays, one button per person
    question = boss.last
    assert question.buttons
    await boss2.tap(data=f"dmg:{damage.id}:none")
    decided = f"Already decided by Qian Supervisor at {at(shop)}: no compensation."
    assert question.text.endswith(f"\n\n⏹ {decided} {ENDED}") and question.buttons == []
    assert (await boss.send("/damage list"))[0] == decided
    (damage,) = await reports(shop)
    assert (damage.status, damage.amount_fen) == ("no_compensation", None)


async def test_photos_for_a_duty_reminder_end_when_the_team_leader_confirms_it(
        shop: Shop) -> None:
    from tests.test_duty import reminders, run, setup

    leader, tech, _ = await setup(shop)
    shop.advance(hours=8, minutes=30)
    await run(shop)
    [reminder] = await reminders(shop)
    await tech.tap("Done with a photo")
    await tech.send_photo("floor-1")  # "1 photo kept", with Done — send
    prompt = tech.last
    assert prompt.buttons
    await leader.send("/duty")
    await leader.tap_data(f"dty:{reminder.id}:done", leader.last)  # the leader confirms it
    decided = f"Already done by Zhao Leader at {at(shop)}."
    assert prompt.text.endswith(f"\n\n⏹ {decided} {ENDED}") and prompt.buttons == []
    assert await tech.send_photo("floor-2") == [decided]
    [reminder] = await reminders(shop)
    assert reminder.done_by == leader.staff_id
