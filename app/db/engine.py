"""The database handle: a SQLAlchemy async engine on asyncpg, plus a raw asyncpg pool for hot paths."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import json_codec
from app.settings import Settings, to_asyncpg_dsn, to_sqlalchemy_url

logger = logging.getLogger(__name__)

CLOSE_TIMEOUT_SECONDS = 5.0
"""How long dispose() waits for raw connections still in use before terminating them."""


async def _keep_session(conn: Any) -> None:
    """Pool `reset`: nothing beyond asyncpg's own rollback of an open transaction.

    asyncpg's default reset (RESET ALL, UNLISTEN, unlock advisory locks) is one more round trip per checkout;
    callers keep no session state (SET LOCAL only, advisory locks released by their holders), as they did under
    SQLAlchemy's pool, which did not reset them either."""


class Database:
    """Engine + session factory built once per process (API lifespan, worker startup, tests).

    `raw()` connections come from a separate asyncpg pool: no liveness ping, no implicit transaction and no
    SQLAlchemy layers per checkout. A connection that broke (server restart) is dropped on release and the pool
    connects afresh on the next acquire."""

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
        self._raw_max = max(1, pool_size + max_overflow)
        self._pool: asyncpg.Pool | None = None
        self._opening: asyncio.Lock | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        assert settings.database_url, "resolve the database URL first (embedded or configured)"
        return cls(settings.database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow)

    def session(self) -> AsyncSession:
        return self.sessionmaker()

    async def raw_pool(self) -> asyncpg.Pool:
        """The raw pool, created on first use (many processes and commands never need it)."""
        if self._pool is not None:
            return self._pool
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=0,
                    max_size=self._raw_max,
                    max_inactive_connection_lifetime=300,
                    init=json_codec.register,
                    reset=_keep_session,
                )
            return self._pool

    @contextlib.asynccontextmanager
    async def raw(self) -> AsyncIterator[Any]:
        """A pooled asyncpg connection for COPY and hand-written hot-path SQL (autocommit unless the caller opens
        `conn.transaction()`); json/jsonb values are decoded, parameters are JSON text."""
        pool = self._pool or await self.raw_pool()
        async with pool.acquire() as conn:
            yield conn

    async def dispose(self) -> None:
        """Close both pools; the handle stays usable (the next use opens new ones)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT_SECONDS)
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                logger.warning("raw connections still busy at dispose; terminating them", exc_info=True)
                pool.terminate()
        await self.engine.dispose()
