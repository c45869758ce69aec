"""ingestion_job rows: snapshots and pages, creation, the upload's progress, and every status transition.

QUEUED -> RUNNING (`start_run`) -> SUCCEEDED / COMPLETED_WITH_ERRORS / FAILED / CANCELLED (`finish`, `fail`,
`cancel_queued`); each transition is one UPDATE guarded by the statuses it may leave, so a late writer changes
nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from app.db.raw_pool import Connection
from app.domain.errors import ErrorCode
from app.domain.ingestion import ChunkTally, IngestionJob, JobCounts, JobSource, JobStatus, SourceFormat

JOB_COLUMNS = (
    "id, status, source, format, activity_type, dry_run, create_missing_persons, idempotency_key, filename, "
    "replay_of, total_rows, processed_rows, accepted_rows, rejected_rows, duplicate_rows, total_bytes, attempts, "
    "cancel_requested, error, created_by, created_at, updated_at, started_at, finished_at, receiving, error_code, "
    "received_through, resume_from"
)
ACTIVE = ("QUEUED", "RUNNING")
ACCEPTING = "receiving AND status IN ('QUEUED', 'RUNNING') AND NOT cancel_requested"
"""A job whose upload may still add chunks."""


def chunk_channel(job_id: uuid.UUID) -> str:
    """The Postgres NOTIFY channel of a receiving job: a chunk was committed, the upload ended, or a cancel."""
    return f"ingestion_{job_id.hex}"


async def notify(conn: Connection, job_id: uuid.UUID) -> None:
    """Wake the worker waiting on the job's chunk channel (delivered when the transaction commits)."""
    await conn.execute("SELECT pg_notify($1, '')", chunk_channel(job_id))


def job_from_record(r: asyncpg.Record) -> IngestionJob:
    return IngestionJob(
        id=r["id"], status=JobStatus(r["status"]), source=JobSource(r["source"]), format=SourceFormat(r["format"]),
        activity_type=r["activity_type"], dry_run=r["dry_run"], create_missing_persons=r["create_missing_persons"],
        idempotency_key=r["idempotency_key"], filename=r["filename"], replay_of=r["replay_of"],
        counts=JobCounts(total=r["total_rows"], processed=r["processed_rows"], accepted=r["accepted_rows"],
                         rejected=r["rejected_rows"], duplicates=r["duplicate_rows"]),
        total_bytes=r["total_bytes"], attempts=r["attempts"], cancel_requested=r["cancel_requested"],
        error=r["error"], created_by=r["created_by"], created_at=r["created_at"], updated_at=r["updated_at"],
        started_at=r["started_at"], finished_at=r["finished_at"], receiving=r["receiving"],
        error_code=ErrorCode(r["error_code"]) if r["error_code"] else None,
        received_through=r["received_through"], resume_from=r["resume_from"],
    )


async def fetch(conn: Connection, job_id: uuid.UUID) -> IngestionJob | None:
    record = await conn.fetchrow(f"SELECT {JOB_COLUMNS} FROM ingestion_job WHERE id = $1", job_id)
    return job_from_record(record) if record else None


async def page(
    conn: Connection, *, limit: int, after: tuple[datetime, uuid.UUID] | None, status: JobStatus | None
) -> list[IngestionJob]:
    """Newest first, keyset on (created_at, id); `limit` rows (ask for one more to know if a page follows)."""
    where: list[str] = ["TRUE"]
    args: list[Any] = []
    if status is not None:
        args.append(status.value)
        where.append(f"status = ${len(args)}")
    if after is not None:
        args += [after[0], after[1]]
        where.append(f"(created_at, id) < (${len(args) - 1}, ${len(args)})")
    args.append(limit)
    sql = (f"SELECT {JOB_COLUMNS} FROM ingestion_job WHERE {' AND '.join(where)} "
           f"ORDER BY created_at DESC, id DESC LIMIT ${len(args)}")
    return [job_from_record(r) for r in await conn.fetch(sql, *args)]


async def header(conn: Connection, job_id: uuid.UUID) -> list[str] | None:
    found = await conn.fetchval("SELECT header FROM ingestion_job WHERE id = $1", job_id)
    return list(found) if found else None


# Creation (inline batches, replays and uploads) and the per-key quota.

async def insert(
    conn: Connection, job_id: uuid.UUID, *, source: JobSource, format: SourceFormat, activity_type: str | None,
    dry_run: bool, create_missing_persons: bool, idempotency_key: str | None, created_by: str | None,
    filename: str | None, replay_of: uuid.UUID | None, resume_from: int | None, receiving: bool,
) -> bool:
    """The QUEUED job row; False if its creator already used the idempotency key (nothing written)."""
    inserted = await conn.fetchval(
        "INSERT INTO ingestion_job (id, idempotency_key, source, format, activity_type, status, dry_run, "
        "create_missing_persons, replay_of, filename, created_by, receiving, resume_from) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
        "ON CONFLICT (created_by, idempotency_key) DO NOTHING RETURNING id",
        job_id, idempotency_key, source.value, format.value, activity_type, JobStatus.QUEUED.value, dry_run,
        create_missing_persons, replay_of, filename, created_by, receiving, resume_from,
    )
    return inserted is not None


async def insert_inline(
    conn: Connection, job_id: uuid.UUID, *, format: SourceFormat, activity_type: str | None, dry_run: bool,
    create_missing_persons: bool, created_by: str | None, rows: int, total_bytes: int, sha256: str, cap: int,
) -> bool:
    """A RUNNING one-chunk job processed in this same transaction (record_now), with its payload's size; False
    (nothing written) if `created_by` already has `cap` unfinished jobs (`cap` <= 0: no cap). The check takes no
    lock: this job is never seen unfinished, as it commits ended."""
    inserted = await conn.fetchval(
        "INSERT INTO ingestion_job (id, source, format, activity_type, status, dry_run, create_missing_persons, "
        "created_by, total_rows, total_bytes, chunk_count, payload_sha256, attempts, started_at) "
        "SELECT $1, 'INLINE', $2, $3, 'RUNNING', $4, $5, $6, $7, $8, 1, $9, 1, now() "
        "WHERE $10 <= 0 OR $6::text IS NULL OR (SELECT count(*) FROM ingestion_job "
        "WHERE created_by = $6 AND status = ANY($11::text[])) < $10 RETURNING id",
        job_id, format.value, activity_type, dry_run, create_missing_persons, created_by, rows, total_bytes,
        sha256, cap, list(ACTIVE),
    )
    return inserted is not None


async def finish_inline(conn: Connection, job_id: uuid.UUID, status: JobStatus, counts: ChunkTally,
                        error: str | None = None) -> IngestionJob:
    """The job inserted by `insert_inline` ended with its only chunk's counts; the job as it is now."""
    record = await conn.fetchrow(
        "UPDATE ingestion_job SET status = $2, next_chunk = 1, processed_rows = $3, accepted_rows = $4, "
        "rejected_rows = $5, duplicate_rows = $6, error_code = $7, error = $8, finished_at = clock_timestamp(), "
        f"updated_at = clock_timestamp() WHERE id = $1 RETURNING {JOB_COLUMNS}",
        job_id, status.value, counts.processed, counts.accepted, counts.rejected, counts.duplicates,
        ErrorCode.ROW_COUNT_MISMATCH.value if error else None, error)
    assert record is not None  # inserted in this transaction
    return job_from_record(record)


async def by_key(conn: Connection, created_by: str | None, key: str | None) -> tuple[IngestionJob, str | None] | None:
    """The job holding this principal's key, and its payload digest (keys are scoped per principal)."""
    record = await conn.fetchrow(
        "SELECT id, payload_sha256 FROM ingestion_job WHERE created_by = $1 AND idempotency_key = $2", created_by, key)
    job = await fetch(conn, record["id"]) if record is not None else None
    return (job, record["payload_sha256"]) if job is not None and record is not None else None


async def lock_creator(conn: Connection, principal_id: str) -> None:
    """Serialise one principal's submissions until the transaction ends (the quota check, then the insert)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"ingest:{principal_id}")


async def key_used(conn: Connection, principal_id: str, key: str) -> bool:
    return bool(await conn.fetchval(
        "SELECT 1 FROM ingestion_job WHERE created_by = $1 AND idempotency_key = $2", principal_id, key))


async def count_active(conn: Connection, principal_id: str) -> int:
    """Unfinished jobs created by `principal_id`."""
    return int(await conn.fetchval(
        "SELECT count(*) FROM ingestion_job WHERE created_by = $1 AND status = ANY($2::text[])",
        principal_id, list(ACTIVE)))


async def set_payload(conn: Connection, job_id: uuid.UUID, *, header: list[str] | None, rows: int, total_bytes: int,
                      chunks: int, sha256: str | None, received_through: int | None = None) -> IngestionJob:
    """What the first transaction of a job knows of its payload (all of it, unless an upload goes on); the job."""
    record = await conn.fetchrow(
        "UPDATE ingestion_job SET header = $2, total_rows = $3, total_bytes = $4, chunk_count = $5, "
        f"payload_sha256 = $6, received_through = $7 WHERE id = $1 RETURNING {JOB_COLUMNS}",
        job_id, header, rows, total_bytes, chunks, sha256, received_through)
    assert record is not None  # inserted in this transaction
    return job_from_record(record)


async def append_upload(conn: Connection, job_id: uuid.UUID, *, chunks: int, rows: int, total_bytes: int,
                        receiving: bool, sha256: str | None, received_through: int | None) -> bool:
    """An upload's next chunk is coming in this transaction; False if the job no longer accepts chunks. The
    row lock it takes keeps cancel and delete out until the chunk is in."""
    return await conn.fetchval(
        "UPDATE ingestion_job SET chunk_count = $2, total_rows = $3, total_bytes = $4, receiving = $5, "
        "payload_sha256 = $6, received_through = COALESCE($7, received_through), updated_at = now() "
        f"WHERE id = $1 AND {ACCEPTING} RETURNING 1",
        job_id, chunks, rows, total_bytes, receiving, sha256, received_through) is not None


async def upload_state(conn: Connection, job_id: uuid.UUID) -> asyncpg.Record | None:
    """chunk_count and payload_sha256: whether an upload's last transaction committed."""
    return await conn.fetchrow("SELECT chunk_count, payload_sha256 FROM ingestion_job WHERE id = $1", job_id)


async def interrupt_upload(conn: Connection, job_id: uuid.UUID, message: str) -> None:
    """End `receiving` with UPLOAD_INTERRUPTED: the worker processes the committed chunks, then FAILs the job."""
    await conn.execute(
        "UPDATE ingestion_job SET receiving = FALSE, error_code = $2, error = $3, updated_at = now() "
        "WHERE id = $1 AND receiving", job_id, ErrorCode.UPLOAD_INTERRUPTED.value, message)


# Status transitions and the worker's checkpoint.

async def lock_for_change(conn: Connection, job_id: uuid.UUID) -> asyncpg.Record | None:
    """status and created_by, the row locked until the transaction ends (cancel)."""
    return await conn.fetchrow("SELECT status, created_by FROM ingestion_job WHERE id = $1 FOR UPDATE", job_id)


async def cancel_queued(conn: Connection, job_id: uuid.UUID) -> None:
    """QUEUED -> CANCELLED at once (its chunks are deleted by the caller, in the same transaction)."""
    await conn.execute(
        "UPDATE ingestion_job SET status = 'CANCELLED', cancel_requested = TRUE, receiving = FALSE, "
        "finished_at = now(), updated_at = now() WHERE id = $1", job_id)


async def request_cancel(conn: Connection, job_id: uuid.UUID) -> None:
    """A RUNNING job stops at its next chunk (the worker then finishes it CANCELLED)."""
    await conn.execute("UPDATE ingestion_job SET cancel_requested = TRUE, updated_at = now() WHERE id = $1", job_id)


async def start_run(conn: Connection, job_id: uuid.UUID) -> asyncpg.Record | None:
    """QUEUED or RUNNING (a retry) -> RUNNING, one more attempt; the whole row, or None if it has ended."""
    return await conn.fetchrow(
        "UPDATE ingestion_job SET status = 'RUNNING', attempts = attempts + 1, "
        "started_at = coalesce(started_at, now()), updated_at = now() "
        "WHERE id = $1 AND status IN ('QUEUED', 'RUNNING') RETURNING *", job_id)


async def running(conn: Connection, job_id: uuid.UUID) -> asyncpg.Record | None:
    """The whole row of a RUNNING job (a helper run joins it as it is), or None."""
    return await conn.fetchrow("SELECT * FROM ingestion_job WHERE id = $1 AND status = 'RUNNING'", job_id)


async def run_state(conn: Connection, job_id: uuid.UUID) -> asyncpg.Record | None:
    """What a worker looks at before each chunk (no lock): status, cancel_requested, receiving, chunk_count,
    next_chunk."""
    return await conn.fetchrow(
        "SELECT status, cancel_requested, receiving, chunk_count, next_chunk FROM ingestion_job WHERE id = $1",
        job_id)


async def lock_for_end(conn: Connection, job_id: uuid.UUID) -> asyncpg.Record | None:
    """The job row locked until the transaction ends (one worker at a time decides whether the job is over):
    status, cancel_requested, receiving, error_code and the counts."""
    return await conn.fetchrow(
        "SELECT status, cancel_requested, receiving, error_code, total_rows, processed_rows, accepted_rows, "
        "rejected_rows, duplicate_rows FROM ingestion_job WHERE id = $1 FOR UPDATE", job_id)


async def add_chunk(conn: Connection, job_id: uuid.UUID, counts: ChunkTally) -> bool:
    """One more chunk done (`next_chunk` counts them) with its counts; False if the job is no longer RUNNING.

    The last statement of a chunk's transaction: it locks the job row until the commit, which is how
    chunks committed by several workers at once add up."""
    return await conn.fetchval(
        "UPDATE ingestion_job SET next_chunk = next_chunk + 1, processed_rows = processed_rows + $2, "
        "accepted_rows = accepted_rows + $3, rejected_rows = rejected_rows + $4, "
        "duplicate_rows = duplicate_rows + $5, updated_at = now() "
        "WHERE id = $1 AND status = 'RUNNING' RETURNING 1",
        job_id, counts.processed, counts.accepted, counts.rejected, counts.duplicates) is not None


async def record_mismatch(conn: Connection, job_id: uuid.UUID, message: str) -> None:
    """ROW_COUNT_MISMATCH before the job FAILs: its counts do not add up to the rows it received."""
    await conn.execute(
        "UPDATE ingestion_job SET error_code = $2, error = left($3 || coalesce(' ' || error, ''), 1000) "
        "WHERE id = $1", job_id, ErrorCode.ROW_COUNT_MISMATCH.value, message)


async def finish(conn: Connection, job_id: uuid.UUID, status: JobStatus) -> None:
    """RUNNING -> `status` (a terminal one)."""
    await conn.execute(
        "UPDATE ingestion_job SET status = $2, receiving = FALSE, finished_at = now(), updated_at = now() "
        "WHERE id = $1 AND status = 'RUNNING'", job_id, status.value)


async def fail(conn: Connection, job_id: uuid.UUID, error: str) -> None:
    """QUEUED or RUNNING -> FAILED with `error` (its chunks are deleted by the caller)."""
    await conn.execute(
        "UPDATE ingestion_job SET status = 'FAILED', error = $2, receiving = FALSE, finished_at = now(), "
        "updated_at = now() WHERE id = $1 AND status IN ('QUEUED', 'RUNNING')", job_id, error[:1000])


# The reconciler.

async def unfinished(conn: Connection, stale_seconds: float) -> list[asyncpg.Record]:
    """QUEUED and RUNNING jobs, oldest first: id, status, attempts, and whether untouched for `stale_seconds`."""
    return await conn.fetch(
        "SELECT id, status, attempts, now() - updated_at > make_interval(secs => $1) AS stale "
        "FROM ingestion_job WHERE status IN ('QUEUED', 'RUNNING') ORDER BY created_at", stale_seconds)


async def end_stalled_uploads(conn: Connection, stall_seconds: float, message: str) -> list[uuid.UUID]:
    """Uploads with nothing new for `stall_seconds` stop receiving, as UPLOAD_INTERRUPTED with `message`
    (a format string given the seconds, total rows and the row to resume from)."""
    rows = await conn.fetch(
        "UPDATE ingestion_job SET receiving = FALSE, error_code = 'UPLOAD_INTERRUPTED', updated_at = now(), "
        "error = format($2::text, $1::float8, total_rows, received_through + 1, received_through + 1) "
        "WHERE receiving AND status IN ('QUEUED', 'RUNNING') "
        "AND updated_at < now() - make_interval(secs => $1::float8) RETURNING id", stall_seconds, message)
    return [r["id"] for r in rows]
