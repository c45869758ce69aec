"""HTTP helpers for the runners: a GraphQL client and a closed-loop load generator with N keep-alive clients."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import orjson

from app.bench.rawhttp import Connection, encode_post
from app.bench.report import Latency

JSON_HEADERS = {"content-type": "application/json"}


class GraphQLFailed(RuntimeError):
    """A GraphQL request answered with top-level errors or a non-200 status."""


def client(base_url: str, api_key: str, connections: int = 4, timeout: float = 60) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(
        base_url=base_url,
        headers={"authorization": f"Bearer {api_key}"} if api_key else {},  # "": no key (PostGraphile reads JWTs)
        limits=limits,
        timeout=timeout,
    )


async def graphql(http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST one document; returns `data`, raising on HTTP or top-level GraphQL errors."""
    body = orjson.dumps({"query": query, "variables": variables or {}})
    response = await http.post("/graphql", content=body, headers=JSON_HEADERS)
    # application/json or application/graphql-response+json, with or without a charset parameter
    result = response.json() if "json" in response.headers.get("content-type", "") else {}
    if response.status_code != 200 or result.get("errors"):
        raise GraphQLFailed(f"HTTP {response.status_code}: {result.get('errors') or response.text[:300]}")
    data: dict[str, Any] = result["data"]
    return data


async def run_load(
    base_url: str,
    api_key: str,
    bodies: Sequence[bytes],
    *,
    clients: int,
    duration: float,
    warmup: float = 1.0,
    check: Callable[[bytes], bool] = lambda _: True,
    probe: Callable[[], float] | None = None,
    path: str = "/graphql",
) -> Latency:
    """`clients` concurrent closed-loop keep-alive clients POST `bodies` round-robin for `duration` s after `warmup`.

    Every response must be 200 and pass `check`; failures are counted and excluded from the latencies.
    `probe` (e.g. server CPU seconds) is read when the measured window opens and closes; the difference is
    returned as `Latency.probe_delta`.
    """
    if not bodies:
        raise ValueError("no request bodies")
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {api_key}"} if api_key else {})
    requests = itertools.cycle([encode_post(base_url, path, body, headers) for body in bodies])
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + duration

    async def one_client() -> None:
        nonlocal errors
        conn = await Connection.open(base_url)
        try:
            while True:
                raw = next(requests)
                t0 = time.perf_counter()
                if t0 >= stop_at:
                    return
                status, content = await conn.request(raw)
                t1 = time.perf_counter()
                if t0 < measure_from:
                    continue
                if status == 200 and check(content):
                    latencies.append(t1 - t0)
                else:
                    errors += 1
        finally:
            await conn.close()

    async def window() -> float:
        if probe is None:
            return 0.0
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        before = probe()
        await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
        return probe() - before

    probed, *_ = await asyncio.gather(window(), *(one_client() for _ in range(clients)))
    # Requests count by start time, so the window is exactly `duration`.
    return Latency.of(latencies, duration, errors, probed if probe is not None else None)


def page_body(query: str, person_id: str, first: int, after: str | None) -> bytes:
    return orjson.dumps({"query": query, "variables": {"id": person_id, "first": first, "after": after}})
