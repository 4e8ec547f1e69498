"""The page's clock bar: ``GET /playground/api/clock`` tells the shop's time,
``POST /playground/api/clock`` ``{"advance": "1h" | "1d" | "next09"}`` moves it forward and runs
what the scheduler would have sent meanwhile (``bot.playground.time_travel``). Every open page
hears the new time on the event stream (``{"type": "clock", "now"}``)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.clock import ShiftedClock
from bot.playground.bodies import BadBody, read_body
from bot.playground.chat_service import ChatService
from bot.playground.page_api import API, MAX_JSON
from bot.playground.page_strings import STRINGS
from bot.playground.time_travel import TimeTravel, advance, advance_to_next
from bot.services import Services

STEPS = {"1h": timedelta(hours=1), "1d": timedelta(days=1)}
MORNING = {"next09": time(9, 0)}


class ClockApi:
    def __init__(self, services: Services, service: ChatService) -> None:
        if not isinstance(services.clock, ShiftedClock):
            raise TypeError("the playground's clock is a bot.clock.ShiftedClock")
        self.services = services
        self.service = service
        self.clock = services.clock

    def routes(self) -> list[BaseRoute]:
        return [Route(f"{API}/clock", self.now, methods=["GET"]),
                Route(f"{API}/clock", self.move, methods=["POST"])]

    def local(self, at: datetime) -> str:
        return at.astimezone(self.services.settings.tz).isoformat(timespec="seconds")

    async def now(self, request: Request) -> Response:
        return JSONResponse({"now": self.local(self.clock.now()),
                             "offset_seconds": int(self.clock.offset.total_seconds())})

    async def move(self, request: Request) -> Response:
        try:
            wanted = (await read_body(request, MAX_JSON)).fields.get("advance")
        except BadBody as exc:
            return _bad(str(exc))
        travel: TimeTravel
        if wanted in STEPS:
            travel = await advance(self.services, STEPS[wanted])
        elif wanted in MORNING:
            travel = await advance_to_next(self.services, MORNING[wanted])
        else:
            return _bad(f"advance must be one of {', '.join([*STEPS, *MORNING])}")
        now = self.local(travel.end)
        self.service.events.publish({"type": "clock", "now": now})
        answer: dict[str, Any] = {"now": now, "sent": travel.sent,
                                  "offset_seconds": int(self.clock.offset.total_seconds())}
        return JSONResponse(answer)


def _bad(message: str) -> Response:
    return JSONResponse({"error": "bad_request", "message": message or STRINGS["bad_request"]},
                        status_code=400)
