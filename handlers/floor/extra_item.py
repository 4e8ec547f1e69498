"""W5: "request extra item" — work not on the order waits for the front desk's approval.

Steps: what the item is → why it is needed → photos (optional) → an estimate in yuan
(optional). The order's advisor gets an approve/reject card (the decision is in
``handlers.floor.extra_item_decision``); until then the item shows as pending and cannot be done.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import WorkshopContext
from bot.refusals import refusal
from handlers.chat.conversation import (
    END,
    TEXT_OR_VOICE,
    conversation,
    draft,
    drop_draft,
    keep_photo,
    read_text,
    read_text_or_voice,
)
from handlers.chat.order_step import open_floor_step
from handlers.chat.ui import answer_tap, button, keyboard, reply
from handlers.floor.cards import (
    ORDER_PREFIX,
    customer_links_on,
    extra_item_card,
    show_advisor_order,
    show_order,
)
from models.attachment import attachments_of
from models.card import CardKind
from models.db import commit_writes, id_of
from models.extra_item import (
    parse_estimate,
    request_extra_item,
)
from models.rules import Refused
from models.staff import Staff
from models.work_order import (
    OrderStatus,
    items_of,
)

PREFIX = "xi"  # the callback data of this module's buttons: xi:…

DESCRIPTION, REASON, PHOTOS, ESTIMATE = range(4)
DRAFT = "extra_item"
TEXT = filters.TEXT & ~filters.COMMAND
MAX_DESCRIPTION = 200
MAX_REASON = 1000
MAX_PHOTOS = 10


async def start(update: Update, context: WorkshopContext) -> int:
    """The order's technician, an order in progress."""
    order = await open_floor_step(update, context, OrderStatus.in_progress, DRAFT)
    if order is None:
        return END
    await reply(update, context._("{number}: extra item. What needs doing that is not on the "
                                  "order (e.g. “Replace front wiper blades”)? /cancel stops "
                                  "at any step.").format(number=order.number))
    return DESCRIPTION


async def got_description(update: Update, context: WorkshopContext) -> int:
    """A short name for the item, as it will stand on the order."""
    assert update.message is not None
    value = await read_text(update, context, MAX_DESCRIPTION)
    if value is None:
        return DESCRIPTION
    draft(context, DRAFT)["description"] = value
    await reply(update, context._("Why is it needed? What did you find?"))
    return REASON


async def got_reason(update: Update, context: WorkshopContext) -> int:
    """The reason the advisor will put to the customer (words, or a voice note)."""
    assert update.message is not None
    value = await read_text_or_voice(update, context, MAX_REASON, DRAFT)
    if value is None:
        return REASON
    draft(context, DRAFT)["reason"] = value
    _ = context._
    # Continue comes with the first photo; until then only Skip is there to tap.
    await reply(update, _("Send photos of it if you can. No photos? Tap Skip."),
                keyboard([button(_("Skip"), f"{PREFIX}:photos:done")]))
    return PHOTOS


async def got_photo(update: Update, context: WorkshopContext) -> int:
    """Keep the photo; the advisor sees it above the card."""
    _ = context._
    message = update.message
    assert message is not None and message.photo
    go_on = keyboard([button(_("➡️ Continue"), f"{PREFIX}:photos:done")])
    count = keep_photo(context, DRAFT, message, MAX_PHOTOS)
    if not count:
        await reply(update, _("That is enough photos. Tap Continue."), go_on)
        return PHOTOS
    await reply(update, _("Photo {count} kept. Send another, or tap Continue.")
                .format(count=count), go_on)
    return PHOTOS


async def photos_done(update: Update, context: WorkshopContext) -> int:
    """On to the estimate."""
    _ = context._
    await answer_tap(update)
    await reply(update, _("Estimated cost in yuan: parts, then labour (e.g. “300 150”; one "
                          "amount is parts only). Don't know? Tap Skip."),
                keyboard([button(_("Skip"), f"{PREFIX}:estimate:skip")]))
    return ESTIMATE


async def got_estimate(update: Update, context: WorkshopContext) -> int:
    """Parts and labour in yuan; anything else is asked again."""
    assert update.message is not None
    try:
        parts_fen, labour_fen = parse_estimate(update.message.text or "")
    except Refused as refused:
        await reply(update, refusal(context._, refused))
        return ESTIMATE
    return await submit(update, context, parts_fen, labour_fen)


async def skip_estimate(update: Update, context: WorkshopContext) -> int:
    """No estimate; the advisor will price it."""
    await answer_tap(update)
    return await submit(update, context, None, None)


async def submit(
    update: Update, context: WorkshopContext, parts_fen: int | None, labour_fen: int | None
) -> int:
    """Save the request, send the card to the order's advisor, show the pending item."""
    _ = context._
    form = draft(context, DRAFT)
    messenger = context.services.messenger
    now = context.now()
    async with context.services.db.session() as session:
        try:
            order, request = await request_extra_item(
                session, order_id=form["order_id"], technician=context.me,
                description=form["description"], reason=form["reason"],
                photos=form.get("photos", []), parts_fen=parts_fen, labour_fen=labour_fen,
                now=now, actor=context.actor,
            )
        except Refused as refused:
            await session.rollback()
            drop_draft(context, DRAFT)
            await reply(update, refusal(_, refused))
            return END
        await session.commit()
        advisor = await session.get(Staff, order.advisor_id)
        technician = context.me
        items = await items_of(session, id_of(order))  # for both order cards
        await show_advisor_order(context.services, session, order, known=technician,
                                 items=items)  # then the card to decide
        if advisor is not None:
            photos = (await attachments_of(session, CardKind.extra_item, id_of(request))
                      if form.get("photos") else [])
            ask = customer_links_on(context.services.settings)
            await messenger.send(
                session, advisor,
                lambda t: extra_item_card(t, order, request, technician, ask_customer=ask),
                card=(CardKind.extra_item, id_of(request)), photos=photos, now=now,
            )
            await commit_writes(session)  # the card's copies, so the decision can edit them
        drop_draft(context, DRAFT)
        await reply(update, _("⏳ “{item}” was sent to the advisor and waits for approval. Do "
                              "not start on it until it is approved.").format(
                                  item=request.description))
        await show_order(context.services, session, order, fresh=True, known=technician,
                         items=items)
    return END


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    return [
        conversation(
            "extra_item",
            draft_key=DRAFT,
            entry_points=[CallbackQueryHandler(start, pattern=rf"^{ORDER_PREFIX}:\d+:extra$")],
            states={
                DESCRIPTION: [MessageHandler(TEXT, got_description)],
                REASON: [MessageHandler(TEXT_OR_VOICE, got_reason)],
                PHOTOS: [
                    MessageHandler(filters.PHOTO, got_photo),
                    CallbackQueryHandler(photos_done, pattern=rf"^{PREFIX}:photos:done$"),
                ],
                ESTIMATE: [
                    MessageHandler(TEXT, got_estimate),
                    CallbackQueryHandler(skip_estimate, pattern=rf"^{PREFIX}:estimate:skip$"),
                ],
            },
        )
    ]
