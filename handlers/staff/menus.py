"""Each role sees its own command menu (A1: after-sales commands only for its roles)
(``setMyCommands`` per chat)."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from bot.i18n import N_, Translator
from models.staff import Role, Staff

log = logging.getLogger(__name__)

# (command, description, roles that see it; empty = everyone)
COMMANDS: list[tuple[str, str, frozenset[Role]]] = [
    ("orders", N_("My open work orders"), frozenset()),
    ("neworder", N_("Open a work order"), frozenset({Role.advisor})),
    ("onduty", N_("I am on duty (receive escalations)"), frozenset({Role.advisor})),
    ("offduty", N_("I am off duty"), frozenset({Role.advisor})),
    ("deliver", N_("Hand a finished car back to the customer"), frozenset({Role.advisor})),
    ("checklist", N_("Pre-work checklists still open"),
     frozenset({Role.technician, Role.team_leader})),
    ("parts", N_("Parts requests"), frozenset({Role.parts_clerk})),
    ("qc", N_("Orders waiting for my check"), frozenset({Role.team_leader, Role.inspector})),
    ("duty", N_("Duty areas and who is responsible"),
     frozenset({Role.team_leader, Role.technician, Role.supervisor})),
    ("damage", N_("Report damaged equipment"), frozenset()),
    ("notice", N_("Post a training or meeting notice"),
     frozenset({Role.team_leader, Role.supervisor})),
    ("today", N_("My follow-up calls today"), frozenset({Role.tracking_clerk, Role.supervisor})),
    ("customer", N_("Find a customer by plate, phone or name"),
     frozenset({Role.tracking_clerk, Role.supervisor, Role.advisor})),
    ("logcall", N_("Log an inbound call"), frozenset({Role.tracking_clerk, Role.supervisor})),
    ("consult", N_("Log a consultation"), frozenset({Role.tracking_clerk, Role.supervisor})),
    ("complaints", N_("Open complaints"), frozenset({Role.tracking_clerk, Role.supervisor})),
    ("letter", N_("Register a letter"), frozenset({Role.tracking_clerk, Role.supervisor})),
    ("assign", N_("Assign customers to a clerk"), frozenset({Role.supervisor})),
    ("away", N_("Record a clerk's absence and stand-in"), frozenset({Role.supervisor})),
    ("campaign", N_("Create a campaign"), frozenset({Role.supervisor})),
    ("report", N_("Monthly or annual report"), frozenset({Role.supervisor})),
    ("export", N_("Export the four forms as spreadsheets"), frozenset({Role.supervisor})),
    ("staff", N_("Staff: invite, roles, deactivate"), frozenset({Role.admin})),
    ("lang", N_("Language / 语言"), frozenset()),
    ("help", N_("What I can do"), frozenset()),
    ("cancel", N_("Stop the current step"), frozenset()),
]


def commands_for(staff: Staff, _: Translator) -> list[BotCommand]:
    roles = staff.role_set
    return [
        BotCommand(name, _(description))
        for name, description, who in COMMANDS
        if not who or roles & who
    ]


async def set_default_menu(bot: Bot, _: Translator) -> None:
    await bot.set_my_commands(
        [BotCommand("start", _("Bind your account with an invite code")),
         BotCommand("help", _("What I can do"))],
        scope=BotCommandScopeDefault(),
    )


async def set_menu(bot: Bot, chat_id: int, staff: Staff, _: Translator) -> None:
    try:
        await bot.set_my_commands(commands_for(staff, _), scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:
        log.warning("cannot set the command menu for chat %s: %s", chat_id, exc)
