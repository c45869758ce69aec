"""Tests that need a Citus cluster (`./scripts/test-citus`); on plain PostgreSQL they are skipped, said once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import pytest

from app.db.distribution import citus_present
from app.embedded.citus import LocalCitus
from app.services.runtime import Resources
from app.settings import Settings, to_asyncpg_dsn


@pytest.fixture(scope="session")
async def on_citus(settings: Settings) -> None:
    """Skips a test unless the session database is a Citus coordinator (the rest of the suite runs on both)."""
    assert settings.database_url
    conn = await asyncpg.connect(to_asyncpg_dsn(settings.database_url))
    try:
        present = await citus_present(conn)
    finally:
        await conn.close()
    if not present:
        pytest.skip("needs a Citus cluster: ./scripts/test-citus")


@contextlib.asynccontextmanager
async def node_stopped(settings: Settings, resources: Resources, name: str) -> AsyncIterator[int]:
    """Node `name` of the local cluster stopped for the block (yields its port), then started again on that port.

    After it, the session's pools are renewed: each coordinator session keeps Citus' cached connection to the
    node, which would fail the session's next write once (app/services/transient.py, CITUS_NODE_LOST)."""
    node = LocalCitus(settings.data_dir).nodes[name]
    port = node.running_port()
    assert port is not None, "the local cluster (activities citus up) must be the session's database"
    await asyncio.to_thread(node.down)
    try:
        yield port
    finally:
        await asyncio.to_thread(node.up, port)
        await resources.db.dispose()
