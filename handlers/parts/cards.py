"""W6: the part request as the parts clerks see it (以坏换新, old-for-new).

The card every active parts clerk gets for a request (``handlers.parts.request``), with the
buttons a clerk still has to press (``handlers.parts.decision``): **Issue** / **Out of stock**
/ **Decline**, and on an issued part whose old part is still to come, received / lost. Every
copy of the card is redrawn after a decision, so all clerks see who decided. The refusals and
the names of statuses and old-part outcomes are shared by every parts module.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import WorkshopContext
from bot.i18n import Translator
from bot.messenger import Rendered
from handlers.chat.ui import button, keyboard, local_time
from models.attachment import Attachment, attachments_of
from models.card import CardKind
from models.db import id_of
from models.parts import (
    OldPart,
    PartCompensation,
    PartRequest,
    PartStatus,
    Settlement,
    compensation_of,
    part_label,
)
from models.staff import Staff
from models.work_order import OrderItem, WorkOrder, get_order

# The callback data of the buttons these cards draw, one prefix per family; the
# handlers that answer them match on the same constants.
PART_PREFIX = "prt"  # a part request: prt:<request id>:…

MAX_REASON = 1000

def part_status_name(_: Translator, status: str) -> str:
    names: dict[str, str] = {
        PartStatus.pending: _("pending"),
        PartStatus.out_of_stock: _("marked out of stock"),
        PartStatus.issued: _("issued"),
        PartStatus.declined: _("declined"),
        PartStatus.returned: _("returned uninstalled"),
    }
    return names.get(status, status)


def old_part_name(_: Translator, outcome: str | None) -> str:
    names: dict[str, str] = {
        OldPart.received: _("old part received"),
        OldPart.awaiting: _("old part still to be handed in"),
        OldPart.none: _("no old part (new fitting or consumable)"),
        OldPart.lost: _("old part lost or damaged on purpose"),
    }
    return names.get(outcome or "", outcome or "—")


def settlement_name(_: Translator, settlement: str) -> str:
    names: dict[str, str] = {Settlement.replace: _("replace the part"),
                             Settlement.pay: _("pay the amount")}
    return names.get(settlement, settlement)


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
                     await compensation_of(session, id_of(request)),
                     await attachments_of(session, CardKind.part_request, id_of(request)))


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
            day=_.day(request.expected_on)))
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
        return text, keyboard([button(_("📤 Issue"), f"{PART_PREFIX}:{rid}:issue"),
                               button(_("📦 Out of stock"), f"{PART_PREFIX}:{rid}:oos")],
                              [button(_("❌ Decline"), f"{PART_PREFIX}:{rid}:decline")])
    if status is PartStatus.out_of_stock:
        return text, keyboard([button(_("📤 Issue"), f"{PART_PREFIX}:{rid}:issue"),
                               button(_("❌ Decline"), f"{PART_PREFIX}:{rid}:decline")])
    if status is PartStatus.issued and request.old_part == OldPart.awaiting:
        return text, keyboard([button(_("♻️ Old part received"), f"{PART_PREFIX}:{rid}:old")],
                              [button(_("⚠️ Old part lost or damaged"),
                                      f"{PART_PREFIX}:{rid}:lost")])
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
        session, CardKind.part_request, id_of(request), lambda t: part_card(t, facts))
    return facts
