"""ingestion_chunk rows: a job's payload in numbered chunks, written by submitters, claimed and deleted by workers.

A chunk row is its own claim and done marker: a worker locks it (FOR UPDATE) in the transaction that processes
it and deletes it in that transaction, so a chunk is processed exactly once whichever worker gets it, and a dead
worker's chunk is unlocked again (its transaction rolls back) for the next one to claim.
"""

from __future__ import annotations

import uuid

import asyncpg

from app.db.raw_pool import Connection

CLAIM = "SELECT seq, data FROM ingestion_chunk WHERE job_id = $1 ORDER BY seq LIMIT 1 FOR UPDATE"


async def insert(conn: Connection, job_id: uuid.UUID, seq: int, first_row: int, row_count: int, data: bytes) -> None:
    await conn.execute(
        "INSERT INTO ingestion_chunk (job_id, seq, first_row, row_count, data) VALUES ($1, $2, $3, $4, $5)",
        job_id, seq, first_row, row_count, data)


async def data(conn: Connection, job_id: uuid.UUID, seq: int) -> bytes | None:
    """The chunk's encoded rows, or None once it was processed (deleted)."""
    found: bytes | None = await conn.fetchval(
        "SELECT data FROM ingestion_chunk WHERE job_id = $1 AND seq = $2", job_id, seq)
    return found


async def claim(conn: Connection, job_id: uuid.UUID, *, wait: bool) -> asyncpg.Record | None:
    """The job's first chunk no other transaction holds (seq, data), locked until this transaction ends; None if
    there is none. With `wait`, the first chunk left even if another transaction holds it: waits for it to
    commit (then the next one left, or None) or roll back (then that chunk). Call it before taking any other
    lock in the transaction: it may wait."""
    return await conn.fetchrow(CLAIM if wait else CLAIM + " SKIP LOCKED", job_id)


async def any_left(conn: Connection, job_id: uuid.UUID) -> bool:
    """Whether the job has a chunk not processed yet (one being processed by an open transaction counts)."""
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM ingestion_chunk WHERE job_id = $1)", job_id))


async def delete(conn: Connection, job_id: uuid.UUID, seq: int) -> None:
    await conn.execute("DELETE FROM ingestion_chunk WHERE job_id = $1 AND seq = $2", job_id, seq)


async def delete_all(conn: Connection, job_id: uuid.UUID) -> None:
    """Every chunk left of a job that ended before processing them (cancelled, failed)."""
    await conn.execute("DELETE FROM ingestion_chunk WHERE job_id = $1", job_id)
