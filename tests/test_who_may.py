"""Who may do what, from the code: the README's role × command matrix is generated from the
one table the menus, /help and the handlers' refusals follow (``handlers.staff.menus.COMMANDS``;
``tests/test_menus.py`` walks every command for every role), and a stranger and a deactivated
member reach nothing — no command and no button family gets past the access gate."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from handlers.staff.menus import COMMANDS
from models.audit import AuditEvent
from models.staff import Role, Staff
from tests.fakebotapi import SentMessage
from tests.shop import Shop
from tests.test_callback_prefixes import all_prefixes

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN = "<!-- who may: generated from handlers/staff/menus.py (tests/test_who_may.py) -->"
END = "<!-- end of who may -->"

STRANGER = "This bot is for the workshop's staff. Ask your service manager for an invite code."
STRANGER_ZH = "本机器人仅供车间员工使用，请向服务经理索取邀请码。"
DEACTIVATED = "Your access has been deactivated. Ask your service manager if this is a mistake."


def matrix() -> str:
    """The README's table: a row per command, a column per role."""
    roles = list(Role)
    lines = ["| command | " + " | ".join(f"`{r.value}`" for r in roles) + " |",
             "|---|" + "---|" * len(roles)]
    for command in COMMANDS:
        if command.name == "start":
            continue  # binding an account: anyone with an invite
        lines.append(f"| `/{command.name}` | " + " | ".join(
            "✓" if role in command.roles else "" for role in roles) + " |")
    return "\n".join(lines)


def test_the_readme_matrix_is_the_code() -> None:
    text = README.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, "the README lost its who-may matrix"
    shown = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert shown == matrix(), "README's who-may matrix is stale; it should read:\n" + matrix()


async def audit_events(shop: Shop) -> int:
    async with shop.db.session() as session:
        return (await session.exec(select(func.count()).select_from(AuditEvent))).one()


def callback_families() -> list[str]:
    """One tap per button family the bot draws (its prefix and a made-up id)."""
    return sorted(f"{prefix}:1" if not prefix.endswith(":") else f"{prefix}1"
                  for prefix in all_prefixes())


@pytest.mark.both_channels
@pytest.mark.parametrize("who", ["stranger", "deactivated"])
async def test_strangers_and_deactivated_members_reach_nothing(
        shop: Shop, shop_channel: str, who: str) -> None:
    if who == "stranger":
        person = shop.stranger("Stranger", language_code="en")
        # WeCom sends no language: a stranger reads the shop's default (zh_CN here).
        answer = STRANGER if shop_channel == "telegram" else STRANGER_ZH
    else:
        person = await shop.hire("Former Tech", Role.technician, locale="en")
        async with shop.db.session() as session:
            staff = await session.get(Staff, person.staff_id)
            assert staff is not None
            staff.active = False
            await session.commit()
        answer = DEACTIVATED
    before = await audit_events(shop)
    wrong = []
    for command in COMMANDS:
        if command.name == "start":
            continue
        replies = await person.send(f"/{command.name}")
        if replies != [answer]:
            wrong.append(f"/{command.name}: {replies}")
    assert callback_families(), "no button families found"
    if shop_channel == "telegram":  # a WeCom card can only be clicked by whom it was sent to
        card = SentMessage(message_id=1, chat_id=person.user_id, text="card")
        for data in callback_families():
            replies = await person.tap_data(data, card)  # type: ignore[arg-type]
            if replies != [answer]:
                wrong.append(f"tap {data}: {replies}")
    assert wrong == [], "\n".join(wrong)
    assert await audit_events(shop) == before  # nothing was done on their behalf
