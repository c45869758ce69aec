"""Measure a large JSONL import end to end (upload -> all rows committed) with peak RSS of API and worker.

Usage: .venv/bin/python scripts/ingestion_scale.py [ROWS] [--chunk-rows N]
Runs against the embedded PostgreSQL/Redis in a throw-away database; prints rows/s and peak RSS (VmHWM).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.embedded.lease import free_port  # noqa: E402
from app.embedded.stores import resolved_stores  # noqa: E402
from app.settings import Settings, to_asyncpg_dsn  # noqa: E402
from tests.ingestion_support import deposit_definition, put_type  # noqa: E402
from tests.stores import _admin, _with_database  # noqa: E402


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def write_file(path: Path, rows: int, persons: int) -> None:
    with path.open("wb") as out:
        batch = []
        for i in range(rows):
            batch.append(orjson.dumps({
                "activityType": "depositCheck", "person": {"email": f"p{i % persons}@example.com"},
                "occurredAt": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:{i % 60:02d}:00Z",
                "primaryValue": f"branch {i % 97}",
                "fields": {"amount": (i % 10_000) / 4 if i % 1000 != 999 else "n/a", "currency": "USD"},
                "idempotencyKey": f"k{i}"}))
            if len(batch) == 10_000:
                out.write(b"\n".join(batch) + b"\n")
                batch = []
        if batch:
            out.write(b"\n".join(batch) + b"\n")


async def plain_copy_rate(dsn: str, rows: int) -> float:
    """Baseline: COPY the same number of ready-made rows straight into activity (no validation, no dedup)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TEMP TABLE copy_probe (LIKE activity INCLUDING DEFAULTS)")
        await conn.execute("ALTER TABLE copy_probe ALTER COLUMN id SET DEFAULT 0")
        for index in ("(person_id, occurred_at, id)", "(person_id, activity_type_id, idempotency_key)",
                      "(activity_type_id, occurred_at DESC, id DESC)", "(person_id, ingested_at, id)"):
            await conn.execute(f"CREATE INDEX ON copy_probe {index}")
        from datetime import UTC, datetime
        at = datetime(2026, 1, 1, tzinfo=UTC)
        records = [(i % 10_000 + 1, at, i, 1, 1, '"x"', '{"amount": 1.5, "currency": "USD"}', f"k{i}", b"h" * 32)
                   for i in range(rows)]
        cols = ["person_id", "occurred_at", "id", "activity_type_id", "type_version", "primary_value", "fields",
                "idempotency_key", "payload_hash"]
        start = time.perf_counter()
        for i in range(0, rows, 5000):
            await conn.copy_records_to_table("copy_probe", records=records[i:i + 5000], columns=cols)
        return rows / (time.perf_counter() - start)
    finally:
        await conn.close()


async def freshness(url: str, count: int) -> None:
    """recordActivities of one activity -> visible in the person's timeline, measured per activity."""
    record = ("mutation($input: RecordActivitiesInput!) { recordActivities(input: $input) { job { id } "
              "errors { code } } }")
    read = ('query { person(email: "fresh@example.com") { timeline(first: 1) { edges { node { idempotencyKey } } } '
            "} }")
    latencies = []
    async with httpx.AsyncClient(timeout=30) as http:
        for i in range(count):
            activity = {"activityType": "depositCheck", "person": {"email": "fresh@example.com"},
                        "occurredAt": f"2030-01-01T00:{i // 60:02d}:{i % 60:02d}Z", "primaryValue": "x",
                        "fields": {"amount": 1}, "idempotencyKey": f"fresh-{i}"}
            start = time.perf_counter()
            await http.post(url, json={"query": record, "variables": {"input": {
                "activities": [activity], "createMissingPersons": True}}})
            while True:
                body = (await http.post(url, json={"query": read})).json()
                person = (body.get("data") or {}).get("person")
                edges = person["timeline"]["edges"] if person else []
                if edges and edges[0]["node"]["idempotencyKey"] == f"fresh-{i}":
                    break
                await asyncio.sleep(0.005)
            latencies.append(time.perf_counter() - start)
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2], latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"freshness over {count}: p50={p50 * 1000:.0f} ms p99={p99 * 1000:.0f} ms max={latencies[-1] * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--chunk-rows", type=int, default=None)
    parser.add_argument("--baseline", action="store_true", help="also time a plain COPY of as many rows")
    parser.add_argument("--freshness", type=int, default=0,
                        help="then record N single activities and time until each shows in the timeline")
    args = parser.parse_args()
    base = Settings(environment="dev", data_dir=ROOT / ".activities-data")
    with resolved_stores(base, database="postgres") as stores:
        asyncio.run(run(args, stores))


async def run(args: argparse.Namespace, stores: Settings) -> None:
    if True:
        assert stores.database_url
        name = f"scale_{uuid.uuid4().hex[:8]}"
        await _admin(stores.database_url, f'CREATE DATABASE "{name}"')
        url = _with_database(stores.database_url, name)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            from app.db.migrate import upgrade
            await asyncio.to_thread(upgrade, url)
            conn = await asyncpg.connect(to_asyncpg_dsn(url))
            await put_type(conn, deposit_definition())
            await conn.close()
            port = free_port()
            env = {**os.environ, "ACTIVITIES_DATABASE_URL": url, "ACTIVITIES_REDIS_URL": stores.redis_url or "",
                   "ACTIVITIES_REDIS_PREFIX": name, "ACTIVITIES_ENVIRONMENT": "dev", "ACTIVITIES_PORT": str(port),
                   "ACTIVITIES_LOG_LEVEL": "WARNING"}
            if args.chunk_rows:
                env["ACTIVITIES_LIMITS__CHUNK_ROWS"] = str(args.chunk_rows)
            api = subprocess.Popen([sys.executable, "-m", "app.cli.main", "serve", "--no-migrate"], env=env, cwd=ROOT)
            worker = subprocess.Popen([sys.executable, "-m", "app.cli.main", "worker"], env=env, cwd=ROOT)
            procs += [api, worker]
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "big.jsonl"
                write_file(path, args.rows, args.persons)
                size = path.stat().st_size
                async with httpx.AsyncClient(timeout=None) as http:
                    for _ in range(100):
                        try:
                            if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                                break
                        except httpx.HTTPError:
                            await asyncio.sleep(0.2)
                    query = ("mutation($input: ImportActivitiesInput!) { importActivities(input: $input) "
                             "{ job { id } errors { code message } } }")
                    operations = {"query": query, "variables": {"input": {"file": None, "createMissingPersons": True}}}
                    start = time.perf_counter()
                    with path.open("rb") as handle:
                        response = await http.post(
                            f"http://127.0.0.1:{port}/graphql",
                            data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.input.file"]})},
                            files={"0": ("big.jsonl", handle, "application/octet-stream")},
                            headers={"apollo-require-preflight": "1"})
                    uploaded = time.perf_counter() - start
                    body = response.json()
                    job_id = body["data"]["importActivities"]["job"]["id"]
                    status_query = "query($id: ID!) { ingestionJob(id: $id) { status counts { total processed accepted rejected duplicates } } }"
                    while True:
                        job = (await http.post(f"http://127.0.0.1:{port}/graphql",
                                               json={"query": status_query, "variables": {"id": job_id}})).json()
                        job = job["data"]["ingestionJob"]
                        if job["status"] not in ("QUEUED", "RUNNING"):
                            break
                        await asyncio.sleep(0.2)
                    total = time.perf_counter() - start
                    pages, read_start, after = 0, time.perf_counter(), None
                    rejections_query = ("query($id: ID!, $after: String) { ingestionJob(id: $id) { rejections("
                                        "first: 100, after: $after) { totalCount pageInfo { hasNextPage endCursor } "
                                        "edges { node { rowNumber code field message record } } } } }")
                    read = 0
                    while True:
                        page = (await http.post(f"http://127.0.0.1:{port}/graphql", json={
                            "query": rejections_query, "variables": {"id": job_id, "after": after}})).json()
                        rejections = page["data"]["ingestionJob"]["rejections"]
                        read += len(rejections["edges"])
                        pages += 1
                        if not rejections["pageInfo"]["hasNextPage"]:
                            break
                        after = rejections["pageInfo"]["endCursor"]
                    print(f"read {read} rejections (totalCount {rejections['totalCount']}) in {pages} pages, "
                          f"{time.perf_counter() - read_start:.1f}s")
            print(f"rows={args.rows} file={size / 1e6:.0f} MB upload={uploaded:.1f}s end-to-end={total:.1f}s "
                  f"-> {args.rows / total:,.0f} rows/s; job={job}")
            print(f"peak RSS: api={peak_rss_mb(api.pid):.0f} MB worker={peak_rss_mb(worker.pid):.0f} MB")
            if args.freshness:
                await freshness(f"http://127.0.0.1:{port}/graphql", args.freshness)
            if args.baseline:
                rate = await plain_copy_rate(to_asyncpg_dsn(url), args.rows)
                print(f"plain COPY baseline: {rate:,.0f} rows/s; ratio {args.rows / total / rate:.2f}")
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(20)
            await _admin(stores.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
