"""W6: the technician asks for a part (parts requisition, issued old-for-new, 以坏换新).

The technician taps "🔩 Request part" on an order in progress: which item → part number
and/or name → how many → a photo of the old part ("Skip photo" or "No old part" allowed).
Every active parts clerk then gets the card of ``handlers.parts.cards``; what the clerks decide
is in ``handlers.parts.decision``, a part that does not match goes back through
``handlers.parts.returns``, and ``/parts`` is in ``handlers.parts.lists``.
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
from handlers.chat.ui import answer_tap, button, callback_int, keyboard, reply
from handlers.floor.cards import ORDER_PREFIX
from handlers.parts.cards import card_facts, part_card
from models.card import CardKind
from models.db import commit_writes, id_of
from models.parts import (
    MAX_PART_TEXT,
    MAX_PHOTOS,
    MAX_QUANTITY,
    parse_quantity,
    part_label,
    request_part,
    requestable_items,
)
from models.rules import Refused
from models.staff import Role, active_with_role

PREFIX = "pr"  # the callback data of this module's buttons: pr:…

TEXT = filters.TEXT & ~filters.COMMAND
ITEM, PART, QUANTITY, PHOTO = range(4)
REQUEST = "part_request"


async def start_request(update: Update, context: WorkshopContext) -> int:
    """The order's technician, an order in progress with an open item."""
    order_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            order, items = await requestable_items(session, order_id, context.me)
        except Refused as refused:
            await refuse(update, context, refused)
            return END
    drop_draft(context, REQUEST)
    draft(context, REQUEST).update(order_id=order_id, photos=[])
    await answer_tap(update)
    await reply(update, context._("{number}: request a part. Which item is it for? /cancel "
                                  "stops at any step.").format(number=order.number),
                keyboard(*[[button(f"{item.position}. {item.description[:40]}",
                                   f"{PREFIX}:item:{item.id}")] for item in items]))
    return ITEM


async def got_item(update: Update, context: WorkshopContext) -> int:
    """One of the order's open items; a button of another order or a closed item is refused."""
    item_id = callback_int(update, 2)
    form = draft(context, REQUEST)
    async with context.services.db.session() as session:
        try:
            _order, items = await requestable_items(session, form["order_id"], context.me)
        except Refused as refused:
            await refuse(update, context, refused)
            drop_draft(context, REQUEST)
            return END
    item = next((i for i in items if i.id == item_id), None)
    if item is None:
        await wrong_input(update, context)
        return ITEM
    form["item_id"] = item_id
    await answer_tap(update)
    await reply(update, context._("“{item}”: which part? Send the part number and/or the name, "
                                  "e.g. “04152-YZZA1 oil filter”.").format(
                                      item=item.description))
    return PART


async def got_part(update: Update, context: WorkshopContext) -> int:
    """Part number and/or name, in one message."""
    assert update.message is not None
    value = await read_text(update, context, MAX_PART_TEXT)
    if value is None:
        return PART
    draft(context, REQUEST)["part"] = value
    _ = context._
    await reply(update, _("How many? A whole number from 1 to {limit}.").format(
        limit=MAX_QUANTITY),
        keyboard([button(str(n), f"{PREFIX}:qty:{n}") for n in (1, 2, 4)]))
    return QUANTITY


async def got_quantity(update: Update, context: WorkshopContext) -> int:
    """Typed or tapped; 0, 10,000 and words are refused and asked again."""
    if update.callback_query is not None:
        await answer_tap(update)
        text = (update.callback_query.data or "").rsplit(":", 1)[1]
    else:
        assert update.message is not None
        text = update.message.text or ""
    try:
        quantity = parse_quantity(text)
    except Refused as refused:
        await reply(update, refusal(context._, refused))
        return QUANTITY
    draft(context, REQUEST)["quantity"] = quantity
    _ = context._
    await reply(update, _("Send a photo of the old part: the new one is issued against it "
                          "(以坏换新). No photo at hand? Tap “Skip photo”. Nothing to hand in "
                          "(a new fitting or a consumable)? Tap “No old part”."),
                photo_buttons(_))
    return PHOTO


def photo_buttons(_: Translator) -> InlineKeyboardMarkup:
    return keyboard([button(_("Skip photo"), f"{PREFIX}:photo:skip")],
                    [button(_("🆕 No old part"), f"{PREFIX}:photo:none")])


async def got_photo(update: Update, context: WorkshopContext) -> int:
    """Keep the photo; more may follow, up to the cap."""
    _ = context._
    message = update.message
    assert message is not None and message.photo
    send = keyboard([button(_("✅ Send request"), f"{PREFIX}:send")])
    count = keep_photo(context, REQUEST, message, MAX_PHOTOS)
    if not count:
        await reply(update, _("That is enough photos. Tap “Send request”."), send)
        return PHOTO
    await reply(update, _.ngettext(
        "{count} photo kept. Send another, or tap “Send request”.",
        "{count} photos kept. Send another, or tap “Send request”.", count).format(count=count),
        send)
    return PHOTO


async def text_instead_of_photo(update: Update, context: WorkshopContext) -> int:
    """This step takes a photo or one of the buttons."""
    _ = context._
    if draft(context, REQUEST).get("photos"):
        markup = keyboard([button(_("✅ Send request"), f"{PREFIX}:send")])
    else:
        markup = photo_buttons(_)
    await reply(update, _("This step takes a photo of the old part, or one of the buttons. "
                          "/cancel drops the request."), markup)
    return PHOTO


async def send_request(update: Update, context: WorkshopContext) -> int:
    """Save the request and put a card in front of every parts clerk."""
    await answer_tap(update)
    data = (update.callback_query.data or "") if update.callback_query else ""
    _ = context._
    form = draft(context, REQUEST)
    now = context.now()
    messenger = context.services.messenger
    async with context.services.db.session() as session:
        try:
            _order, item, request = await request_part(
                session, order_id=form["order_id"], item_id=form["item_id"],
                technician=context.me, text=form["part"], quantity=form["quantity"],
                photos=form.get("photos", []), old_part_expected=data != f"{PREFIX}:photo:none",
                now=now, actor=context.actor,
            )
        except Refused as refused:
            await session.rollback()
            drop_draft(context, REQUEST)
            await reply(update, refusal(_, refused))
            return END
        await session.commit()
        facts = await card_facts(session, request)
        delivered = 0
        for clerk in await active_with_role(session, Role.parts_clerk):
            delivered += await messenger.send(
                session, clerk, lambda t: part_card(t, facts),
                card=(CardKind.part_request, id_of(request)),
                photos=facts.photos, now=now)
        await commit_writes(session)  # where the cards went, so a decision edits every copy
    drop_draft(context, REQUEST)
    text = _("🔩 Request #{id} sent to the parts counter: {part} × {quantity} for “{item}”. "
             "You will be told when it is issued.")
    if not delivered:
        text = _("🔩 Request #{id} saved: {part} × {quantity} for “{item}”. No parts clerk "
                 "could be reached in chat; please tell the parts counter.")
    await reply(update, text.format(id=request.id, part=part_label(request),
                                    quantity=request.quantity, item=item.description))
    return END


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    photo_step_buttons = rf"^{PREFIX}:(photo:(skip|none)|send)$"
    return [
        conversation(
            "part_request",
            draft_key=REQUEST,
            entry_points=[CallbackQueryHandler(start_request,
                                               pattern=rf"^{ORDER_PREFIX}:\d+:part$")],
            states={
                ITEM: [CallbackQueryHandler(got_item, pattern=rf"^{PREFIX}:item:\d+$")],
                PART: [MessageHandler(TEXT, got_part)],
                QUANTITY: [MessageHandler(TEXT, got_quantity),
                           CallbackQueryHandler(got_quantity, pattern=rf"^{PREFIX}:qty:\d+$")],
                PHOTO: [MessageHandler(filters.PHOTO, got_photo),
                        CallbackQueryHandler(send_request, pattern=photo_step_buttons),
                        MessageHandler(TEXT, text_instead_of_photo)],
            },
        ),
    ]
