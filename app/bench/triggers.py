"""Trigger figures: record-to-webhook latency, fan-out rate to a loopback receiver, import overhead of a trigger."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from app.bench import ingest
from app.bench.datagen import ActivityGenerator
from app.bench.load import client, graphql
from app.bench.report import Goal, Latency, Row, not_available
from app.bench.state import Run

CREATE = """mutation($input: CreateTriggerInput!) { createTrigger(input: $input) {
  trigger { id } errors { code field message } } }"""
DELETE = "mutation($id: ID!) { deleteTrigger(id: $id) { errors { code } } }"
RESET = "TRUNCATE activity, trigger_outbox, trigger_delivery"


class Sink:
    """A loopback receiver (uvicorn + Starlette in this process): when each idempotency key arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.count = 0
        self.changed = asyncio.Event()
        self.port = 0

    async def receive(self, request: Any) -> Any:
        from starlette.responses import Response

        now = time.perf_counter()
        for activity in orjson.loads(await request.body())["activities"]:
            self.arrived.setdefault(activity["idempotencyKey"], now)
            self.count += 1
        self.changed.set()
        return Response(b"ok")

    async def until(self, count: int, timeout: float) -> float:
        """Wait until `count` activities arrived in all; the perf_counter of the last arrival."""
        await self.wait(lambda: self.count >= count, timeout, f"{count} activities")
        return max(self.arrived.values())

    async def wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.perf_counter() + timeout
        while not done():
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{what} not delivered within {timeout} s ({self.count} arrived)")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), 1.0)
            except TimeoutError:
                pass


@asynccontextmanager
async def sink() -> AsyncIterator[Sink]:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Route

    receiver = Sink()
    app = Starlette(routes=[Route("/", receiver.receive, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # uvicorn offers no event for "listening"  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    receiver.port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task


async def bench_triggers(run: Run, tmp: Path) -> None:
    """Import with and without one all-matching trigger (same file, same run), then the latency of one recorded
    activity to the receiver, then the delivery rate of a COPY of `rows` matching activities."""
    o = run.options
    labels = ("trigger import rows/s", "trigger latency p99 ms", "trigger fan-out activities/s")
    if "createTrigger" not in run.features or "importActivities" not in run.features:
        run.report.add(*(not_available(label, "", "no createTrigger") for label in labels))
        return
    name, ref = next(iter(run.types.items()))
    generator = ActivityGenerator(run.persons, [ref.definition], seed=o.seed, key_prefix="trig")
    path = tmp / "triggers.jsonl"
    ingest.write_jsonl(path, generator.activities(o.rows), run.persons)
    api = run.stack.services["api"]
    assert api.url
    async with sink() as receiver, client(api.url, run.stack.api_key, timeout=o.job_timeout) as http:
        await _sql(run, RESET)
        without = await ingest.timed_import(http, path, o.rows, o.job_timeout)
        await _sql(run, RESET)
        trigger = await graphql(http, CREATE, {"input": {
            "name": "bench", "activityType": name, "url": f"http://127.0.0.1:{receiver.port}/",
            "batch": {"maxSize": 100}}})
        created = trigger["createTrigger"]
        if created["errors"]:
            raise RuntimeError(f"createTrigger refused: {created['errors']}")
        start = time.perf_counter()
        with_trigger = await ingest.timed_import(http, path, o.rows, o.job_timeout)
        drained = await receiver.until(o.rows, o.job_timeout) - start
        run.report.add(Row(
            f"{labels[0]} ({o.rows:,} rows, one all-matching trigger)", "rows/s", with_trigger.rows_per_second,
            without.rows_per_second, "no trigger", Goal.RATIO_AT_LEAST, 0.9,
            f"every activity at the receiver {drained:.1f} s after the upload began "
            f"(import {with_trigger.seconds:.1f} s)",
        ))
        samples = await _latency(run, http, generator, receiver, o.trials)
        lat = Latency.of(samples, 1.0)
        run.report.add(Row(f"{labels[1]} ({o.trials} trials, recordActivities -> receiver)", "ms", lat.p99_ms,
                           goal=Goal.VALUE_AT_MOST, target=1000, note=f"p50 {lat.p50_ms:.0f} ms"))
        activities = list(ActivityGenerator(run.persons, [ref.definition], seed=o.seed + 1,
                                            key_prefix="fan").activities(o.rows))
        before = receiver.count
        copied = await ingest.timed_copy(run.dsn, activities, run.person_ids, {name: ref})
        committed, cpu = time.perf_counter(), _worker_cpu(run)
        last = await receiver.until(before + o.rows, o.job_timeout)
        rate = o.rows / (last - committed)
        # CPU time per activity moves far less with the machine's load than the rate does.
        cpu_note = f"; worker CPU {(_worker_cpu(run) - cpu) / o.rows * 1e6:.0f} us/activity" if cpu else ""
        run.report.add(Row(f"{labels[2]} ({o.rows:,} activities, batches of 100)", "activities/s", rate,
                           goal=Goal.NONE, note=f"from the COPY's commit to the last receipt; target >= 20,000/s; "
                           f"COPY itself {copied.seconds:.1f} s{cpu_note}"))
        await graphql(http, DELETE, {"id": created["trigger"]["id"]})


async def _latency(run: Run, http: Any, generator: ActivityGenerator, receiver: Sink, trials: int) -> list[float]:
    from app.bench import queries

    samples: list[float] = []
    for activity in ActivityGenerator(run.persons, generator.types, seed=7, key_prefix="lat").activities(trials + 1):
        start = time.perf_counter()
        result = (await graphql(http, queries.RECORD, {"input": {"activities": [activity.to_input(run.persons)]}}))
        if result["recordActivities"]["errors"]:
            raise RuntimeError(f"recordActivities refused: {result['recordActivities']['errors']}")
        key = activity.idempotency_key
        await receiver.wait(lambda: key in receiver.arrived, 10.0, f"activity {key}")  # noqa: B023 - awaited here
        samples.append(receiver.arrived[activity.idempotency_key] - start)
    return samples[1:]  # the first trial pays one-off start-up costs


def _worker_cpu(run: Run) -> float:
    worker = run.stack.services.get("worker")
    return worker.cpu_seconds() if worker is not None else 0.0


async def _sql(run: Run, sql: str) -> None:
    conn = await asyncpg.connect(run.dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
