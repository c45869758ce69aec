"""Run Alembic migrations programmatically (used by `activities migrate`, dev start-up and tests)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config

from app.db.distribution import DEFAULT_SHARD_COUNT, DistributionError, check_cluster, citus_present, distribute

__all__ = ["DistributionError", "upgrade"]  # the CLI reaches app/db through this module only
from app.settings import to_asyncpg_dsn

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATION_LOCK_ID = 7_242_001  # also taken by migrations/env.py


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head", *, shard_count: int = DEFAULT_SHARD_COUNT) -> list[str]:
    """Bring the database to `revision`, then, on Citus, place new tables (app/db/distribution.py); safe to
    call from several processes at once. Returns what the placement did (empty on plain PostgreSQL)."""
    config = alembic_config(database_url)

    def run() -> list[str]:
        asyncio.run(_check(database_url))  # on Citus, a missing worker stops us before any change
        command.upgrade(config, revision)
        return asyncio.run(_distribute(database_url, shard_count))

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run()
    # env.py runs its own event loop, so from inside a running loop we migrate on a helper thread.
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(run())
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]


async def _check(database_url: str) -> None:
    conn = await asyncpg.connect(to_asyncpg_dsn(database_url))
    try:
        await check_cluster(conn)
    finally:
        await conn.close()


async def _distribute(database_url: str, shard_count: int) -> list[str]:
    conn = await asyncpg.connect(to_asyncpg_dsn(database_url))
    try:
        if not await citus_present(conn):
            return []
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)  # one placer at a time, like Alembic
        try:
            return await distribute(conn, shard_count)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)
    finally:
        await conn.close()


def revision(database_url: str, message: str) -> None:
    """Autogenerate a migration from the difference between the tables and the database."""
    command.revision(alembic_config(database_url), message=message, autogenerate=True)
