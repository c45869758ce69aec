"""An upload's database connection that rides out a short outage (PostgreSQL restarting, a dropped socket)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

from app.db.raw_pool import Connection
from app.domain.errors import DomainError
from app.services.runtime import Resources
from app.services.transient import is_transient

logger = logging.getLogger(__name__)

PAUSE_SECONDS = 0.5  # between attempts: a restart takes a second or two, a failover longer


class Reconnecting:
    """`conn` is a pooled connection; `run(step)` runs a step (a transaction, or a read) on it and, when the step
    fails on a transient error, runs it again on a fresh connection until `retry_seconds` have passed since the
    failure, then raises that error. A transaction whose connection broke while it committed may have committed:
    `landed(conn)` tells, and the step is then not run again (so a chunk is never inserted twice)."""

    def __init__(self, resources: Resources, retry_seconds: float) -> None:
        self.resources = resources
        self.retry_seconds = retry_seconds
        self.conn: Connection | None = None
        self._lease: contextlib.AbstractAsyncContextManager[Connection] | None = None

    async def __aenter__(self) -> Reconnecting:
        await self._open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._close(exc_type, exc, tb)

    async def run(self, step: Callable[[Any], Awaitable[None]],
                  landed: Callable[[Any], Awaitable[bool]] | None = None) -> None:
        give_up: float | None = None
        while True:
            try:
                await step(self.conn)
                return
            except DomainError:
                raise
            except Exception as exc:
                if not is_transient(exc):
                    raise
                now = time.monotonic()
                give_up = give_up if give_up is not None else now + self.retry_seconds
                if now >= give_up:
                    raise
                logger.warning("database unavailable during an upload (%s: %s); retrying for up to %.0f s",
                               type(exc).__name__, exc, give_up - now)
            if await self._reconnected(give_up, landed):
                return

    async def _reconnected(self, give_up: float, landed: Callable[[Any], Awaitable[bool]] | None) -> bool:
        """A working connection again (True if it shows the failed step had committed); raises past `give_up`."""
        while True:
            await self._close(discard=True)
            await asyncio.sleep(PAUSE_SECONDS)
            try:
                await self._open()
                return landed is not None and await landed(self.conn)
            except Exception as exc:
                if not is_transient(exc) or time.monotonic() >= give_up:
                    raise

    async def _open(self) -> None:
        lease = self.resources.db.raw()
        self.conn = await lease.__aenter__()
        self._lease = lease

    async def _close(self, exc_type: type[BaseException] | None = None, exc: BaseException | None = None,
                     tb: TracebackType | None = None, *, discard: bool = False) -> None:
        lease, conn, self._lease, self.conn = self._lease, self.conn, None, None
        if lease is None:
            return
        if discard and conn is not None:  # broken, or in an unknown state: the pool drops a closed connection
            conn.terminate()
        with contextlib.suppress(Exception):
            await lease.__aexit__(exc_type, exc, tb)
