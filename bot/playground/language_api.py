"""``POST /playground/api/chats/{id}/language`` ``{"lang": "zh_CN" | "en"}``: the language the bot
speaks to that person, stored on the staff member as the bot's own ``/lang`` stores it, their
command menu redone in it and the page's list showing their roles in it — so a trainer shows
the same shop in both languages without typing ``/lang`` in every chat."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.playground.bodies import BadBody, read_body
from bot.playground.channel_api import account_of, staff_of_person
from bot.playground.chat_service import ChatService
from bot.playground.page_api import API, MAX_JSON
from bot.playground.page_strings import STRINGS
from bot.services import Services
from bot.settings import LOCALES
from handlers.chat.labels import role_names
from handlers.staff.menus import set_menu
from models.staff import Role


class LanguageApi:
    def __init__(self, services: Services, service: ChatService) -> None:
        self.services = services
        self.service = service

    def routes(self) -> list[BaseRoute]:
        return [Route(f"{API}/chats/{{user_id:int}}/language", self.choose, methods=["POST"])]

    async def choose(self, request: Request) -> Response:
        user_id = request.path_params["user_id"]
        try:
            lang = (await read_body(request, MAX_JSON)).fields.get("lang")
        except BadBody as exc:
            return _error("bad_request", str(exc), 400)
        if lang not in LOCALES:
            return _error("bad_request", f"lang must be one of {', '.join(LOCALES)}", 400)
        async with self.services.db.session() as session:
            found = await staff_of_person(session, user_id)
            if found is None or user_id not in self.service.chats:
                return _error("unknown_person", STRINGS["unknown_person"], 404)
            staff, channel = found
            staff.locale = lang
            await session.commit()
        translator = self.services.translator_for(staff)
        roles = role_names(translator, tuple(role for role in Role if role in staff.role_set))
        self.service.add_person(user_id, staff.name, roles, lang, channel)
        application = self.services.applications[channel]
        await set_menu(application.bot, account_of(user_id, channel)[1], staff, translator)
        return JSONResponse({"id": user_id, "language": lang, "roles": roles})


def _error(key: str, message: str, status: int) -> Response:
    return JSONResponse({"error": key, "message": message}, status_code=status)
