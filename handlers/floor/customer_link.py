"""W5 from the customer's phone (issue 16), the advisor's side: "📱 Ask the customer" on the
extra-item card and on the order card makes a link to the order's pending extra items
(:func:`models.customer_link.make_link`) and hands the advisor a message to forward to the
customer by WeChat or SMS (the bot sends the customer nothing itself).

Two messages: a line for the advisor in their language, then the one to forward, alone so a
long press forwards it whole, in the customer's language. The customer archive keeps no
language, so that is the shop's (``DEFAULT_LOCALE``, Chinese by default). Every tap makes a
fresh link to the items pending now (one the technician added since is on it); an earlier link
stays good until it expires or its items are decided, so a message already forwarded keeps
working. The customer's decision reaches the cards in :mod:`handlers.floor.customer_consent`.
"""

from __future__ import annotations

from math import ceil

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import WorkshopContext
from bot.i18n import Translator
from bot.refusals import refuse
from bot.settings import Settings
from handlers.chat.ui import answer_tap, callback_int, reply
from handlers.floor.cards import LINK_PREFIX, customer_links_on
from models.customer_link import CustomerLink, make_link, mask_plate
from models.rules import Refused
from models.work_order import WorkOrder, get_order


async def ask_customer(update: Update, context: WorkshopContext) -> None:
    """The advisor's tap: a link to the order's pending items, and the message to forward."""
    _ = context._
    services = context.services
    settings = services.settings
    if not customer_links_on(settings):  # a button from before PUBLIC_BASE_URL was unset
        await refuse(update, context, Refused("customer_links_off"))
        return
    async with services.db.session() as session:
        try:
            link, token, items = await make_link(
                session, order_id=callback_int(update), advisor=context.me, now=context.now(),
                hours=settings.customer_link_hours, actor=context.actor)
        except Refused as refused:
            await session.rollback()
            await refuse(update, context, refused)
            return
        order = await get_order(session, link.order_id)
        await session.commit()
    await answer_tap(update)
    await reply(update, _.ngettext(
        "🔗 {number}: a link for the customer to approve or decline {count} extra item, valid "
        "until {at}. Forward the next message to the customer (WeChat or SMS); their decision "
        "will show on the cards.",
        "🔗 {number}: a link for the customer to approve or decline {count} extra items, valid "
        "until {at}. Forward the next message to the customer (WeChat or SMS); their decision "
        "will show on the cards.", len(items)).format(
            number=order.number, count=len(items), at=_.time(link.expires_at)))
    await reply(update, message_to_customer(services.translator_for(None), settings, order,
                                            link, token))


def message_to_customer(t: Translator, settings: Settings, order: WorkOrder,
                        link: CustomerLink, token: str) -> str:
    """What the advisor forwards, in the customer's language ``t``: the shop, the car (its
    plate masked as on the page), the link and how long it holds."""
    hours = (link.expires_at - link.created_at).total_seconds() / 3600
    return t.ngettext(
        "{shop}: while servicing your car {plate} we found additional work that needs your "
        "approval. Please open the link to confirm: {url} (valid for {hours} hour)",
        "{shop}: while servicing your car {plate} we found additional work that needs your "
        "approval. Please open the link to confirm: {url} (valid for {hours} hours)",
        ceil(hours)).format(shop=settings.shop_name or t("Our workshop"),
                            plate=mask_plate(order.plate), url=settings.customer_link_url(token),
                            hours=f"{hours:g}")


def handlers() -> list[BaseHandler[Update, WorkshopContext, None]]:
    return [CallbackQueryHandler(ask_customer, pattern=rf"^{LINK_PREFIX}:\d+:ask$")]
