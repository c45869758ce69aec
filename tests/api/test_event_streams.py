"""Subscriptions over GraphQL over SSE against a real API process: distinct connections mode (one stream per
request), single connection mode (PUT reserves, GET streams, POST runs, DELETE stops), and their refusals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest

from app.domain.access import Scope
from app.services.ingestion.progress import activity_channel
from app.services.runtime import Resources
from tests.access_helpers import insert_key
from tests.conftest import GraphQL, eventually, until_serving
from tests.ingestion_support import approved_type, deposit

Worker = Callable[[], Awaitable[int]]
RECORD = """mutation($input: RecordActivitiesInput!) {
  recordActivities(input: $input) { job { id } errors { code } } }"""
SUBSCRIBE = "subscription Deposits { activityRecorded(filter: {activityTypes: [\"depositCheck\"]}) { primaryValue } }"
TOKEN = "x-graphql-event-stream-token"


class Events:
    """SSE events read from a streaming response, as (event, data) pairs."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def next(self, timeout: float = 30) -> tuple[str, Any]:
        async def read() -> tuple[str, Any]:
            event, data = "", None
            async for line in self.lines:
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    text = line.split(":", 1)[1].strip()
                    data = orjson.loads(text) if text else None
                elif line == "" and event:
                    return event, data
            raise AssertionError("the stream ended")

        return await asyncio.wait_for(read(), timeout)


async def listeners(resources: Resources) -> int:
    counts = await resources.queue.pubsub_numsub(activity_channel(resources))
    return int(counts[0][1]) if counts else 0


async def record_one(gql: GraphQL, run_worker: Worker, key: str, primary: str) -> None:
    activity = {**deposit(key=key), "primaryValue": primary}
    body = await gql(RECORD, {"input": {"activities": [activity], "createMissingPersons": True}})
    assert body["data"]["recordActivities"]["errors"] == []
    await run_worker()


@asynccontextmanager
async def http_client(url: str, key: str) -> AsyncIterator[httpx.AsyncClient]:
    await until_serving(url)
    async with httpx.AsyncClient(base_url=url.removesuffix("/graphql"), timeout=30,
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        yield http


async def test_distinct_connections_mode_streams_a_subscription(
    api_process: str, resources: Resources, gql: GraphQL, run_worker: Worker
) -> None:
    await approved_type(resources)
    key = await insert_key(resources, [Scope.READ])
    async with http_client(api_process, key) as http, http.stream(
            "POST", "/graphql", json={"query": SUBSCRIBE}, headers={"Accept": "text/event-stream"}) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        await eventually(lambda: _has_listener(resources), timeout=30)
        await record_one(gql, run_worker, "d1", "Main St")
        assert await Events(response).next() == ("next", {"data": {"activityRecorded": {"primaryValue": "Main St"}}})


async def _has_listener(resources: Resources) -> bool:
    return await listeners(resources) > 0


async def test_single_connection_mode_runs_and_stops_operations_on_one_stream(
    api_process: str, resources: Resources, gql: GraphQL, run_worker: Worker
) -> None:
    await approved_type(resources)
    key = await insert_key(resources, [Scope.READ])
    async with http_client(api_process, key) as http:
        reserved = await http.put("/graphql")
        assert reserved.status_code == 201
        token = reserved.text
        # The graphql-sse client sends the token as a header; EventSource users put it in the URL.
        async with http.stream("GET", "/graphql", params={"token": token},
                               headers={"Accept": "text/event-stream"}) as stream:
            assert stream.status_code == 200
            events = Events(stream)
            run = await http.post("/graphql", headers={TOKEN: token},
                                  json={"query": SUBSCRIBE, "extensions": {"operationId": "deposits"}})
            assert run.status_code == 202
            once = await http.post("/graphql", headers={TOKEN: token},
                                   json={"query": "{ version }", "extensions": {"operationId": "v"}})
            assert once.status_code == 202
            assert await events.next() == ("next", {"id": "v", "payload": {"data": {"version": "0.1.0"}}})
            assert await events.next() == ("complete", {"id": "v"})
            broken = await http.post("/graphql", headers={TOKEN: token},
                                     json={"query": "{ nope }", "extensions": {"operationId": "bad"}})
            assert broken.status_code == 202  # errors of an operation travel on the stream, as in distinct mode
            event, data = await events.next()
            assert (event, data["id"]) == ("next", "bad")
            assert data["payload"]["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
            assert await events.next() == ("complete", {"id": "bad"})

            await eventually(lambda: _has_listener(resources), timeout=30)
            await record_one(gql, run_worker, "d1", "Main St")
            assert await events.next() == (
                "next", {"id": "deposits", "payload": {"data": {"activityRecorded": {"primaryValue": "Main St"}}}})

            assert (await http.delete("/graphql", params={"operationId": "deposits"},
                                      headers={TOKEN: token})).status_code == 200

            async def stopped() -> bool:
                return await listeners(resources) == 0

            await eventually(stopped, timeout=30)

        async def reservation_gone() -> bool:  # 409 while the server has not yet seen the client go
            again = await http.get("/graphql", headers={TOKEN: token, "Accept": "text/event-stream"})
            return again.status_code == 404

        await eventually(reservation_gone, timeout=30)  # the stream closed: its reservation went with it
        after = await http.post("/graphql", headers={TOKEN: token},
                                json={"query": "{ version }", "extensions": {"operationId": "late"}})
        assert after.status_code == 404


async def test_single_connection_mode_refusals(api_process: str, resources: Resources) -> None:
    reader = await insert_key(resources, [Scope.READ])
    other = await insert_key(resources, [Scope.READ])
    writer = await insert_key(resources, [Scope.ACTIVITIES_WRITE])
    async with http_client(api_process, reader) as http:
        assert (await http.put("/graphql", headers={"Authorization": "Bearer " + "z" * 40})).status_code == 401
        assert (await http.put("/graphql", headers={"Authorization": f"Bearer {writer}"})).status_code == 403
        unknown = await http.get("/graphql", params={"token": "nope"}, headers={"Accept": "text/event-stream"})
        assert unknown.status_code == 404
        token = (await http.put("/graphql")).text
        no_id = await http.post("/graphql", headers={TOKEN: token}, json={"query": "{ version }"})
        assert no_id.status_code == 400 and "operationId" in no_id.text
        not_json = await http.post("/graphql", headers={TOKEN: token, "content-type": "application/json"},
                                   content=b"{")
        assert not_json.status_code == 400
        # Another key cannot run operations on (or even find) this key's stream.
        stolen = await http.post("/graphql", headers={TOKEN: token, "Authorization": f"Bearer {other}"},
                                 json={"query": "{ version }", "extensions": {"operationId": "x"}})
        assert stolen.status_code == 404
        async with http.stream("GET", "/graphql", headers={TOKEN: token, "Accept": "text/event-stream"}) as first:
            assert first.status_code == 200
            second = await http.get("/graphql", headers={TOKEN: token, "Accept": "text/event-stream"})
            assert second.status_code == 409  # one stream per reservation, never two


@pytest.fixture
def few_streams() -> dict[str, str]:
    return {"ACTIVITIES_LIMITS__MAX_EVENT_STREAMS_PER_KEY": "2",
            "ACTIVITIES_LIMITS__MAX_OPERATIONS_PER_EVENT_STREAM": "1"}


async def test_streams_and_operations_per_stream_are_bounded(
    settings: Any, resources: Resources, few_streams: dict[str, str]
) -> None:
    from tests.conftest import serve

    key = await insert_key(resources, [Scope.READ])
    for port in serve(settings, **few_streams):
        async with http_client(f"http://127.0.0.1:{port}/graphql", key) as http:
            tokens = [(await http.put("/graphql")).text for _ in range(2)]
            third = await http.put("/graphql")
            assert third.status_code == 429 and "maxEventStreamsPerKey" in third.text
            run = await http.post("/graphql", headers={TOKEN: tokens[0]},
                                  json={"query": SUBSCRIBE, "extensions": {"operationId": "a"}})
            assert run.status_code == 202
            more = await http.post("/graphql", headers={TOKEN: tokens[0]},
                                   json={"query": SUBSCRIBE, "extensions": {"operationId": "b"}})
            assert more.status_code == 429 and "maxOperationsPerEventStream" in more.text


async def test_a_subscription_over_a_plain_request_is_a_400(api_process: str, resources: Resources) -> None:
    key = await insert_key(resources, [Scope.READ])
    async with http_client(api_process, key) as http:
        response = await http.post("/graphql", json={"query": SUBSCRIBE})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
