"""ingestion_chunk rows: a job's payload in numbered chunks, written by submitters, read and deleted by the worker."""

from __future__ import annotations

import uuid

from app.db.raw_pool import Connection


async def insert(conn: Connection, job_id: uuid.UUID, seq: int, first_row: int, row_count: int, data: bytes) -> None:
    await conn.execute(
        "INSERT INTO ingestion_chunk (job_id, seq, first_row, row_count, data) VALUES ($1, $2, $3, $4, $5)",
        job_id, seq, first_row, row_count, data)


async def data(conn: Connection, job_id: uuid.UUID, seq: int) -> bytes | None:
    """The chunk's encoded rows, or None once it was processed (deleted)."""
    found: bytes | None = await conn.fetchval(
        "SELECT data FROM ingestion_chunk WHERE job_id = $1 AND seq = $2", job_id, seq)
    return found


async def delete(conn: Connection, job_id: uuid.UUID, seq: int) -> None:
    await conn.execute("DELETE FROM ingestion_chunk WHERE job_id = $1 AND seq = $2", job_id, seq)


async def delete_all(conn: Connection, job_id: uuid.UUID) -> None:
    """Every chunk left of a job that ended before processing them (cancelled, failed)."""
    await conn.execute("DELETE FROM ingestion_chunk WHERE job_id = $1", job_id)
