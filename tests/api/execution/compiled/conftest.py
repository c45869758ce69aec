"""Two apps on the same data, one with compiled queries and one without, and a timeline corpus to read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.api.app import create_app
from app.api.execution.compiled.cache import PlanCache
from app.domain.access import Scope
from app.domain.activity_types import FieldDataType
from app.services.runtime import Resources
from app.settings import Execution, Settings
from tests.access_helpers import ADMIN_KEY_ID, ADMIN_TOKEN, bearer, insert_key
from tests.api.timeline_support import T0, Row, create_person, create_type, insert, minutes


def with_execution(settings: Settings, **switches: bool) -> Settings:
    """`settings` with some fast-path switches (settings.execution) changed."""
    return settings.model_copy(update={"execution": Execution(**{**settings.execution.model_dump(), **switches})})


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    """All response headers but x-request-id (a new one per request)."""
    body: bytes

    def json(self) -> Any:
        import orjson

        return orjson.loads(self.body)


@dataclass
class Apps:
    compiled: httpx.AsyncClient
    normal: httpx.AsyncClient
    plans: PlanCache
    read_only_token: str
    write_only_token: str

    async def send(self, client: httpx.AsyncClient, request: dict[str, Any]) -> Answer:
        method = request.get("method", "POST")
        headers = {**request.get("headers", {})}
        if method == "GET":
            response = await client.get("/graphql", params=request["params"], headers=headers)
        else:
            response = await client.post("/graphql", content=request["body"], headers=headers)
        headers = sorted((k, v) for k, v in response.headers.items() if k != "x-request-id")
        return Answer(response.status_code, headers, response.content)


@dataclass
class Seeded:
    rich: int
    """130 activities of four types (two standard), timestamps shared in threes."""
    empty: int
    small: int


async def seed(resources: Resources) -> Seeded:
    fields = [("n", FieldDataType.INTEGER), ("s", FieldDataType.STRING)]
    custom = await create_type(resources, "compiledCheck", fields=fields)
    other = await create_type(resources, "otherCheck", FieldDataType.INTEGER)
    async with resources.db.raw() as conn:
        standard = [r[0] for r in await conn.fetch(
            "SELECT id FROM activity_type WHERE is_system AND api_name = ANY($1::text[]) ORDER BY api_name",
            ["visitWebpage", "clickLink"],
        )]
    assert len(standard) == 2
    types = [custom, other, *standard]
    rich = await create_person(resources, "rich@example.com", "ext-rich")
    empty = await create_person(resources, "empty@example.com")
    small = await create_person(resources, None, "ext-small")
    primaries: list[Any] = [None, "text", 12, 3.5, True, "ünïcödé ✓", {"nested": [1, 2.25, None]}, "", 0, -7]
    rows = []
    for i in range(130):
        type_id = types[i % 4]
        fields: dict[str, Any] = {"n": i, "s": f"s{i}"} if i % 5 else {}
        if i % 7 == 0:
            fields["deep"] = {"list": [i, "x", {"k": None}], "float": i / 8}
        rows.append(Row(rich, type_id, T0 + minutes(i // 3), primaries[i % len(primaries)], fields,
                        key=f"key-{i}" if i % 2 else None))
    rows += [Row(small, custom, T0 - minutes(i), f"small{i}", {"n": i}) for i in range(3)]
    await insert(resources, rows)
    return Seeded(rich, empty, small)


@pytest.fixture
async def apps(settings: Settings, resources: Resources) -> AsyncIterator[Apps]:
    await insert_key(resources, token=ADMIN_TOKEN, key_id=ADMIN_KEY_ID, name="test admin")
    read_only = await insert_key(resources, scopes=[Scope.READ], name="reader")
    write_only = await insert_key(resources, scopes=[Scope.ACTIVITIES_WRITE], name="writer")
    compiled_app = create_app(with_execution(settings, compiled_plans=True), resources=resources)
    normal_app = create_app(with_execution(settings, compiled_plans=False), resources=resources)
    assert normal_app.state.plans is None
    headers = bearer(ADMIN_TOKEN)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=compiled_app), base_url="http://t", headers=headers) as c,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=normal_app), base_url="http://t", headers=headers) as n,
    ):
        yield Apps(c, n, compiled_app.state.plans, read_only, write_only)


@pytest.fixture
async def seeded(resources: Resources) -> Seeded:
    return await seed(resources)
