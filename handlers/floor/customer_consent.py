"""W5 from the customer's phone, the staff's side of it: once the customer decided items on
their page (:mod:`bot.customer_page`), what an advisor's decision does happens too — every copy
of each item's card shows the decision, the technician is told what to do and what not, the
order's cards follow, other advisors' open steps on those items end — and the advisor who sent
the link hears what the customer chose."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import WorkshopContext
from bot.i18n import Translator
from bot.messenger import Rendered
from bot.services import Services
from handlers.chat.deciding import end_other_steps
from handlers.floor.cards import decline_name, extra_item_card, send_technician_card
from models.card import CardKind
from models.customer_link import CustomerLink, CustomerLinkItem, Outcome
from models.db import id_of
from models.extra_item import Decision, ExtraItemRequest
from models.staff import Staff
from models.work_order import WorkOrder, get_order


@dataclass(frozen=True)
class Decided:
    """An item the customer decided, with what they signed."""

    request: ExtraItemRequest
    record: CustomerLinkItem

    @property
    def approved(self) -> bool:
        return self.request.status == Decision.approved


def for_advisor(_: Translator, order: WorkOrder, name: str, decided: list[Decided]) -> Rendered:
    lines = [_("📱 {name} decided on their phone for {number} ({plate}):").format(
        name=name, number=order.number, plate=order.plate)]
    for each in decided:
        if each.approved:
            lines.append(_("✅ approved “{item}”").format(item=each.request.description))
        else:
            lines.append(_("❌ declined “{item}” ({reason})").format(
                item=each.request.description,
                reason=decline_name(_, each.record.decline_reason)))
    notes = {each.record.note for each in decided if each.record.note}
    lines += [_("Their note: {note}").format(note=note) for note in sorted(notes)]
    lines.append(_("The technician has been told."))
    return "\n".join(lines), None


def for_technician(_: Translator, order: WorkOrder, decided: list[Decided]) -> Rendered:
    lines = [_("📱 The customer decided on their phone for {number}:").format(
        number=order.number)]
    for each in decided:
        if each.approved:
            lines.append(_("✅ “{item}” approved: you may start on it.").format(
                item=each.request.description))
        else:
            lines.append(_("❌ “{item}” declined: do not do it.").format(
                item=each.request.description))
    return "\n".join(lines), None


async def _decided(session: AsyncSession, link_id: int, outcomes: list[Outcome]
                   ) -> list[Decided]:
    decided = []
    for outcome in outcomes:
        if not outcome.decided:
            continue
        request = await session.get(ExtraItemRequest, outcome.request_id)
        record = (await session.exec(select(CustomerLinkItem).where(
            CustomerLinkItem.link_id == link_id,
            CustomerLinkItem.request_id == outcome.request_id))).first()
        if request is not None and record is not None:
            decided.append(Decided(request, record))
    return decided


def _card(order: WorkOrder, each: Decided, technician: Staff | None
          ) -> Callable[[Translator], Rendered]:
    return lambda t: extra_item_card(t, order, each.request, technician,
                                     signed_name=each.record.signed_name)


async def tell_staff(services: Services, link_id: int, outcomes: list[Outcome]) -> None:
    """After the customer's decisions were committed: the cards, the technician, the advisor
    (one session; the cards' copies are written at its end), then the other steps."""
    messenger = services.messenger
    async with services.db.session() as session:
        link = await session.get(CustomerLink, link_id)
        assert link is not None
        decided = await _decided(session, link_id, outcomes)
        if not decided:
            return
        order = await get_order(session, link.order_id)
        name = decided[0].record.signed_name or "?"
        by_technician: defaultdict[int, list[Decided]] = defaultdict(list)
        for each in decided:
            request = each.request
            technician = await session.get(Staff, request.requested_by)
            await messenger.update_cards(session, CardKind.extra_item, id_of(request),
                                         _card(order, each, technician))
            by_technician[request.requested_by].append(each)
        for staff_id, theirs in by_technician.items():
            technician = await session.get(Staff, staff_id)
            if technician is not None:
                await messenger.send(session, technician, partial(for_technician, order=order,
                                                                  decided=theirs))
        advisor = await session.get(Staff, link.created_by)
        if advisor is not None:
            await messenger.send(session, advisor, lambda t: for_advisor(t, order, name, decided))
        await send_technician_card(services, session, order)
        await session.commit()
    applications = list(services.applications.values())
    if applications:  # a context for a decision no update carried
        context = WorkshopContext(applications[0])
        for each in decided:
            await end_other_steps(context, CardKind.extra_item, id_of(each.request))
