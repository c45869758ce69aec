"""Export job rows on raw asyncpg: insert, read, page, and the status changes of the job's lifecycle."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson

from app.domain.exports import (
    Compression,
    ExportFormat,
    ExportJob,
    ExportKind,
    ExportSpec,
    ExportStatus,
    FileGone,
    search_from_json,
    search_to_json,
)

JOB_COLUMNS = (
    "id, kind, status, format, compression, columns, search, created_by, created_at, updated_at, started_at, "
    "finished_at, expires_at, rows, total_rows, bytes, sha256, attempts, cancel_requested, error, file_gone"
)


def job_from_record(r: Any) -> ExportJob:
    search = r["search"]
    return ExportJob(
        id=r["id"], kind=ExportKind(r["kind"]), status=ExportStatus(r["status"]), format=ExportFormat(r["format"]),
        compression=Compression(r["compression"]), columns=tuple(r["columns"]),
        search=search_from_json(orjson.loads(search) if isinstance(search, str | bytes) else search),
        created_by=r["created_by"], created_at=r["created_at"], updated_at=r["updated_at"],
        started_at=r["started_at"], finished_at=r["finished_at"], expires_at=r["expires_at"], rows=r["rows"],
        total_rows=r["total_rows"], bytes=r["bytes"], sha256=r["sha256"], attempts=r["attempts"],
        cancel_requested=r["cancel_requested"], error=r["error"],
        file_gone=FileGone(r["file_gone"]) if r["file_gone"] else None,
    )


async def insert(
    conn: Any, job_id: uuid.UUID, spec: ExportSpec, columns: tuple[str, ...], created_by: str,
    status: ExportStatus = ExportStatus.QUEUED,
) -> ExportJob:
    record = await conn.fetchrow(
        f"INSERT INTO export_job (id, kind, status, format, compression, columns, search, created_by) "
        f"VALUES ($1, $2, $8, $3, $4, $5, $6, $7) RETURNING {JOB_COLUMNS}",
        job_id, spec.kind.value, spec.format.value, spec.compression.value, list(columns),
        orjson.dumps(search_to_json(spec.search)) if spec.search is not None else None, created_by, status.value,
    )
    return job_from_record(record)


async def fetch(conn: Any, job_id: uuid.UUID, *, lock: bool = False) -> ExportJob | None:
    suffix = " FOR UPDATE" if lock else ""
    record = await conn.fetchrow(f"SELECT {JOB_COLUMNS} FROM export_job WHERE id = $1{suffix}", job_id)
    return job_from_record(record) if record else None


async def page(
    conn: Any, *, created_by: str | None, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> list[ExportJob]:
    """Newest first, keyset on (created_at, id); only `created_by`'s jobs unless it is None (an admin)."""
    where: list[str] = ["TRUE"]
    args: list[Any] = []
    if created_by is not None:
        args.append(created_by)
        where.append(f"created_by = ${len(args)}")
    if after is not None:
        args += [after[0], after[1]]
        where.append(f"(created_at, id) < (${len(args) - 1}, ${len(args)})")
    args.append(limit)
    rows = await conn.fetch(
        f"SELECT {JOB_COLUMNS} FROM export_job WHERE {' AND '.join(where)} "
        f"ORDER BY created_at DESC, id DESC LIMIT ${len(args)}", *args)
    return [job_from_record(r) for r in rows]


async def usage(conn: Any, created_by: str) -> tuple[int, int]:
    """(unfinished jobs, bytes of files still stored) of one key: what its quotas count."""
    record = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE status IN ('CREATED', 'QUEUED', 'RUNNING')) AS running, "
        "coalesce(sum(bytes) FILTER (WHERE status = 'SUCCEEDED' AND file_gone IS NULL), 0) AS stored "
        "FROM export_job WHERE created_by = $1", created_by)
    return int(record["running"]), int(record["stored"])


async def bytes_since(conn: Any, created_by: str, since: datetime) -> int:
    """Bytes of the files one key's exports wrote since `since` (Marketo's daily export quota counts these)."""
    used = await conn.fetchval(
        "SELECT coalesce(sum(bytes), 0) FROM export_job WHERE created_by = $1 AND status = 'SUCCEEDED' "
        "AND finished_at >= $2", created_by, since)
    return int(used)


async def queue(conn: Any, job_id: uuid.UUID) -> None:
    """A CREATED job becomes QUEUED (the worker claims only queued or running jobs)."""
    await conn.execute(
        "UPDATE export_job SET status = 'QUEUED', updated_at = now() WHERE id = $1 AND status = 'CREATED'", job_id)


async def claim(conn: Any, job_id: uuid.UUID) -> ExportJob | None:
    """Mark a queued or running job RUNNING for a new attempt from the start (its counters reset)."""
    record = await conn.fetchrow(
        f"UPDATE export_job SET status = 'RUNNING', attempts = attempts + 1, started_at = coalesce(started_at, now()), "
        f"rows = 0, bytes = 0, total_rows = NULL, restart_requested = FALSE, updated_at = now() "
        f"WHERE id = $1 AND status IN ('QUEUED', 'RUNNING') RETURNING {JOB_COLUMNS}", job_id)
    return job_from_record(record) if record else None


async def set_snapshot(conn: Any, job_id: uuid.UUID, total_rows: int) -> None:
    await conn.execute(
        "UPDATE export_job SET total_rows = $2, snapshot_at = now(), updated_at = now() WHERE id = $1",
        job_id, total_rows)


async def set_progress(conn: Any, job_id: uuid.UUID, rows: int, written: int) -> tuple[bool, bool]:
    """Record progress; returns (cancel requested, restart requested)."""
    record = await conn.fetchrow(
        "UPDATE export_job SET rows = $2, bytes = $3, updated_at = now() WHERE id = $1 "
        "RETURNING cancel_requested, restart_requested", job_id, rows, written)
    if record is None:  # deleted meanwhile
        return True, False
    return bool(record["cancel_requested"]), bool(record["restart_requested"])


async def finish(conn: Any, job_id: uuid.UUID, status: ExportStatus, **values: Any) -> None:
    """End a job: SUCCEEDED with rows/bytes/sha256/file_key/expires_at, or FAILED/CANCELLED with an error."""
    names = list(values)
    sets = "".join(f", {name} = ${i + 3}" for i, name in enumerate(names))
    await conn.execute(
        f"UPDATE export_job SET status = $2, finished_at = now(), updated_at = now(){sets} "
        "WHERE id = $1 AND status IN ('QUEUED', 'RUNNING')",
        job_id, status.value, *values.values())


async def cancel(conn: Any, job_id: uuid.UUID) -> None:
    """A created or queued job is cancelled at once; a running one stops at its next progress write."""
    await conn.execute(
        "UPDATE export_job SET cancel_requested = TRUE, updated_at = now(), "
        "status = CASE WHEN status IN ('CREATED', 'QUEUED') THEN 'CANCELLED' ELSE status END, "
        "finished_at = CASE WHEN status IN ('CREATED', 'QUEUED') THEN now() ELSE finished_at END WHERE id = $1",
        job_id)


async def delete(conn: Any, job_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM export_job WHERE id = $1", job_id)


async def expire_files(conn: Any) -> list[str]:
    """Mark the files past their expiry EXPIRED; returns their store keys to remove."""
    rows = await conn.fetch(
        "UPDATE export_job SET file_gone = 'EXPIRED', updated_at = now() WHERE file_gone IS NULL "
        "AND status = 'SUCCEEDED' AND expires_at <= now() RETURNING file_key")
    return [r["file_key"] for r in rows if r["file_key"]]


async def unfinished(conn: Any) -> list[Any]:
    return list(await conn.fetch(
        "SELECT id, status, attempts FROM export_job WHERE status IN ('QUEUED', 'RUNNING') ORDER BY created_at"))



# Exports whose rows may include one person: no filter, a filter not naming persons, or one naming this person.
_MAY_HOLD = (
    "(search IS NULL OR (jsonb_array_length(search -> 'personIds') = 0 "
    "AND jsonb_array_length(search -> 'personEmails') = 0 AND jsonb_array_length(search -> 'personExternalIds') = 0) "
    "OR search -> 'personIds' @> to_jsonb(CAST(:person_id AS bigint)) "
    "OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(search -> 'personEmails') e WHERE lower(e) = lower(:email)) "
    "OR search -> 'personExternalIds' @> to_jsonb(CAST(:external_id AS text)))"
)
ERASE_FILES = (
    "UPDATE export_job SET file_gone = 'ERASED', updated_at = now() WHERE status = 'SUCCEEDED' "
    f"AND file_gone IS NULL AND {_MAY_HOLD} RETURNING file_key"
)
"""Files that may hold an erased person: marked ERASED in the erasure's transaction, removed after it."""
RESTART_RUNNING = (
    f"UPDATE export_job SET restart_requested = TRUE, updated_at = now() WHERE status = 'RUNNING' AND {_MAY_HOLD}"
)
"""Running exports whose snapshot may predate the erasure start over (their worker checks before publishing)."""
