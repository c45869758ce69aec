"""The database handle: a SQLAlchemy async engine on asyncpg, plus a raw asyncpg pool for hot paths."""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import json_codec
from app.db.raw_pool import Checkout, RawPool
from app.settings import Settings, to_asyncpg_dsn, to_sqlalchemy_url

CLOSE_TIMEOUT_SECONDS = 5.0
"""How long dispose() waits for each idle raw connection to close gracefully."""


class Database:
    """Engine + session factory built once per process (API lifespan, worker startup, tests).

    `raw()` connections come from a separate pool of plain asyncpg connections (app/db/raw_pool.py): no liveness
    ping, no implicit transaction and no SQLAlchemy layers per checkout. A connection that broke (server restart)
    is dropped when returned or found dead, and the pool connects afresh on the next checkout."""

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int = 10) -> None:
        self.engine: AsyncEngine = create_async_engine(
            to_sqlalchemy_url(url),
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=True,
            pool_recycle=1800,
        )
        self.sessionmaker = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self._dsn = to_asyncpg_dsn(url)
        self._raw_size = pool_size + max_overflow
        self._pool: RawPool | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        assert settings.database_url, "resolve the database URL first (embedded or configured)"
        return cls(settings.database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow)

    def session(self) -> AsyncSession:
        return self.sessionmaker()

    async def raw_pool(self) -> RawPool:
        """The raw pool; connections are opened on first use (many commands never need one)."""
        if self._pool is None:
            self._pool = RawPool(self._dsn, self._raw_size, json_codec.register)
        return self._pool

    def raw(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """A pooled asyncpg connection for COPY and hand-written hot-path SQL (autocommit unless the caller opens
        `conn.transaction()`); json/jsonb values are decoded, parameters are JSON text (str or bytes)."""
        return Checkout(self._pool, self.raw_pool)

    def connections_in_use(self) -> int:
        """Checked-out connections of both pools (SQLAlchemy's and the raw one), for the metrics endpoint."""
        checked_out = getattr(self.engine.pool, "checkedout", None)
        engine_use = int(checked_out()) if callable(checked_out) else 0
        return engine_use + (self._pool.in_use if self._pool is not None else 0)

    @property
    def pool_capacity(self) -> int:
        return 2 * self._raw_size  # each pool holds at most pool_size + max_overflow

    async def dispose(self) -> None:
        """Close both pools; the handle stays usable (the next use opens new ones)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close(CLOSE_TIMEOUT_SECONDS)
        await self.engine.dispose()
