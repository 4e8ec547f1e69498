"""A5: every customer has a tracking clerk, named by the supervisor with ``/assign``.

Either one customer (search by plate, phone or name; ``/assign 京A12345`` searches at once) to a
clerk, or every customer of one clerk to another (a clerk leaves, or the load is evened out).
Only active tracking clerks can take customers; the new clerk is told.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import WorkshopContext
from bot.refusals import refusal
from handlers.after_sales.cards.archive import CUSTOMER_PREFIX
from handlers.after_sales.customer_pick import CustomerPick
from handlers.chat.conversation import END, conversation, draft, drop_draft
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply
from models.customer import (
    Customer,
    assign_customer,
    customers_per_clerk,
    get_customer,
    reassign_all,
)
from models.rules import Refused
from models.staff import Role, Staff, active_with_role

PREFIX = "asg"  # the callback data of this module's buttons: asg:…

MODE, SEARCH, CLERK, FROM, TO = range(5)
DRAFT = "assign"
TEXT = filters.TEXT & ~filters.COMMAND

async def start(update: Update, context: WorkshopContext) -> int:
    """Supervisors only: one customer or all of a clerk's."""
    _ = context._
    if not context.me.has(Role.supervisor):
        await reply(update, refusal(_, Refused("not_supervisor")))
        return END
    drop_draft(context, DRAFT)
    PICK.begin(context)
    if context.args:
        return await PICK.search(update, context, " ".join(context.args))
    await reply(update, _("Assign customers to a tracking clerk: one customer, or every "
                          "customer of one clerk? /cancel stops."),
                keyboard([button(_("👤 One customer"), f"{PREFIX}:one")],
                         [button(_("👥 All customers of a clerk"), f"{PREFIX}:all")]))
    return MODE


async def one(update: Update, context: WorkshopContext) -> int:
    """One customer: find them first."""
    await answer_tap(update)
    await reply(update, context._("Send the customer's plate, phone number or name."))
    return SEARCH


async def got_search(update: Update, context: WorkshopContext) -> int:
    """A plate, phone or name."""
    assert update.message is not None
    return await PICK.search(update, context, update.message.text or "")


async def ask_clerk(update: Update, context: WorkshopContext, customer: Customer) -> int:
    """The customer is known: to which clerk?"""
    _ = context._
    async with context.services.db.session() as session:
        current = await session.get(Staff, customer.clerk_id) if customer.clerk_id else None
        clerks = await active_with_role(session, Role.tracking_clerk)
    if not clerks:
        drop_draft(context, DRAFT)
        await reply(update, _("There is no active tracking clerk. Nothing was changed."))
        return END
    draft(context, DRAFT)["customer_id"] = customer.id
    await reply(update, _("{name} (clerk now: {clerk}). Assign to which clerk?").format(
        name=customer.name, clerk=current.name if current else "—"),
        clerk_keyboard(clerks, current.id if current else None))
    return CLERK


PICK = CustomerPick(f"{PREFIX}:c:{{id}}", ask_clerk, state=SEARCH, draft_key=DRAFT)


def clerk_keyboard(clerks: list[Staff], current: int | None) -> InlineKeyboardMarkup:
    buttons = [button(("✓ " if c.id == current else "") + c.name, f"{PREFIX}:to:{c.id}")
               for c in clerks]
    return keyboard(*[buttons[i : i + 2] for i in range(0, len(buttons), 2)])


async def got_clerk(update: Update, context: WorkshopContext) -> int:
    """Assign; refused for anyone who is not an active tracking clerk."""
    _ = context._
    if not context.me.has(Role.supervisor):
        drop_draft(context, DRAFT)
        await reply(update, refusal(_, Refused("not_supervisor")))
        return END
    form = draft(context, DRAFT)
    boss = context.me
    now = context.now()
    async with context.services.db.session() as session:
        clerk = await session.get(Staff, callback_int(update, 2))
        try:
            if clerk is None:
                raise Refused("not_clerk", name="?")
            customer = await get_customer(session, form["customer_id"])
            before = customer.clerk_id
            await assign_customer(session, customer_id=form["customer_id"], clerk=clerk,
                                  now=now, actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await answer_tap(update, refusal(_, refused), alert=True)
            if refused.code == "not_clerk":
                return CLERK
            drop_draft(context, DRAFT)
            return END
        await session.commit()
        previous = await session.get(Staff, before) if before else None
        if before != clerk.id:
            await context.services.messenger.send(
                session, clerk,
                lambda t: (t("👤 {boss} assigned the customer {name} to you.").format(
                    boss=boss.name, name=customer.name),
                    keyboard([button(t("🗂 Archive"), f"{CUSTOMER_PREFIX}:{customer.id}:view")])),
                now=now,
            )
    drop_draft(context, DRAFT)
    await answer_tap(update)
    await reply(update, _("✅ {name} is now with {clerk} (before: {previous}).").format(
        name=customer.name, clerk=clerk.name, previous=previous.name if previous else "—"))
    return END


async def all_of_clerk(update: Update, context: WorkshopContext) -> int:
    """Whose customers move: everyone who holds customers, also a clerk who has left."""
    _ = context._
    await answer_tap(update)
    async with context.services.db.session() as session:
        loads = await customers_per_clerk(session)
        found = [(await session.get(Staff, staff_id), count)
                 for staff_id, count in loads.items()]
    holders = [(s, n) for s, n in found if s is not None]
    if not holders:
        drop_draft(context, DRAFT)
        await reply(update, _("No clerk has customers yet. Nothing was changed."))
        return END
    holders.sort(key=lambda pair: pair[0].name)
    buttons = [button(f"{s.name} ({n})", f"{PREFIX}:from:{s.id}")
               for s, n in holders]
    await reply(update, _("Move all customers of which clerk?"),
                keyboard(*[buttons[i : i + 2] for i in range(0, len(buttons), 2)]))
    return FROM


async def got_from(update: Update, context: WorkshopContext) -> int:
    """To whom: any other active clerk."""
    _ = context._
    from_id = callback_int(update, 2)
    async with context.services.db.session() as session:
        source = await session.get(Staff, from_id)
        clerks = [c for c in await active_with_role(session, Role.tracking_clerk)
                  if c.id != from_id]
    await answer_tap(update)
    if source is None or not clerks:
        drop_draft(context, DRAFT)
        await reply(update, _("There is no other active tracking clerk to take them. Nothing "
                              "was changed."))
        return END
    draft(context, DRAFT)["from_id"] = from_id
    await reply(update, _("Move every customer of {name} to which clerk?").format(
        name=source.name), clerk_keyboard(clerks, None))
    return TO


async def got_to(update: Update, context: WorkshopContext) -> int:
    """Move them all; the new clerk is told how many."""
    _ = context._
    if not context.me.has(Role.supervisor):
        drop_draft(context, DRAFT)
        await reply(update, refusal(_, Refused("not_supervisor")))
        return END
    form = draft(context, DRAFT)
    boss = context.me
    now = context.now()
    async with context.services.db.session() as session:
        source = await session.get(Staff, form["from_id"])
        target = await session.get(Staff, callback_int(update, 2))
        try:
            if target is None or source is None:
                raise Refused("not_clerk", name="?")
            if target.id == source.id:
                raise Refused("assign_same_clerk")
            count = await reassign_all(session, from_clerk=source, to_clerk=target, now=now,
                                       actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await answer_tap(update, refusal(_, refused), alert=True)
            return TO
        await session.commit()
        if count:
            await context.services.messenger.send(
                session, target,
                lambda t: (t.ngettext(
                    "👥 {boss} moved {count} customer of {name} to you.",
                    "👥 {boss} moved {count} customers of {name} to you.", count,
                ).format(boss=boss.name, count=count, name=source.name), None),
                now=now,
            )
    drop_draft(context, DRAFT)
    await answer_tap(update)
    await reply(update, _.ngettext(
        "✅ Moved {count} customer from {source} to {target}.",
        "✅ Moved {count} customers from {source} to {target}.", count,
    ).format(count=count, source=source.name, target=target.name))
    return END


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "assign",
            draft_key=DRAFT,
            entry_points=[CommandHandler("assign", start)],
            states={
                MODE: [
                    CallbackQueryHandler(one, pattern=rf"^{PREFIX}:one$"),
                    CallbackQueryHandler(all_of_clerk, pattern=rf"^{PREFIX}:all$"),
                ],
                SEARCH: [MessageHandler(TEXT, got_search), PICK.handler()],
                CLERK: [CallbackQueryHandler(got_clerk, pattern=rf"^{PREFIX}:to:\d+$")],
                FROM: [CallbackQueryHandler(got_from, pattern=rf"^{PREFIX}:from:\d+$")],
                TO: [CallbackQueryHandler(got_to, pattern=rf"^{PREFIX}:to:\d+$")],
            },
        )
    ]
