"""Inline ingestion figures: Marketo's POST /rest/v1/activities/external.json and GraphQL's recordActivities, 300
activities a call from 8 clients, each beside a COPY of the same rows.

Both paths are timed the same way: activities stored per second, from the first call until the last job ended.
The REST call runs its job before it answers; recordActivities queues one for the worker, so its figure includes
the worker draining what was queued (calls refused meanwhile by the per-key cap on unfinished jobs store nothing
and count as errors).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

import asyncpg
import orjson

from app.bench import ingest, queries
from app.bench.datagen import GeneratedActivity
from app.bench.load import run_load
from app.bench.report import Goal, Latency, Row, not_available
from app.bench.state import Run

CLIENTS, BATCH, TARGET = 8, 300, 15_000
MAX_ACTIVITIES = 30_000  # distinct request bodies (cycled) and the COPY baseline's rows
REST_PATH = "/rest/v1/activities/external.json"


def _rest_body(batch: Sequence[GeneratedActivity], run: Run) -> bytes:
    return orjson.dumps({"input": [{
        "leadId": run.person_ids[a.person], "activityDate": a.occurred_at.isoformat(),
        "activityTypeId": run.types[a.activity_type].id, "primaryAttributeValue": a.primary_value,
        "attributes": [{"apiName": k, "value": v} for k, v in a.fields.items()]} for a in batch]})


def _graphql_body(batch: Sequence[GeneratedActivity], run: Run) -> bytes:
    # By person id and without idempotency keys, as the REST records are: both paths do the same work per call.
    inputs = [{**a.to_input(run.persons), "person": {"id": str(run.person_ids[a.person])}} for a in batch]
    for item in inputs:
        item.pop("idempotencyKey")
    return orjson.dumps({"query": queries.RECORD, "variables": {"input": {"activities": inputs}}})


def _rest_ok(content: bytes) -> bool:
    return b'"success":true' in content and b'"skipped"' not in content


def _graphql_ok(content: bytes) -> bool:
    return b'"errors":[]' in content


async def _stored(dsn: str, timeout: float) -> int:
    """Activities stored, once no ingestion job is left unfinished (the worker drained what was queued)."""
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + timeout
        while await conn.fetchval("SELECT count(*) FROM ingestion_job WHERE status IN ('QUEUED', 'RUNNING')"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"ingestion jobs still unfinished after {timeout:.0f} s")
            await asyncio.sleep(0.05)
        stored: int = await conn.fetchval("SELECT count(*) FROM activity")
        return stored
    finally:
        await conn.close()


async def _throughput(run: Run, path: str, bodies: list[bytes], check: Callable[[bytes], bool]
                      ) -> tuple[float, Latency]:
    """(activities stored per second, the calls' latencies) of CLIENTS closed-loop clients for `duration`."""
    api = run.stack.services["api"]
    assert api.url
    o = run.options

    async def load(duration: float, probe: Callable[[], float] | None = None) -> Latency:
        return await run_load(api.url or "", run.stack.api_key, bodies, clients=CLIENTS, duration=duration,
                              warmup=0.0, check=check, probe=probe, path=path)

    await load(min(1.0, o.duration))  # untimed: connections, first-call costs, the worker's type cache
    before = await _stored(run.dsn, o.job_timeout)
    started = time.perf_counter()
    latency = await load(o.duration, api.cpu_seconds)
    stored = await _stored(run.dsn, o.job_timeout) - before
    return stored / (time.perf_counter() - started), latency


def _note(latency: Latency) -> str:
    cpu = (latency.probe_delta or 0.0) * 1000 / max(latency.requests, 1)
    note = (f"{latency.rps * BATCH:,.0f} activities/s answered; call p50 {latency.p50_ms:.0f} ms, p99 "
            f"{latency.p99_ms:.0f} ms; API CPU/call {cpu:.0f} ms")
    if latency.errors:
        note += f"; {latency.errors} calls refused or failed"
    return note


async def bench_inline(run: Run) -> None:
    """Figure: REST external.json and GraphQL recordActivities activities/s, each against COPY of the same rows."""
    o = run.options
    labels = (f"Marketo REST external.json activities/s ({BATCH}/call, {CLIENTS} clients)",
              f"GraphQL recordActivities activities/s ({BATCH}/call, {CLIENTS} clients)")
    if "recordActivities" not in run.features:
        run.report.add(*(not_available(label, "activities/s", "no recordActivities") for label in labels))
        return
    activities = list(run.generator("inline").activities(max(BATCH, min(o.rows, MAX_ACTIVITIES))))
    copy = await ingest.timed_copy(run.dsn, activities, run.person_ids, run.types)
    batches = [activities[i:i + BATCH] for i in range(0, len(activities) - BATCH + 1, BATCH)]
    paths: list[tuple[str, str, Callable[..., bytes], Callable[[bytes], bool]]] = [
        (labels[0], REST_PATH, _rest_body, _rest_ok), (labels[1], "/graphql", _graphql_body, _graphql_ok)]
    for label, path, body, check in paths:
        rate, latency = await _throughput(run, path, [body(b, run) for b in batches], check)
        run.report.add(Row(label, "activities/s", rate, copy.rows_per_second, "COPY", Goal.VALUE_AT_LEAST, TARGET,
                           _note(latency)))
