"""W6: parts requisitions, issued old-for-new (以坏换新).

The technician taps "🔩 Request part" on an order in progress: which item → part number
and/or name → how many → a photo of the old part ("Skip photo" or "No old part" allowed).
Every active parts clerk gets a card: **Issue** (asks what became of the old part: received,
to follow, none, or lost / damaged on purpose → a compensation entry for the supervisors),
**Out of stock** (asks the expected date; the technician and the advisor are told) or
**Decline** (asks why). The first decision wins; every copy of the card then shows it.

An issued part that does not match goes back uninstalled ("↩️ Part does not match": a reason
and photos) and the technician can ask again. ``/parts`` gives the clerks the open requests
(oldest first), what was issued today and the old parts still to come.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.i18n import Translator
from bot.messenger import Rendered
from handlers.common import (
    END,
    add_refusals,
    answer_tap,
    button,
    callback_int,
    checked_text,
    conversation,
    draft,
    drop_draft,
    keep_photo,
    keyboard,
    local_time,
    refusal,
    refuse,
    reply,
    stale_button,
    wrong_input,
)
from handlers.context import WorkshopContext
from models.attachment import Attachment, attachments_of
from models.card import CardMessage
from models.parts import (
    MAX_PART_TEXT,
    MAX_PHOTOS,
    MAX_QUANTITY,
    Action,
    Loss,
    OldPart,
    PartCompensation,
    PartRequest,
    PartStatus,
    Settlement,
    awaiting_old_parts,
    check_awaiting,
    check_decidable,
    check_returnable,
    compensation_of,
    compensations_between,
    decline,
    issue,
    issued_between,
    mark_out_of_stock,
    open_requests,
    parse_amount,
    parse_expected,
    parse_quantity,
    part_label,
    request_part,
    requestable_items,
    return_part,
    settle_old_part,
)
from models.rules import Refused
from models.staff import Role, Staff, active_with_role
from models.work_order import OrderItem, WorkOrder, get_order

CARD = "part_request"  # card kind and attachment owner of the request's photos
RETURN_PHOTOS_OWNER = "part_return"
TEXT = filters.TEXT & ~filters.COMMAND
MAX_REASON = 1000
LIST_LIMIT = 20  # requests listed (with buttons) per /parts section

add_refusals({
    "parts_not_clerk": lambda _, p: _("Only parts clerks can do this; nothing was changed."),
    "parts_request_missing": lambda _, p: _("That part request no longer exists."),
    "parts_already_decided": lambda _, p: _("Already {decision} by {name} at {at}.").format(
        decision=part_status_name(_, p["decision"]), name=p["name"], at=_.time(p["at"])),
    "parts_old_part_settled": lambda _, p: _(
        "The old part was already settled by {name} at {at}: {outcome}. Nothing was changed."
    ).format(name=p["name"], at=_.time(p["at"]), outcome=old_part_name(_, p["outcome"])),
    "parts_no_open_item": lambda _, p: _(
        "Order {number} has no open item to request a part for."
    ).format(**p),
    "parts_item_not_open": lambda _, p: _(
        "“{item}” is not open; parts are requested for open items only."
    ).format(**p),
    "parts_quantity_invalid": lambda _, p: _(
        "Please send the quantity as a whole number from 1 to {limit}."
    ).format(**p),
    "parts_quantity_zero": lambda _, p: _("The quantity must be at least 1."),
    "parts_quantity_too_many": lambda _, p: _(
        "At most {limit} at a time; please check the quantity."
    ).format(**p),
    "parts_amount_invalid": lambda _, p: _(
        "Please send the amount in yuan, e.g. “80” or “80.50”."
    ),
    "parts_not_issued": lambda _, p: _(
        "This part has not been issued; only an issued part can be returned."
    ),
    "parts_photo_missing": lambda _, p: _("Please send a photo of the part first."),
})


def part_status_name(_: Translator, status: str) -> str:
    return {
        PartStatus.pending: _("pending"),
        PartStatus.out_of_stock: _("marked out of stock"),
        PartStatus.issued: _("issued"),
        PartStatus.declined: _("declined"),
        PartStatus.returned: _("returned uninstalled"),
    }.get(status, status)


def old_part_name(_: Translator, outcome: str | None) -> str:
    return {
        OldPart.received: _("old part received"),
        OldPart.awaiting: _("old part still to be handed in"),
        OldPart.none: _("no old part (new fitting or consumable)"),
        OldPart.lost: _("old part lost or damaged on purpose"),
    }.get(outcome or "", outcome or "—")


def settlement_name(_: Translator, settlement: str) -> str:
    return {Settlement.replace: _("replace the part"),
            Settlement.pay: _("pay the amount")}.get(settlement, settlement)


# --- the clerks' card ------------------------------------------------------------------------


@dataclass(frozen=True)
class CardFacts:
    """What the card shows, loaded once and rendered in each reader's language."""

    request: PartRequest
    order: WorkOrder
    item: OrderItem | None
    names: dict[int, str]
    compensation: PartCompensation | None
    photos: list[Attachment]

    def name(self, staff_id: int | None) -> str:
        return self.names.get(staff_id, "?") if staff_id is not None else "?"


async def card_facts(session: AsyncSession, request: PartRequest) -> CardFacts:
    order = await get_order(session, request.order_id)
    item = await session.get(OrderItem, request.item_id)
    names: dict[int, str] = {}
    for staff_id in (request.requested_by, request.stock_by, request.issued_by,
                     request.old_part_by, request.declined_by, request.returned_by):
        if staff_id is not None and staff_id not in names:
            staff = await session.get(Staff, staff_id)
            names[staff_id] = staff.name if staff else "?"
    return CardFacts(request, order, item, names,
                     await compensation_of(session, request.id),  # type: ignore[arg-type]
                     await attachments_of(session, CARD, request.id))  # type: ignore[arg-type]


def item_text(facts: CardFacts) -> str:
    return f"{facts.item.position}. {facts.item.description}" if facts.item else "—"


def part_card(_: Translator, facts: CardFacts) -> Rendered:
    """Buttons while a clerk still has to act: Issue / Out of stock / Decline, and on an issued
    part whose old part is still to come, received / lost."""
    request, order = facts.request, facts.order
    if facts.photos:
        old_part = _.ngettext("📷 {count} photo of the old part",
                              "📷 {count} photos of the old part",
                              len(facts.photos)).format(count=len(facts.photos))
    elif request.old_part_expected:
        old_part = _("no photo")
    else:
        old_part = _("none, says the technician (new fitting or consumable)")
    lines = [
        _("🔩 Part request #{id} · {number} · {plate}").format(
            id=request.id, number=order.number, plate=order.plate),
        _("Vehicle: {model}").format(model=order.vehicle_model),
        _("Technician: {name}").format(name=facts.name(request.requested_by)),
        _("Item: {item}").format(item=item_text(facts)),
        _("Part: {part}").format(part=part_label(request)),
        _("Quantity: {quantity}").format(quantity=request.quantity),
        _("Old part: {old_part}").format(old_part=old_part),
        _("Requested at {at}").format(at=local_time(_, request.created_at)),
    ]
    status = PartStatus(request.status)
    if request.stock_at is not None:
        lines.append(_("📦 Out of stock ({name}, {at}); expected {day}.").format(
            name=facts.name(request.stock_by), at=local_time(_, request.stock_at),
            day=request.expected_on.isoformat() if request.expected_on else "—"))
    if request.issued_at is not None:
        lines.append(_("📤 Issued by {name} at {at}.").format(
            name=facts.name(request.issued_by), at=local_time(_, request.issued_at)))
        lines.append(old_part_line(_, facts))
    if status is PartStatus.declined:
        lines.append(_("❌ Declined by {name} at {at}: {reason}").format(
            name=facts.name(request.declined_by), at=local_time(_, request.declined_at),
            reason=request.decline_reason))
    if status is PartStatus.returned:
        lines.append(_("↩️ Returned uninstalled by {name} at {at} — does not match: {reason}")
                     .format(name=facts.name(request.returned_by),
                             at=local_time(_, request.returned_at),
                             reason=request.return_reason))
    text = "\n".join(lines)
    rid = request.id
    if status is PartStatus.pending:
        return text, keyboard([button(_("📤 Issue"), f"prt:{rid}:issue"),
                               button(_("📦 Out of stock"), f"prt:{rid}:oos")],
                              [button(_("❌ Decline"), f"prt:{rid}:decline")])
    if status is PartStatus.out_of_stock:
        return text, keyboard([button(_("📤 Issue"), f"prt:{rid}:issue"),
                               button(_("❌ Decline"), f"prt:{rid}:decline")])
    if status is PartStatus.issued and request.old_part == OldPart.awaiting:
        return text, keyboard([button(_("♻️ Old part received"), f"prt:{rid}:old")],
                              [button(_("⚠️ Old part lost or damaged"), f"prt:{rid}:lost")])
    return text, None


def old_part_line(_: Translator, facts: CardFacts) -> str:
    request = facts.request
    outcome = request.old_part
    if outcome == OldPart.awaiting:
        return _("⏳ Old part not handed in yet.")
    if outcome == OldPart.received:
        return _("♻️ Old part received by {name} at {at}.").format(
            name=facts.name(request.old_part_by), at=local_time(_, request.old_part_at))
    if outcome == OldPart.none:
        return _("🆕 No old part (new fitting or consumable).")
    entry = facts.compensation
    return _("⚠️ Old part lost or damaged on purpose ({name}, {at}): {technician} to {how}, "
             "{amount}.").format(
        name=facts.name(request.old_part_by), at=local_time(_, request.old_part_at),
        technician=facts.name(request.requested_by),
        how=settlement_name(_, entry.settlement) if entry else "—",
        amount=_.money(entry.amount_fen if entry else None))


async def redraw_cards(context: WorkshopContext, session: AsyncSession,
                       request: PartRequest) -> CardFacts:
    facts = await card_facts(session, request)
    await context.services.messenger.update_cards(
        session, CARD, request.id, lambda t: part_card(t, facts))  # type: ignore[arg-type]
    return facts


# --- the technician asks for a part ---------------------------------------------------------

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
                                   f"pr:item:{item.id}")] for item in items]))
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
    value, problem = checked_text(context, update.message.text, MAX_PART_TEXT)
    if problem:
        await reply(update, problem)
        return PART
    draft(context, REQUEST)["part"] = value
    _ = context._
    await reply(update, _("How many? A whole number from 1 to {limit}.").format(
        limit=MAX_QUANTITY),
        keyboard([button("1", "pr:qty:1"), button("2", "pr:qty:2"), button("4", "pr:qty:4")]))
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
    return keyboard([button(_("Skip photo"), "pr:photo:skip")],
                    [button(_("🆕 No old part"), "pr:photo:none")])


async def got_photo(update: Update, context: WorkshopContext) -> int:
    """Keep the photo; more may follow, up to the cap."""
    _ = context._
    message = update.message
    assert message is not None and message.photo
    send = keyboard([button(_("✅ Send request"), "pr:send")])
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
        markup = keyboard([button(_("✅ Send request"), "pr:send")])
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
                photos=form.get("photos", []), old_part_expected=data != "pr:photo:none",
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
                session, clerk, lambda t: part_card(t, facts), card=(CARD, request.id),  # type: ignore[arg-type]
                photos=facts.photos, now=now)
        await session.commit()  # where the cards went, so a decision edits every copy
    drop_draft(context, REQUEST)
    text = _("🔩 Request #{id} sent to the parts counter: {part} × {quantity} for “{item}”. "
             "You will be told when it is issued.")
    if not delivered:
        text = _("🔩 Request #{id} saved: {part} × {quantity} for “{item}”. No parts clerk "
                 "could be reached in chat; please tell the parts counter.")
    await reply(update, text.format(id=request.id, part=part_label(request),
                                    quantity=request.quantity, item=item.description))
    return END


# --- the clerks decide -----------------------------------------------------------------------

OLD_PART, EXPECTED, REASON, AMOUNT, SETTLEMENT = range(5)
DECISION = "parts_decision"
CHOICE_DATA = r"^prt:\d+:(i:(received|awaiting|none|lost)|eta:tomorrow|pay:(replace|pay))$"


async def start_decision(update: Update, context: WorkshopContext) -> int:
    """Issue, Out of stock, Decline on the card, or "old part lost" on an issued part: a
    clerk, and a request this still applies to."""
    _ = context._
    query = update.callback_query
    assert query is not None and query.data is not None
    request_id = callback_int(update)
    verb = query.data.rsplit(":", 1)[1]
    async with context.services.db.session() as session:
        try:
            if verb == "lost":
                request = await check_awaiting(session, request_id=request_id,
                                               clerk=context.me)
                order = await get_order(session, request.order_id)
            else:
                action = {"issue": Action.issue, "oos": Action.out_of_stock,
                          "decline": Action.decline}[verb]
                order, request = await check_decidable(session, request_id=request_id,
                                                       clerk=context.me, action=action)
        except Refused as refused:
            await refuse(update, context, refused)
            return END
    drop_draft(context, DECISION)
    draft(context, DECISION).update(request_id=request_id, verb=verb)
    await answer_tap(update)
    what = _("#{id} {part} × {quantity} for {number}").format(
        id=request_id, part=part_label(request), quantity=request.quantity,
        number=order.number)
    if verb == "issue":
        text = _("Issue {what}. Old-for-new: what about the old part?").format(what=what)
        if not request.old_part_expected:
            text += "\n" + _("The technician says there is no old part.")
        await reply(update, text, keyboard(
            [button(_("♻️ Old part received"), f"prt:{request_id}:i:received")],
            [button(_("⏳ Issue now, old part to follow"), f"prt:{request_id}:i:awaiting")],
            [button(_("🆕 No old part (new fitting or consumable)"),
                    f"prt:{request_id}:i:none")],
            [button(_("⚠️ Old part lost or damaged on purpose"), f"prt:{request_id}:i:lost")],
        ))
        return OLD_PART
    if verb == "oos":
        await reply(update, _("{what} is out of stock. When is it expected? Send a date like "
                              "2026-12-03, or tap “Tomorrow”. The technician and the advisor "
                              "are told.").format(what=what),
                    keyboard([button(_("Tomorrow"), f"prt:{request_id}:eta:tomorrow")]))
        return EXPECTED
    if verb == "decline":
        await reply(update, _("Decline {what}. Why? The technician reads your reason.")
                    .format(what=what))
        return REASON
    await reply(update, _("{what}: the old part is lost or damaged on purpose. How much must be "
                          "made good, in yuan (e.g. 80)?").format(what=what))
    return AMOUNT


def _same_request(update: Update, context: WorkshopContext) -> bool:
    return callback_int(update) == draft(context, DECISION).get("request_id")


async def got_old_part(update: Update, context: WorkshopContext) -> int:
    """Received, to follow or none issue at once; lost asks for the compensation first."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not _same_request(update, context):
        await wrong_input(update, context)  # the old-part buttons of another request
        return OLD_PART
    old_part = OldPart(query.data.rsplit(":", 1)[1])
    if old_part is OldPart.lost:
        await answer_tap(update)
        await reply(update, context._("How much must be made good for the old part, in yuan "
                                      "(e.g. 80)?"))
        return AMOUNT
    return await decided(update, context, old_part=old_part)


async def got_amount(update: Update, context: WorkshopContext) -> int:
    """The value of the lost part; then whether the technician replaces it or pays."""
    assert update.message is not None
    _ = context._
    try:
        amount_fen = parse_amount(update.message.text or "")
    except Refused as refused:
        await reply(update, refusal(_, refused))
        return AMOUNT
    form = draft(context, DECISION)
    form["amount_fen"] = amount_fen
    request_id = form["request_id"]
    await reply(update, _("{amount}: does the technician replace the part or pay the amount?")
                .format(amount=_.money(amount_fen)),
                keyboard([button(_("🔁 Replace the part"), f"prt:{request_id}:pay:replace"),
                          button(_("💴 Pay the amount"), f"prt:{request_id}:pay:pay")]))
    return SETTLEMENT


async def got_settlement(update: Update, context: WorkshopContext) -> int:
    """Record the loss: with the issue, or on a part issued earlier."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if not _same_request(update, context):
        await wrong_input(update, context)
        return SETTLEMENT
    form = draft(context, DECISION)
    loss = Loss(form["amount_fen"], Settlement(query.data.rsplit(":", 1)[1]))
    return await decided(update, context, old_part=OldPart.lost, loss=loss)


async def got_expected(update: Update, context: WorkshopContext) -> int:
    """A date, today or later; "Tomorrow" is a tap."""
    _ = context._
    today = context.services.settings.calendar.local_date(context.now())
    if update.callback_query is not None:
        if not _same_request(update, context):
            await wrong_input(update, context)
            return EXPECTED
        expected = today + timedelta(days=1)
    else:
        assert update.message is not None
        try:
            expected = parse_expected(update.message.text or "", today)
        except Refused as refused:
            await reply(update, refusal(_, refused))
            return EXPECTED
    return await decided(update, context, expected_on=expected)


async def got_reason(update: Update, context: WorkshopContext) -> int:
    """Why the part is declined; the technician reads it."""
    assert update.message is not None
    reason, problem = checked_text(context, update.message.text, MAX_REASON)
    if problem:
        await reply(update, problem)
        return REASON
    return await decided(update, context, reason=reason)


async def decided(update: Update, context: WorkshopContext, **choice: Any) -> int:
    """Carry the decision out (the conditional update picks the winner), redraw every copy
    of the card, and tell whoever needs to know."""
    _ = context._
    form = draft(context, DECISION)
    request_id, verb = form["request_id"], form["verb"]
    now, actor, clerk = context.now(), context.actor, context.me
    async with context.services.db.session() as session:
        try:
            entry = None
            if verb == "issue":
                _order, request, entry = await issue(
                    session, request_id=request_id, clerk=clerk, old_part=choice["old_part"],
                    loss=choice.get("loss"), now=now, actor=actor)
            elif verb == "lost":
                request, entry = await settle_old_part(
                    session, request_id=request_id, clerk=clerk, outcome=OldPart.lost,
                    loss=choice["loss"], now=now, actor=actor)
            elif verb == "oos":
                today = context.services.settings.calendar.local_date(now)
                _order, request = await mark_out_of_stock(
                    session, request_id=request_id, clerk=clerk,
                    expected_on=choice["expected_on"], today=today, now=now, actor=actor)
            else:
                _order, request = await decline(
                    session, request_id=request_id, clerk=clerk, reason=choice["reason"],
                    now=now, actor=actor)
        except Refused as refused:
            await session.rollback()
            drop_draft(context, DECISION)
            await refuse(update, context, refused)
            if update.callback_query is not None:  # the question's buttons are spent
                await update.callback_query.edit_message_text(refusal(_, refused))
            return END
        await session.commit()
        facts = await redraw_cards(context, session, request)
        await tell_others(context, session, facts, verb, entry)
    drop_draft(context, DECISION)
    text = done_text(_, facts, verb)
    if update.callback_query is not None:
        await answer_tap(update)
        await update.callback_query.edit_message_text(text)
    else:
        await reply(update, text)
    return END


def done_text(_: Translator, facts: CardFacts, verb: str) -> str:
    request = facts.request
    part = part_label(request)
    if verb == "issue":
        return _("📤 Issued #{id}: {part} × {quantity} ({old_part}). The technician has been "
                 "told.").format(id=request.id, part=part, quantity=request.quantity,
                                 old_part=old_part_name(_, request.old_part))
    if verb == "lost":
        return _("⚠️ #{id} {part}: the old part is written off as lost; the supervisors have "
                 "the compensation entry.").format(id=request.id, part=part)
    if verb == "oos":
        return _("📦 #{id} {part} marked out of stock, expected {day}. The technician and the "
                 "advisor have been told.").format(
                     id=request.id, part=part,
                     day=request.expected_on.isoformat() if request.expected_on else "—")
    return _("❌ Declined #{id} {part}. The technician has been told.").format(
        id=request.id, part=part)


async def tell_others(context: WorkshopContext, session: AsyncSession, facts: CardFacts,
                      verb: str, entry: PartCompensation | None) -> None:
    """The technician hears every decision; the advisor hears "out of stock"; the supervisors
    get every compensation entry."""
    messenger = context.services.messenger
    request, order = facts.request, facts.order
    technician = await session.get(Staff, request.requested_by)
    clerk = context.me.name
    where = {"number": order.number, "plate": order.plate, "item": item_text(facts),
             "part": part_label(request), "quantity": request.quantity, "clerk": clerk}

    def for_technician(t: Translator) -> Rendered:
        if verb == "issue":
            text = t("📤 Part issued for {number}, item “{item}”: {part} × {quantity} (by "
                     "{clerk}).").format(**where)
            if request.old_part == OldPart.awaiting:
                text += "\n" + t("Hand the old part in at the parts counter.")
            if entry is not None:
                text += "\n" + compensation_line(t, entry)
            return text, keyboard([button(t("↩️ Part does not match"),
                                          f"prt:{request.id}:ret")])
        if verb == "lost":
            return (t("⚠️ The old part of {part} ({number}) was written off as lost by {clerk}.")
                    .format(**where) + "\n" + compensation_line(t, entry), None)  # type: ignore[arg-type]
        if verb == "oos":
            return out_of_stock_text(t, facts, where), None
        return (t("❌ Part request declined for {number}, item “{item}”: {part} × {quantity} — "
                  "{clerk}: {reason}").format(reason=request.decline_reason, **where),
                keyboard([button(t("🔩 Request part"), f"ord:{order.id}:part")]))

    if technician is not None:
        await messenger.send(session, technician, for_technician)
    if verb == "oos":
        advisor = await session.get(Staff, order.advisor_id)
        if advisor is not None:
            await messenger.send(session, advisor,
                                 lambda t: (out_of_stock_text(t, facts, where), None))
    if entry is not None:
        for supervisor in await active_with_role(session, Role.supervisor):
            await messenger.send(
                session, supervisor,
                lambda t: (compensation_card(t, facts, entry, clerk), None))


def out_of_stock_text(_: Translator, facts: CardFacts, where: dict[str, Any]) -> str:
    day = facts.request.expected_on.isoformat() if facts.request.expected_on else "—"
    return _("📦 Part out of stock for {number} ({plate}), item “{item}”: {part} × {quantity}. "
             "Expected {day} (parts clerk {clerk}).").format(day=day, **where)


def compensation_line(_: Translator, entry: PartCompensation) -> str:
    return _("A compensation entry was recorded: {how}, {amount}.").format(
        how=settlement_name(_, entry.settlement), amount=_.money(entry.amount_fen))


def compensation_card(_: Translator, facts: CardFacts, entry: PartCompensation,
                      clerk: str) -> str:
    return "\n".join([
        _("⚠️ Compensation entry: old part lost or damaged on purpose"),
        _("Technician: {name}").format(name=facts.name(entry.technician_id)),
        _("Part: {part} × {quantity}").format(part=entry.part, quantity=facts.request.quantity),
        _("Order: {number} · {plate}").format(number=facts.order.number,
                                             plate=facts.order.plate),
        _("Amount: {amount} — {how}").format(amount=_.money(entry.amount_fen),
                                            how=settlement_name(_, entry.settlement)),
        _("Recorded by {name} at {at}").format(name=clerk, at=_.time(entry.created_at)),
    ])


async def old_part_received(update: Update, context: WorkshopContext) -> None:
    """One tap on an issued part: its old part came in after all."""
    request_id = callback_int(update)
    async with context.services.db.session() as session:
        try:
            request, _entry = await settle_old_part(
                session, request_id=request_id, clerk=context.me, outcome=OldPart.received,
                now=context.now(), actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            return
        await session.commit()
        await redraw_cards(context, session, request)
    await answer_tap(update, context._("♻️ Old part received: #{id} {part}.").format(
        id=request.id, part=part_label(request)))


async def choice_out_of_step(update: Update, context: WorkshopContext) -> None:
    """An old-part, date or settlement button with no decision under way: a forged tap, or
    an old question."""
    if not context.me.has(Role.parts_clerk) or not context.me.active:
        await refuse(update, context, Refused("parts_not_clerk"))
        return
    await stale_button(update, context)


# --- "part does not match": back uninstalled -------------------------------------------------

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
    reason, problem = checked_text(context, update.message.text, MAX_REASON)
    if problem:
        await reply(update, problem)
        return RETURN_REASON
    form = draft(context, RETURN)
    form["reason"] = reason
    await reply(update, context._("Send a photo of the part as it was issued, then tap “Send "
                                  "return”."), return_button(context._, form["request_id"]))
    return RETURN_PHOTOS


def return_button(_: Translator, request_id: int) -> InlineKeyboardMarkup:
    return keyboard([button(_("↩️ Send return"), f"prt:{request_id}:ret:send")])


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
        photos = await attachments_of(session, RETURN_PHOTOS_OWNER, request.id)  # type: ignore[arg-type]
        for clerk in await active_with_role(session, Role.parts_clerk):
            await messenger.send(session, clerk, lambda t: (return_card(t, facts), None),
                                 photos=photos, now=now)
    drop_draft(context, RETURN)
    await answer_tap(update)
    await reply(update, _("↩️ Return of #{id} {part} recorded: it goes back to the parts "
                          "counter uninstalled. Need a different part? Request it below.")
                .format(id=request.id, part=part_label(request)),
                keyboard([button(_("🔩 Request part"), f"ord:{order.id}:part")]))
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


# --- /parts ----------------------------------------------------------------------------------


def list_line(_: Translator, request: PartRequest, order: WorkOrder, technician: str) -> str:
    line = _("#{id} {at} · {number} · {part} × {quantity} · {name}").format(
        id=request.id, at=local_time(_, request.created_at), number=order.number,
        part=part_label(request), quantity=request.quantity, name=technician)
    if request.status == PartStatus.out_of_stock and request.expected_on:
        line += " · " + _("📦 expected {day}").format(day=request.expected_on.isoformat())
    return line


async def _lines(
    session: AsyncSession, _: Translator, requests: list[PartRequest]
) -> list[str]:
    lines = []
    for request in requests:
        order = await get_order(session, request.order_id)
        technician = await session.get(Staff, request.requested_by)
        lines.append(list_line(_, request, order, technician.name if technician else "?"))
    return lines


def _show_buttons(requests: list[PartRequest]) -> InlineKeyboardMarkup | None:
    rows = [[button(f"#{r.id} {part_label(r)[:40]}", f"prt:{r.id}:show")]
            for r in requests[:LIST_LIMIT]]
    return keyboard(*rows) if rows else None


async def list_parts(update: Update, context: WorkshopContext) -> None:
    """Clerks: open requests oldest first, issued today, old parts still to come. Supervisors:
    this month's compensation entries."""
    _ = context._
    me = context.me
    if not me.has(Role.parts_clerk, Role.supervisor):
        await refuse(update, context, Refused("parts_not_clerk"))
        return
    calendar = context.services.settings.calendar
    now = context.now()
    today = calendar.local_date(now)
    async with context.services.db.session() as session:
        if me.has(Role.parts_clerk):
            waiting = await open_requests(session)
            lines = await _lines(session, _, waiting[:LIST_LIMIT])
            head = _.ngettext("📋 {count} open part request (oldest first):",
                              "📋 {count} open part requests (oldest first):",
                              len(waiting)).format(count=len(waiting))
            await reply(update, "\n".join([head, *lines]) if waiting
                        else _("📋 No open part requests."), _show_buttons(waiting))
            issued = await issued_between(session, calendar.start_of_day(today),
                                          calendar.end_of_day(today))
            lines = await _lines(session, _, issued)
            head = _.ngettext("📤 {count} part issued today:", "📤 {count} parts issued today:",
                              len(issued)).format(count=len(issued))
            await reply(update, "\n".join([head, *lines]) if issued
                        else _("📤 Nothing issued today."))
            awaiting = await awaiting_old_parts(session)
            lines = await _lines(session, _, awaiting[:LIST_LIMIT])
            head = _.ngettext("♻️ {count} old part still to be handed in:",
                              "♻️ {count} old parts still to be handed in:",
                              len(awaiting)).format(count=len(awaiting))
            await reply(update, "\n".join([head, *lines]) if awaiting
                        else _("♻️ No old parts outstanding."), _show_buttons(awaiting))
        if me.has(Role.supervisor):
            first = today.replace(day=1)
            entries = await compensations_between(session, calendar.start_of_day(first),
                                                  calendar.end_of_day(today))
            lines = []
            for entry in entries:
                technician = await session.get(Staff, entry.technician_id)
                lines.append(_("{at} · {name} · {part} · {amount} — {how}").format(
                    at=_.time(entry.created_at), name=technician.name if technician else "?",
                    part=entry.part, amount=_.money(entry.amount_fen),
                    how=settlement_name(_, entry.settlement)))
            head = _.ngettext(
                "⚠️ {count} compensation entry this month, {amount} in all:",
                "⚠️ {count} compensation entries this month, {amount} in all:",
                len(entries)).format(count=len(entries),
                                     amount=_.money(sum(e.amount_fen for e in entries)))
            await reply(update, "\n".join([head, *lines]) if entries
                        else _("⚠️ No compensation entries this month."))


async def show_card(update: Update, context: WorkshopContext) -> None:
    """A request from the /parts lists, as its card (with the old part's photos)."""
    request_id = callback_int(update)
    if not context.me.has(Role.parts_clerk) or not context.me.active:
        await refuse(update, context, Refused("parts_not_clerk"))
        return
    chat = update.effective_chat
    assert chat is not None
    async with context.services.db.session() as session:
        request = await session.get(PartRequest, request_id)
        if request is None:
            await refuse(update, context, Refused("parts_request_missing"))
            return
        facts = await card_facts(session, request)
        await answer_tap(update)
        for photo in facts.photos:
            if photo.channel == context.channel:
                await chat.send_photo(photo.file_id)
        message = await reply(update, *part_card(context._, facts))
        if message is not None:
            session.add(CardMessage(
                kind=CARD, ref_id=request_id, staff_id=context.me.id,  # type: ignore[arg-type]
                channel=context.channel, chat_id=chat.id, message_id=message.message_id,
                sent_at=context.now()))
            await session.commit()


def handlers() -> list[BaseHandler[Update, WorkshopContext, object]]:
    photo_step_buttons = r"^pr:(photo:(skip|none)|send)$"
    return [
        conversation(
            "part_request",
            draft_key=REQUEST,
            entry_points=[CallbackQueryHandler(start_request, pattern=r"^ord:\d+:part$")],
            states={
                ITEM: [CallbackQueryHandler(got_item, pattern=r"^pr:item:\d+$")],
                PART: [MessageHandler(TEXT, got_part)],
                QUANTITY: [MessageHandler(TEXT, got_quantity),
                           CallbackQueryHandler(got_quantity, pattern=r"^pr:qty:\d+$")],
                PHOTO: [MessageHandler(filters.PHOTO, got_photo),
                        CallbackQueryHandler(send_request, pattern=photo_step_buttons),
                        MessageHandler(TEXT, text_instead_of_photo)],
            },
        ),
        conversation(
            "parts_decision",
            draft_key=DECISION,
            entry_points=[CallbackQueryHandler(
                start_decision, pattern=r"^prt:\d+:(issue|oos|decline|lost)$")],
            states={
                OLD_PART: [CallbackQueryHandler(
                    got_old_part, pattern=r"^prt:\d+:i:(received|awaiting|none|lost)$")],
                EXPECTED: [MessageHandler(TEXT, got_expected),
                           CallbackQueryHandler(got_expected, pattern=r"^prt:\d+:eta:tomorrow$")],
                REASON: [MessageHandler(TEXT, got_reason)],
                AMOUNT: [MessageHandler(TEXT, got_amount)],
                SETTLEMENT: [CallbackQueryHandler(got_settlement,
                                                  pattern=r"^prt:\d+:pay:(replace|pay)$")],
            },
        ),
        conversation(
            "part_return",
            draft_key=RETURN,
            entry_points=[CallbackQueryHandler(start_return, pattern=r"^prt:\d+:ret$")],
            states={
                RETURN_REASON: [MessageHandler(TEXT, got_return_reason)],
                RETURN_PHOTOS: [MessageHandler(filters.PHOTO, got_return_photo),
                                CallbackQueryHandler(send_return, pattern=r"^prt:\d+:ret:send$"),
                                MessageHandler(TEXT, return_needs_photo)],
            },
        ),
        CallbackQueryHandler(old_part_received, pattern=r"^prt:\d+:old$"),
        CallbackQueryHandler(show_card, pattern=r"^prt:\d+:show$"),
        CallbackQueryHandler(choice_out_of_step, pattern=CHOICE_DATA),
        CommandHandler("parts", list_parts),
    ]
