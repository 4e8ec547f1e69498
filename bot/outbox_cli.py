"""``workshop-bot outbox [--failed|--waiting]`` and ``workshop-bot outbox retry [ID…|--all]``.

The outbox holds messages WeCom or Telegram refused for now (``models.outbox``); the running
bot sends them on its own. These commands let the operator see what waits or failed (a member
who left the WeCom app's visible range, a blocked bot, two days of refusals) and, once the
cause is fixed, put failed messages back in the queue.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # loaded by the command itself, so that `--help` answers at once
    from bot.settings import Settings
    from models.db import Database


def add_outbox_command(subparsers: Any) -> None:
    """Add ``outbox`` to the ``workshop-bot`` command's subparsers."""
    parser = subparsers.add_parser(
        "outbox", help="messages a platform refused for now: list them, retry failed ones")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--failed", action="store_true", help="only the ones given up")
    which.add_argument("--waiting", action="store_true", help="only the ones still waiting")
    parser.set_defaults(handler=cmd_outbox_list)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    retry = actions.add_parser("retry", help="put failed messages back in the queue")
    retry.add_argument("ids", nargs="*", type=int, metavar="ID", help="outbox ids (see the list)")
    retry.add_argument("--all", action="store_true", help="every failed message")
    retry.set_defaults(handler=cmd_outbox_retry)


def cmd_outbox_list(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli import print_table, with_database
    from models import outbox

    failed = True if args.failed else False if args.waiting else None

    async def work(db: Database) -> tuple[list[outbox.OutboxMessage], tuple[int, int]]:
        async with db.session() as session:
            return await outbox.listing(session, failed=failed), await outbox.counts(session)

    messages, (waiting, given_up) = with_database(settings, work)
    print(f"{waiting} waiting, {given_up} failed")
    if not messages:
        return 0
    tz = settings.tz
    table = [["ID", "CHANNEL", "CHAT", "STAFF", "KEPT", "TRIES", "STATE", "MESSAGE", "ERROR"]]
    for m in messages:
        state = ("failed " + m.failed_at.astimezone(tz).strftime("%m-%d %H:%M")
                 if m.failed_at else "next " + m.not_before.astimezone(tz).strftime("%H:%M:%S"))
        table.append([str(m.id), m.channel, str(m.chat_id), str(m.staff_id or "-"),
                      m.created_at.astimezone(tz).strftime("%m-%d %H:%M"), str(m.attempts),
                      state, outbox.preview(m), (m.last_error or "")[:60]])
    print_table(table)
    return 0


def cmd_outbox_retry(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli import CliError, with_database
    from bot.clock import Clock
    from models import outbox

    if not args.ids and not args.all:
        raise CliError("say which: outbox retry ID [ID …], or outbox retry --all")
    if args.ids and args.all:
        raise CliError("give IDs or --all, not both")

    async def work(db: Database) -> int:
        async with db.session() as session:
            count = await outbox.retry_failed(session, None if args.all else args.ids,
                                              Clock().now())
            await session.commit()
            return count

    count = with_database(settings, work)
    noun = "message" if count == 1 else "messages"
    print(f"{count} failed {noun} back in the queue; the running bot sends them within "
          f"{settings.outbox_check_seconds} s")
    return 0
