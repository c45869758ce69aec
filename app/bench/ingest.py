"""Import runners: the COPY baseline and the end-to-end GraphQL multipart upload through the real worker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

from app.bench import queries
from app.bench.datagen import GeneratedActivity, PersonSeed
from app.bench.load import GraphQLFailed, graphql
from app.bench.seed import TypeRef, activity_records, copy_activities

TERMINAL = {"SUCCEEDED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELLED"}


@dataclass(frozen=True, slots=True)
class Timed:
    rows: int
    seconds: float
    detail: dict[str, Any]

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def write_jsonl(path: Path, activities: Iterable[GeneratedActivity], persons: Sequence[PersonSeed]) -> int:
    """Write the activities as a JSONL file (what a data engineer uploads); returns the row count."""
    count = 0
    with path.open("wb") as out:
        batch: list[bytes] = []
        for activity in activities:
            batch.append(activity.to_jsonl(persons))
            if len(batch) >= 10_000:
                out.write(b"".join(batch))
                count += len(batch)
                batch.clear()
        out.write(b"".join(batch))
        count += len(batch)
    return count


async def timed_copy(
    dsn: str, activities: Sequence[GeneratedActivity], person_ids: Sequence[int], types: dict[str, TypeRef]
) -> Timed:
    """COPY the same rows into `activity` on one connection; only the COPY (and its commit) is timed."""
    records = activity_records(activities, person_ids, types)
    conn = await asyncpg.connect(dsn)
    try:
        start = time.perf_counter()
        await copy_activities(conn, records)
        return Timed(len(records), time.perf_counter() - start, {})
    finally:
        await conn.close()


async def upload(http: httpx.AsyncClient, path: Path, extra_input: dict[str, Any] | None = None) -> str:
    """`importActivities` as a GraphQL multipart request (the spec's operations/map/file parts); returns the job id."""
    variables = {"input": {"file": None, **(extra_input or {})}}
    operations = orjson.dumps({"query": queries.IMPORT, "variables": variables}).decode()
    with path.open("rb") as fh:
        response = await http.post(
            "/graphql",
            data={"operations": operations, "map": '{"0": ["variables.input.file"]}'},
            files={"0": (path.name, fh, "application/x-ndjson")},
            headers={"apollo-require-preflight": "true"},  # the API's CSRF guard wants it on multipart posts
        )
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise GraphQLFailed(f"HTTP {response.status_code}: {body.get('errors')}")
    payload = body["data"]["importActivities"]
    if payload["errors"] or not payload["job"]:
        raise GraphQLFailed(f"importActivities refused the file: {payload['errors']}")
    job_id: str = payload["job"]["id"]
    return job_id


async def wait_job(http: httpx.AsyncClient, job_id: str, timeout: float, interval: float = 0.05) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = (await graphql(http, queries.JOB, {"id": job_id}))["ingestionJob"]
        if job["status"] in TERMINAL:
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {job['status']} after {timeout}s")
        await asyncio.sleep(interval)


async def timed_import(http: httpx.AsyncClient, path: Path, rows: int, timeout: float) -> Timed:
    """Rows/s from the start of the upload to the job's terminal status; the job must accept every row."""
    start = time.perf_counter()
    job_id = await upload(http, path, {"format": "JSONL"})
    uploaded = time.perf_counter() - start  # the mutation returns once the whole file is committed
    job = await wait_job(http, job_id, timeout)
    seconds = time.perf_counter() - start
    accepted = int(job["counts"]["accepted"])
    if job["status"] != "SUCCEEDED" or accepted != rows:
        raise GraphQLFailed(f"import ended {job['status']} with {accepted}/{rows} rows accepted: {job}")
    return Timed(rows, seconds, {**job, "uploadSeconds": uploaded})
