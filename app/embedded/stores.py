"""Resolve the database and Redis URLs: the configured servers, or embedded ones started on demand."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from app.embedded.postgres import EmbeddedPostgres
from app.embedded.redis import EmbeddedRedis
from app.settings import Settings


@contextlib.contextmanager
def resolved_stores(settings: Settings, database: str = "activities") -> Iterator[Settings]:
    """Yield settings whose URLs point at real servers, starting embedded ones for unset URLs."""
    started: list[EmbeddedPostgres | EmbeddedRedis] = []
    updates: dict[str, str] = {}
    try:
        if settings.database_url is None:
            pg = EmbeddedPostgres(settings.data_dir)
            pg.start()
            started.append(pg)
            ensure_database(pg.url("postgres"), database)
            updates["database_url"] = pg.url(database)
        if settings.redis_url is None:
            redis = EmbeddedRedis(settings.data_dir)
            updates["redis_url"] = redis.start()
            started.append(redis)
        yield settings.model_copy(update=updates)
    finally:
        for store in reversed(started):
            store.stop()


def ensure_database(admin_url: str, name: str) -> None:
    """Create database `name` on the server if it is missing."""
    import asyncio

    import asyncpg

    async def create() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
