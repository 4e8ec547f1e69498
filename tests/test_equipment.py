"""W8 equipment damage: anyone reports it with a photo and whether it was misuse; a supervisor
decides on compensation (amount, who pays) or none, once; /damage list is the register."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import col, select

from models.attachment import Attachment
from models.audit import AuditEvent
from models.equipment import DamageReport, damage_summary, parse_amount
from models.rules import Refused
from tests.shop import Person, Shop

pytestmark = pytest.mark.both_channels


async def report(person: Person, *, equipment: str = "2-post lift No. 2",
                 description: str = "Arm lock spring broken; the arm slips",
                 photos: tuple[str, ...] = ("lift-1",), misuse: bool = True) -> list[str]:
    await person.send("/damage")
    await person.send(equipment)
    await person.send(description)
    for photo in photos:
        await person.send_photo(photo)
    await person.tap("Continue")
    return await person.tap("Yes, misuse" if misuse else "No — wear or accident")


async def reports(shop: Shop) -> list[DamageReport]:
    async with shop.db.session() as session:
        return list((await session.exec(
            select(DamageReport).order_by(col(DamageReport.id)))).all())


async def actions(shop: Shop) -> list[str]:
    async with shop.db.session() as session:
        return list((await session.exec(select(AuditEvent.action).where(
            col(AuditEvent.action).startswith("damage.")).order_by(col(AuditEvent.id)))).all())


async def staff(shop: Shop) -> tuple[Person, Person, Person, Person]:
    from models.staff import Role

    tech = await shop.hire("Zhang Tech", Role.technician)
    other = await shop.hire("Wang Tech", Role.technician)
    boss = await shop.hire("Sun Supervisor", Role.supervisor)
    boss2 = await shop.hire("Qian Supervisor", Role.supervisor)
    return tech, other, boss, boss2


def test_amounts() -> None:
    assert parse_amount("300") == 30000
    assert parse_amount("¥85.5元") == 8550
    assert parse_amount("1,200") == 120000
    for bad in ("0", "-5", "abc", "100000.01", "1.234", "nan", ""):
        with pytest.raises(Refused):
            parse_amount(bad)


async def test_a_report_with_a_photo_and_a_compensation(shop: Shop) -> None:
    tech, other, boss, boss2 = await staff(shop)
    assert (await tech.send("/damage"))[-1].startswith(
        "Report damaged equipment (W8). What is damaged?")
    assert (await tech.send("2-post lift No. 2"))[-1] == "What happened, and how bad is it?"
    assert (await tech.send("Arm lock spring broken; the arm slips"))[-1].startswith(
        "Send a photo of the damage (up to 5)")
    assert (await tech.tap("Continue"))[-1] == (
        "A damage report needs at least one photo. Send one, then tap “Continue”.")
    assert (await tech.send_photo("lift-1"))[-1] == (
        "1 photo kept. Send more, or tap “Continue”.")
    assert (await tech.tap("Continue"))[-1].startswith("Was it misuse")
    replies = await tech.tap("Yes, misuse")
    [saved] = await reports(shop)
    assert replies[-1] == (f"✅ Damage report #{saved.id} on 2-post lift No. 2 sent to the "
                           "supervisors, who decide on compensation.")
    assert (saved.misuse, saved.status, saved.reported_by) == (True, "reported", tech.staff_id)
    assert shop.photos_to(boss) == ["lift-1"] and shop.photos_to(boss2) == ["lift-1"]
    card = boss.last
    assert card.text.splitlines() == [
        f"🛠 Equipment damage #{saved.id}: 2-post lift No. 2",
        "Reported by Zhang Tech at 30 Nov 09:00",
        "Misuse: yes",
        "",
        "Arm lock spring broken; the arm slips",
        "",
        "📷 1 photo"]
    assert card.buttons == [("💰 Compensation", f"dmg:{saved.id}:pay"),
                            ("🙅 No compensation", f"dmg:{saved.id}:none")]

    # Only a supervisor decides.
    assert await tech.tap_data(f"dmg:{saved.id}:pay", tech.last) == [
        "Only supervisors can do this; nothing was changed."]
    assert await tech.tap_data(f"dmg:{saved.id}:none", tech.last) == [
        "Only supervisors can do this; nothing was changed."]

    await boss.tap("Compensation")
    bad = ("Please send the amount in yuan, more than 0 and at most 100,000, e.g. “300” or "
           "“85.5”.")
    assert (await boss.send("0"))[-1] == bad
    assert (await boss.send("a lot"))[-1] == bad
    assert (await boss.send("100001"))[-1] == bad
    assert (await boss.send("300"))[-1] == "¥300.00. Who pays?"
    assert [label for label, _ in boss.last.buttons] == ["Zhang Tech", "Wang Tech"]
    shop.advance(minutes=5)
    replies = await boss.tap("Zhang Tech")
    decided = ("💰 Compensation ¥300.00, paid by Zhang Tech — decided by Sun Supervisor at "
               "30 Nov 09:05.")
    assert replies[-1] == f"#{saved.id} 2-post lift No. 2: {decided}"
    for message in (card, boss2.last):
        assert message.buttons == [] and message.text.endswith(decided)
    assert tech.last.text == f"Your damage report #{saved.id} (2-post lift No. 2): {decided}"
    assert other.inbox == []
    [saved] = await reports(shop)
    assert (saved.status, saved.amount_fen, saved.payer_id, saved.decided_by) == (
        "compensation", 30000, tech.staff_id, boss.staff_id)
    assert await boss2.tap_data(f"dmg:{saved.id}:pay", boss2.last) == [
        "Already decided by Sun Supervisor at 30 Nov 09:05: compensation."]
    assert await actions(shop) == ["damage.report", "damage.decide"]
    async with shop.db.session() as session:
        photos = (await session.exec(select(Attachment.file_id).where(
            Attachment.owner == "damage_report"))).all()
        summary = await damage_summary(session, start=shop.now() - timedelta(days=1),
                                       end=shop.now())
    assert photos == ["lift-1"]
    assert (summary.reports, summary.misuse, summary.compensated,
            summary.compensation_fen) == (1, 1, 1, 30000)


async def test_another_pays_and_no_compensation_decided_twice_at_once(shop: Shop) -> None:
    tech, other, boss, boss2 = await staff(shop)
    await report(tech, misuse=True)
    await report(tech, equipment="Torque wrench", description="Ratchet worn out",
                 misuse=False)
    first, second = await reports(shop)
    await boss.tap(data=f"dmg:{first.id}:pay")
    await boss.send("85.5")
    await boss.tap("Wang Tech")
    assert other.last.text == (f"You pay ¥85.50 for the damage to 2-post lift No. 2 "
                               f"(#{first.id}), decided by Sun Supervisor.")
    card, card2 = (boss.find_button(data=f"dmg:{second.id}:none")[0],
                   boss2.find_button(data=f"dmg:{second.id}:none")[0])
    await asyncio.gather(boss.tap_data(f"dmg:{second.id}:none", card),
                         boss2.tap_data(f"dmg:{second.id}:none", card2))
    assert (await actions(shop)).count("damage.decide") == 2
    assert sum(t.startswith("Already decided by") for t in shop.api.alerts()) == 1
    _, second = await reports(shop)
    assert second.status == "no_compensation"
    for message in (card, card2):
        assert message.buttons == [] and "🙅 No compensation — decided by" in message.text
    assert tech.last.text.startswith(f"Your damage report #{second.id} (Torque wrench): 🙅 No "
                                     "compensation")


async def test_the_register_is_for_supervisors(shop: Shop) -> None:
    tech, _, boss, _ = await staff(shop)
    assert await boss.send("/damage list") == [
        "🛠 Equipment damage register (W8), newest first:\nNo damage has been reported."]
    await report(tech)
    shop.advance(hours=1)
    await report(tech, equipment="Torque wrench", description="Ratchet worn out",
                 misuse=False)
    first, second = await reports(shop)
    await boss.tap(data=f"dmg:{first.id}:none")
    assert await tech.send("/damage list") == [
        "Only supervisors can do this; nothing was changed."]
    replies = await boss.send("/damage list")
    assert replies[-1].splitlines() == [
        "🛠 Equipment damage register (W8), newest first:",
        f"#{second.id} 30 Nov 10:00 Torque wrench — Zhang Tech, misuse: no. ⏳ undecided",
        f"#{first.id} 30 Nov 09:00 2-post lift No. 2 — Zhang Tech, misuse: yes. 🙅 No "
        "compensation — decided by Sun Supervisor at 30 Nov 10:00."]
    assert boss.last.buttons == [(f"⚖️ Decide #{second.id}", f"dmg:{second.id}:card")]
    await boss.tap(f"Decide #{second.id}")
    assert boss.last.buttons == [("💰 Compensation", f"dmg:{second.id}:pay"),
                                 ("🙅 No compensation", f"dmg:{second.id}:none")]
    await boss.tap("No compensation")
    assert await boss.tap_data(f"dmg:{second.id}:card", boss.last) == [
        "Already decided by Sun Supervisor at 30 Nov 10:00: no compensation."]


async def test_cancel_wrong_input_and_a_restart_mid_report(shop: Shop) -> None:
    tech, _, boss, _ = await staff(shop)
    await tech.send("/damage")
    assert await tech.send("/cancel") == ["Cancelled. Nothing was saved."]
    await tech.send("/damage")
    assert (await tech.send_photo("early"))[-1] == (
        "Please answer in words first; the photos come next.")
    assert (await tech.send("x" * 101))[-1].startswith("That is 101 characters; at most 100")
    await tech.send("Tyre changer")
    await shop.restart()
    assert (await tech.send("/orders"))[-1] == (
        "Finish this step first, or send /cancel to stop. Nothing was lost.")
    await tech.send("Clamp jaw cracked")
    assert (await tech.send("it was like that"))[-1] == (
        "This step takes photos of the damage. Send one, then tap “Continue”. /cancel stops.")
    await tech.send_photo("jaw")
    await shop.restart()
    await tech.tap("Continue")
    await tech.tap("No — wear or accident")
    [saved] = await reports(shop)
    assert (saved.equipment, saved.description, saved.misuse) == (
        "Tyre changer", "Clamp jaw cracked", False)
    assert "Misuse: no" in boss.last.text

    # The compensation conversation has its own /cancel and survives a restart too.
    await boss.tap("Compensation")
    assert await boss.send("/cancel") == ["Cancelled. Nothing was saved."]
    await boss.tap("Compensation")
    await boss.send("120")
    await shop.restart()
    await boss.tap("Zhang Tech")
    [saved] = await reports(shop)
    assert (saved.status, saved.amount_fen) == ("compensation", 12000)
