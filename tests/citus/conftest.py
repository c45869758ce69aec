"""Tests that need a Citus cluster (`./scripts/test-citus`); on plain PostgreSQL they are skipped, said once."""

from __future__ import annotations

import asyncpg
import pytest

from app.db.distribution import citus_present
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
