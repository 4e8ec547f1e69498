"""The WeCom app's menu (``menu/create``): each item sends a command, as if it were typed.

WeCom allows three top-level buttons of at most five items each; a click arrives as a
``click`` event whose key is the command's name (``orders`` → ``/orders``).
"""

from __future__ import annotations

from typing import Any

from bot.i18n import N_, Translator
from bot.wecom.request import WeComRequest

MENU: list[tuple[str, list[tuple[str, str]]]] = [
    (N_("Workshop"), [("orders", N_("My orders")), ("neworder", N_("New order")),
                      ("deliver", N_("Delivery")), ("onduty", N_("On duty")),
                      ("offduty", N_("Off duty"))]),
    (N_("Follow-up"), [("today", N_("Today's calls")), ("customer", N_("Customer")),
                       ("logcall", N_("Log a call")), ("consult", N_("Consultation")),
                       ("complaints", N_("Complaints"))]),
    (N_("More"), [("report", N_("Reports")), ("export", N_("Export forms")),
                  ("lang", N_("Language")), ("help", N_("Help")), ("cancel", N_("Cancel"))]),
]


def menu_body(_: Translator) -> dict[str, Any]:
    return {"button": [
        {"name": _(group), "sub_button": [
            {"type": "click", "name": _(label), "key": command} for command, label in items]}
        for group, items in MENU
    ]}


async def create_menu(request: WeComRequest, _: Translator) -> dict[str, Any]:
    return await request.call("menu/create", params={"agentid": request.agent_id},
                              body=menu_body(_))
