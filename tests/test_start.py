"""Onboarding and the gate: invite codes, strangers, deactivated staff, languages."""

from __future__ import annotations

from models.staff import Role, deactivate, find_staff
from tests.shop import Shop


async def test_invite_binds_once_and_sets_menu(shop: Shop) -> None:
    tech = await shop.hire("Zhang San", Role.technician, bind=False)
    replies = await tech.send(f"/start {tech.invite_code}")
    assert any("Welcome, Zhang San" in r for r in replies)
    menus = [c for c in shop.api.calls if c.method == "setMyCommands"
             and c.params["scope"].get("chat_id") == tech.user_id]
    assert menus, "the technician got no command menu"
    other = shop.stranger("Li Si")
    replies = await other.send(f"/start {tech.invite_code}")
    assert replies == ["That invite code has already been used. Ask your service manager "
                       "for a new one."]


async def test_expired_and_unknown_codes(shop: Shop) -> None:
    tech = await shop.hire("Wang Wu", Role.technician, bind=False)
    shop.advance(days=7, seconds=1)
    assert "expired" in (await tech.send(f"/start {tech.invite_code}"))[0]
    assert "not valid" in (await tech.send("/start NOSUCHCODE"))[0]


async def test_stranger_gets_one_polite_line(shop: Shop) -> None:
    stranger = shop.stranger()
    assert await stranger.send("/orders") == [
        "This bot is for the workshop's staff. Ask your service manager for an invite code."
    ]
    assert len(await stranger.send("hello")) == 1


async def test_deactivated_staff_is_refused(shop: Shop) -> None:
    tech = await shop.hire("Zhao Liu", Role.technician)
    async with shop.db.session() as session:
        staff = await find_staff(session, "Zhao Liu")
        await deactivate(session, staff, now=shop.now())
        await session.commit()
    replies = await tech.send("/orders")
    assert replies == ["Your access has been deactivated. Ask your service manager if this "
                       "is a mistake."]


async def test_language_from_telegram_and_lang_command(shop: Shop) -> None:
    tech = await shop.hire("Sun Qi", Role.technician, bind=False, locale=None)  # type: ignore[arg-type]
    tech.language_code = "zh-hans"
    replies = await tech.send(f"/start {tech.invite_code}")
    assert "欢迎" in replies[0]
    await tech.send("/lang")
    replies = await tech.tap("English")
    assert replies[-1] == "Language set: English."
    assert "no open work orders" in (await tech.send("/orders"))[0]
