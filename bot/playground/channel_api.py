"""The channel switch per person: ``POST /playground/api/chats/{id}/channel`` ``{"channel":
"telegram" | "wecom"}`` binds the staff member's account on that channel (on WeCom the member
``demo-<id>``) and unbinds the other, as an admin would, so the bot's notifications go to the
chosen app only. The page keeps one chat per person; what they do while on WeCom goes to the bot
as WeCom callbacks (``WeComOutlet``), and the bot's answers come back through the local WeCom
API (``bot.playground.wecom_api``)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.playground.bodies import BadBody, read_body
from bot.playground.chat_service import Chat, ChatService
from bot.playground.page_api import API, MAX_JSON, PageError
from bot.playground.page_strings import STRINGS
from bot.playground.wecom_api import WeComApi, userid_of
from bot.playground.wecom_callbacks import Callbacks, NotDelivered
from bot.services import Services
from handlers.chat.labels import role_names
from handlers.staff.menus import set_menu
from models.db import id_of
from models.staff import Role, Staff, accounts_of, bind_account, staff_for_account
from models.wecom import wecom_chat_id

CHANNELS = ("telegram", "wecom")


def account_of(user_id: int, channel: str) -> tuple[str, int]:
    """(user key, chat id) of the person with this id on the page, on ``channel``."""
    if channel == "wecom":
        userid = userid_of(user_id)
        return userid, wecom_chat_id(userid)
    return str(user_id), user_id


async def staff_of_person(session: AsyncSession, user_id: int) -> tuple[Staff, str] | None:
    """The staff member behind the page's person ``user_id``, and the channel they are on."""
    for channel in CHANNELS:
        staff = await staff_for_account(session, channel, account_of(user_id, channel)[0])
        if staff is not None:
            return staff, channel
    return None


class WeComOutlet:
    """What a person on WeCom does on the page, sent to the bot as WeCom callbacks."""

    def __init__(self, wecom: WeComApi, callbacks: Callbacks) -> None:
        self.wecom = wecom
        self.callbacks = callbacks

    async def say(self, chat: Chat, message: dict[str, Any]) -> None:
        userid = userid_of(chat.person.user_id)
        photo, voice = message.get("photo"), message.get("voice")
        try:
            if photo:
                await self.callbacks.image(userid, photo[-1]["file_id"])
            elif voice:
                await self.callbacks.voice(userid, voice["file_id"])
            else:
                await self.callbacks.text(userid, str(message.get("text") or ""))
        except (NotDelivered, httpx.HTTPError):
            raise PageError("not_delivered", 502) from None

    async def tap(self, chat: Chat, message: dict[str, Any], data: str) -> None:
        task_id = str(message["wecom"]["card"]["task_id"])
        try:
            await self.callbacks.click(userid_of(chat.person.user_id), task_id, data,
                                       self.wecom.click_code(task_id))
        except (NotDelivered, httpx.HTTPError):
            raise PageError("not_delivered", 502) from None

    def menu(self, chat: Chat) -> list[dict[str, Any]]:
        """The WeCom app's menu (``menu/create``), its items as the commands they send."""
        groups = (self.wecom.menu or {}).get("button") or []
        return [{"command": str(item.get("key")), "description": str(item.get("name"))}
                for group in groups for item in group.get("sub_button") or []
                if item.get("type") == "click"]


class ChannelApi:
    def __init__(self, services: Services, service: ChatService) -> None:
        self.services = services
        self.service = service

    def routes(self) -> list[BaseRoute]:
        return [Route(f"{API}/chats/{{user_id:int}}/channel", self.choose, methods=["POST"])]

    async def choose(self, request: Request) -> Response:
        user_id = request.path_params["user_id"]
        try:
            channel = (await read_body(request, MAX_JSON)).fields.get("channel")
        except BadBody as exc:
            return _error("bad_request", str(exc), 400)
        if channel not in CHANNELS or channel not in self.services.applications:
            return _error("bad_request", f"channel must be one of {', '.join(CHANNELS)}", 400)
        now = self.services.clock.now()
        user_key, chat_id = account_of(user_id, channel)
        async with self.services.db.session() as session:
            found = await staff_of_person(session, user_id)
            if found is None or user_id not in self.service.chats:
                return _error("unknown_person", STRINGS["unknown_person"], 404)
            staff = found[0]
            for account in await accounts_of(session, id_of(staff)):
                if account.channel != channel:
                    await session.delete(account)
            await bind_account(session, staff, channel=channel, user_key=user_key,
                               chat_id=chat_id, now=now)
            staff.last_channel = channel
            await session.commit()
        translator = self.services.translator_for(staff)
        roles = role_names(translator, tuple(role for role in Role if role in staff.role_set))
        language = staff.locale or self.services.settings.default_locale
        self.service.add_person(user_id, staff.name, roles, language, channel)
        await set_menu(self.services.applications[channel].bot, chat_id, staff, translator)
        return JSONResponse({"id": user_id, "channel": channel, "userid": user_key})


def _error(key: str, message: str, status: int) -> Response:
    return JSONResponse({"error": key, "message": message}, status_code=status)
