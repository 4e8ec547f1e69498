"""/staff: an admin lists the staff, invites someone, changes roles, issues a new invite code,
deactivates and reactivates — and cannot lock the shop out."""

from __future__ import annotations

import json
import re

import pytest
from sqlmodel import col, select

from bot.i18n import Translator
from models.audit import AuditEvent
from models.staff import Role, Staff, find_staff
from tests.shop import Person, Shop

pytestmark = pytest.mark.both_channels

NOT_ADMIN = "Only administrators can do this; nothing was changed."


def invite_code_in(texts: list[str]) -> str:
    for text in reversed(texts):
        found = re.search(r"Invite code for .+?: ([A-Z0-9]{10})", text)
        if found:
            return found.group(1)
    raise AssertionError(f"no invite code in {texts!r}")


async def staff_named(shop: Shop, name: str) -> Staff:
    async with shop.db.session() as session:
        return await find_staff(session, name)


async def audit_actions(shop: Shop, staff_id: int) -> list[tuple[str, int | None]]:
    async with shop.db.session() as session:
        events = (await session.exec(
            select(AuditEvent).where(AuditEvent.entity == "staff",
                                     AuditEvent.entity_id == staff_id)
            .order_by(col(AuditEvent.id)))).all()
    return [(e.action, e.staff_id) for e in events]


def menu_commands(shop: Shop, person: Person) -> list[str]:
    calls = [c for c in shop.api.calls if c.method == "setMyCommands"
             and c.params["scope"].get("chat_id") == person.user_id]
    assert calls, f"{person.name} got no command menu"
    commands = calls[-1].params["commands"]
    if isinstance(commands, str):
        commands = json.loads(commands)
    return [c["command"] for c in commands]


def strangers_language(shop: Shop) -> Translator:
    """Telegram says a stranger's language (``en`` here); WeCom does not: the shop's default."""
    return Translator("en" if shop.channel == "telegram" else shop.settings.default_locale,
                      shop.settings.tz)


async def open_card(admin: Person, name: str) -> None:
    await admin.send("/staff")
    await admin.tap(name)


async def test_list_shows_everyone_with_roles_and_channels(shop: Shop) -> None:
    boss = await shop.hire("Boss", Role.admin)
    await shop.hire("Zhang San", Role.technician, Role.team_leader)
    await shop.hire("Li Si", Role.advisor, bind=False)
    replies = await boss.send("/staff")
    text = replies[-1]
    assert "👥 Staff: 3" in text
    channel = "Telegram" if shop.channel == "telegram" else "WeCom"
    assert f"• Zhang San: Technician, Team leader · active · {channel}" in text
    assert "• Li Si: Service advisor · active · not bound yet" in text
    labels = [label for label, _ in boss.last.buttons]
    assert "➕ Invite someone" in labels and "Li Si" in labels


async def test_list_pages(shop: Shop) -> None:
    boss = await shop.hire("Boss", Role.admin)
    for number in range(21):
        await shop.hire(f"Tech {number:02d}", Role.technician, bind=False)
    text = (await boss.send("/staff"))[-1]
    assert "👥 Staff: 22 · page 1 of 2" in text
    assert "Tech 18" in text and "Tech 19" not in text
    text = (await boss.tap("Next ▶"))[-1]
    assert "page 2 of 2" in text and "Tech 19" in text and "Tech 20" in text
    text = (await boss.tap("◀ Previous"))[-1]
    assert "page 1 of 2" in text


async def test_invite_someone_end_to_end(shop: Shop) -> None:
    boss = await shop.hire("Boss", Role.admin)
    await boss.send("/staff")
    replies = await boss.tap("➕ Invite someone")
    assert "Name of the new staff member" in replies[-1]
    await boss.send("Chen Qi")
    assert "What does Chen Qi do?" in boss.last.text
    assert await boss.tap("➡️ Done") == ["Tick at least one role."]
    await boss.tap("Technician")
    await boss.tap("Inspector")
    await boss.tap("Inspector")  # and off again
    await boss.tap("Team leader")
    replies = await boss.tap("➡️ Done")
    assert "staff code" in replies[-1]
    replies = await boss.send("T-007")
    assert replies[-1].startswith("✅ Chen Qi added: Technician, Team leader.")
    assert "/start" in replies[-1] and "WeCom app" in replies[-1]
    code = invite_code_in(replies)
    chen = await staff_named(shop, "Chen Qi")
    assert chen.code == "T-007"
    assert chen.role_set == {Role.technician, Role.team_leader}
    assert await audit_actions(shop, chen.id) == [("staff.add", boss.staff_id)]  # type: ignore[arg-type]

    newcomer = shop.stranger("Chen Qi")
    replies = await newcomer.send(f"/start {code}")
    _ = strangers_language(shop)
    welcome = _("Welcome, {name}! Your account is bound.").format(name="Chen Qi")
    assert any(welcome in r and "/qc" in r for r in replies)
    if shop.channel == "telegram":
        assert "qc" in menu_commands(shop, newcomer)
        assert "staff" not in menu_commands(shop, newcomer)
    assert (await newcomer.send("/staff")) == [_(NOT_ADMIN)]


async def test_invite_code_taken_nonsense_and_skip(shop: Shop) -> None:
    boss = await shop.hire("Boss", Role.admin)
    await shop.hire("Zhang San", Role.technician)
    async with shop.db.session() as session:
        zhang = await find_staff(session, "Zhang San")
        zhang.code = "T-001"
        await session.commit()
    await boss.send("/staff")
    await boss.tap("➕ Invite someone")
    assert await boss.send("x" * 65) == [
        "That is 65 characters; at most 64, please. Nothing was lost — send a shorter text."]
    await boss.send("Wu Ba")
    replies = await boss.send("Done")  # text where the step wants buttons
    assert replies == ["That is not what this step needs. Please answer the question above, "
                       "or send /cancel."]
    await boss.tap("Parts clerk")
    await boss.tap("➡️ Done")
    assert await boss.send("T-001") == [
        "Staff code T-001 is already taken. Send another, or tap Skip."]
    assert await boss.send("not a code") == [
        "A staff code is one word without spaces. Send another, or tap Skip."]
    replies = await boss.tap("⏭ Skip")
    assert replies[-1].startswith("✅ Wu Ba added: Parts clerk.")
    assert (await staff_named(shop, "Wu Ba")).code is None


async def test_cancel_mid_invite_saves_nothing(shop: Shop) -> None:
    boss = await shop.hire("Boss", Role.admin)
    await boss.send("/staff")
    await boss.tap("➕ Invite someone")
    await boss.send("Half Done")
    await boss.tap("Technician")
    assert await boss.send("/cancel") == ["Cancelled. Nothing was saved."]
    async with shop.db.session() as session:
        assert not (await session.exec(select(Staff).where(Staff.name == "Half Done"))).all()
    assert "👥 Staff: 1" in (await boss.send("/staff"))[-1]


async def test_invite_survives_a_restart(shop: Shop) -> None:
    boss = await shop.hire("Boss", Role.admin)
    await boss.send("/staff")
    await boss.tap("➕ Invite someone")
    await shop.restart()
    await boss.send("Zhou Jiu")
    await shop.restart()
    await boss.tap("Tracking clerk")
    await shop.restart()
    await boss.tap("➡️ Done")
    await shop.restart()
    replies = await boss.tap("⏭ Skip")
    assert replies[-1].startswith("✅ Zhou Jiu added: Tracking clerk.")


async def test_roles_toggle_and_save(shop: Shop) -> None:
    boss = await shop.hire("Boss", Role.admin)
    zhang = await shop.hire("Zhang San", Role.technician)
    await open_card(boss, "Zhang San")
    assert "Roles: Technician" in boss.last.text
    await boss.tap("🎭 Roles")
    assert "Roles of Zhang San" in boss.last.text
    await boss.tap("Technician")  # off
    assert await boss.tap("💾 Save") == ["Tick at least one role."]
    await boss.tap("Service advisor")
    await boss.tap("Supervisor")
    replies = await boss.tap("💾 Save")
    assert replies[-1].startswith("✅ Roles saved.")
    assert "Roles: Service advisor, Supervisor" in replies[-1]
    staff = await staff_named(shop, "Zhang San")
    assert staff.role_set == {Role.advisor, Role.supervisor}
    async with shop.db.session() as session:
        event = (await session.exec(select(AuditEvent).where(
            AuditEvent.action == "staff.set_roles"))).one()
    assert (event.staff_id, event.channel) == (boss.staff_id, shop.channel)
    assert event.detail == {"roles_before": ",technician,",
                            "roles_after": ",advisor,supervisor,"}
    if shop.channel == "telegram":
        assert "neworder" in menu_commands(shop, zhang)
    assert "/neworder" in (await zhang.send("/help"))[-1]


async def test_new_invite_code(shop: Shop) -> None:
    boss = await shop.hire("Boss", Role.admin)
    li = await shop.hire("Li Si", Role.advisor, bind=False)
    await open_card(boss, "Li Si")
    replies = await boss.tap("🔑 New invite code")
    assert "Earlier unused codes for Li Si no longer work." in replies[-1]
    code = invite_code_in(replies)
    assert code != li.invite_code
    other = shop.stranger("Li Si")
    _ = strangers_language(shop)
    assert (await other.send(f"/start {li.invite_code}"))[0] == _(
        "That invite code has expired. Ask your service manager for a new one.")
    assert any("Li Si" in r for r in await other.send(f"/start {code}"))
    assert (await staff_named(shop, "Li Si")).locale == "en"
    actions = await audit_actions(shop, li.staff_id)  # type: ignore[arg-type]
    assert ("staff.invite", boss.staff_id) in actions


async def test_deactivate_with_confirm_and_reactivate(shop: Shop) -> None:
    boss = await shop.hire("Boss", Role.admin)
    zhao = await shop.hire("Zhao Liu", Role.technician)
    await open_card(boss, "Zhao Liu")
    await boss.tap("⛔ Deactivate")
    assert "Deactivate Zhao Liu?" in boss.last.text
    await boss.tap("◀ Back")
    assert "Status: active" in boss.last.text
    await boss.tap("⛔ Deactivate")
    replies = await boss.tap("⛔ Yes, deactivate")
    assert replies[-1].startswith("⛔ Zhao Liu is deactivated.")
    assert await zhao.send("/orders") == [
        "Your access has been deactivated. Ask your service manager if this is a mistake."]
    replies = await boss.tap("♻️ Reactivate")
    assert replies[-1].startswith("✅ Zhao Liu is active again.")
    assert "no open work orders" in (await zhao.send("/orders"))[0]
    assert await audit_actions(shop, zhao.staff_id) == [  # type: ignore[arg-type]
        ("staff.add", None), ("staff.deactivate", boss.staff_id),
        ("staff.reactivate", boss.staff_id)]


async def test_nobody_locks_the_shop_out(shop: Shop) -> None:
    boss = await shop.hire("Boss", Role.admin, Role.supervisor)
    await open_card(boss, "Boss")
    assert await boss.tap("⛔ Deactivate") == [
        "You cannot deactivate yourself; nothing was changed."]
    await boss.tap("🎭 Roles")
    await boss.tap("Administrator")  # off
    assert await boss.tap("💾 Save") == [
        "Boss is the last active administrator; without one nobody could manage the staff. "
        "Make someone else an administrator first; nothing was changed."]
    assert (await staff_named(shop, "Boss")).has(Role.admin)

    # With a second admin, the first may give the role up; the one left keeps it.
    deputy = await shop.hire("Deputy", Role.admin)
    replies = await boss.tap("💾 Save")
    assert replies[-1].startswith("✅ Roles saved.")
    assert await boss.send("/staff") == [NOT_ADMIN]
    await open_card(deputy, "Deputy")
    assert await deputy.tap("⛔ Deactivate") == [
        "You cannot deactivate yourself; nothing was changed."]
    await deputy.tap("🎭 Roles")
    await deputy.tap("Administrator")
    await deputy.tap("Technician")
    assert (await deputy.tap("💾 Save"))[-1].startswith("Deputy is the last active "
                                                       "administrator")


async def test_non_admin_is_refused(shop: Shop) -> None:
    boss = await shop.hire("Boss", Role.admin)
    supervisor = await shop.hire("Sup", Role.supervisor)
    assert await supervisor.send("/staff") == [NOT_ADMIN]
    assert "/staff" not in (await supervisor.send("/help"))[-1]
    assert "/staff" in (await boss.send("/help"))[-1]
    # A forged tap on buttons only an admin gets.
    await supervisor.send("/help")
    card = supervisor.last
    assert await supervisor.tap_data(f"stf:c:{boss.staff_id}", card) == [NOT_ADMIN]
    assert await supervisor.tap_data(f"stf:d:{boss.staff_id}", card) == [NOT_ADMIN]
    assert await supervisor.tap_data(f"stf:rs:{supervisor.staff_id}:255", card) == [NOT_ADMIN]
    assert await supervisor.tap_data("stf:new", card) == [NOT_ADMIN]
    assert (await staff_named(shop, "Sup")).role_set == {Role.supervisor}


@pytest.mark.telegram_only
async def test_admin_menu_has_staff(shop: Shop) -> None:
    boss = await shop.hire("Boss", Role.admin, bind=False)
    await boss.send(f"/start {boss.invite_code}")
    assert "staff" in menu_commands(shop, boss)


async def test_stale_card_after_someone_else_deactivated(shop: Shop) -> None:
    boss = await shop.hire("Boss", Role.admin)
    deputy = await shop.hire("Deputy", Role.admin)
    await shop.hire("Zhao Liu", Role.technician)
    await open_card(boss, "Zhao Liu")
    card = boss.last
    await open_card(deputy, "Zhao Liu")
    await deputy.tap("⛔ Deactivate")
    await deputy.tap("⛔ Yes, deactivate")
    assert await boss.tap("🔑 New invite code", message=card) == [
        "Zhao Liu is deactivated; reactivate them first. Nothing was changed."]
    assert await boss.tap("⛔ Deactivate", message=card) == [
        "Zhao Liu is already deactivated; nothing was changed."]
    assert await boss.tap_data("stf:c:9999", card) == ["That staff member no longer exists."]
