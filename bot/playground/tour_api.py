"""The page's guided tour: ``GET /playground/api/tour?lang=zh_CN|en``, the steps of a first
walk through the shop, each naming the demo person to use (the first of that role, by user id,
as the shop has them now) and saying what to do, in the page's language."""

from __future__ import annotations

from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.i18n import translations
from bot.playground.chat_service import ChatService
from bot.playground.demo_shop import DemoPerson, people
from bot.playground.page_api import API
from bot.playground.page_strings import TOUR_STEPS
from bot.services import Services
from bot.settings import LOCALES
from models.staff import Role
from models.work_order import OrderStatus, WorkOrder


class TourApi:
    def __init__(self, services: Services, service: ChatService) -> None:
        self.services = services
        self.service = service

    def routes(self) -> list[BaseRoute]:
        return [Route(f"{API}/tour", self.steps, methods=["GET"])]

    async def steps(self, request: Request) -> Response:
        language = request.query_params.get("lang")
        catalog = translations(language if language in LOCALES else LOCALES[0])
        services = self.services
        crew = [person for person in await people(services.db, services.settings,
                                                  services.clock.now())
                if person.user_id in self.service.chats]
        plate = await self._plate(crew)
        steps = []
        for role, message in TOUR_STEPS:
            person = next((each for each in crew if Role(role) in each.roles), None)
            if person is None:
                continue
            steps.append({"person": person.user_id, "text": catalog.gettext(message).format(
                name=person.name, plate=plate)})
        return JSONResponse({"steps": steps})

    async def _plate(self, crew: list[DemoPerson]) -> str:
        """The plate of the first technician's order waiting for its plate check ("…" when
        there is none any more)."""
        technician = next((each for each in crew if Role.technician in each.roles), None)
        if technician is None:
            return "…"
        async with self.services.db.session() as session:
            found = (await session.exec(
                select(WorkOrder.plate).where(WorkOrder.technician_id == technician.staff_id,
                                              WorkOrder.status == OrderStatus.open)
                .order_by(col(WorkOrder.id)).limit(1))).first()
        return found or "…"
