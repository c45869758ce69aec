"""A lean pool of raw asyncpg connections: checkout and return without a task, a ping or a reset query."""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import asyncpg

MAX_IDLE_SECONDS = 300.0
"""A connection idle longer than this is closed rather than reused (firewalls drop long-idle TCP sessions)."""


class RawPool:
    """Up to `size` connections, the most recently returned one reused first.

    asyncpg's own pool spends ~20 us per checkout (a task to shield the release, a reset round trip or
    bookkeeping); here returning a healthy connection is a list append. Connections are never repaired: one
    that closed (server restart, terminated backend) or comes back inside a transaction (its user was
    interrupted mid-rollback) is terminated and a new one is opened on demand. A query cancelled by its
    task's cancellation is finished by asyncpg itself before the connection's next statement runs."""

    def __init__(self, dsn: str, size: int, init: Callable[[Any], Awaitable[None]]) -> None:
        self._dsn = dsn
        self._size = max(1, size)
        self._init = init
        self._idle: list[tuple[Any, float]] = []  # (connection, returned at), oldest first
        self._count = 0  # connections open or opening, idle or in use
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def in_use(self) -> int:
        """Connections checked out right now."""
        return self._count - len(self._idle)

    async def acquire(self) -> Any:
        if (loop := asyncio.get_running_loop()) is not self._loop:
            self._forget(loop)
        waited = False
        while True:
            if self._closed:
                raise asyncpg.InterfaceError("the raw pool is closed")
            idle = self._idle
            while idle:
                conn, returned = idle.pop()
                if not conn.is_closed() and time.monotonic() - returned < MAX_IDLE_SECONDS:
                    return conn
                self._drop(conn)
            if self._count < self._size:
                return await self._connect()
            await self._wait(front=waited)  # a waiter that lost its turn to a newcomer keeps its place
            waited = True

    def release(self, conn: Any) -> None:
        if asyncio.get_running_loop() is not self._loop:  # a connection of a loop this pool has since left
            return
        if self._closed or conn.is_closed() or conn.is_in_transaction():
            self._drop(conn)
        else:
            now = time.monotonic()
            self._idle.append((conn, now))
            if now - self._idle[0][1] >= MAX_IDLE_SECONDS:  # shrink after a busy spell, one at a time
                self._drop(self._idle.pop(0)[0])
        self._wake()

    async def close(self, timeout: float) -> None:
        """Close idle connections; those in use are terminated when returned."""
        if (loop := asyncio.get_running_loop()) is not self._loop:
            self._forget(loop)
        self._closed = True
        idle, self._idle = self._idle, []
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)  # they see the pool closed
        for conn, _ in idle:
            self._count -= 1
            try:
                await conn.close(timeout=timeout)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                conn.terminate()

    @property
    def size(self) -> int:
        """Connections open (idle or in use)."""
        return self._count

    async def _connect(self) -> Any:
        self._count += 1
        try:
            conn = await asyncpg.connect(self._dsn)
        except BaseException:
            self._count -= 1
            self._wake()
            raise
        try:
            await self._init(conn)
        except BaseException:
            self._drop(conn)
            self._wake()
            raise
        return conn

    async def _wait(self, *, front: bool) -> None:
        waiter = asyncio.get_running_loop().create_future()
        if front:
            self._waiters.appendleft(waiter)
        else:
            self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._wake()  # woken and cancelled at once: pass the turn on
            raise

    def _wake(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _forget(self, loop: asyncio.AbstractEventLoop) -> None:
        """Used from another event loop (asyncio.run twice with one Database): connections are bound to the loop
        that opened them, so the old ones are abandoned rather than reused or closed from here."""
        self._loop = loop
        self._idle = []
        self._count = 0
        self._waiters.clear()

    def _drop(self, conn: Any) -> None:
        self._count -= 1
        conn.terminate()


class Checkout:
    """`async with`: one connection of a pool, returned on exit whatever happened."""

    __slots__ = ("_conn", "_open_pool", "_pool")

    def __init__(self, pool: RawPool | None, open_pool: Callable[[], Awaitable[RawPool]]) -> None:
        self._pool = pool
        self._open_pool = open_pool
        self._conn: Any = None

    async def __aenter__(self) -> Any:
        pool = self._pool
        if pool is None:
            pool = self._pool = await self._open_pool()
        self._conn = await pool.acquire()
        return self._conn

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._pool is not None
        conn, self._conn = self._conn, None
        try:
            if exc_type is not None and not conn.is_closed():
                await _settle(conn)
        finally:  # even when the clean-up fails or is cancelled: a slot not returned is lost for good
            self._pool.release(conn)


async def _settle(conn: Any) -> None:
    """After an error, end whatever the connection's last statement left half done on the server.

    asyncpg sends a statement's Parse without a Sync; an argument it then fails to encode (DataError), or a task
    cancelled between the Parse and the Execute, leaves the server inside an implicit transaction that holds the
    statement's table locks (a TRUNCATE or migration would wait for it) until the next message. One simple query
    ends it; if that fails the connection is terminated rather than pooled."""
    try:
        await conn.execute("SELECT 1")
    except BaseException:
        conn.terminate()
        raise
