"""/staff — an admin manages the staff from the phone: the list, a person's card (roles, a new
invite code, deactivate or reactivate) and ➕ Invite someone (name → roles → staff code → the
invite code to forward).

The rules are the CLI's (:mod:`models.staff`), with what keeps the shop from locking itself
out: nobody deactivates themselves and the last active admin keeps the admin role. The card's
role toggles carry the whole choice in their callback data, so they need no conversation; the
invite is a conversation with its draft persisted like the others.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import WorkshopContext
from bot.i18n import N_, Translator
from bot.refusals import refusal, refuse
from handlers.chat.conversation import END, conversation, draft, drop_draft, read_text
from handlers.chat.labels import role_name, role_names
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply, toggle_tick
from handlers.staff.menus import set_menu
from models.rules import Refused
from models.staff import (
    MAX_CODE,
    MAX_NAME,
    InviteCode,
    Role,
    Staff,
    StaffError,
    accounts_of,
    add_staff,
    change_roles,
    channels_of,
    check_deactivate,
    check_new_code,
    deactivate_staff,
    get_staff,
    issue_invite,
    reactivate_staff,
    require_admin,
    staff_page,
)

PREFIX = "stf"  # the callback data of this module's buttons: stf:…

NAME, ROLES, CODE = range(3)
DRAFT = "staff_invite"
TEXT = filters.TEXT & ~filters.COMMAND
PAGE = 20
ROLE_ORDER = list(Role)
ROLE_DATA = "|".join(r.value for r in Role)


# --- how a person reads ------------------------------------------------------------------------
def channel_name(_: Translator, channel: str) -> str:
    return {"telegram": _("Telegram"), "wecom": _("WeCom")}.get(channel, channel)


def channels_text(_: Translator, channels: list[str]) -> str:
    return ", ".join(channel_name(_, c) for c in channels) if channels else _("not bound yet")


def status_text(_: Translator, staff: Staff) -> str:
    return _("active") if staff.active else _("⛔ deactivated")


def invite_text(_: Translator, staff: Staff, invite: InviteCode) -> str:
    return _("🔑 Invite code for {name}: {code}\nIt works once, until {until}. Forward this "
             "message to {name}: they send /start {code} to the workshop bot on Telegram or in "
             "the WeCom app.").format(name=staff.name, code=invite.code,
                                      until=_.time(invite.expires_at))


def mask_of(roles: frozenset[Role] | set[Role]) -> int:
    return sum(1 << i for i, role in enumerate(ROLE_ORDER) if role in roles)


def roles_of(mask: int) -> set[Role]:
    return {role for i, role in enumerate(ROLE_ORDER) if mask & (1 << i)}


# --- /staff: the list ----------------------------------------------------------------------------
async def list_view(
    context: WorkshopContext, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    _ = context._
    async with context.services.db.session() as session:
        people, total = await staff_page(session, offset=page * PAGE, limit=PAGE)
        pages = max(1, -(-total // PAGE))
        if page >= pages:  # an old ▶ after people left: the last page
            page = pages - 1
            people, total = await staff_page(session, offset=page * PAGE, limit=PAGE)
        channels = await channels_of(session, [p.id for p in people if p.id is not None])
    header = _("👥 Staff: {count}").format(count=total)
    if pages > 1:
        header += " · " + _("page {page} of {pages}").format(page=page + 1, pages=pages)
    lines = [header]
    for person in people:
        code = f" ({person.code})" if person.code else ""
        lines.append(_("• {name}{code}: {roles} · {status} · {channels}").format(
            name=person.name, code=code, roles=role_names(_, person.role_set),
            status=status_text(_, person), channels=channels_text(_, channels.get(
                person.id or 0, []))))
    if not people:
        lines.append(_("Nobody yet."))
    else:
        lines.append(_("Tap a name to open their card."))
    names = [button(("⛔ " if not p.active else "") + p.name, f"{PREFIX}:c:{p.id}") for p in people]
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        nav.append(button(_("◀ Previous"), f"{PREFIX}:l:{page - 1}"))
    if page < pages - 1:
        nav.append(button(_("Next ▶"), f"{PREFIX}:l:{page + 1}"))
    rows = [[button(_("➕ Invite someone"), f"{PREFIX}:new")],
            *[names[i : i + 2] for i in range(0, len(names), 2)], nav]
    return "\n".join(lines), keyboard(*rows)


async def show_list(update: Update, context: WorkshopContext) -> None:
    """/staff: everyone, with buttons to open a card or invite someone (admins only)."""
    try:
        require_admin(context.me)
    except Refused as refused:
        await refuse(update, context, refused)
        return
    text, markup = await list_view(context, 0)
    await reply(update, text, markup)


async def turn_page(update: Update, context: WorkshopContext) -> None:
    """◀ / ▶ under the list."""
    query = update.callback_query
    assert query is not None
    try:
        require_admin(context.me)
    except Refused as refused:
        await refuse(update, context, refused)
        return
    text, markup = await list_view(context, callback_int(update, 2))
    await query.answer()
    await query.edit_message_text(text, reply_markup=markup)


# --- a person's card -----------------------------------------------------------------------------
async def card_view(
    context: WorkshopContext, staff: Staff, note: str | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    _ = context._
    async with context.services.db.session() as session:
        channels = (await channels_of(session, [staff.id or 0])).get(staff.id or 0, [])
    lines = [note, ""] if note else []
    code = _(", staff code {code}").format(code=staff.code) if staff.code else ""
    lines += [
        f"👤 {staff.name} (#{staff.id}{code})",
        _("Roles: {roles}").format(roles=role_names(_, staff.role_set)),
        _("Status: {status}").format(status=status_text(_, staff)),
        _("Bound on: {channels}").format(channels=channels_text(_, channels)),
        _("Last wrote on: {channel}").format(
            channel=channel_name(_, staff.last_channel) if staff.last_channel else "—"),
    ]
    if staff.active:
        rows = [[button(_("🎭 Roles"), f"{PREFIX}:r:{staff.id}"),
                 button(_("🔑 New invite code"), f"{PREFIX}:i:{staff.id}")],
                [button(_("⛔ Deactivate"), f"{PREFIX}:d:{staff.id}")]]
    else:
        rows = [[button(_("♻️ Reactivate"), f"{PREFIX}:a:{staff.id}")]]
    rows.append([button(_("◀ All staff"), f"{PREFIX}:l:0")])
    return "\n".join(lines), keyboard(*rows)


async def load_for_admin(update: Update, context: WorkshopContext) -> Staff | None:
    """The person a card button names, for an admin; ``None`` after telling why not."""
    async with context.services.db.session() as session:
        try:
            require_admin(context.me)
            return await get_staff(session, callback_int(update, 2))
        except Refused as refused:
            await refuse(update, context, refused)
            return None


async def open_card(update: Update, context: WorkshopContext) -> None:
    """A name on the list: their card, as a new message."""
    staff = await load_for_admin(update, context)
    if staff is None:
        return
    await answer_tap(update)
    text, markup = await card_view(context, staff)
    await reply(update, text, markup)


async def edit_card(update: Update, context: WorkshopContext, staff: Staff,
                    note: str | None = None) -> None:
    query = update.callback_query
    assert query is not None
    text, markup = await card_view(context, staff, note)
    await query.answer()
    await query.edit_message_text(text, reply_markup=markup)


async def back_to_card(update: Update, context: WorkshopContext) -> None:
    """◀ Back from the role toggles or the deactivation question."""
    staff = await load_for_admin(update, context)
    if staff is not None:
        await edit_card(update, context, staff)


def roles_keyboard(_: Translator, staff_id: int, mask: int) -> InlineKeyboardMarkup:
    rows = [[button(("✅ " if mask & (1 << i) else "⬜ ") + role_name(_, role),
                    f"{PREFIX}:rt:{staff_id}:{mask ^ (1 << i)}")]
            for i, role in enumerate(ROLE_ORDER)]
    rows.append([button(_("💾 Save"), f"{PREFIX}:rs:{staff_id}:{mask}"),
                 button(_("◀ Back"), f"{PREFIX}:c:{staff_id}:back")])
    return keyboard(*rows)


async def show_roles(update: Update, context: WorkshopContext) -> None:
    """🎭 Roles, and each tick: the toggles, with the choice so far in their data."""
    query = update.callback_query
    assert query is not None and query.data is not None
    staff = await load_for_admin(update, context)
    if staff is None:
        return
    parts = query.data.split(":")
    mask = int(parts[3]) if len(parts) > 3 else mask_of(staff.role_set)
    if mask >= 1 << len(ROLE_ORDER):
        await answer_tap(update, context._("This button is no longer active."), alert=True)
        return
    _ = context._
    await query.answer()
    await query.edit_message_text(
        _("🎭 Roles of {name}: tick what they do, then tap Save.").format(name=staff.name),
        reply_markup=roles_keyboard(_, staff.id or 0, mask))


async def save_roles(update: Update, context: WorkshopContext) -> None:
    """💾 Save: replace the roles (an audit event) and redo their command menu."""
    _ = context._
    staff_id, mask = callback_int(update, 2), callback_int(update, 3)
    async with context.services.db.session() as session:
        try:
            staff = await change_roles(session, staff_id=staff_id, roles=roles_of(mask),
                                       admin=context.me, now=context.now(),
                                       actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            return
        await session.commit()
        accounts = [a for a in await accounts_of(session, staff_id)
                    if a.channel == context.channel]
    if staff.active:
        for account in accounts:
            await set_menu(context.bot, account.chat_id, staff,
                           context.services.translator_for(staff))
    await edit_card(update, context, staff, _("✅ Roles saved."))


async def new_code_for(update: Update, context: WorkshopContext) -> None:
    """🔑 New invite code: a fresh code to forward; earlier unused ones stop working."""
    _ = context._
    ttl = timedelta(days=context.services.settings.invite_ttl_days)
    async with context.services.db.session() as session:
        try:
            staff, invite = await issue_invite(session, staff_id=callback_int(update, 2),
                                               admin=context.me, now=context.now(), ttl=ttl,
                                               actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            return
        await session.commit()
    await answer_tap(update)
    await reply(update, invite_text(_, staff, invite) + "\n" + _(
        "Earlier unused codes for {name} no longer work.").format(name=staff.name))


async def ask_deactivate(update: Update, context: WorkshopContext) -> None:
    """⛔ Deactivate: say what it means and ask to confirm."""
    _ = context._
    query = update.callback_query
    assert query is not None
    async with context.services.db.session() as session:
        try:
            staff = await check_deactivate(session, staff_id=callback_int(update, 2),
                                           admin=context.me)
        except Refused as refused:
            await refuse(update, context, refused)
            return
    await query.answer()
    await query.edit_message_text(
        _("Deactivate {name}? The bot stops answering them; their history stays. You can "
          "reactivate them later.").format(name=staff.name),
        reply_markup=keyboard([button(_("⛔ Yes, deactivate"), f"{PREFIX}:dy:{staff.id}"),
                               button(_("◀ Back"), f"{PREFIX}:c:{staff.id}:back")]))


async def confirm_deactivate(update: Update, context: WorkshopContext) -> None:
    """⛔ Yes, deactivate."""
    await _change_status(update, context, deactivate_staff, N_("⛔ {name} is deactivated."))


async def reactivate(update: Update, context: WorkshopContext) -> None:
    """♻️ Reactivate: their bound accounts work again."""
    await _change_status(update, context, reactivate_staff, N_("✅ {name} is active again."))


async def _change_status(update: Update, context: WorkshopContext, change: Any,
                         done: str) -> None:
    """Deactivate or reactivate the person the button names; the card says it is done."""
    async with context.services.db.session() as session:
        try:
            staff = await change(session, staff_id=callback_int(update, 2), admin=context.me,
                                 now=context.now(), actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            return
        await session.commit()
    await edit_card(update, context, staff, context._(done).format(name=staff.name))


# --- ➕ Invite someone ----------------------------------------------------------------------------
async def start_invite(update: Update, context: WorkshopContext) -> int:
    """➕ Invite someone: their name first."""
    try:
        require_admin(context.me)
    except Refused as refused:
        await refuse(update, context, refused)
        return END
    drop_draft(context, DRAFT)
    draft(context, DRAFT)["roles"] = []
    await answer_tap(update)
    await reply(update, context._("➕ Name of the new staff member (at most {limit} "
                                  "characters)? /cancel stops.").format(limit=MAX_NAME))
    return NAME


async def got_name(update: Update, context: WorkshopContext) -> int:
    """The name; then the roles."""
    name = await read_text(update, context, MAX_NAME)
    if name is None:
        return NAME
    draft(context, DRAFT)["name"] = name
    await ask_roles(update, context)
    return ROLES


def invite_roles_keyboard(_: Translator, form: dict[str, Any]) -> InlineKeyboardMarkup:
    chosen = form.get("roles", [])
    rows = [[button(("✅ " if role.value in chosen else "⬜ ") + role_name(_, role),
                    f"{PREFIX}:nr:{role.value}")] for role in ROLE_ORDER]
    rows.append([button(_("➡️ Done"), f"{PREFIX}:nr:done")])
    return keyboard(*rows)


async def ask_roles(update: Update, context: WorkshopContext) -> None:
    _ = context._
    form = draft(context, DRAFT)
    await reply(update, _("What does {name} do? Tick one or more roles, then tap Done.").format(
        name=form.get("name", "")), invite_roles_keyboard(_, form))


async def toggle_role(update: Update, context: WorkshopContext) -> int:
    """Tick or untick a role."""
    query = update.callback_query
    assert query is not None and query.data is not None
    form = draft(context, DRAFT)
    await toggle_tick(update, form.setdefault("roles", []), query.data.rsplit(":", 1)[1],
                      lambda: invite_roles_keyboard(context._, form))
    return ROLES


async def roles_done(update: Update, context: WorkshopContext) -> int:
    """Done under the roles: at least one; then the staff code."""
    _ = context._
    if not draft(context, DRAFT).get("roles"):
        await refuse(update, context, Refused("staff_no_roles"))
        return ROLES
    await answer_tap(update)
    await reply(update, _("Their staff code (工号), if the shop uses one — or tap Skip."),
                keyboard([button(_("⏭ Skip"), f"{PREFIX}:ns:skip")]))
    return CODE


async def got_code(update: Update, context: WorkshopContext) -> int:
    """A staff code no one else has; then the person is added."""
    text = await read_text(update, context, MAX_CODE)
    if text is None:
        return CODE
    async with context.services.db.session() as session:
        try:
            code = await check_new_code(session, text)
        except Refused as refused:
            await reply(update, refusal(context._, refused),
                        keyboard([button(context._("⏭ Skip"), f"{PREFIX}:ns:skip")]))
            return CODE
    return await create(update, context, code)


async def skip_code(update: Update, context: WorkshopContext) -> int:
    """⏭ Skip: no staff code."""
    await answer_tap(update)
    return await create(update, context, None)


async def create(update: Update, context: WorkshopContext, code: str | None) -> int:
    """Add the person as the CLI does (an audit event) and show the code to forward."""
    _ = context._
    form = draft(context, DRAFT)
    roles = {Role(r) for r in form.get("roles", [])}
    ttl = timedelta(days=context.services.settings.invite_ttl_days)
    async with context.services.db.session() as session:
        try:
            require_admin(context.me)
            staff, invite = await add_staff(session, name=form.get("name", ""), roles=roles,
                                            now=context.now(), invite_ttl=ttl, code=code,
                                            actor=context.actor)
        except Refused as refused:
            await session.rollback()
            drop_draft(context, DRAFT)
            await reply(update, refusal(_, refused))
            return END
        except StaffError:  # the code was taken meanwhile
            await session.rollback()
            await reply(update, refusal(_, Refused("staff_code_taken", staff_code=code)),
                        keyboard([button(_("⏭ Skip"), f"{PREFIX}:ns:skip")]))
            return CODE
        await session.commit()
    drop_draft(context, DRAFT)
    await reply(update, _("✅ {name} added: {roles}.").format(
        name=staff.name, roles=role_names(_, staff.role_set)) + "\n\n"
        + invite_text(_, staff, invite),
        keyboard([button(_("👤 Open the card"), f"{PREFIX}:c:{staff.id}")]))
    return END


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "staff_invite",
            draft_key=DRAFT,
            entry_points=[CallbackQueryHandler(start_invite, pattern=rf"^{PREFIX}:new$")],
            states={
                NAME: [MessageHandler(TEXT, got_name)],
                ROLES: [CallbackQueryHandler(toggle_role, pattern=rf"^{PREFIX}:nr:({ROLE_DATA})$"),
                        CallbackQueryHandler(roles_done, pattern=rf"^{PREFIX}:nr:done$")],
                CODE: [MessageHandler(TEXT, got_code),
                       CallbackQueryHandler(skip_code, pattern=rf"^{PREFIX}:ns:skip$")],
            },
        ),
        CommandHandler("staff", show_list),
        CallbackQueryHandler(turn_page, pattern=rf"^{PREFIX}:l:\d{{1,4}}$"),
        CallbackQueryHandler(open_card, pattern=rf"^{PREFIX}:c:\d+$"),
        CallbackQueryHandler(back_to_card, pattern=rf"^{PREFIX}:c:\d+:back$"),
        CallbackQueryHandler(show_roles, pattern=rf"^{PREFIX}:r:\d+$"),
        CallbackQueryHandler(show_roles, pattern=rf"^{PREFIX}:rt:\d+:\d{{1,4}}$"),
        CallbackQueryHandler(save_roles, pattern=rf"^{PREFIX}:rs:\d+:\d{{1,4}}$"),
        CallbackQueryHandler(new_code_for, pattern=rf"^{PREFIX}:i:\d+$"),
        CallbackQueryHandler(ask_deactivate, pattern=rf"^{PREFIX}:d:\d+$"),
        CallbackQueryHandler(confirm_deactivate, pattern=rf"^{PREFIX}:dy:\d+$"),
        CallbackQueryHandler(reactivate, pattern=rf"^{PREFIX}:a:\d+$"),
    ]
