"""Read runners: timeline pages under concurrent load (API and baseline) and record-to-visible freshness."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from app.bench import queries
from app.bench.datagen import GeneratedActivity, PersonSeed
from app.bench.load import GraphQLFailed, graphql, page_body, run_load
from app.bench.report import Latency


@dataclass(frozen=True, slots=True)
class Targets:
    """Persons whose timelines hold at least one full page, and the heaviest ones for deep pages."""

    first_page: list[int]
    deep: list[int]


async def pick_persons(dsn: str, page_size: int, deep_page: int, limit: int = 200) -> Targets:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT person_id, count(*) AS n FROM activity GROUP BY person_id HAVING count(*) >= $1 ORDER BY n DESC",
            page_size,
        )
    finally:
        await conn.close()
    first = [r["person_id"] for r in rows][:limit]
    deep = [r["person_id"] for r in rows if r["n"] > page_size * (deep_page + 1)][:20]
    return Targets(first, deep)


def timeline_end_cursor(data: dict[str, Any]) -> str | None:
    cursor: str | None = data["person"]["timeline"]["pageInfo"]["endCursor"]
    return cursor


async def deep_cursors(
    http: httpx.AsyncClient, persons: Sequence[int], page_size: int, depth: int,
    query: str = queries.TIMELINE, end_cursor: Callable[[dict[str, Any]], str | None] = timeline_end_cursor,
) -> list[tuple[int, str | None]]:
    """Walk each person's timeline `depth` pages through `http` (API or baseline; PostGraphile with its `query`
    and `end_cursor`) and keep the cursor there."""
    out: list[tuple[int, str | None]] = []
    for person in persons:
        after = None
        for _ in range(depth):
            data = await graphql(http, query, {"id": str(person), "first": page_size, "after": after})
            after = end_cursor(data)
        if after:
            out.append((person, after))
    return out


def page_ok(content: bytes) -> bool:
    return content.startswith(b'{"data":{"person":{"timeline"') and b'"errors"' not in content


async def timeline_load(
    base_url: str,
    api_key: str,
    pages: Sequence[tuple[int, str | None]],
    page_size: int,
    clients: int,
    duration: float,
    probe: Callable[[], float] | None = None,
    query: str = queries.TIMELINE,
    check: Callable[[bytes], bool] = page_ok,
) -> Latency:
    """The load on `pages`; `query`/`check` for another server's document (PostGraphile), else the service's."""
    bodies = [page_body(query, str(person), page_size, after) for person, after in pages]
    return await run_load(base_url, api_key, bodies, clients=clients, duration=duration, check=check,
                          probe=probe)


STALL_SECONDS = "0.01"  # a histogram bucket bound of activities_event_loop_lag_seconds


async def loop_stalls(http: httpx.AsyncClient) -> tuple[float, float]:
    """(probes the API's event loop answered more than 10 ms late, all probes) so far, read from its /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    response = await http.get("/metrics")
    if response.status_code != 200:
        return 0.0, 0.0
    within = total = 0.0
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "activities_event_loop_lag_seconds_bucket" and sample.labels.get("le") == STALL_SECONDS:
                within = sample.value
            elif sample.name == "activities_event_loop_lag_seconds_count":
                total = sample.value
    return total - within, total


def same_json(api: dict[str, Any], baseline: dict[str, Any]) -> str:
    """Compare the nodes two endpoints returned for the same page (cursors are each side's own); '' if equal."""
    a = [e["node"] for e in api["person"]["timeline"]["edges"]]
    b = [e["node"] for e in baseline["person"]["timeline"]["edges"]]
    if a == b:
        return ""
    for x, y in zip(a, b, strict=False):
        if x != y:
            diff = {k: (x.get(k), y.get(k)) for k in x.keys() | y.keys() if x.get(k) != y.get(k)}
            return f"nodes differ: {diff}"
    return f"{len(a)} vs {len(b)} nodes"


async def freshness(
    http: httpx.AsyncClient,
    activities: Sequence[GeneratedActivity],
    persons: Sequence[PersonSeed],
    person_ids: Sequence[int],
    *,
    interval: float = 0.01,
    timeout: float = 10.0,
) -> tuple[list[float], list[tuple[float, float]]]:
    """For each activity: `recordActivities` it (occurred now, so it tops the timeline) and poll until it shows.

    Returns seconds from sending the mutation to the first timeline response that contains it, and per trial
    the job's queue wait (created -> started) and run time (started -> finished) from its timings.
    """
    samples: list[float] = []
    phases: list[tuple[float, float]] = []
    for activity in activities:
        now = datetime.now(UTC) + timedelta(seconds=1)
        record = activity.to_input(persons) | {"occurredAt": now.isoformat().replace("+00:00", "Z")}
        start = time.perf_counter()
        result = (await graphql(http, queries.RECORD, {"input": {"activities": [record]}}))["recordActivities"]
        if result["errors"]:
            raise GraphQLFailed(f"recordActivities refused the activity: {result['errors']}")
        variables = {"id": str(person_ids[activity.person]), "first": 5}
        while True:
            data = await graphql(http, queries.NEWEST_KEYS, variables)
            keys = {e["node"]["idempotencyKey"] for e in data["person"]["timeline"]["edges"]}
            if activity.idempotency_key in keys:
                samples.append(time.perf_counter() - start)
                phases.append(await _job_phases(http, result["job"]["id"]))
                break
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"activity {activity.idempotency_key} not visible after {timeout}s")
            await asyncio.sleep(interval)
    return samples, phases


async def _job_phases(http: httpx.AsyncClient, job_id: str) -> tuple[float, float]:
    """(queued, running) seconds of a job; running is NaN while the job has not recorded its end yet."""
    times = (await graphql(http, queries.JOB_TIMES, {"id": job_id}))["ingestionJob"]["timings"]
    stamps = {k: datetime.fromisoformat(v) for k, v in times.items() if v}
    if "startedAt" not in stamps:
        return math.nan, math.nan
    queued = (stamps["startedAt"] - stamps["createdAt"]).total_seconds()
    finished = stamps.get("finishedAt")
    return queued, (finished - stamps["startedAt"]).total_seconds() if finished else math.nan
