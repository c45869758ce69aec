"""Migrations: the CLI applies them idempotently and they build exactly the tables the code declares."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from app.db.tables import metadata
from app.services.runtime import Resources
from app.settings import Settings
from tests.conftest import child_env
from tests.stores import PROJECT_ROOT


def test_migrate_command_is_idempotent(settings: Settings) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli.main", "migrate"],
        env=child_env(settings),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "database migrated to head" in result.stdout


async def test_migrations_match_the_declared_tables(resources: Resources) -> None:
    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with resources.db.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    # Expression indexes (lower(email) ...) are reported by reflection quirks, not real drift.
    real = [d for d in differences if not _is_expression_index_noise(d)]
    assert real == [], f"app/db/tables.py and the migrations disagree: {real}"


def _is_expression_index_noise(difference: Any) -> bool:
    if not isinstance(difference, tuple) or difference[0] not in ("add_index", "remove_index"):
        return False
    index = difference[1]
    return any(not hasattr(expr, "name") for expr in index.expressions)
