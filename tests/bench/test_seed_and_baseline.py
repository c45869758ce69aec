"""Seeding through the registry, the demo loader, and the baseline endpoint against the real API's JSON."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.api.global_ids import raw_id
from app.bench import queries
from app.bench.baseline_app import create_baseline_app
from app.bench.datagen import EXAMPLE_TYPES, ActivityGenerator, generate_persons
from app.bench.demo import load_demo_async
from app.bench.reads import same_json
from app.bench.seed import activity_count, activity_records, copy_activities, ensure_types, load_persons
from app.services.runtime import Resources
from app.settings import to_asyncpg_dsn
from tests.conftest import GraphQL


@pytest.fixture
async def conn(resources: Resources) -> AsyncIterator[asyncpg.Connection]:
    assert resources.settings.database_url
    connection = await asyncpg.connect(to_asyncpg_dsn(resources.settings.database_url))
    yield connection
    await connection.close()


async def _seed(conn: asyncpg.Connection, resources: Resources, persons: int, rows: int) -> list[int]:
    types = await ensure_types(conn, resources, EXAMPLE_TYPES)
    people = generate_persons(persons, seed=5)
    ids = await load_persons(conn, people)
    generator = ActivityGenerator(people, [t.definition for t in types.values()], seed=5)
    await copy_activities(conn, activity_records(generator.activities(rows), ids, types))
    return ids


async def test_types_are_created_and_approved_once_through_the_registry(
    conn: asyncpg.Connection, resources: Resources
) -> None:
    types = await ensure_types(conn, resources, EXAMPLE_TYPES)
    assert {"depositCheck", "attendWebinar"} <= set(types)
    assert types["depositCheck"].version == 1 and types["depositCheck"].definition == EXAMPLE_TYPES[0]
    again = await ensure_types(conn, resources, EXAMPLE_TYPES)
    assert again == types
    audit = await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'activityType.approve'")
    assert audit == 2


async def test_persons_load_in_generator_order_without_duplicates(conn: asyncpg.Connection) -> None:
    people = generate_persons(30, seed=2)
    ids = await load_persons(conn, people)
    assert await load_persons(conn, people) == ids
    assert await conn.fetchval("SELECT count(*) FROM person") == 30
    email = await conn.fetchval("SELECT email FROM person WHERE id = $1", ids[7])
    assert email == people[7].email


async def test_demo_loads_once(resources: Resources, conn: asyncpg.Connection) -> None:
    first = await load_demo_async(resources.settings, persons=40, activities=600)
    assert first.types == ("depositCheck", "attendWebinar") and first.persons == 40 and first.activities == 600
    assert await activity_count(conn) == 600
    assert (await load_demo_async(resources.settings, persons=40, activities=600)).activities == 0
    assert await activity_count(conn) == 600


@pytest.fixture
async def baseline(resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    assert resources.settings.database_url
    app = create_baseline_app(resources.settings.database_url, pool_size=2)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://baseline") as http:
            yield http


async def _page(http: httpx.AsyncClient, person: int, first: int, after: str | None) -> dict:
    body = {"query": queries.TIMELINE, "variables": {"id": str(person), "first": first, "after": after}}
    response = await http.post("/graphql", json=body)
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text
    return response.json()["data"]


async def test_baseline_pages_a_timeline_newest_first(
    baseline: httpx.AsyncClient, conn: asyncpg.Connection, resources: Resources
) -> None:
    ids = await _seed(conn, resources, persons=10, rows=400)
    person = await conn.fetchval("SELECT person_id FROM activity GROUP BY person_id ORDER BY count(*) DESC LIMIT 1")
    total = await conn.fetchval("SELECT count(*) FROM activity WHERE person_id = $1", person)
    seen, after = [], None
    while True:
        timeline = (await _page(baseline, person, 7, after))["person"]["timeline"]
        seen += [e["node"] for e in timeline["edges"]]
        after = timeline["pageInfo"]["endCursor"]
        if not timeline["pageInfo"]["hasNextPage"]:
            break
    assert len(seen) == total and len({n["id"] for n in seen}) == total
    keys = [(n["occurredAt"], int(raw_id(n["id"], "Activity").partition(":")[2])) for n in seen]
    assert keys == sorted(keys, reverse=True)
    assert (await _page(baseline, max(ids) + 1000, 5, None)) == {"person": None}


async def test_baseline_returns_the_same_nodes_as_the_graphql_timeline(
    baseline: httpx.AsyncClient, gql: GraphQL, conn: asyncpg.Connection, resources: Resources
) -> None:
    await _seed(conn, resources, persons=10, rows=300)
    person = await conn.fetchval("SELECT person_id FROM activity GROUP BY person_id ORDER BY count(*) DESC LIMIT 1")
    variables = {"id": str(person), "first": 50, "after": None}
    api = await gql(queries.TIMELINE, variables)
    assert "errors" not in api, api
    base = await _page(baseline, person, 50, None)
    assert len(base["person"]["timeline"]["edges"]) == 50
    assert same_json(api["data"], base) == ""
