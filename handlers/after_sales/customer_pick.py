"""The step five conversations share: type a plate, phone or name → the matching customers as
buttons → tap one (or send another search).

``/customer``, ``/assign``, ``/consult``, ``/logcall`` and ``/letter`` each make one
:class:`CustomerPick` with their own callback data and their own next step. The query rules
are :func:`models.customer.find_customers`'; this module words the answers, labels the buttons
the same way everywhere and checks a tap: only a button of the latest list counts, and the
customer must still exist.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, Update
from telegram.ext import CallbackQueryHandler

from bot.context import WorkshopContext
from bot.i18n import N_, Translator
from bot.refusals import refuse
from handlers.chat.conversation import checked_text, draft, stale_button
from handlers.chat.ui import answer_tap, button, keyboard, reply
from models import plate as plates
from models.customer import (
    Customer,
    find_customers,
    get_customer,
    normalize_phone,
    reads_customers,
    vehicles_of,
)
from models.db import id_of
from models.rules import Refused
from models.staff import Staff

MAX_QUERY = 64
MAX_MATCHES = 8  # one screen of buttons; more than that asks for a narrower search
LABEL_LIMIT = 60
LABEL_PLATES = 2
OFFERED = "candidates"  # the draft key of the ids the latest list offered (also before 2026-12)

Chosen = Callable[[Update, WorkshopContext, Customer], Awaitable[Any]]
ExtraRows = Callable[[Translator], list[list[InlineKeyboardButton]]]


def no_match_text(t: Translator, query: str) -> str:
    """Unknown plate, unknown phone or no such name: say which, so the clerk can check it."""
    phone = normalize_phone(query)
    if phone:
        return t("No customer has the phone number {phone}.").format(phone=phone)
    plate = plates.normalize(query)
    if plates.is_mainland(plate):
        return t("No vehicle with plate {plate} is on file.").format(plate=plate)
    return t("No customer's name contains “{query}”.").format(query=query)


def pick_label(customer: Customer, plates_: list[str], *, with_phone: bool) -> str:
    """What tells two customers apart at the desk: name · plates · last digits of the phone.

    ``with_phone`` only for :data:`models.customer.READERS`. A long name is shortened, never the
    plates.
    """
    tail = plates_[:LABEL_PLATES]
    if len(plates_) > LABEL_PLATES:
        tail[-1] += f" +{len(plates_) - LABEL_PLATES}"
    if with_phone and customer.phone_list:
        tail.append("…" + customer.phone_list[0][-4:])
    room = LABEL_LIMIT - sum(len(part) + 3 for part in tail)
    name = customer.name if len(customer.name) <= room else customer.name[: room - 1] + "…"
    return " · ".join([name, *tail])[:LABEL_LIMIT]


async def label_of(session: AsyncSession, customer: Customer, viewer: Staff) -> str:
    vehicles = await vehicles_of(session, id_of(customer))
    return pick_label(customer, [v.plate for v in vehicles], with_phone=reads_customers(viewer))


@dataclass(frozen=True)
class CustomerPick:
    """One conversation's customer step.

    ``data`` is its callback data with ``{id}`` for the customer (``"asg:c:{id}"``); ``chosen``
    its next step, given the customer from a single match or a tap, returning the next state.
    ``state`` is where the conversation waits for a search, ``pick_state`` where it waits once
    a list is shown (the same unless given). ``draft_key`` is the conversation's draft, where
    the offered ids are kept; ``None`` for ``/customer``, whose buttons work on their own.
    ``again`` follows “no customer matches”; ``extra`` adds rows under the answer (“New
    customer”).
    """

    data: str
    chosen: Chosen
    state: int | None = None
    pick_state: int | None = None
    draft_key: str | None = None
    again: str = N_("Send another search.")
    extra: ExtraRows | None = None

    @property
    def pattern(self) -> str:
        head, tail = self.data.split("{id}")
        return "^" + re.escape(head) + r"(\d+)" + re.escape(tail) + "$"

    @property
    def waiting(self) -> int | None:
        return self.state if self.pick_state is None else self.pick_state

    def handler(self) -> CallbackQueryHandler:
        """The tap on one of the listed customers, for the conversation's state."""
        return CallbackQueryHandler(self.tap, pattern=self.pattern)

    def begin(self, context: WorkshopContext) -> None:
        """A new conversation offers nothing yet: any list button from before is stale."""
        if self.draft_key is not None:
            draft(context, self.draft_key)[OFFERED] = []

    def _offer(self, context: WorkshopContext, ids: list[int]) -> None:
        if self.draft_key is not None:
            draft(context, self.draft_key)[OFFERED] = ids

    def _extra(self, t: Translator) -> list[list[InlineKeyboardButton]]:
        return self.extra(t) if self.extra is not None else []

    async def search(self, update: Update, context: WorkshopContext, text: str) -> Any:
        """One match goes on to ``chosen``; none or several are answered here."""
        _ = context._
        query, problem = checked_text(context, text, MAX_QUERY)
        if problem or query is None:
            await reply(update, problem or "")
            return self.state
        async with context.services.db.session() as session:
            found = await find_customers(session, query, limit=MAX_MATCHES + 1)
            shown = found[:MAX_MATCHES]
            labels = [await label_of(session, c, context.me) for c in shown]
        offered = [id_of(c) for c in shown] if len(found) > 1 else []
        self._offer(context, offered)
        if len(found) == 1:
            return await self.chosen(update, context, found[0])
        extra = self._extra(_)
        if not found:
            await reply(update, no_match_text(_, query) + "\n" + _(self.again),
                        keyboard(*extra) if extra else None)
            return self.state
        if len(found) > MAX_MATCHES:
            text = _("More than {count} customers match “{query}”; here are the first "
                     "{count}. Send more of the name, or the plate or phone number, to narrow "
                     "it down.").format(count=MAX_MATCHES, query=query)
        else:
            text = _("{count} customers match “{query}”. Which one?").format(
                count=len(found), query=query)
        rows = [[button(label, self.data.format(id=c.id))] for c, label in zip(
            shown, labels, strict=True)]
        await reply(update, text, keyboard(*rows, *extra))
        return self.waiting

    async def tap(self, update: Update, context: WorkshopContext) -> Any:
        """A listed customer: only from the latest list, and only while they exist."""
        query = update.callback_query
        assert query is not None and query.data is not None
        match = re.match(self.pattern, query.data)
        assert match is not None
        customer_id = int(match.group(1))
        if self.draft_key is not None:
            # A draft begun before this module has no list kept: its buttons count as before.
            offered = draft(context, self.draft_key).get(OFFERED)
            if offered is not None and customer_id not in offered:
                await stale_button(update, context)
                return self.waiting
        async with context.services.db.session() as session:
            try:
                customer = await get_customer(session, customer_id)
            except Refused as refused:  # deleted or merged since the list was sent
                await refuse(update, context, refused)
                return self.waiting
        await answer_tap(update)
        self._offer(context, [])
        return await self.chosen(update, context, customer)
