"""Export figures: rows/s of an export against a plain COPY of the same rows, and the worker's peak RSS at N and 4N."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app.bench.load import client, graphql
from app.bench.report import Goal, Row, not_available
from app.bench.state import Run, ensure_data
from app.db.activity_queries import COLUMNS

EXPORT = """mutation($input: ExportActivitiesInput!) {
  exportActivities(input: $input) { job { id } errors { code message } } }"""
JOB = "query($id: ID!) { exportJob(id: $id) { id status rows bytes error } }"
DELETE = "mutation($id: ID!) { deleteExportJob(id: $id) { errors { code } } }"


async def _copy_baseline(dsn: str, path: Path) -> tuple[int, float]:
    """A plain COPY (SELECT the activity columns) TO STDOUT into a local file: the rows and seconds."""
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        status = await conn.copy_from_query(f"SELECT {COLUMNS} FROM activity", output=path)
        seconds = time.perf_counter() - started
    finally:
        await conn.close()
    return int(status.split()[-1]), seconds


async def _export(
    http: httpx.AsyncClient, timeout: float, flt: dict[str, Any] | None = None
) -> tuple[dict[str, Any], float]:
    """Activities (all by default) as plain JSONL through the API and the worker: (the job, seconds to SUCCEEDED)."""
    started = time.perf_counter()
    data = await graphql(http, EXPORT, {"input": {"format": "JSONL", "compression": "NONE", "filter": flt}})
    payload = data["exportActivities"]
    if payload["errors"]:
        raise RuntimeError(f"export refused: {payload['errors']}")
    job_id = payload["job"]["id"]
    while time.perf_counter() - started < timeout:
        job: dict[str, Any] = (await graphql(http, JOB, {"id": job_id}))["exportJob"]
        if job["status"] not in ("QUEUED", "RUNNING"):
            if job["status"] != "SUCCEEDED":
                raise RuntimeError(f"export {job['status']}: {job['error']}")
            return job, time.perf_counter() - started
        await asyncio.sleep(0.05)
    raise RuntimeError(f"export did not finish within {timeout:.0f} s")


async def _multiply(dsn: str, times: int) -> int:
    """Copy every activity `times` more times (new ids); returns the highest id before, to undo it."""
    conn = await asyncpg.connect(dsn)
    try:
        top: int = await conn.fetchval("SELECT coalesce(max(id), 0) FROM activity")
        for _ in range(times):
            await conn.execute(
                "INSERT INTO activity (person_id, activity_type_id, type_version, occurred_at, primary_value, fields) "
                "SELECT person_id, activity_type_id, type_version, occurred_at, primary_value, fields FROM activity "
                "WHERE id <= $1", top)
        return top
    finally:
        await conn.close()


async def _undo(dsn: str, top: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DELETE FROM activity WHERE id > $1", top)
    finally:
        await conn.close()


async def _measured(run: Run) -> tuple[dict[str, Any], float, int]:
    """Fresh API and worker, one export of every activity: (job, seconds, the worker's peak RSS in MiB)."""
    run.stack.restart_api_and_worker()
    api, worker = run.stack.services["api"], run.stack.services["worker"]
    assert api.url
    async with client(api.url, run.stack.api_key, timeout=run.options.job_timeout) as http:
        # An empty export first: the fresh worker is up and warm before the timed one starts.
        warm, _ = await _export(http, run.options.job_timeout, {"occurredBefore": "1970-01-01T00:00:00Z"})
        await graphql(http, DELETE, {"id": warm["id"]})
        worker.start_sampling()
        try:
            job, seconds = await _export(http, run.options.job_timeout)
        finally:
            peak = worker.stop_sampling()
        await graphql(http, DELETE, {"id": job["id"]})  # the file goes with it
    return job, seconds, peak


async def bench_export(run: Run, tmp: Path) -> None:
    """Export rows/s vs COPY of the same rows (one run, same data), then peak worker RSS for N and 4N rows."""
    o = run.options
    label = "export rows/s (all activities, JSONL, worker COPY -> file)"
    memory = f"peak RSS worker, export (N vs {o.memory_factor}N rows)"
    if "exportActivities" not in run.features:
        run.report.add(not_available(label, "rows/s", "no exportActivities"), not_available(memory, "MiB", "no export"))
        return
    await ensure_data(run)
    rows, copy_seconds = await _copy_baseline(run.dsn, tmp / "copy.tsv")
    (tmp / "copy.tsv").unlink()
    job, seconds, small_peak = await _measured(run)
    exported = int(job["rows"])
    note = f"{exported:,} rows, {job['bytes'] / 1e6:,.0f} MB in {seconds:.2f} s (mutation to SUCCEEDED)"
    run.report.add(Row(label, "rows/s", exported / seconds, rows / copy_seconds, "COPY to file",
                       Goal.RATIO_AT_LEAST, 0.5, note))
    top = await _multiply(run.dsn, o.memory_factor - 1)
    try:
        big, _, big_peak = await _measured(run)
    finally:
        await _undo(run.dsn, top)
    note = f"N = {exported:,}, {o.memory_factor}N = {int(big['rows']):,} rows"
    run.report.add(Row(memory, "MiB", big_peak, small_peak, f"{exported:,} rows", Goal.RATIO_AT_MOST, 1.10, note))
