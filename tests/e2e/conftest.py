"""Fixtures of the end-to-end tests: a real API server process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from app.embedded.lease import free_port
from app.settings import Settings
from tests.conftest import child_env
from tests.e2e.test_ingestion_faults import private_redis, private_stack, start_worker
from tests.stores import PROJECT_ROOT


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


async def serving(port: int) -> bool:
    """Whether the API on `port` answers /healthz."""
    try:
        async with httpx.AsyncClient() as http:
            return (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
    except httpx.HTTPError:
        return False



__all__ = ["private_redis", "private_stack", "start_worker"]
