"""On Citus, `activities migrate` refuses a cluster it cannot use, saying why, and changes nothing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid

import asyncpg
import pytest

from app.db.distribution import drop_database
from app.services.runtime import Resources
from app.settings import Settings, to_asyncpg_dsn
from tests.citus.conftest import node_stopped
from tests.conftest import child_env
from tests.stores import PROJECT_ROOT

pytestmark = [pytest.mark.usefixtures("on_citus"), pytest.mark.e2e]


def _migrate(settings: Settings, url: str) -> subprocess.CompletedProcess[str]:
    env = child_env(settings) | {"ACTIVITIES_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "app.cli.main", "migrate"], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)


def _on(url: str, database: str) -> str:
    return to_asyncpg_dsn(url).rsplit("/", 1)[0] + "/" + database


async def test_a_coordinator_without_workers_is_refused(settings: Settings) -> None:
    assert settings.database_url
    name = f"activities_noworkers_{uuid.uuid4().hex[:8]}"
    admin = _on(settings.database_url, "postgres")
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')  # on the coordinator only, never joined
    await conn.close()
    try:
        conn = await asyncpg.connect(_on(settings.database_url, name))
        await conn.execute("CREATE EXTENSION citus")
        await conn.close()
        result = await asyncio.to_thread(_migrate, settings, _on(settings.database_url, name))
        assert result.returncode == 1, result.stdout + result.stderr
        assert "no worker node" in result.stdout and "nothing was changed" in result.stdout
        conn = await asyncpg.connect(_on(settings.database_url, name))
        try:
            assert await conn.fetchval("SELECT to_regclass('alembic_version')") is None
        finally:
            await conn.close()
    finally:
        await drop_database(admin, name)


async def test_a_stopped_worker_is_named_and_nothing_changes(settings: Settings, resources: Resources) -> None:
    assert settings.database_url
    async with node_stopped(settings, resources, "worker2") as port:
        result = await asyncio.to_thread(_migrate, settings, settings.database_url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"127.0.0.1:{port}" in result.stdout and "do not answer" in result.stdout
    again = await asyncio.to_thread(_migrate, settings, settings.database_url)
    assert again.returncode == 0 and "database migrated to head" in again.stdout  # and twice: nothing to do
    assert "citus:" not in again.stdout
