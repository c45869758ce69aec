"""`/metrics` read by a Prometheus text parser, and the access log line: what operators scrape and grep."""

from __future__ import annotations

import logging

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.api.app import create_app
from app.domain.access import Scope
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import bearer, insert_key


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_counts_operations_errors_and_job_states(settings: Settings, resources: Resources) -> None:
    token = await insert_key(resources, scopes=[Scope.READ])
    app = create_app(settings, resources=resources)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers=bearer(token)) as client:
        for _ in range(3):
            await client.post("/graphql", json={"query": "query Limits { limits { maxPageSize } }"})
        await client.post("/graphql", json={"query": "{ version }"})
        await client.post("/graphql", json={"query": "query Broken { limits { nope } }"})  # a validation error
        scraped = await client.get("/metrics")
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    found = samples(scraped.text)
    assert found[("activities_graphql_requests_total", (("operation", "Limits"), ("status", "200")))] == 3
    assert found[("activities_graphql_request_duration_seconds_count", (("operation", "Limits"),))] == 3
    assert found[("activities_graphql_requests_total", (("operation", "anonymous"), ("status", "200")))] == 1
    assert found[("activities_graphql_requests_total", (("operation", "Broken"), ("status", "200")))] == 1
    assert sum(v for (name, _), v in found.items() if name == "activities_graphql_errors_total") == 1
    assert found[("activities_ingestion_jobs", (("status", "QUEUED"),))] == 0
    assert ("activities_queue_depth", ()) in found and ("activities_db_connections_max", ()) in found


async def test_operation_labels_are_bounded(settings: Settings, resources: Resources) -> None:
    from app.api.metrics import MAX_OPERATIONS, ServiceMetrics

    metrics = ServiceMetrics()
    labels = {metrics.operation_label(f"op{i}") for i in range(MAX_OPERATIONS + 50)}
    assert len(labels) == MAX_OPERATIONS + 1 and "other" in labels
    assert metrics.operation_label("bad name") == "other" and metrics.operation_label(None) == "anonymous"


async def test_metrics_need_a_read_key(settings: Settings, resources: Resources) -> None:
    writer = await insert_key(resources, scopes=[Scope.ACTIVITIES_WRITE])
    app = create_app(settings, resources=resources)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers=bearer(writer))).status_code == 403


async def test_rate_limit_refusals_are_counted(settings: Settings, resources: Resources) -> None:
    token = await insert_key(resources)
    app = create_app(settings.model_copy(update={"rate_limit_per_minute": 2}), resources=resources)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers=bearer(token)) as client:
        statuses = [(await client.post("/graphql", json={"query": "{ version }"})).status_code for _ in range(4)]
        assert statuses.count(429) >= 1
        viewer = await insert_key(resources, scopes=[Scope.READ])
        found = samples((await client.get("/metrics", headers=bearer(viewer))).text)
    assert found[("activities_rate_limited_requests_total", ())] == statuses.count(429)


async def test_access_log_is_one_line_per_request_without_secrets(
    settings: Settings, resources: Resources, caplog: pytest.LogCaptureFixture
) -> None:
    token = await insert_key(resources)
    app = create_app(settings.model_copy(update={"access_log": True}), resources=resources)
    with caplog.at_level(logging.INFO, logger="app.access"):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                     headers=bearer(token) | {"x-request-id": "req-42"}) as client:
            await client.post("/graphql", json={"query": "query Limits { limits { maxPageSize } }",
                                                "variables": {"secret": "s3cr3t"}})
    lines = [r for r in caplog.records if r.name == "app.access"]
    assert len(lines) == 1
    line = lines[0].getMessage()
    assert line.startswith("POST /graphql 200 ") and "operation=Limits" in line and "key=" in line
    assert token not in line and "s3cr3t" not in line and "maxPageSize" not in line
    assert getattr(lines[0], "request_id", None) == "req-42" or "req-42" in caplog.text


async def test_a_blocked_event_loop_shows_in_the_loop_lag_histogram(settings: Settings, resources: Resources) -> None:
    import asyncio
    import time

    from asgi_lifespan import LifespanManager

    token = await insert_key(resources, scopes=[Scope.READ])
    app = create_app(settings, resources=resources)
    async with LifespanManager(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                        base_url="http://t", headers=bearer(token)) as client:

        async def lag(le: str) -> tuple[float, float]:
            found = samples((await client.get("/metrics")).text)
            return (found[("activities_event_loop_lag_seconds_bucket", (("le", le),))],
                    found[("activities_event_loop_lag_seconds_count", ())])

        await asyncio.sleep(0.2)  # a few quiet probes
        quiet_within, quiet_count = await lag("0.05")
        time.sleep(0.15)  # a blocking call on the loop, as a CPU-bound request would be  # noqa: ASYNC251
        await asyncio.sleep(0.1)  # the probe wakes late, once
        within, count = await lag("0.05")
    assert count > quiet_count and count - within >= 1 + (quiet_count - quiet_within)
