"""Work orders from the DMS: ``POST /api/work-orders`` over real HTTP (uvicorn on 127.0.0.1).

201 for a new order and 200 with the same order on a repeat (also when two arrive at once), 401
for a wrong key, 503 without the setting, 422 naming each bad field, the technician's card as
with /neworder, and an OpenAPI schema that the sample request and the answers satisfy."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlmodel import select
from starlette.applications import Starlette

from bot.intake import EXAMPLE, PATH, SCHEMA_PATH, IntakeEndpoint, routes
from bot.services import Services
from models.audit import AuditEvent
from models.staff import Role, Staff
from models.work_order import OrderItem, OrderStatus, WorkOrder
from tests.fakewecom import start_server, stop_server
from tests.shop import Person, Shop

KEY = "s3cret-intake-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}


@asynccontextmanager
async def serving(shop: Shop, key: str | None = KEY) -> AsyncIterator[httpx.AsyncClient]:
    """The intake routes on their own server, sharing the shop's database and messenger."""
    services = Services(settings=shop.settings.model_copy(update={"intake_api_key": key}),
                        db=shop.db, clock=shop.clock, messenger=shop.services.messenger)
    endpoint = IntakeEndpoint(services)
    server, task, port = await start_server(Starlette(routes=routes(services, endpoint)))

    async def notified(response: httpx.Response) -> None:
        await endpoint.idle()  # the notices go out right after the answer

    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30,
                                     event_hooks={"response": [notified]}) as client:
            yield client
    finally:
        await stop_server(server, task)


async def with_code(shop: Shop, person: Person, code: str) -> Person:
    async with shop.db.session() as session:
        staff = await session.get(Staff, person.staff_id)
        assert staff is not None
        staff.code = code
        await session.commit()
    return person


async def staffed(shop: Shop) -> tuple[Person, Person]:
    """The advisor and technician the sample request names (A01, T07)."""
    advisor = await with_code(shop, await shop.hire("Liu Advisor", Role.advisor), "A01")
    tech = await with_code(shop, await shop.hire("Zhang Tech", Role.technician), "T07")
    return advisor, tech


async def orders(shop: Shop) -> list[WorkOrder]:
    async with shop.db.session() as session:
        return list((await session.exec(select(WorkOrder))).all())


@pytest.mark.both_channels
async def test_new_order_then_a_repeat(shop: Shop) -> None:
    advisor, tech = await staffed(shop)
    async with serving(shop) as client:
        response = await client.post(PATH, json=EXAMPLE, headers=AUTH)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["created"] is True
        order = body["order"]
        assert (order["number"], order["plate"], order["status"], order["items"]) == (
            "RO2611300042", "京A12345", "open",
            ["Replace front brake pads", "Check brake discs"])
        assert (order["advisor_code"], order["technician_code"]) == ("A01", "T07")
        # The technician has the card, as with /neworder; the advisor is told.
        card = tech.last
        assert "Work order RO2611300042" in card.text and "Toyota Camry 2.5" in card.text
        assert [label for label, _ in card.buttons] == ["🔎 Confirm plate"]
        assert "📥 Work order RO2611300042 came in from the DMS and was sent to Zhang Tech." \
            in advisor.last.text
        # A repeat — even with other content — creates nothing and answers with the order.
        repeat = await client.post(PATH, json={**EXAMPLE, "complaint": "Changed",
                                               "order_number": " ro2611300042 "},
                                   headers=AUTH)
        assert repeat.status_code == 200, repeat.text
        assert repeat.json() == {"created": False, "order": order}
    assert len(await orders(shop)) == 1
    assert sum("Work order RO2611300042" in text for text in tech.inbox) == 1
    async with shop.db.session() as session:
        events = (await session.exec(select(AuditEvent).where(
            AuditEvent.action == "order.intake"))).all()
        items = (await session.exec(select(OrderItem))).all()
    assert [(e.channel, e.entity_id) for e in events] == [("dms", order["id"])]
    assert len(items) == 2
    # The card works: the technician checks the plate and starts.
    await tech.tap("Confirm plate")
    await tech.send("京A12345")
    assert (await orders(shop))[0].status == OrderStatus.in_progress


async def test_wrong_or_missing_key_is_401(shop: Shop) -> None:
    await staffed(shop)
    async with serving(shop) as client:
        for headers in ({}, {"Authorization": "Bearer nope"}, {"X-API-Key": KEY[:-1]},
                        {"Authorization": KEY}):
            response = await client.post(PATH, json=EXAMPLE, headers=headers)
            assert response.status_code == 401, headers
            assert response.json()["error"].startswith("unauthorized")
            assert response.headers["www-authenticate"] == "Bearer"
        assert await orders(shop) == []
        response = await client.post(PATH, json=EXAMPLE, headers={"X-API-Key": KEY})
        assert response.status_code == 201


@pytest.mark.parametrize("key", [None, ""])
async def test_without_a_key_setting_it_is_disabled(shop: Shop, key: str | None) -> None:
    await staffed(shop)
    async with serving(shop, key=key) as client:
        response = await client.post(PATH, json=EXAMPLE, headers=AUTH)
    assert response.status_code == 503
    assert "intake disabled" in response.json()["error"]
    assert await orders(shop) == []


async def test_field_errors_are_named_and_nothing_is_created(shop: Shop) -> None:
    advisor, tech = await staffed(shop)
    async with serving(shop) as client:

        async def errors(body: Any) -> dict[str, str]:
            response = await client.post(PATH, json=body, headers=AUTH)
            assert response.status_code == 422, response.text
            return {e["field"]: e["message"] for e in response.json()["errors"]}

        bad = {**EXAMPLE, "phone": "12345678901", "plate": "!!", "items": [],
               "customer_name": "x" * 65}
        del bad["complaint"]
        found = await errors(bad)
        assert set(found) == {"phone", "plate", "items", "customer_name", "complaint"}
        assert found["phone"].startswith("not a phone number")
        assert found["plate"] == "not a licence plate"
        assert found["complaint"] == "Field required"
        found = await errors({**EXAMPLE, "items": ["ok", " ", "x" * 201]})
        assert set(found) == {"items.1", "items.2"}
        assert set(await errors({**EXAMPLE, "items": ["x"] * 31})) == {"items"}
        assert set(await errors({**EXAMPLE, "order_number": "has space"})) == {"order_number"}
        assert await errors([EXAMPLE]) == {"body": "Input should be a valid dictionary or "
                                                   "instance of WorkOrderIn"}
        found = await errors({**EXAMPLE, "advisor_code": "T07", "technician_code": "Z99"})
        assert found == {"advisor_code": "Zhang Tech (T07) does not have the role advisor",
                         "technician_code": "no staff member has the code 'Z99'"}
        assert (await client.post(PATH, content=b"{not json", headers=AUTH)).status_code == 400
        big = {**EXAMPLE, "complaint": "x" * 70_000}
        assert (await client.post(PATH, json=big, headers=AUTH)).status_code == 413
    assert await orders(shop) == []
    assert tech.api.sent_to(tech.user_id) == [] and advisor.api.sent_to(advisor.user_id) == []


async def test_two_at_once_open_one_order(shop: Shop) -> None:
    await staffed(shop)
    async with serving(shop) as client:
        first, second = await asyncio.gather(client.post(PATH, json=EXAMPLE, headers=AUTH),
                                             client.post(PATH, json=EXAMPLE, headers=AUTH))
    assert sorted([first.status_code, second.status_code]) == [200, 201]
    assert first.json()["order"]["id"] == second.json()["order"]["id"]
    assert len(await orders(shop)) == 1


# --- the OpenAPI schema ------------------------------------------------------------------------


def validate(value: Any, schema: dict[str, Any], root: dict[str, Any], path: str = "$"
             ) -> list[str]:
    """The JSON Schema keywords the intake's schema uses; returns what does not fit."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        return validate(value, root["components"]["schemas"][name], root, path)
    if "anyOf" in schema:
        if any(not validate(value, option, root, path) for option in schema["anyOf"]):
            return []
        return [f"{path}: matches no option"]
    problems: list[str] = []
    kinds = {"object": dict, "array": list, "string": str, "integer": int, "boolean": bool,
             "null": type(None)}
    kind = schema.get("type")
    if kind is not None:
        if not isinstance(value, kinds[kind]) or (kind == "integer" and isinstance(value, bool)):
            return [f"{path}: not {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: not one of {schema['enum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            problems.append(f"{path}: too short")
        if len(value) > schema.get("maxLength", 1 << 30):
            problems.append(f"{path}: too long")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            problems.append(f"{path}: does not match {schema['pattern']}")
    if isinstance(value, list):
        if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", 1 << 30):
            problems.append(f"{path}: wrong number of items")
        for index, item in enumerate(value):
            problems += validate(item, schema.get("items", {}), root, f"{path}[{index}]")
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"{path}.{name}: missing")
        for name, item in value.items():
            if name in schema.get("properties", {}):
                problems += validate(item, schema["properties"][name], root, f"{path}.{name}")
    return problems


async def test_the_schema_describes_the_endpoint(shop: Shop) -> None:
    await staffed(shop)
    async with serving(shop) as client:
        schema = (await client.get(SCHEMA_PATH)).json()
        operation = schema["paths"][PATH]["post"]
        request = operation["requestBody"]["content"]["application/json"]
        assert request["example"] == EXAMPLE
        assert validate(EXAMPLE, request["schema"], schema) == []
        assert validate({**EXAMPLE, "items": []}, request["schema"], schema) == [
            "$.items: wrong number of items"]
        missing = {k: v for k, v in EXAMPLE.items() if k != "technician_code"}
        assert validate(missing, request["schema"], schema) == ["$.technician_code: missing"]
        # What the endpoint answers fits what the schema says it answers.
        created = await client.post(PATH, json=EXAMPLE, headers=AUTH)
        repeat = await client.post(PATH, json=EXAMPLE, headers=AUTH)
        invalid = await client.post(PATH, json={**EXAMPLE, "phone": "1"}, headers=AUTH)
        refused = await client.post(PATH, json=EXAMPLE)
        for response in (created, repeat, invalid, refused):
            answer = operation["responses"][str(response.status_code)]
            body_schema = answer["content"]["application/json"]["schema"]
            assert validate(response.json(), body_schema, schema) == [], response.text
        assert set(operation["responses"]) == {"200", "201", "400", "401", "413", "422", "503"}
