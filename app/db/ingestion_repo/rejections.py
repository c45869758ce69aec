"""ingestion_rejection rows: each rejected row of a job with its issues and original record, until replayed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence

import asyncpg

from app.db.raw_pool import Connection

COLUMNS = ("job_id", "row_number", "code", "field", "message", "issues", "record")
# Rows whose stored record is not the original bytes (cut or re-encoded) cannot be replayed, nor can rows
# holding NUL (INVALID_VALUE): no type version makes them storable, and a NUL byte is shown as U+FFFD.
NOT_REPLAYABLE = ["ROW_TOO_LARGE", "INVALID_ENCODING", "INVALID_VALUE"]
"""Rows whose stored record is not the original bytes (cut or re-encoded) cannot be replayed."""
_PENDING = "job_id = $1 AND replayed_by IS NULL AND NOT (code = ANY($2::text[]))"


async def insert(conn: Connection, records: Sequence[tuple[object, ...]]) -> None:
    """Rows in COLUMNS order (COPY)."""
    await conn.copy_records_to_table("ingestion_rejection", records=records, columns=COLUMNS)


async def page(conn: Connection, job_id: uuid.UUID, *, limit: int, after_row: int | None) -> list[asyncpg.Record]:
    """row_number, issues, record and replayed_by in row order, keyset on row_number."""
    return await conn.fetch(
        "SELECT row_number, issues, record, replayed_by FROM ingestion_rejection "
        "WHERE job_id = $1 AND row_number > $2 ORDER BY row_number LIMIT $3",
        job_id, after_row if after_row is not None else -1, limit)


async def count(conn: Connection, job_id: uuid.UUID) -> int:
    """Rejected rows of the job stored now (erasure deletes those naming a person)."""
    return int(await conn.fetchval("SELECT count(*) FROM ingestion_rejection WHERE job_id = $1", job_id))


async def pending(conn: Connection, job_id: uuid.UUID) -> AsyncIterator[asyncpg.Record]:
    """row_number and record of the rejections a replay takes, in row order (a cursor: call in a transaction)."""
    async for row in conn.cursor(
        f"SELECT row_number, record FROM ingestion_rejection WHERE {_PENDING} ORDER BY row_number",
        job_id, NOT_REPLAYABLE, prefetch=1000,
    ):
        yield row


async def mark_replayed(conn: Connection, job_id: uuid.UUID, replay_id: uuid.UUID) -> None:
    await conn.execute(f"UPDATE ingestion_rejection SET replayed_by = $3 WHERE {_PENDING}",
                       job_id, NOT_REPLAYABLE, replay_id)
