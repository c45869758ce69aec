"""The README's five-minute tour, run exactly as written, on a fresh database and on one with the demo data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import graphql
import httpx
import pytest

from app.bench.demo import load_demo_async
from app.settings import Settings
from tests.docs.markdown import code_blocks, section
from tests.stores import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text()
TOUR = ["DefineType", "ApproveType", "RecordOne", "Timeline"]
RunWorker = Callable[[], Awaitable[int]]


def operations(heading: str) -> list[tuple[str, str]]:
    """(document, operation name) for every operation of the section's graphql blocks, in reading order."""
    found = []
    for block in code_blocks(section(README, heading), "graphql"):
        for definition in graphql.parse(block).definitions:
            assert isinstance(definition, graphql.OperationDefinitionNode) and definition.name, block
            found.append((block, definition.name.value))
    return found


def payload_errors(data: dict[str, Any]) -> dict[str, Any]:
    """Each mutation payload's `errors`, by root field."""
    return {field: value["errors"] for field, value in data.items() if isinstance(value, dict) and "errors" in value}


async def post(client: httpx.AsyncClient, document: str, name: str) -> dict[str, Any]:
    """What GraphiQL sends when you run operation `name` of the document."""
    response = await client.post("/graphql", json={"query": document, "operationName": name})
    body: dict[str, Any] = response.json()
    assert response.status_code == 200 and "errors" not in body, (name, body)
    return body


async def run_tour(client: httpx.AsyncClient, run_worker: RunWorker) -> dict[str, dict[str, Any]]:
    results = {}
    for document, name in operations("A five-minute tour"):
        results[name] = (await post(client, document, name))["data"]
        await run_worker()  # the dev server's worker picks a job up within milliseconds; here we run it
    return results


def test_the_tour_is_what_this_test_expects() -> None:
    assert [name for _, name in operations("A five-minute tour")] == TOUR


@pytest.mark.parametrize("demo", [False, True], ids=["fresh database", "demo database"])
async def test_the_tour_works(demo: bool, client: httpx.AsyncClient, run_worker: RunWorker, settings: Settings) -> None:
    if demo:
        loaded = await load_demo_async(settings)
        assert loaded.activities > 0 and "attendWebinar" in loaded.types
    first = await run_tour(client, run_worker)
    for name in ("DefineType", "ApproveType", "RecordOne"):
        assert all(errors == [] for errors in payload_errors(first[name]).values()), (name, first[name])
    assert first["ApproveType"]["approveActivityType"]["activityType"] == {"status": "APPROVED", "version": 1}
    edges = first["Timeline"]["person"]["timeline"]["edges"]
    assert [e["node"]["primaryValue"] for e in edges] == ["GraphQL meetup"]
    assert edges[0]["node"]["fields"] == {"durationMinutes": 45}

    # What the README says of a second run: DUPLICATE, NO_DRAFT, and the activity is not stored twice.
    again = await run_tour(client, run_worker)
    assert [e["code"] for e in again["DefineType"]["createActivityType"]["errors"]] == ["DUPLICATE"]
    assert [e["code"] for e in again["ApproveType"]["approveActivityType"]["errors"]] == ["NO_DRAFT"]
    assert again["RecordOne"]["recordActivities"]["errors"] == []
    assert again["Timeline"] == first["Timeline"]


async def test_the_demo_example_works_on_demo_data(client: httpx.AsyncClient, settings: Settings) -> None:
    await load_demo_async(settings)
    ((document, name),) = operations("With `--demo`")
    body = await post(client, document, name)
    found = body["data"]["activities"]
    assert found["totalCount"] > 0 and found["edges"], found
    assert all(float(e["node"]["fields"]["amount"]) >= 500 for e in found["edges"])
