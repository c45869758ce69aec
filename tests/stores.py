"""Test-session stores: the configured servers or embedded ones, with a private database and Redis prefix."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import redis

from app.db.distribution import create_database, drop_database
from app.embedded.stores import resolved_stores
from app.settings import Settings, Triggers, to_asyncpg_dsn

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _with_database(url: str, name: str) -> str:
    base, _, query = to_asyncpg_dsn(url).partition("?")
    server = base.rsplit("/", 1)[0]
    return f"{server}/{name}" + (f"?{query}" if query else "")


@contextlib.contextmanager
def session_settings() -> Iterator[Settings]:
    """Settings for one pytest session: its own database on the server and its own Redis key prefix.

    Several test runs (or a dev server) can share one PostgreSQL and Redis without seeing each other.
    """
    token = uuid.uuid4().hex[:10]
    base = Settings(
        environment="test",
        data_dir=Path(os.environ.get("ACTIVITIES_DATA_DIR", PROJECT_ROOT / ".activities-data")),
        redis_prefix=f"activities-test-{token}",
        log_level=os.environ.get("ACTIVITIES_LOG_LEVEL", "WARNING"),
        triggers=Triggers(allow_loopback=True),  # receivers in tests listen on 127.0.0.1
    )
    with resolved_stores(base, database="postgres") as resolved:
        assert resolved.database_url and resolved.redis_url
        database = f"activities_test_{token}"
        admin = _with_database(resolved.database_url, "postgres")
        asyncio.run(create_database(admin, database))  # on a Citus coordinator: on its workers too
        try:
            yield resolved.model_copy(update={"database_url": _with_database(resolved.database_url, database)})
        finally:
            asyncio.run(drop_database(admin, database))
            client = redis.Redis.from_url(resolved.redis_url)
            for key in client.scan_iter(match=f"{base.redis_prefix}*", count=1000):
                client.delete(key)
            client.close()
