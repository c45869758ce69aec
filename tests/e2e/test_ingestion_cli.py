"""`activities import` against a real API server and worker process: upload, live progress, summary."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import insert_key
from tests.conftest import child_env, eventually, serve, serving
from tests.ingestion_support import approved_type, deposit
from tests.stores import PROJECT_ROOT

pytestmark = pytest.mark.e2e


async def test_import_command_uploads_follows_and_summarises(
    tmp_path: Path, settings: Settings, resources: Resources, api_server: int,
    worker_process: Callable[[], subprocess.Popen[bytes]],
) -> None:
    await approved_type(resources)
    token = await insert_key(resources)
    rows = [deposit(email=f"p{i}@x.io", key=f"k{i}") for i in range(200)] + [deposit(key="bad", amount="x")]
    path = tmp_path / "deposits.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    port = api_server
    worker_process()

    async def up() -> bool:
        import httpx

        try:
            async with httpx.AsyncClient() as http:
                return (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
        except httpx.HTTPError:
            return False

    await eventually(up, timeout=30, interval=0.1)
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "app.cli.main", "import", str(path), "--create-missing-persons",
         "--url", f"http://127.0.0.1:{port}/graphql", "--token", token],
        env={**child_env(settings), "COLUMNS": "200"}, cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=120,
    )
    assert result.returncode == 3, result.stdout + result.stderr  # completed with errors
    assert "COMPLETED_WITH_ERRORS" in result.stdout and "replayRejections" in result.stdout
    assert "201" in result.stdout and "200" in result.stdout
    async with resources.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM activity") == 200


async def test_import_csv_with_type_format_and_dry_run_flags_writes_nothing(
    tmp_path: Path, settings: Settings, resources: Resources, api_server: int,
    worker_process: Callable[[], subprocess.Popen[bytes]],
) -> None:
    await approved_type(resources)
    token = await insert_key(resources)
    # No activityType column (--type supplies it) and a name that does not say CSV (--format does).
    path = tmp_path / "deposits.txt"
    path.write_text(
        "personEmail,occurredAt,primaryValue,idempotencyKey,amount,currency\n"
        "ann@example.com,2026-11-02T10:00:00Z,Main St,k1,120.5,USD\n"
        "bob@example.com,2026-11-02T11:00:00Z,Elm St,k2,99,EUR\n"
        "cid@example.com,2026-11-02T12:00:00Z,Oak St,k3,lots,EUR\n"
    )
    worker_process()
    await eventually(lambda: serving(api_server), timeout=30, interval=0.1)
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "app.cli.main", "import", str(path), "--type", "depositCheck", "--dry-run",
         "--format", "CSV", "--create-missing-persons", "--url", f"http://127.0.0.1:{api_server}/graphql",
         "--token", token],
        env={**child_env(settings), "COLUMNS": "200"}, cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=120,
    )
    assert result.returncode == 3, result.stdout + result.stderr  # completed with errors (the "lots" row)
    assert "(dry run)" in result.stdout and "COMPLETED_WITH_ERRORS" in result.stdout
    async with resources.db.raw() as conn:
        job = await conn.fetchrow(
            "SELECT format, activity_type, dry_run, total_rows, accepted_rows, rejected_rows, duplicate_rows "
            "FROM ingestion_job")
        assert dict(job) == {"format": "CSV", "activity_type": "depositCheck", "dry_run": True, "total_rows": 3,
                             "accepted_rows": 2, "rejected_rows": 1, "duplicate_rows": 0}
        assert await conn.fetchval("SELECT row_number FROM ingestion_rejection") == 4  # header is row 1
        assert await conn.fetchval("SELECT count(*) FROM activity") == 0
        assert await conn.fetchval("SELECT count(*) FROM person") == 0


@pytest.fixture
def capped_api_server(settings: Settings, tmp_path: Path) -> Iterator[int]:
    """A server whose row cap stops an upload after two committed chunks of 10 rows."""
    yield from serve(settings, tmp_path / "server.log", ACTIVITIES_LIMITS__MAX_UPLOAD_ROWS="20",
                     ACTIVITIES_LIMITS__CHUNK_ROWS="10")


async def test_an_interrupted_import_prints_how_to_resume_and_resuming_stores_each_row_once(
    tmp_path: Path, settings: Settings, resources: Resources, capped_api_server: int,
    worker_process: Callable[[], subprocess.Popen[bytes]],
) -> None:
    await approved_type(resources)
    token = await insert_key(resources)
    # No idempotency keys: sending the whole file again would store its first rows twice.
    path = tmp_path / "keyless.jsonl"
    path.write_bytes(b"".join(orjson.dumps(deposit(email=f"p{i % 3}@x.io", key=None, amount=i)) + b"\n"
                              for i in range(30)))
    port = capped_api_server
    worker_process()
    await eventually(lambda: serving(port), timeout=90, interval=0.1)  # a loaded machine starts it slowly

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli.main", "import", str(path), "--create-missing-persons",
             "--url", f"http://127.0.0.1:{port}/graphql", "--token", token, *extra],
            env={**child_env(settings), "COLUMNS": "300"}, cwd=PROJECT_ROOT, capture_output=True, text=True,
            timeout=120)

    stopped = await asyncio.to_thread(run)
    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    assert "PAYLOAD_TOO_LARGE" in stopped.stdout and "--resume-from 21" in stopped.stdout
    rest = await asyncio.to_thread(run, "--resume-from", "21")
    assert rest.returncode == 0, rest.stdout + rest.stderr
    assert "SUCCEEDED" in rest.stdout
    async with resources.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM activity") == 30
        totals = await conn.fetch("SELECT total_rows, accepted_rows FROM ingestion_job ORDER BY created_at")
    assert [tuple(t) for t in totals] == [(20, 20), (10, 10)]
