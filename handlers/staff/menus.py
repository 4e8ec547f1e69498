"""The one table of commands: who sees each one and what it does. Each role's command menu
(``setMyCommands`` per chat) and its ``/help`` are both built from it, so they always agree;
``tests/test_menus.py`` checks that every command the application registers is here, for exactly
the roles its handler serves (A1: after-sales commands only for its roles)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from bot.i18n import N_, Translator
from models.staff import Role, Staff

log = logging.getLogger(__name__)

EVERYONE = frozenset(Role)
ADVISOR = frozenset({Role.advisor})
FLOOR = frozenset({Role.technician, Role.team_leader})
AFTER_SALES = frozenset({Role.tracking_clerk, Role.supervisor})
SUPERVISOR = frozenset({Role.supervisor})


@dataclass(frozen=True)
class Command:
    name: str
    roles: frozenset[Role]  # who sees it in their menu and their /help
    description: str  # N_(…): translated where it is shown


# In menu order. A person sees a command when they hold any of its roles.
COMMANDS: tuple[Command, ...] = (
    Command("orders", FLOOR | ADVISOR, N_("My open work orders")),
    Command("neworder", ADVISOR, N_("Open a work order")),
    Command("approvals", ADVISOR, N_("Extra items and fault reports waiting for a decision")),
    Command("deliver", ADVISOR, N_("Hand a finished car back to the customer")),
    Command("onduty", ADVISOR, N_("I am on duty (receive escalations)")),
    Command("offduty", ADVISOR, N_("I am off duty")),
    Command("checklist", FLOOR, N_("Pre-work checklists still open")),
    Command("qc", frozenset({Role.team_leader, Role.inspector}),
            N_("Orders waiting for my check")),
    Command("parts", frozenset({Role.parts_clerk, Role.supervisor}),
            N_("Parts: open requests, issued parts, old parts, compensation")),
    Command("today", AFTER_SALES, N_("My follow-up calls today")),
    Command("customer", AFTER_SALES | ADVISOR, N_("Find a customer by plate, phone or name")),
    Command("logcall", AFTER_SALES, N_("Log an inbound call")),
    Command("consult", AFTER_SALES, N_("Log a consultation")),
    Command("complaints", AFTER_SALES, N_("Open complaints")),
    Command("letter", AFTER_SALES, N_("Register a letter")),
    Command("assign", SUPERVISOR, N_("Assign customers to a clerk")),
    Command("away", SUPERVISOR, N_("Record a clerk's absence and stand-in")),
    Command("campaign", SUPERVISOR, N_("Create a campaign")),
    Command("report", SUPERVISOR, N_("Monthly or annual report")),
    Command("export", SUPERVISOR, N_("Export the four forms as spreadsheets")),
    Command("notice", frozenset({Role.team_leader, Role.supervisor}),
            N_("Post a training or meeting notice")),
    Command("duty", EVERYONE, N_("Duty areas and who is responsible")),
    Command("damage", EVERYONE, N_("Report damaged equipment")),
    Command("staff", frozenset({Role.admin}), N_("Staff: invite, roles, deactivate")),
    Command("lang", EVERYONE, N_("Language / 语言")),
    Command("help", EVERYONE, N_("What I can do")),
    Command("cancel", EVERYONE, N_("Stop the current step")),
    # Binding an account: in the menu of people not bound yet (the default scope) only.
    Command("start", frozenset(), N_("Bind your account with an invite code")),
)
BY_NAME = {command.name: command for command in COMMANDS}
# The menu of a chat with no menu of its own (someone not bound yet).
DEFAULT_MENU = ("start", "help")


def visible_to(staff: Staff) -> list[Command]:
    """The commands ``staff`` sees, in menu order."""
    roles = staff.role_set
    return [command for command in COMMANDS if roles & command.roles]


def sees(staff: Staff, name: str) -> bool:
    command = BY_NAME.get(name)
    return command is not None and bool(staff.role_set & command.roles)


def commands_for(staff: Staff, _: Translator) -> list[BotCommand]:
    return [BotCommand(command.name, _(command.description)) for command in visible_to(staff)]


def help_lines(staff: Staff, _: Translator) -> list[str]:
    """``/help``: one line per command of the menu, the same words."""
    return [f"/{command.name} — {_(command.description)}" for command in visible_to(staff)]


async def set_default_menu(bot: Bot, _: Translator) -> None:
    await bot.set_my_commands(
        [BotCommand(name, _(BY_NAME[name].description)) for name in DEFAULT_MENU],
        scope=BotCommandScopeDefault(),
    )


async def set_menu(bot: Bot, chat_id: int, staff: Staff, _: Translator) -> None:
    try:
        await bot.set_my_commands(commands_for(staff, _), scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:
        log.warning("cannot set the command menu for chat %s: %s", chat_id, exc)
