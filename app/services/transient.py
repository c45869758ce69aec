"""Which failures are worth retrying: the stores went away or refused us for a moment (workers and uploads)."""

from __future__ import annotations

import asyncio

import asyncpg
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import InterfaceError as SQLAlchemyInterfaceError
from sqlalchemy.exc import OperationalError as SQLAlchemyOperationalError

from app.services.ingestion.writer import TypesChanged

TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,  # includes ConnectionError: the server went away or refused us
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    RedisConnectionError,
    RedisTimeoutError,
    TypesChanged,  # a type was approved or deleted mid-job: the re-run validates against the registry as it is now
)


# SQLSTATE classes worth retrying: connection exceptions, transaction rollbacks (deadlock, serialization),
# insufficient resources, operator intervention (shutdown, restart in progress).
TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57")
# Citus reports a connection to a worker node that went away as an internal error (XX000) when the node's last
# message carried no SQLSTATE: a cached connection to a node that restarted (once per coordinator session that
# held one: the next transaction connects afresh), or libpq's own text for a connection the node closed while a
# command or COPY ran (seen with the node's fast shutdown mid-COPY).
CITUS_NODE_LOST = (
    "failure on connection marked as essential",
    "terminating connection due to administrator command",
    "server closed the connection unexpectedly",
    "connection to server was lost",
    "could not receive data from server",
    "no connection to the server",
)
# Citus reports a worker node that went away while a COPY streamed rows to its shard as an I/O error (58030).
CITUS_COPY_LOST = "failed to COPY to shard"


def is_transient(exc: BaseException) -> bool:
    """Whether retrying later can help: anything in the cause chain is a connection-level or transient error."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TRANSIENT):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, SQLAlchemyInterfaceError | SQLAlchemyOperationalError):
            return True
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str) and state[:2] in TRANSIENT_SQLSTATE_CLASSES:
            return True
        if state == "XX000" and str(current).lstrip().startswith(CITUS_NODE_LOST):
            return True
        if state == "58030" and str(current).startswith(CITUS_COPY_LOST):
            return True
        current = current.__cause__ or current.__context__ or getattr(current, "orig", None)
    return False
