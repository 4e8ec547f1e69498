"""A rule's refusal (:class:`models.rules.Refused`) in the person's words, and the answer that
carries it.

The words live with the area whose rules refuse: ``handlers/<area>/refusals.py`` is a plain
dict of code → text, and ``handlers/chat/refusals.py`` holds the few codes every area raises (an
order's status, a missing order, empty text …). Nothing is registered at import time:
:data:`TABLES` names every table, and :func:`refusal` consults them in that order. A code has its
text in exactly one table; ``tests/test_refusals.py`` checks every ``Refused("…")`` raised in
``models/`` and ``handlers/``.

Why here, in ``bot/``: every area imports ``handlers/chat``, so chat may import no area, yet one
lookup has to know every area's table. Assembling the areas is what ``bot/`` does (as
``build_application`` does with their routes), so the handlers import :func:`refuse` and
:func:`refusal` from here. An area's ``refusals.py`` imports only models, ``bot.i18n``,
``handlers/chat`` and the area's own cards — never a conversation module, which imports this one.
"""

from __future__ import annotations

import logging

from telegram import Update

from bot.context import WorkshopContext
from bot.i18n import Translator
from handlers.after_sales import refusals as after_sales
from handlers.chat import refusals as chat
from handlers.chat.refusals import RefusalTexts
from handlers.chat.ui import reply
from handlers.duty import refusals as duty
from handlers.floor import refusals as floor
from handlers.parts import refusals as parts
from handlers.qc import refusals as qc
from handlers.staff import refusals as staff
from handlers.training import refusals as training
from models.rules import Refused

log = logging.getLogger(__name__)

TABLES: dict[str, RefusalTexts] = {
    "chat": chat.REFUSALS,
    "floor": floor.REFUSALS,
    "parts": parts.REFUSALS,
    "qc": qc.REFUSALS,
    "duty": duty.REFUSALS,
    "training": training.REFUSALS,
    "after_sales": after_sales.REFUSALS,
    "staff": staff.REFUSALS,
}


def refusal(_: Translator, refused: Refused) -> str:
    for table in TABLES.values():
        render = table.get(refused.code)
        if render is not None:
            return render(_, refused.params)
    return _("This cannot be done; nothing was changed.")


async def refuse(update: Update, context: WorkshopContext, refused: Refused) -> None:
    """Tell the person why not: as a tap alert for buttons, as a message otherwise."""
    log.info("refused %s on %s for staff %s: %s", refused.code, context.channel,
             context.staff.id if context.staff else None,
             update.callback_query.data if update.callback_query else "message")
    text = refusal(context._, refused)
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await reply(update, text)
