"""`activities import` against a real API server and worker process: upload, live progress, summary."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

from app.embedded.lease import free_port
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import insert_key
from tests.conftest import child_env, eventually
from tests.ingestion_support import approved_type, deposit
from tests.stores import PROJECT_ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture
def api_server(settings: Settings) -> Iterator[int]:
    """`activities serve` on a free port; yields the port."""
    port = free_port()
    env = {**child_env(settings), "ACTIVITIES_PORT": str(port)}
    server = subprocess.Popen([sys.executable, "-m", "app.cli.main", "serve", "--no-migrate"], env=env,
                              cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield port
    server.terminate()
    server.wait(15)


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
