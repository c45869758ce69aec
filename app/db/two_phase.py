"""Citus' two-phase commits of ingestion: every node a chunk writes takes part in them (`enlist_nodes`), and
those a worker node missed are finished on demand before a job reports its counts (`recover_commits`).

On Citus a transaction that wrote to shards on several nodes commits in two phases: the coordinator prepares
it on each node, commits locally, then sends COMMIT PREPARED to each node after its own commit. When a node is
unreachable at that last step, the client only gets a WARNING ("failed to commit transaction on ...") and the
commit is complete on the coordinator, but that node's rows stay in a prepared transaction, invisible, until
the coordinator's maintenance daemon recovers it (`citus.recover_2pc_interval`, 60 s by default) once the node
is back. A job that counted its rows then and reported SUCCEEDED would let a reader count fewer rows than it
says were written. So a job ends only after `recover_prepared_transactions()` has reached every node.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import asyncpg

from app.db.raw_pool import Connection

# Citus prepares (PREPARE TRANSACTION) only the worker connections it saw write. A COPY into `activity` after the
# transaction read co-located shards (a chunk's persons by id, its stored idempotency keys) goes over the
# connection of that read, and Citus does not record the COPY as a write there (CopyGetPlacementConnection
# returns the connection found for the placement without assigning the write to it): that node gets a plain
# COMMIT only after the coordinator's own commit, so a node lost at that moment drops its part of the chunk
# while the coordinator keeps the chunk's counts. Seen with citus.log_remote_commands (BEGIN, COPY, COMMIT and
# no PREPARE) and reproduced on a worker node stopped mid-import. A write through Citus' executor on the same
# shards, which matches no row, marks those connections as writing: Citus prepares every node before it commits.
ENLIST_NODES = "DELETE FROM activity WHERE person_id = ANY($1::bigint[]) AND person_id < 0"


async def enlist_nodes(conn: Connection, person_ids: Iterable[int]) -> None:
    """On Citus, before COPYing activities of `person_ids` in the open transaction: the nodes holding their
    shards commit in two phases (a node lost mid-commit keeps its rows prepared, finished by recover_commits)."""
    await conn.execute(ENLIST_NODES, list(set(person_ids)))


class NodesUnreachable(ConnectionError):
    """Recovery could not reach every worker node: commits may still be pending there (a transient error)."""


async def recover_commits(conn: Connection) -> int:
    """Finish on the worker nodes the commits the coordinator made but could not complete there; the number of
    prepared transactions resolved. NodesUnreachable if a node could not be reached or refused a commit: Citus
    says so only in WARNINGs (recovery of the other nodes still happened)."""
    warnings: list[str] = []

    def listen(_conn: object, message: asyncpg.PostgresLogMessage) -> None:
        if (message.severity_en or message.severity) == "WARNING":
            warnings.append(message.message)

    conn.add_log_listener(listen)
    try:
        recovered = await conn.fetchval("SELECT recover_prepared_transactions()")
        await asyncio.sleep(0)  # asyncpg hands log messages to listeners with call_soon
    finally:
        conn.remove_log_listener(listen)
    if warnings:
        raise NodesUnreachable("; ".join(warnings))
    return int(recovered or 0)
