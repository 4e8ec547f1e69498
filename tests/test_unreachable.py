"""A person the platform refuses for good (Forbidden: they blocked the bot on Telegram, or left
the WeCom app's visible range): their account is marked unreachable, the supervisors are told
once, their reminders go to their other channel or to the supervisors, and writing to the bot
again makes them reachable."""

from __future__ import annotations

import pytest
from sqlmodel import select

import jobs.followup_reminders
from models.staff import ChatAccount, Role
from tests.flows import customer_visit
from tests.shop import Shop
from tests.test_followup_calls import go
from tests.test_notify_channels import notify, on_both
from tests.test_notify_channels import shop as both_shop  # noqa: F401  (the fixture)
from tests.wecom_shop import WeComShop

NOTICE = ("⚠️ Clerk Li cannot be reached on {channel}: they blocked the bot or are outside the "
          "app's visible range.")


async def unreachable_since(shop: Shop | WeComShop, staff_id: int | None) -> list[object]:
    async with shop.db.session() as session:
        return [a.unreachable_since for a in (await session.exec(
            select(ChatAccount).where(ChatAccount.staff_id == staff_id))).all()]


@pytest.mark.both_channels
async def test_a_blocked_clerk_is_marked_the_supervisor_told_once_and_reminders_go_around(
    shop: Shop, shop_channel: str,
) -> None:
    clerk = await shop.hire("Clerk Li", Role.tracking_clerk)
    boss = await shop.hire("Boss Wu", Role.supervisor)
    assert clerk.staff_id is not None
    await customer_visit(shop, clerk.staff_id, name="王先生", phone="13812340001",
                         plate="京A00001")
    shop.api.fail_chats.add(clerk.user_id)  # blocked the bot / left the visible range
    go(shop, "12-03 09:00")
    await jobs.followup_reminders.run(shop.services, shop.now())
    await shop.services.messenger.flush()
    channel = "Telegram" if shop_channel == "telegram" else "WeCom"
    notices = [t for t in boss.inbox if t.startswith("⚠️ Clerk Li cannot be reached")]
    assert len(notices) == 1 and notices[0].startswith(NOTICE.format(channel=channel))
    assert "follow-up reminders go to the supervisors" in notices[0]
    assert (await unreachable_since(shop, clerk.staff_id))[0] is not None

    # The next customer's reminder goes straight to the supervisor; nobody is told again.
    await customer_visit(shop, clerk.staff_id, name="李女士", phone="13812340002",
                         plate="京A00002")
    go(shop, "12-07 09:00")
    shop.api.fail_chats.discard(clerk.user_id)  # unblocked, but has not written yet
    await jobs.followup_reminders.run(shop.services, shop.now())
    await shop.services.messenger.flush()
    assert any("李女士" in t for t in boss.inbox)
    assert not any("李女士" in t for t in clerk.inbox)
    assert len([t for t in boss.inbox if t.startswith("⚠️ Clerk Li")]) == 1

    # Writing to the bot again makes the clerk reachable: the next reminder is theirs.
    await clerk.send("/help")
    assert (await unreachable_since(shop, clerk.staff_id)) == [None]
    await customer_visit(shop, clerk.staff_id, name="赵先生", phone="13812340003",
                         plate="京A00003")
    go(shop, "12-11 09:00")
    await jobs.followup_reminders.run(shop.services, shop.now())
    assert any("赵先生" in t for t in clerk.inbox)
    assert not any("赵先生" in t for t in boss.inbox)


async def test_blocked_on_telegram_the_messages_go_to_wecom(both_shop: WeComShop) -> None:  # noqa: F811
    shop = both_shop
    boss = await shop.hire("Boss Wu", Role.supervisor)
    person, telegram_id = await on_both(shop)
    shop.telegram_api.fail_chats.add(telegram_id)  # type: ignore[attr-defined]
    assert await notify(shop, person, "Fault on WO-1") == 1  # WeCom got it
    await shop.services.messenger.flush()
    notices = [t for t in boss.inbox if "cannot be reached" in t]
    assert notices == [
        "⚠️ Liu Advisor cannot be reached on Telegram: they blocked the bot or are outside the "
        "app's visible range.\nTheir messages go to WeCom until they write to the bot on "
        "Telegram again."]
    calls = len(shop.telegram_api.calls)  # type: ignore[attr-defined]
    assert await notify(shop, person, "Fault on WO-2") == 1
    assert len(shop.telegram_api.calls) == calls  # type: ignore[attr-defined]  # not tried
    assert person.last.text == "Fault on WO-2"
    assert len([t for t in boss.inbox if "cannot be reached" in t]) == 1
