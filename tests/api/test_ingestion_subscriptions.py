"""Subscriptions over graphql-transport-ws: ingestionJobUpdated until the job ends; activityRecorded filtered."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from httpx_ws import AsyncWebSocketSession

from app.api.app import create_app
from app.services.ingestion.progress import activity_channel
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import ADMIN_TOKEN, ws_connect, ws_rejection
from tests.conftest import GraphQL, eventually
from tests.ingestion_support import approved_type, deposit

Worker = Callable[[], Awaitable[int]]
RECORD = """mutation($input: RecordActivitiesInput!) {
  recordActivities(input: $input) { job { id } errors { code } } }"""


async def subscribe(ws: AsyncWebSocketSession, query: str, variables: dict[str, Any]) -> None:
    assert await ws_rejection(ws) is None
    await ws.send_json({"type": "subscribe", "id": "s", "payload": {"query": query, "variables": variables}})


async def test_job_updates_until_the_job_ends(
    settings: Settings, resources: Resources, gql: GraphQL, run_worker: Worker
) -> None:
    await approved_type(resources)
    body = await gql(RECORD, {"input": {"activities": [deposit(key=f"k{i}") for i in range(3)],
                                        "createMissingPersons": True}})
    job_id = body["data"]["recordActivities"]["job"]["id"]
    query = "subscription($id: ID!) { ingestionJobUpdated(id: $id) { status counts { accepted } progress } }"
    async with ws_connect(create_app(settings, resources=resources), {"Authorization": f"Bearer {ADMIN_TOKEN}"}) as ws:
        await subscribe(ws, query, {"id": job_id})
        first = await ws.receive_json(timeout=10)
        assert first["payload"]["data"]["ingestionJobUpdated"]["status"] == "QUEUED"
        await run_worker()
        updates = []
        while (message := await ws.receive_json(timeout=10))["type"] == "next":
            updates.append(message["payload"]["data"]["ingestionJobUpdated"])
        assert message == {"id": "s", "type": "complete"}
        assert updates[-1] == {"status": "SUCCEEDED", "counts": {"accepted": 3}, "progress": 1.0}


async def test_activity_recorded_pushes_matching_activities(
    settings: Settings, resources: Resources, gql: GraphQL, run_worker: Worker
) -> None:
    await approved_type(resources)
    query = """subscription($filter: TimelineFilter) { activityRecorded(filter: $filter) {
        primaryValue fields idempotencyKey person { email } } }"""
    where = [{"field": "amount", "op": "GREATER_THAN", "value": 100}]
    app = create_app(settings, resources=resources)
    async with ws_connect(app, {"Authorization": f"Bearer {ADMIN_TOKEN}"}) as ws:
        await subscribe(ws, query, {"filter": {"activityTypes": ["depositCheck"], "where": where}})

        async def listening() -> bool:
            counts = await resources.queue.pubsub_numsub(activity_channel(resources))
            return bool(counts and counts[0][1] > 0)

        await eventually(listening, timeout=10)
        activities = [deposit(key="small", amount=5), deposit(key="big", amount=500)]
        body = await gql(RECORD, {"input": {"activities": activities, "createMissingPersons": True}})
        assert body["data"]["recordActivities"]["errors"] == []
        await run_worker()
        message = await ws.receive_json(timeout=10)
        pushed = message["payload"]["data"]["activityRecorded"]
        assert pushed["idempotencyKey"] == "big" and pushed["fields"]["amount"] == 500
        assert pushed["person"] == {"email": "ann@example.com"}
        await ws.send_json({"type": "complete", "id": "s"})
        await asyncio.sleep(0)


async def test_a_refused_subscription_ends_with_a_coded_error_not_a_logged_bug(
    settings: Settings, resources: Resources, gql: GraphQL, caplog: pytest.LogCaptureFixture
) -> None:
    del gql  # seeds the admin key
    unknown = str(uuid.uuid4())
    query = "subscription($id: ID!) { ingestionJobUpdated(id: $id) { status } }"
    async with ws_connect(create_app(settings, resources=resources), {"Authorization": f"Bearer {ADMIN_TOKEN}"}) as ws:
        for op, variables in (("s", {"id": unknown}), ("t", {"id": "not-a-job-id"})):
            await (subscribe(ws, query, variables) if op == "s" else ws.send_json(
                {"type": "subscribe", "id": op, "payload": {"query": query, "variables": variables}}))
            message = await ws.receive_json(timeout=10)
            assert message["type"] == "next", message
            error = message["payload"]["errors"][0]
            assert (error["extensions"]["code"], error["extensions"]["field"]) == ("NOT_FOUND", "id"), error
            assert await ws.receive_json(timeout=10) == {"id": op, "type": "complete"}
    assert "unexpected error" not in caplog.text
