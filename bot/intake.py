"""``POST /api/work-orders``: work orders from the dealership's DMS; ``GET /api/openapi.json``.

Mounted by ``bot.http``. The caller authenticates with ``INTAKE_API_KEY`` (``Authorization:
Bearer KEY`` or ``X-API-Key: KEY``, compared in constant time); without that setting the
endpoint answers 503. The body is validated field by field (422 names each field), and the
order number makes the call idempotent: a repeat creates nothing and answers 200 with the order
on file, a new order answers 201. The technician gets the order card as with /neworder, and
the advisor a note that the order came in: after the answer, in the background (a DMS client
never waits on the chat platforms' pace; a message over WeCom's limits goes by the outbox).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from datetime import datetime
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.i18n import Translator
from bot.importer import (
    StaffCodes,
    WorkOrderIn,
    create_order,
    existing_order,
    field_errors,
    staff_problems,
)
from bot.messenger import Rendered
from bot.services import Services
from handlers.floor.cards import advisor_card, technician_card
from models.audit import Actor
from models.card import CardKind
from models.db import id_of
from models.rules import Refused
from models.staff import Staff
from models.work_order import OrderStatus, WorkOrder, items_of

log = logging.getLogger(__name__)

CHANNEL = "dms"  # the audit events' channel
MAX_BODY = 64 * 1024
PATH = "/api/work-orders"
SCHEMA_PATH = "/api/openapi.json"
# Which field a refusal of the floor's rules is about (the validation catches them first).
REFUSAL_FIELDS = {"plate_invalid": "plate", "no_items": "items", "too_many_items": "items",
                  "not_advisor": "advisor_code", "not_technician": "technician_code"}


class WorkOrderOut(BaseModel):
    """The order as the bot holds it."""

    id: int
    number: str
    status: OrderStatus
    plate: str
    customer_name: str
    phone: str
    vehicle_model: str
    complaint: str
    items: list[str]
    advisor_code: str | None
    technician_code: str | None
    created_at: datetime


class WorkOrderResult(BaseModel):
    """201: the order was created; 200: an order with this number was already on file
    (nothing was changed)."""

    created: bool
    order: WorkOrderOut


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """Why the request was not carried out; ``errors`` names each bad field (422)."""

    error: str
    errors: list[FieldError] = []


EXAMPLE: dict[str, Any] = {
    "order_number": "RO2611300042",
    "plate": "京A12345",
    "customer_name": "王先生",
    "phone": "13812345678",
    "vehicle_model": "Toyota Camry 2.5",
    "complaint": "Noise when braking",
    "items": ["Replace front brake pads", "Check brake discs"],
    "advisor_code": "A01",
    "technician_code": "T07",
}


def routes(services: Services, endpoint: IntakeEndpoint | None = None) -> list[Route]:
    endpoint = endpoint or IntakeEndpoint(services)
    return [Route(PATH, endpoint.create, methods=["POST"]),
            Route(SCHEMA_PATH, openapi_json, methods=["GET"])]


def problem(status: int, error: str, errors: list[tuple[str, str]] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    body = Problem(error=error, errors=[FieldError(field=f, message=m) for f, m in errors or []])
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _given_key(request: Request) -> str | None:
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key")


async def _body(request: Request) -> bytes | None:
    """The body, or ``None`` when it is over ``MAX_BODY``."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return bytes(body)


class IntakeEndpoint:
    """The DMS gets its answer as soon as the order is stored; the notices follow in the
    background, one order at a time (``notify_later``), so a burst of orders neither waits
    on WeCom's or Telegram's pace nor takes every database connection."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._notices = asyncio.Lock()
        self.tasks: set[asyncio.Task[None]] = set()

    async def create(self, request: Request) -> Response:
        """Check the key, the body and the staff codes; open the order once per number."""
        key = self.services.settings.intake_api_key
        if not key:
            return problem(503, "intake disabled: INTAKE_API_KEY is not set")
        given = _given_key(request)
        if given is None or not hmac.compare_digest(given.encode(), key.encode()):
            log.warning("intake call from %s with a wrong or missing API key", _peer(request))
            return problem(401, "unauthorized: wrong or missing API key",
                           headers={"WWW-Authenticate": "Bearer"})
        try:
            body = await _body(request)
        except ClientDisconnect:
            return problem(400, "the request body was cut off")
        if body is None:
            return problem(413, f"the body is over {MAX_BODY} bytes")
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return problem(400, "the body is not JSON")
        try:
            order = WorkOrderIn.model_validate(data)
        except ValidationError as exc:
            return problem(422, "invalid work order", field_errors(exc))
        return await self._open(order)

    async def _open(self, order: WorkOrderIn) -> Response:
        services = self.services
        now = services.clock.now()
        async with services.db.session() as session:
            found = await existing_order(session, order.order_number)
            if found is not None:
                return await self._result(session, found, created=False)
            codes = await StaffCodes.load(session)
            if problems := staff_problems(order, codes):
                return problem(422, "invalid work order", problems)
            try:
                created = await create_order(session, order, codes, now=now,
                                             actor=Actor(None, CHANNEL))
                await session.commit()
            except Refused as refused:
                await session.rollback()
                return problem(422, "invalid work order",
                               [(REFUSAL_FIELDS.get(refused.code, "body"), refused.code)])
            except IntegrityError:  # the same number, posted twice at once: the other won
                await session.rollback()
                found = await existing_order(session, order.order_number)
                if found is None:
                    raise
                return await self._result(session, found, created=False)
            log.info("order %s came in from the DMS", created.number)
            answer = await self._result(session, created, created=True)
        self.notify_later(id_of(created))
        return answer

    def notify_later(self, order_id: int) -> None:
        task = asyncio.create_task(self._notify(order_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def idle(self) -> None:
        """Wait until the notices of every order taken in so far went out (or were kept)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def _notify(self, order_id: int) -> None:
        async with self._notices:
            try:
                async with self.services.db.session() as session:
                    order = await session.get(WorkOrder, order_id)
                    # Where the cards went is written at the end: no write lock is held
                    # while a message is on its way (the sending path reads the database
                    # on other connections).
                    with session.no_autoflush:
                        if order is not None:
                            await notify(self.services, session, order)
                    await session.commit()
            except Exception:  # the order stands; the technician finds it in /orders
                log.exception("order %s came in but its notices failed", order_id)

    async def _result(self, session: AsyncSession, order: WorkOrder, *,
                      created: bool) -> Response:
        items = await items_of(session, id_of(order))
        advisor = await session.get(Staff, order.advisor_id)
        technician = await session.get(Staff, order.technician_id)
        out = WorkOrderOut(
            id=id_of(order),
            number=order.number, status=OrderStatus(order.status), plate=order.plate,
            customer_name=order.customer_name, phone=order.customer_phone,
            vehicle_model=order.vehicle_model, complaint=order.complaint,
            items=[item.description for item in items],
            advisor_code=advisor.code if advisor else None,
            technician_code=technician.code if technician else None,
            created_at=order.created_at,
        )
        result = WorkOrderResult(created=created, order=out)
        return JSONResponse(result.model_dump(mode="json"), status_code=201 if created else 200)


async def notify(services: Services, session: AsyncSession, order: WorkOrder) -> None:
    """As /neworder does: the technician gets the card; the advisor learns it came in."""
    items = await items_of(session, id_of(order))
    messenger = services.messenger
    now = services.clock.now()
    technician = await session.get(Staff, order.technician_id)
    advisor = await session.get(Staff, order.advisor_id)
    if technician is not None:
        await messenger.send(session, technician, lambda t: technician_card(t, order, items),
                             card=(CardKind.order_technician, id_of(order)), now=now)
    if advisor is not None:
        def render(t: Translator) -> Rendered:
            text, markup = advisor_card(t, order, items, technician)
            head = t("📥 Work order {number} came in from the DMS and was sent to {name}.").format(
                number=order.number, name=technician.name if technician else "—")
            return head + "\n\n" + text, markup

        await messenger.send(session, advisor, render,
                             card=(CardKind.order_advisor, id_of(order)), now=now)


def _peer(request: Request) -> str:
    return request.client.host if request.client else "?"


@cache
def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 description of the intake, its schemas made from the same models
    that validate and answer, so it cannot drift from the code."""
    refs, defs = models_json_schema(
        [(WorkOrderIn, "validation"), (WorkOrderResult, "serialization"),
         (Problem, "serialization")],
        ref_template="#/components/schemas/{model}",
    )

    def ref(model: type[BaseModel], mode: JsonSchemaMode = "serialization") -> dict[str, Any]:
        return refs[(model, mode)]

    def answer(description: str, model: type[BaseModel]) -> dict[str, Any]:
        return {"description": description,
                "content": {"application/json": {"schema": ref(model)}}}

    return {
        "openapi": "3.1.0",
        "info": {"title": "workshop-bot work-order intake", "version": "1.0.0",
                 "description": "Work orders from the dealership's DMS."},
        "paths": {PATH: {"post": {
            "operationId": "createWorkOrder",
            "summary": "Open a work order and notify its technician",
            "description": "Idempotent on order_number: a repeat creates nothing and "
                           "answers 200 with the order on file.",
            "security": [{"bearer": []}, {"apiKey": []}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": ref(WorkOrderIn, "validation"), "example": EXAMPLE}}},
            "responses": {
                "201": answer("The order was opened; its technician is notified right "
                              "after this answer.", WorkOrderResult),
                "200": answer("An order with this number is already on file; nothing was "
                              "changed.", WorkOrderResult),
                "400": answer("The body is not JSON.", Problem),
                "401": answer("Wrong or missing API key.", Problem),
                "413": answer(f"The body is over {MAX_BODY} bytes.", Problem),
                "422": answer("A field is missing or invalid; errors names each one.",
                              Problem),
                "503": answer("The intake is disabled (INTAKE_API_KEY is not set).", Problem),
            },
        }}},
        "components": {
            "schemas": defs["$defs"],
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }


async def openapi_json(request: Request) -> Response:
    return JSONResponse(openapi())
