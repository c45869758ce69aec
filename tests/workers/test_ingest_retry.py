"""Which failures make an ingestion job retry (transient) and which fail it."""

from __future__ import annotations

import asyncpg

from app.services.transient import is_transient
from workers.ingest import backoff


def test_connection_level_failures_are_transient() -> None:
    assert is_transient(ConnectionResetError())
    assert is_transient(asyncpg.CannotConnectNowError("the database system is starting up"))
    assert is_transient(asyncpg.AdminShutdownError("terminating connection due to administrator command"))
    assert is_transient(asyncpg.DeadlockDetectedError("deadlock detected"))
    # Citus: a coordinator session's cached connection to a worker node that restarted
    assert is_transient(asyncpg.InternalServerError("failure on connection marked as essential: 127.0.0.1:5433"))
    # Citus: a worker node shut down while a COPY streamed to it, its message relayed without a SQLSTATE
    assert is_transient(asyncpg.InternalServerError("terminating connection due to administrator command"))
    assert is_transient(asyncpg.InternalServerError("server closed the connection unexpectedly"))
    # Citus: a worker node that went away while a COPY streamed rows to one of its shards
    assert is_transient(asyncpg.PostgresIOError("failed to COPY to shard 102017 on 127.0.0.1:36833"))
    try:
        try:
            raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")
        except asyncpg.ConnectionDoesNotExistError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert is_transient(outer)


def test_bugs_and_bad_data_are_not_transient() -> None:
    assert not is_transient(ValueError("bug"))
    assert not is_transient(asyncpg.UniqueViolationError("duplicate key"))
    assert not is_transient(KeyError("x"))
    assert not is_transient(asyncpg.InternalServerError("cache lookup failed for relation 1"))
    assert not is_transient(asyncpg.PostgresIOError("could not read block 7 in file base/16384/16385"))


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff(n) for n in (1, 2, 3, 4, 5, 9)] == [1, 2, 4, 8, 15, 15]
