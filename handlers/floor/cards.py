"""What other people and the jobs see of the floor (W1–W5, N1–N7): the cards and the facts they
load."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import N_, Translator
from bot.messenger import Rendered
from bot.services import Services
from bot.settings import Settings
from handlers.chat.labels import status_name
from handlers.chat.ui import button, keyboard, local_time
from models.approvals import waiting_on_order
from models.attachment import Attachment, attachments_of
from models.card import CardKind, cards_of, retire_card
from models.checklist import Box
from models.customer_link import CustomerLinkItem, DeclineReason
from models.db import commit_writes, id_of
from models.extra_item import (
    ConsentMethod,
    Decision,
    ExtraItemRequest,
)
from models.fault_report import FaultReport, FaultStatus, Proposal, proposal_of
from models.job_clock import ClockState, clock_state
from models.lifting import (
    LiftWatch,
    WatchStatus,
)
from models.plate_check import PlateCheck
from models.staff import Staff
from models.visit_flow import DELIVERABLE
from models.work_order import (
    ItemKind,
    ItemStatus,
    OrderItem,
    OrderStatus,
    WorkOrder,
    get_order,
    items_of,
)

# The callback data of the buttons these cards draw, one prefix per family; the
# handlers that answer them match on the same constants.
CLOCK_PREFIX = "clk"  # the job clock: clk:<item id>:start|pause
EXTRA_PREFIX = "xtr"  # an extra item decided: xtr:<request id>:…
FAULT_PREFIX = "flt"  # a fault report acknowledged: flt:<report id>:ack
ITEM_PREFIX = "itm"  # an item marked done: itm:<item id>:done
LINK_PREFIX = "cln"  # a customer link made ("Ask the customer"): cln:<order id>:ask
PROPOSE_PREFIX = "fxi"  # a fault report proposed as an extra item: fxi:<report id>:go
ORDER_PREFIX = "ord"  # the order card's buttons: ord:<order id>:<action>
WATCH_PREFIX = "lfw"  # the lifting watcher: lfw:<watch id>:ok|take

ITEM_MARK = {
    ItemStatus.open: "⬜",
    ItemStatus.done: "✅",
    ItemStatus.pending: "⏳",
    ItemStatus.rejected: "❌",
}


def item_line(_: Translator, item: OrderItem) -> str:
    status = ItemStatus(item.status)
    text = f"{ITEM_MARK[status]} {item.position}. "
    if item.kind == ItemKind.extra:
        text += _("[extra] ")
    text += item.description
    if status is ItemStatus.done:
        text += " " + _("(done {at})").format(at=local_time(_, item.done_at))
    elif status is ItemStatus.pending:
        text += " " + _("(waiting for approval)")
    elif status is ItemStatus.rejected:
        text += " " + _("(rejected — do not do)")
    return text


def technician_card(
    _: Translator, order: WorkOrder, items: list[OrderItem]
) -> tuple[str, InlineKeyboardMarkup | None]:
    """What the technician sees. The plate stays hidden until they have checked it (W1)."""
    status = OrderStatus(order.status)
    lines = [_("Work order {number}").format(number=order.number),
             _("Vehicle: {model}").format(model=order.vehicle_model)]
    if status is OrderStatus.open:
        lines += [_("Status: {status}").format(status=status_name(_, status)), "",
                  _("Check the plate on the vehicle before any work: tap the button and type "
                    "it.")]
        if order.plate_mismatches:
            lines.append(_("❌ Plates typed so far that did not match: {count}.").format(
                count=order.plate_mismatches))
        return "\n".join(lines), keyboard([button(_("🔎 Confirm plate"),
                                                  f"{ORDER_PREFIX}:{order.id}:plate")])
    lines.insert(1, _("Plate: {plate}").format(plate=order.plate))
    if status is OrderStatus.locked:
        lines += [_("Status: {status}").format(status=status_name(_, status)), "",
                  _("Locked after {count} plate mismatches. The advisor must clear it.").format(
                      count=order.plate_mismatches)]
        return "\n".join(lines), None
    lines += [_("Status: {status}").format(status=status_name(_, status)),
              _("Complaint: {complaint}").format(complaint=order.complaint), "",
              _("Items:")]
    lines += [" ".join(filter(None, (item_line(_, item), clock_note(_, item))))
              for item in items]
    if status is not OrderStatus.in_progress:
        return "\n".join(lines), None
    if order.checklist_done_at is None:  # N1–N7 come before any work on the items
        rows = [[button(_("📋 Pre-work checklist"), f"{ORDER_PREFIX}:{order.id}:list")]]
    else:
        rows = [[clock_button(_, item),
                 button(_("✅ Done: {position}. {item}").format(
                     position=item.position, item=item.description[:24]),
                     f"{ITEM_PREFIX}:{item.id}:done")]
                for item in items if item.status == ItemStatus.open]
    rows += [
        [button(_("⚠️ Items don't match the fault"), f"{ORDER_PREFIX}:{order.id}:flag")],
        [button(_("🔧 Report unlisted fault"), f"{ORDER_PREFIX}:{order.id}:fault")],
        [button(_("➕ Request extra item"), f"{ORDER_PREFIX}:{order.id}:extra")],
        [button(_("🔩 Request part"), f"{ORDER_PREFIX}:{order.id}:part")],
        [button(_("➡️ Hand on to the next process"), f"{ORDER_PREFIX}:{order.id}:next")],
        [button(_("🏁 Self-check and hand over"), f"{ORDER_PREFIX}:{order.id}:check"),
         button(_("🔄 Refresh"), f"{ORDER_PREFIX}:{order.id}:view")],
    ]
    return "\n".join(lines), keyboard(*rows)


def hours_text(seconds: float) -> str:
    return f"{seconds / 3600:.1f}"


def clock_note(_: Translator, item: OrderItem) -> str:
    """The job clock on the item's line: running since, hours clocked, the standard time."""
    notes = []
    if item.clock_started_at is not None:
        notes.append(_("running since {at}").format(at=local_time(_, item.clock_started_at)))
    if item.clock_seconds:
        notes.append(_("{hours} h clocked").format(hours=hours_text(item.clock_seconds)))
    if item.standard_minutes:
        notes.append(_("standard {hours} h").format(
            hours=f"{item.standard_minutes / 60:.2f}".rstrip("0").rstrip(".")))
    return "⏱ " + ", ".join(notes) if notes else ""


def clock_button(_: Translator, item: OrderItem) -> InlineKeyboardButton:
    """▶️ start, ⏸ pause or ▶️ resume: handled in :mod:`handlers.floor.job_clock`."""
    state = clock_state(item)
    if state is ClockState.running:
        return button(_("⏸ Pause {position}.").format(position=item.position),
                      f"{CLOCK_PREFIX}:{item.id}:pause")
    if state is ClockState.paused:
        return button(_("▶️ Resume {position}.").format(position=item.position),
                      f"{CLOCK_PREFIX}:{item.id}:start")
    return button(_("▶️ Start {position}.").format(position=item.position),
                  f"{CLOCK_PREFIX}:{item.id}:start")


def advisor_card(
    _: Translator, order: WorkOrder, items: list[OrderItem], technician: Staff | None,
    waiting: Sequence[ExtraItemRequest | FaultReport] = (), *,
    customer_decisions: Sequence[CustomerDecision] = (), ask_customer: bool = False,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The order's advisor's card; with what waits for their decision on the order
    (``waiting``: :func:`models.approvals.waiting_on_order`) it offers the same Approve /
    Reject and Acknowledge buttons as the extra-item and fault cards, and (``ask_customer``:
    customer links are set up) the button that makes a link for the customer. The extra items
    the customer decided on a link are listed with their signature (the order's history)."""
    lines = [
        _("Work order {number} · {plate}").format(number=order.number, plate=order.plate),
        _("Customer: {name} {phone}").format(name=order.customer_name,
                                             phone=order.customer_phone),
        _("Vehicle: {model}").format(model=order.vehicle_model),
        _("Technician: {name}").format(name=technician.name if technician else "—"),
        _("Status: {status}").format(status=status_name(_, order.status)),
        _("Complaint: {complaint}").format(complaint=order.complaint),
        _("Items:"),
        *[item_line(_, item) for item in items],
        *[customer_decision_line(_, decision, items) for decision in customer_decisions],
    ]
    markup = None
    if order.status == OrderStatus.locked:
        markup = keyboard([button(_("🔓 Clear the plate lock"),
                                  f"{ORDER_PREFIX}:{order.id}:unlock")])
    elif order.status in DELIVERABLE:  # after_sales.delivery asks to confirm, then delivers
        markup = keyboard([button(_("🚗 Delivered to the customer"),
                                  f"{ORDER_PREFIX}:{order.id}:deliver")])
    rows = waiting_rows(_, order, items, waiting, lines)
    if ask_customer and order.status == OrderStatus.in_progress and any(
            isinstance(record, ExtraItemRequest) and record.status == Decision.pending
            for record in waiting):
        rows.append(ask_customer_row(_, order))
    if rows:
        markup = keyboard(*rows, *(list(row) for row in (markup.inline_keyboard
                                                         if markup else ())))
    return "\n".join(lines), markup


def waiting_rows(
    _: Translator, order: WorkOrder, items: list[OrderItem],
    waiting: Sequence[ExtraItemRequest | FaultReport], lines: list[str],
) -> list[list[InlineKeyboardButton]]:
    """The advisor's order card: a line for each fault report waiting (the items show their
    own "waiting for approval"), and the buttons of each record that waits: the callback data
    of the extra-item and fault cards, so the same first-decision-wins handlers answer."""
    positions = {item.id: item.position for item in items}
    faults = [record for record in waiting if isinstance(record, FaultReport)]
    rows = []
    for record in waiting:
        if isinstance(record, ExtraItemRequest):
            if record.status != Decision.pending or order.status != OrderStatus.in_progress:
                continue
            position = positions.get(record.item_id, "")
            rows.append([button(_("✅ Approve {position}.").format(position=position),
                                f"{EXTRA_PREFIX}:{record.id}:ok"),
                         button(_("❌ Reject {position}.").format(position=position),
                                f"{EXTRA_PREFIX}:{record.id}:no")])
        elif record.acknowledged_at is None:
            description = record.description.replace("\n", " ")
            if len(description) > 60:
                description = description[:59] + "…"
            at = _.time(record.created_at)
            lines.append(_("🔧 Unlisted fault reported at {at}, waiting for acknowledgement: "
                           "{description}").format(at=at, description=description))
            label = (_("👌 Acknowledge the fault") if len(faults) == 1
                     else _("👌 Acknowledge the fault of {at}").format(at=at))
            rows.append([button(label, f"{FAULT_PREFIX}:{record.id}:ack")])
    return rows


@dataclass(frozen=True)
class FaultFacts:
    """What the card shows, loaded once and rendered in each reader's language."""

    report: FaultReport
    order: WorkOrder
    technician: Staff | None
    photos: list[Attachment]
    acknowledged_by: Staff | None
    proposal: Proposal | None = None  # the extra item it became


async def fault_facts(session: AsyncSession, report: FaultReport) -> FaultFacts:
    order = await get_order(session, report.order_id)
    technician = await session.get(Staff, report.reported_by)
    acknowledged_by = (await session.get(Staff, report.acknowledged_by)
                       if report.acknowledged_by is not None else None)
    photos = await attachments_of(session, CardKind.fault_report, id_of(report))
    proposal = (await proposal_of(session, report)
                if report.status == FaultStatus.proposed else None)
    return FaultFacts(report, order, technician, photos, acknowledged_by, proposal)


def fault_card(_: Translator, facts: FaultFacts, *, overdue_minutes: int | None = None,
               advisor: Staff | None = None) -> Rendered:
    """The advisor's card: with the Acknowledge button until someone acknowledges it, then
    (the order in progress) "Propose as extra item" until someone does. Escalated
    (``overdue_minutes``), it says how long it waited and whose customer it is (``advisor``)."""
    report, order = facts.report, facts.order
    count = len(facts.photos)
    lines = [
        _("🔧 Unlisted fault on {number} · {plate}").format(number=order.number,
                                                          plate=order.plate),
        _("Vehicle: {model}").format(model=order.vehicle_model),
        _("Technician: {name}").format(
            name=facts.technician.name if facts.technician else "—"),
        _("Reported at {at}").format(at=_.time(report.created_at)),
        "",
        report.description,
        "",
        _.ngettext("📷 {count} photo", "📷 {count} photos", count).format(count=count),
    ]
    if report.acknowledged_at is not None:
        lines.append(_("✅ Acknowledged by {name} at {at}.").format(
            name=facts.acknowledged_by.name if facts.acknowledged_by else "?",
            at=_.time(report.acknowledged_at)))
        proposal = facts.proposal
        if proposal is not None:
            lines.append(_("➕ Proposed as an extra item by {name} at {at}: parts {parts}, "
                           "labour {labour}.").format(
                               name=proposal.advisor.name if proposal.advisor else "?",
                               at=_.time(proposal.at),
                               parts=_.money(proposal.request.parts_fen),
                               labour=_.money(proposal.request.labour_fen)))
        if report.status != FaultStatus.acknowledged or order.status != OrderStatus.in_progress:
            return "\n".join(lines), None
        return "\n".join(lines), keyboard([button(_("➕ Propose as extra item"),
                                                  f"{PROPOSE_PREFIX}:{report.id}:go")])
    if overdue_minutes is not None:
        lines.append(_.ngettext(
            "⏰ Not acknowledged for {count} minute; sent to every advisor on duty.",
            "⏰ Not acknowledged for {count} minutes; sent to every advisor on duty.",
            overdue_minutes).format(count=overdue_minutes))
        if advisor is not None:
            lines.append(whose_customer(_, advisor))
    return "\n".join(lines), keyboard([button(_("👌 Acknowledge"),
                                              f"{FAULT_PREFIX}:{report.id}:ack")])


def consent_name(_: Translator, method: str | None, note: str | None = None) -> str:
    """How the customer consented; on their own phone (a customer link) with the name they
    signed (``note``: the request's consent note)."""
    if method == ConsentMethod.customer_link:
        return _("the customer, on their phone ({name})").format(name=note or "?")
    names: dict[str, str] = {
        ConsentMethod.phone: _("phone"),
        ConsentMethod.in_person: _("in person"),
        ConsentMethod.wechat: _("WeChat"),
        ConsentMethod.other: _("other"),
    }
    return names.get(method or "", method or "—")


CUSTOMER_REASON = "customer: "  # a reject reason the customer gave: "customer: price"
DECLINE_NAMES: dict[str, str] = {
    DeclineReason.price: N_("too expensive"),
    DeclineReason.later: N_("will do it later"),
    DeclineReason.second_opinion: N_("wants a second opinion"),
    DeclineReason.other: N_("other"),
}


def decline_name(_: Translator, reason: str | None) -> str:
    """Why the customer declined, as they chose it on the page."""
    label = DECLINE_NAMES.get(reason or "")
    return _(label) if label is not None else reason or "—"


def reject_reason_text(_: Translator, reason: str | None) -> str:
    """A reject reason as people read it: the advisor's words, or "the customer declined: too
    expensive" for the customer's choice on their link."""
    if reason is not None and reason.startswith(CUSTOMER_REASON):
        return _("the customer declined: {why}").format(
            why=decline_name(_, reason.removeprefix(CUSTOMER_REASON)))
    return reason or "—"


def by_customer(request: ExtraItemRequest) -> bool:
    """Decided by the customer on a link (:mod:`models.customer_link`), not by an advisor."""
    return request.decided_by is None and request.decided_channel == ConsentMethod.customer_link


def customer_links_on(settings: Settings) -> bool:
    """The "Ask the customer" button is drawn only where the page can be reached."""
    return bool(settings.public_base_url)


def ask_customer_row(_: Translator, order: WorkOrder) -> list[InlineKeyboardButton]:
    """Handled in :mod:`handlers.floor.customer_link`: a link to every pending item of the
    order."""
    return [button(_("📱 Ask the customer"), f"{LINK_PREFIX}:{order.id}:ask")]


@dataclass(frozen=True)
class CustomerDecision:
    """An extra item the customer decided on a link, with what they signed."""

    request: ExtraItemRequest
    record: CustomerLinkItem


async def customer_decisions(session: AsyncSession, order_id: int) -> list[CustomerDecision]:
    """The order's extra items decided by the customer, in the order they decided."""
    rows = (await session.exec(
        select(ExtraItemRequest, CustomerLinkItem)
        .join(CustomerLinkItem, col(CustomerLinkItem.request_id) == col(ExtraItemRequest.id))
        .where(ExtraItemRequest.order_id == order_id,
               col(CustomerLinkItem.decided_at).is_not(None))
        .order_by(col(CustomerLinkItem.decided_at), col(CustomerLinkItem.id)))).all()
    return [CustomerDecision(request, record) for request, record in rows]


def customer_decision_line(_: Translator, decision: CustomerDecision,
                           items: list[OrderItem]) -> str:
    """The order's history of a customer's decision: who signed, when, how, and why not."""
    request, record = decision.request, decision.record
    position = next((item.position for item in items if item.id == request.item_id), "")
    facts = {"position": position, "item": request.description,
             "name": record.signed_name or "?", "at": local_time(_, record.decided_at)}
    if record.decision == Decision.approved:
        return _("📱 {position}. {item}: approved by the customer ({name}) on the customer "
                 "link at {at}").format(**facts)
    return _("📱 {position}. {item}: declined by the customer ({name}) on the customer link "
             "at {at} — {why}").format(why=decline_name(_, record.decline_reason), **facts)


def extra_item_card(
    _: Translator, order: WorkOrder, request: ExtraItemRequest, technician: Staff | None,
    decided_by: Staff | None = None, *, overdue_minutes: int | None = None,
    advisor: Staff | None = None, ask_customer: bool = False, signed_name: str | None = None,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The advisors' card: buttons while pending (with "Ask the customer" when customer links
    are set up: ``ask_customer``), the decision once there is one. Escalated
    (``overdue_minutes``), it says how long it waited and whose customer it is (``advisor``).
    Decided by the customer on a link, it names them (``signed_name``; an approval carries it
    in its consent note)."""
    if request.parts_fen is None and request.labour_fen is None:
        estimate = _("none given")
    else:
        estimate = _("parts {parts}, labour {labour}").format(
            parts=_.money(request.parts_fen), labour=_.money(request.labour_fen))
    lines = [
        _("➕ Extra item requested on {number} at {at}").format(
            number=order.number, at=local_time(_, request.created_at)),
        _("Plate: {plate} · {model}").format(plate=order.plate, model=order.vehicle_model),
        _("Technician: {name}").format(name=technician.name if technician else "—"),
        _("Item: {item}").format(item=request.description),
        _("Reason: {reason}").format(reason=request.reason),
        _("Estimate: {estimate}").format(estimate=estimate),
    ]
    status = Decision(request.status)
    if status is Decision.pending:
        if overdue_minutes is not None:
            lines.append(_.ngettext(
                "⏰ Not decided for {count} minute; sent to every advisor on duty.",
                "⏰ Not decided for {count} minutes; sent to every advisor on duty.",
                overdue_minutes).format(count=overdue_minutes))
            if advisor is not None:
                lines.append(whose_customer(_, advisor))
        return "\n".join(lines), keyboard(
            [button(_("✅ Approve"), f"{EXTRA_PREFIX}:{request.id}:ok"),
             button(_("❌ Reject"), f"{EXTRA_PREFIX}:{request.id}:no")],
            ask_customer_row(_, order)
            if ask_customer and order.status == OrderStatus.in_progress else [])
    at = local_time(_, request.decided_at)
    if by_customer(request):
        if status is Decision.approved:
            lines += ["", _("✅ Approved at {at} (consent: {consent})").format(
                at=at, consent=consent_name(_, request.consent_method, request.consent_note))]
        else:
            lines += ["", _("❌ Rejected by {name} at {at}: {reason}").format(
                name=signed_name or _("the customer"), at=at,
                reason=reject_reason_text(_, request.reject_reason))]
        return "\n".join(lines), None
    name = decided_by.name if decided_by else "?"
    if status is Decision.approved:
        consent = consent_name(_, request.consent_method)
        if request.consent_note:
            consent += f" — {request.consent_note}"
        lines += ["", _("✅ Approved by {name} at {at} (consent: {consent})").format(
            name=name, at=at, consent=consent)]
    else:
        lines += ["", _("❌ Rejected by {name} at {at}: {reason}").format(
            name=name, at=at, reason=request.reject_reason)]
    return "\n".join(lines), None


def box_name(_: Translator, box: Box) -> str:
    """A box of the pre-work checklist, as the checklist message and its refusals name it."""
    return {
        Box.ppe: _("Protective equipment worn correctly"),
        Box.cover: _("Protection cover fitted; stay out of the car"),
        Box.seat_cover: _("Seat cover fitted"),
        Box.floor_mat: _("Floor mat fitted"),
        Box.wheel_cover: _("Steering-wheel cover fitted"),
        Box.stands: _("Lift and stands firm, not overloaded"),
        Box.drip_pans: _("Drip pans in place"),
        Box.trays: _("Trays ready for removed assemblies"),
    }[box]


@dataclass(frozen=True)
class WatchFacts:
    watch: LiftWatch
    order: WorkOrder
    technician: Staff | None
    watcher: Staff | None
    confirmed_by: Staff | None


async def watch_facts(session: AsyncSession, watch: LiftWatch) -> WatchFacts:
    order = await get_order(session, watch.order_id)
    confirmed_by = (await session.get(Staff, watch.confirmed_by)
                    if watch.confirmed_by is not None else None)
    return WatchFacts(watch, order, await session.get(Staff, watch.technician_id),
                      await session.get(Staff, watch.watcher_id), confirmed_by)


def watch_card(_: Translator, facts: WatchFacts, *, overdue_minutes: int | None = None
               ) -> Rendered:
    """The watcher's card; with ``overdue_minutes``, the team leaders' alert."""
    watch, order = facts.watch, facts.order
    technician = facts.technician.name if facts.technician else "?"
    watcher = facts.watcher.name if facts.watcher else "?"
    lines = [_("🏗 Lift watch · {number} · {plate} ({model})").format(
        number=order.number, plate=order.plate, model=order.vehicle_model)]
    if overdue_minutes is not None:
        lines.append(_.ngettext(
            "⚠️ {technician} named {watcher} as the watcher {count} minute ago; nobody has "
            "confirmed. No lifting without a watcher (N5).",
            "⚠️ {technician} named {watcher} as the watcher {count} minutes ago; nobody has "
            "confirmed. No lifting without a watcher (N5).", overdue_minutes).format(
                technician=technician, watcher=watcher, count=overdue_minutes))
    else:
        lines.append(_("{technician} asks {watcher} to watch the vehicle while it is raised "
                       "(N5). Requested at {at}.").format(
                           technician=technician, watcher=watcher,
                           at=_.time(watch.requested_at)))
    if watch.status == WatchStatus.confirmed:
        who = facts.confirmed_by.name if facts.confirmed_by else "?"
        lines.append(_("✅ {name} confirmed watching at {at}; the lift is recorded as "
                       "started.").format(name=who, at=_.time(watch.confirmed_at)))  # type: ignore[arg-type]
        return "\n".join(lines), None
    if watch.status == WatchStatus.cancelled:
        lines.append(_("Withdrawn at {at}: {technician} named someone else.").format(
            at=_.time(watch.cancelled_at), technician=technician))  # type: ignore[arg-type]
        return "\n".join(lines), None
    if overdue_minutes is not None:
        return "\n".join(lines), keyboard([button(_("👀 I'll watch it"),
                                                  f"{WATCH_PREFIX}:{watch.id}:take")])
    lines.append(_("Go to the vehicle, then confirm."))
    return "\n".join(lines), keyboard([button(_("👀 I am watching"),
                                              f"{WATCH_PREFIX}:{watch.id}:ok")])


def stale_copy(_: Translator, rendered: Rendered) -> Rendered:
    """An older copy of a living card once a newer one went out: its text, no buttons."""
    return rendered[0] + "\n\n" + _("⤵️ See the newer card below."), None


async def living_card(
    services: Services, session: AsyncSession, staff: Staff | None, kind: CardKind,
    ref_id: int, render: Callable[[Translator], Rendered], *, fresh: bool,
    send_new: bool = True, photos: Sequence[Attachment] = (),
) -> None:
    """One current copy of a card per person: edit it in place, or (``fresh``, none yet, or
    none could be edited) send a new one and strip the older copies of their buttons. Without
    ``send_new`` a person who has no copy yet gets none (an order from before cards were
    kept)."""
    if staff is None:
        return
    messenger = services.messenger
    staff_id = id_of(staff)
    every = await cards_of(session, kind, ref_id)  # read once, handed to update_cards
    copies = [c for c in every if c.staff_id == staff_id]
    for other in {c.staff_id for c in every} - {staff_id}:  # no longer theirs: no buttons
        await messenger.update_cards(session, kind, ref_id, lambda _: (render(_)[0], None),
                                     staff_id=other, cards=every)
        for copy in every:
            if copy.staff_id == other:
                await retire_card(session, copy)
    if not copies and not send_new:
        await commit_writes(session)
        return
    if copies and not fresh and await messenger.update_cards(
            session, kind, ref_id, render, staff_id=staff_id, cards=every, known=staff):
        await commit_writes(session)
        return
    if copies:
        await messenger.update_cards(session, kind, ref_id,
                                     lambda _: stale_copy(_, render(_)), staff_id=staff_id,
                                     cards=every, known=staff)
        for copy in copies:
            await retire_card(session, copy)
    await messenger.send(session, staff, render, card=(kind, ref_id), photos=photos)
    # The new copy, so the next change edits it (within an update: with its last commit).
    await commit_writes(session)


async def _person(session: AsyncSession, known: Staff | None, staff_id: int) -> Staff | None:
    """The staff member ``staff_id``: ``known`` when it is them (e.g. ``context.me``, possibly
    a detached copy from the access gate's cache: only read, never added to a session), else
    read."""
    if known is not None and known.id == staff_id:
        return known
    return await session.get(Staff, staff_id)


async def show_order(
    services: Services, session: AsyncSession, order: WorkOrder, *, fresh: bool = False,
    send_new: bool = True, known: Staff | None = None, items: list[OrderItem] | None = None,
) -> None:
    """The technician's one card for the order, redrawn after every change (call after the
    commit): edited in place, or sent anew (``fresh``: the flow wants it at the bottom of the
    chat) with the older copies saying "see the newer card below". ``known``: a person the
    caller already has (used if they are the technician); ``items``: the order's items, if
    the caller loaded them since the last change."""
    if items is None:
        items = await items_of(session, id_of(order))
    technician = await _person(session, known, order.technician_id)
    await living_card(services, session, technician, CardKind.order_technician, id_of(order),
                       lambda _: technician_card(_, order, items), fresh=fresh,
                       send_new=send_new)


async def show_advisor_order(
    services: Services, session: AsyncSession, order: WorkOrder, *, fresh: bool = False,
    send_new: bool = True, known: Staff | None = None, items: list[OrderItem] | None = None,
) -> None:
    """The advisor's one card for the order, the same way as :func:`show_order` (``known``
    is used if it is the advisor or the technician)."""
    advisor = await _person(session, known, order.advisor_id)
    await living_card(services, session, advisor, CardKind.order_advisor, id_of(order),
                       await advisor_view(session, order, known=known, items=items,
                                          ask_customer=customer_links_on(services.settings)),
                       fresh=fresh, send_new=send_new)


async def advisor_view(session: AsyncSession, order: WorkOrder, *, known: Staff | None = None,
                       items: list[OrderItem] | None = None, ask_customer: bool = False,
                       ) -> Callable[[Translator], Rendered]:
    """The advisor's card for the order as it stands, with what waits for their decision and
    what the customer decided on a link."""
    if items is None:
        items = await items_of(session, id_of(order))
    technician = await _person(session, known, order.technician_id)
    waiting = await waiting_on_order(session, id_of(order))
    # Only a decided extra item can have been decided by the customer: no query before one is.
    decided = any(item.kind == ItemKind.extra and item.status != ItemStatus.pending
                  for item in items)
    decisions = await customer_decisions(session, id_of(order)) if decided else []
    return lambda _: advisor_card(_, order, items, technician, waiting,
                                  customer_decisions=decisions, ask_customer=ask_customer)


async def redraw_order(services: Services, session: AsyncSession, order: WorkOrder, *,
                       known: Staff | None = None) -> None:
    """After a change to the order: both people's cards follow it, each edited in place (sent
    anew only where the copy cannot be edited; nobody gets a first copy this way)."""
    items = await items_of(session, id_of(order))  # the same items on both cards
    await show_order(services, session, order, send_new=False, known=known, items=items)
    await show_advisor_order(services, session, order, send_new=False, known=known,
                             items=items)


async def send_technician_card(
    services: Services, session: AsyncSession, order: WorkOrder, *, known: Staff | None = None
) -> None:
    """After a change someone else made and told the technician of: their card anew below
    that message (the older copy stripped); the advisor's edited in place."""
    items = await items_of(session, id_of(order))  # the same items on both cards
    await show_order(services, session, order, fresh=True, known=known, items=items)
    await show_advisor_order(services, session, order, known=known, items=items)


@dataclass(frozen=True)
class MismatchFacts:
    """What a plate-mismatch alert shows (W1)."""

    order: WorkOrder
    technician: Staff | None
    typed: list[str]  # the wrong plates typed so far, oldest first
    limit: int


async def mismatch_facts(session: AsyncSession, order: WorkOrder, limit: int) -> MismatchFacts:
    checks = (await session.exec(
        select(PlateCheck).where(PlateCheck.order_id == id_of(order),
                                 col(PlateCheck.matched).is_(False))
        .order_by(col(PlateCheck.id)))).all()
    return MismatchFacts(order, await session.get(Staff, order.technician_id),
                         [check.typed for check in checks], limit)


def mismatch_alert(_: Translator, facts: MismatchFacts, *, confirmed_at: datetime | None = None,
                   cleared_at: datetime | None = None) -> Rendered:
    """The advisor's alert: the latest attempt while it stands; once the right plate is
    confirmed (or the lock cleared) it says so and keeps no button."""
    order = facts.order
    name = facts.technician.name if facts.technician else "?"
    if confirmed_at is not None or cleared_at is not None:
        text = _("⚠️ Plate mismatch on {number}: the order says {expected}; wrong plates "
                 "typed: {typed}.").format(number=order.number, expected=order.plate,
                                           typed=", ".join(facts.typed) or "—")
    else:
        text = _("⚠️ Plate mismatch on {number}: the order says {expected}, {name} typed "
                 "{typed} (attempt {count} of {limit}).").format(
                     number=order.number, expected=order.plate, name=name,
                     typed=facts.typed[-1] if facts.typed else "—",
                     count=order.plate_mismatches, limit=facts.limit)
    if confirmed_at is not None:
        return text + "\n" + _("✅ Right plate confirmed at {at}.").format(
            at=_.time(confirmed_at)), None
    if cleared_at is not None:
        return text + "\n" + _("🔓 Lock cleared at {at}; the technician checks the plate "
                                "again.").format(at=_.time(cleared_at)), None
    if order.status != OrderStatus.locked:
        return text, None
    return (text + "\n" + _("The order is locked until you clear it."),
            keyboard([button(_("🔓 Clear the plate lock"),
                             f"{ORDER_PREFIX}:{order.id}:unlock")]))


def whose_customer(_: Translator, advisor: Staff) -> str:
    """On an escalated card: the order's own advisor, whom the customer knows."""
    return _("👤 {name}'s customer (the order's advisor)").format(name=advisor.name)


def fault_went_wider(_: Translator, facts: FaultFacts, *, minutes: int) -> Rendered:
    """To the order's own advisor, once: their fault report went to every advisor on duty."""
    order = facts.order
    return _.ngettext(
        "ℹ️ The fault report on {number} · {plate} waited {count} minute without an "
        "acknowledgement; it went to every advisor on duty. The first to acknowledge takes it.",
        "ℹ️ The fault report on {number} · {plate} waited {count} minutes without an "
        "acknowledgement; it went to every advisor on duty. The first to acknowledge takes it.",
        minutes).format(number=order.number, plate=order.plate, count=minutes), None


def extra_item_went_wider(_: Translator, order: WorkOrder, request: ExtraItemRequest, *,
                          minutes: int) -> Rendered:
    """To the order's own advisor, once: their extra item went to every advisor on duty."""
    return _.ngettext(
        "ℹ️ The extra item \"{item}\" on {number} · {plate} waited {count} minute for a "
        "decision; it went to every advisor on duty. The first decision counts.",
        "ℹ️ The extra item \"{item}\" on {number} · {plate} waited {count} minutes for a "
        "decision; it went to every advisor on duty. The first decision counts.",
        minutes).format(item=request.description, number=order.number, plate=order.plate,
                        count=minutes), None
