"""W6: "part does not match" — the technician sends an issued part back uninstalled.

On the "part issued" message the technician taps "↩️ Part does not match": a reason, then
photos of the part as it was issued. Every active parts clerk is told, the clerks' cards show
the return, and the technician can ask for a different part at once.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import WorkshopContext
from bot.i18n import Translator
from bot.refusals import refusal, refuse
from handlers.chat.conversation import (
    END,
    conversation,
    draft,
    drop_draft,
    keep_photo,
    read_text,
    wrong_input,
)
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, local_time, reply
from handlers.floor.cards import ORDER_PREFIX
from handlers.parts.cards import MAX_REASON, PART_PREFIX, CardFacts, redraw_cards
from models.attachment import attachments_of
from models.db import id_of
from models.parts import MAX_PHOTOS, check_returnable, part_label, return_part
from models.rules import Refused
from models.staff import Role, active_with_role

RETURN_PHOTOS_OWNER = "part_return"
TEXT = filters.TEXT & ~filters.COMMAND
RETURN_REASON, RETURN_PHOTOS = range(10, 12)
RETURN = "part_return"


async def start_return(update: Update, context: WorkshopContext) -> int:
    """The technician of the order, an issued part, the order still in progress."""
    request_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            _order, request = await check_returnable(session, request_id=request_id,
                                                     technician=context.me)
        except Refused as refused:
            await refuse(update, context, refused)
            return END
    drop_draft(context, RETURN)
    draft(context, RETURN).update(request_id=request_id, photos=[])
    await answer_tap(update)
    await reply(update, context._("Return #{id} {part} uninstalled. Why does it not match (e.g. "
                                  "“wrong connector”)? /cancel stops.").format(
                                      id=request_id, part=part_label(request)))
    return RETURN_REASON


async def got_return_reason(update: Update, context: WorkshopContext) -> int:
    """What is wrong with the part; photos next."""
    assert update.message is not None
    reason = await read_text(update, context, MAX_REASON)
    if reason is None:
        return RETURN_REASON
    form = draft(context, RETURN)
    form["reason"] = reason
    await reply(update, context._("Send a photo of the part as it was issued, then tap “Send "
                                  "return”."), return_button(context._, form["request_id"]))
    return RETURN_PHOTOS


def return_button(_: Translator, request_id: int) -> InlineKeyboardMarkup:
    return keyboard([button(_("↩️ Send return"), f"{PART_PREFIX}:{request_id}:ret:send")])


async def got_return_photo(update: Update, context: WorkshopContext) -> int:
    """Keep the photo, up to the cap."""
    _ = context._
    message = update.message
    assert message is not None and message.photo
    form = draft(context, RETURN)
    count = keep_photo(context, RETURN, message, MAX_PHOTOS)
    if not count:
        text = _("That is enough photos. Tap “Send return”.")
    else:
        text = _.ngettext("{count} photo kept. Send another, or tap “Send return”.",
                          "{count} photos kept. Send another, or tap “Send return”.",
                          count).format(count=count)
    await reply(update, text, return_button(_, form["request_id"]))
    return RETURN_PHOTOS


async def return_needs_photo(update: Update, context: WorkshopContext) -> int:
    """Text where a photo is due."""
    form = draft(context, RETURN)
    await reply(update, context._("This step takes photos of the part. Send one, then tap "
                                  "“Send return”. /cancel keeps the part as issued."),
                return_button(context._, form["request_id"]))
    return RETURN_PHOTOS


async def send_return(update: Update, context: WorkshopContext) -> int:
    """Record the return; the clerks get it as a card; the technician may ask again."""
    _ = context._
    form = draft(context, RETURN)
    if callback_int(update) != form["request_id"]:
        await wrong_input(update, context)
        return RETURN_PHOTOS
    if not form.get("photos"):
        await answer_tap(update, refusal(_, Refused("parts_photo_missing")), alert=True)
        return RETURN_PHOTOS
    now = context.now()
    messenger = context.services.messenger
    async with context.services.db.session() as session:
        try:
            order, request = await return_part(
                session, request_id=form["request_id"], technician=context.me,
                reason=form["reason"], photos=form["photos"], now=now, actor=context.actor)
        except Refused as refused:
            await session.rollback()
            drop_draft(context, RETURN)
            await refuse(update, context, refused)
            return END
        await session.commit()
        facts = await redraw_cards(context, session, request)
        photos = await attachments_of(session, RETURN_PHOTOS_OWNER, id_of(request))
        for clerk in await active_with_role(session, Role.parts_clerk):
            await messenger.send(session, clerk, lambda t: (return_card(t, facts), None),
                                 photos=photos, now=now)
    drop_draft(context, RETURN)
    await answer_tap(update)
    await reply(update, _("↩️ Return of #{id} {part} recorded: it goes back to the parts "
                          "counter uninstalled. Need a different part? Request it below.")
                .format(id=request.id, part=part_label(request)),
                keyboard([button(_("🔩 Request part"), f"{ORDER_PREFIX}:{order.id}:part")]))
    return END


def return_card(_: Translator, facts: CardFacts) -> str:
    request = facts.request
    return "\n".join([
        _("↩️ Part returned uninstalled — it does not match"),
        _("#{id} {part} × {quantity} · {number} · {plate}").format(
            id=request.id, part=part_label(request), quantity=request.quantity,
            number=facts.order.number, plate=facts.order.plate),
        _("Technician: {name}").format(name=facts.name(request.returned_by)),
        _("Issued by {name} at {at}").format(name=facts.name(request.issued_by),
                                             at=local_time(_, request.issued_at)),
        _("Reason: {reason}").format(reason=request.return_reason),
        _("Nothing was installed; please take the part back."),
    ])


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "part_return",
            draft_key=RETURN,
            entry_points=[CallbackQueryHandler(start_return, pattern=rf"^{PART_PREFIX}:\d+:ret$")],
            states={
                RETURN_REASON: [MessageHandler(TEXT, got_return_reason)],
                RETURN_PHOTOS: [MessageHandler(filters.PHOTO, got_return_photo),
                                CallbackQueryHandler(
                                    send_return, pattern=rf"^{PART_PREFIX}:\d+:ret:send$"),
                                MessageHandler(TEXT, return_needs_photo)],
            },
        ),
    ]
