"""Onboarding and the gate: invite codes, strangers, deactivated staff, languages."""

from __future__ import annotations

import pytest

from bot.i18n import Translator
from models.staff import Role, deactivate, find_staff
from tests.shop import Shop

pytestmark = pytest.mark.both_channels


def strangers_language(shop: Shop) -> Translator:
    """Telegram says a stranger's language (``en`` here); WeCom does not: the shop's default."""
    return Translator("en" if shop.channel == "telegram" else shop.settings.default_locale,
                      shop.settings.tz)


async def test_invite_binds_once_and_sets_menu(shop: Shop) -> None:
    tech = await shop.hire("Zhang San", Role.technician, bind=False)
    replies = await tech.send(f"/start {tech.invite_code}")
    assert any("Welcome, Zhang San" in r for r in replies)
    if shop.channel == "telegram":  # WeCom's menu is the app's own (`workshop-bot wecom menu`)
        menus = [c for c in shop.api.calls if c.method == "setMyCommands"
                 and c.params["scope"].get("chat_id") == tech.user_id]
        assert menus, "the technician got no command menu"
    other = shop.stranger("Li Si")
    replies = await other.send(f"/start {tech.invite_code}")
    _ = strangers_language(shop)
    assert replies == [_("That invite code has already been used. Ask your service manager "
                         "for a new one.")]


async def test_expired_and_unknown_codes(shop: Shop) -> None:
    tech = await shop.hire("Wang Wu", Role.technician, bind=False)
    shop.advance(days=7, seconds=1)
    _ = strangers_language(shop)
    assert (await tech.send(f"/start {tech.invite_code}"))[0] == _(
        "That invite code has expired. Ask your service manager for a new one.")
    assert (await tech.send("/start NOSUCHCODE"))[0] == _(
        "That invite code is not valid. Check it, or ask your service manager for a new one.")


async def test_stranger_gets_one_polite_line(shop: Shop) -> None:
    stranger = shop.stranger()
    _ = strangers_language(shop)
    assert await stranger.send("/orders") == [
        _("This bot is for the workshop's staff. Ask your service manager for an invite code.")
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
