"""Shared fixtures: real PostgreSQL and Redis (embedded unless URLs are set), isolation per test."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text

from app.api.app import create_app
from app.db.migrate import upgrade
from app.logs import configure_logging
from app.services import api_keys
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import ADMIN_KEY_ID, ADMIN_TOKEN, bearer, insert_key
from tests.stores import PROJECT_ROOT, session_settings
from workers.settings import build_worker

GraphQL = Callable[..., Awaitable[dict[str, Any]]]

# No time limit per Hypothesis example: on a loaded shared machine a slow example is not a failure (the suite
# asserts behaviour, never timing); example counts stay Hypothesis' defaults.
hypothesis_settings.register_profile("activities", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("activities")

# Tables emptied before each test; seeded system activity types survive.
MUTABLE_TABLES = ("activity", "person", "person_email", "person_external_id", "ingestion_job", "export_job", "api_key",
                  "audit_log", "smart_list", "webhook_trigger", "trigger_outbox", "trigger_delivery")


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with session_settings() as resolved:
        configure_logging(resolved)
        assert resolved.database_url
        upgrade(resolved.database_url, shard_count=resolved.citus_shard_count)
        # Functional tests poll freely; the rate-limit tests build their own app with a tiny limit.
        exports = tmp_path_factory.mktemp("exports")  # export files of this session only
        yield resolved.model_copy(update={"rate_limit_per_minute": 0, "export_dir": exports})


@pytest.fixture(scope="session")
async def resources(settings: Settings) -> AsyncIterator[Resources]:
    res = await Resources.open(settings)
    yield res
    await res.close()


@pytest.fixture(autouse=True)
async def clean_state(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Empty every mutable table and this session's Redis keys before each test that touches stores."""
    if "resources" not in request.fixturenames:
        yield
        return
    res: Resources = request.getfixturevalue("resources")
    async with res.db.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {', '.join(MUTABLE_TABLES)} RESTART IDENTITY CASCADE"))
    # Its own transaction: Citus refuses to write a reference table after a parallel (multi-shard) TRUNCATE.
    async with res.db.engine.begin() as conn:
        await conn.execute(text("DELETE FROM activity_type WHERE NOT is_system"))
    keys = [k async for k in res.queue.scan_iter(match=f"{res.settings.redis_prefix}*")]
    if keys:
        await res.queue.delete(*keys)
    api_keys.CACHE.clear()  # principals cached by an earlier test's keys must not outlive their rows
    yield


@pytest.fixture
async def client(settings: Settings, resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that sends an all-scopes admin key (auth is enforced in environment=test)."""
    await insert_key(resources, token=ADMIN_TOKEN, key_id=ADMIN_KEY_ID, name="test admin")
    app = create_app(settings, resources=resources)
    transport = httpx.ASGITransport(app=app)
    base_url, headers = "http://testserver", bearer(ADMIN_TOKEN)
    async with httpx.AsyncClient(transport=transport, base_url=base_url, headers=headers) as http:
        yield http


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQL:
    """POST a GraphQL document; returns the JSON body (assert on `data` and `errors` yourself)."""

    async def run(query: str, variables: dict[str, Any] | None = None, **headers: str) -> dict[str, Any]:
        response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        assert response.status_code in (200, 400), response.text
        body: dict[str, Any] = response.json()
        return body

    return run


@pytest.fixture
def run_worker(settings: Settings, resources: Resources) -> Callable[[], Awaitable[int]]:
    """Run an in-process arq worker in burst mode until the queue is empty; returns jobs completed."""

    async def run() -> int:
        worker = build_worker(settings, burst=True, handle_signals=False, resources=resources)
        try:
            await worker.main()
            return int(worker.jobs_complete)
        finally:
            await worker.close()

    return run


def child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ACTIVITIES_DATABASE_URL=settings.database_url or "",
        ACTIVITIES_REDIS_URL=settings.redis_url or "",
        ACTIVITIES_REDIS_PREFIX=settings.redis_prefix,
        ACTIVITIES_ENVIRONMENT="test",
        ACTIVITIES_LOG_LEVEL="INFO",
        ACTIVITIES_TRIGGERS__ALLOW_LOOPBACK="true",
    )
    if settings.export_dir is not None:
        env["ACTIVITIES_EXPORT_DIR"] = str(settings.export_dir)
    return env


@pytest.fixture
def worker_process(settings: Settings) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Start real `activities worker` processes (as in production); all are killed at teardown."""
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli.main", "worker"],
            env=child_env(settings),
            cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def serve(settings: Settings, log: Path | None = None, **env: str) -> Iterator[int]:
    """`activities serve` on a free port with `env` added; yields the port (its output goes to `log`, if given)."""
    from app.embedded.lease import free_port

    port = free_port()
    out = log.open("wb") if log is not None else subprocess.DEVNULL
    server = subprocess.Popen([sys.executable, "-m", "app.cli.main", "serve", "--no-migrate"],
                              env={**child_env(settings), "ACTIVITIES_PORT": str(port), **env}, cwd=PROJECT_ROOT,
                              stdout=out, stderr=subprocess.STDOUT)
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


@pytest.fixture
def api_process(settings: Settings) -> Iterator[str]:
    """`activities serve` on a free port (real clients talk to it); yields its GraphQL URL."""
    for port in serve(settings):
        yield f"http://127.0.0.1:{port}/graphql"


async def until_serving(graphql_url: str) -> None:
    """Wait until the API process behind `graphql_url` answers /healthz (it takes a few seconds to start)."""
    port = int(graphql_url.split(":")[2].split("/")[0])
    await eventually(lambda: serving(port), timeout=60)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30, interval: float = 0.05) -> None:
    """Wait until `check()` is true; fail the test with a clear message at `timeout`."""
    import asyncio

    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
