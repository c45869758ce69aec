"""Reading and changing ingestion jobs (raw SQL on asyncpg): snapshots, pages, rejections, cancel, delete."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text

from app.domain.access import Principal, Scope
from app.domain.errors import DomainError, ErrorCode, Issue
from app.domain.ingestion import IngestionJob, JobCounts, JobSource, JobStatus, Rejection, SourceFormat
from app.services import audit
from app.services.runtime import Resources

JOB_COLUMNS = (
    "id, status, source, format, activity_type, dry_run, create_missing_persons, idempotency_key, filename, "
    "replay_of, total_rows, processed_rows, accepted_rows, rejected_rows, duplicate_rows, total_bytes, attempts, "
    "cancel_requested, error, created_by, created_at, updated_at, started_at, finished_at, receiving, error_code, "
    "received_through, resume_from"
)


def chunk_channel(job_id: uuid.UUID) -> str:
    """The Postgres NOTIFY channel of a receiving job: a chunk was committed, the upload ended, or a cancel."""
    return f"ingestion_{job_id.hex}"


def job_from_record(r: Any) -> IngestionJob:
    return IngestionJob(
        id=r["id"],
        status=JobStatus(r["status"]),
        source=JobSource(r["source"]),
        format=SourceFormat(r["format"]),
        activity_type=r["activity_type"],
        dry_run=r["dry_run"],
        create_missing_persons=r["create_missing_persons"],
        idempotency_key=r["idempotency_key"],
        filename=r["filename"],
        replay_of=r["replay_of"],
        counts=JobCounts(
            total=r["total_rows"],
            processed=r["processed_rows"],
            accepted=r["accepted_rows"],
            rejected=r["rejected_rows"],
            duplicates=r["duplicate_rows"],
        ),
        total_bytes=r["total_bytes"],
        attempts=r["attempts"],
        cancel_requested=r["cancel_requested"],
        error=r["error"],
        created_by=r["created_by"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        started_at=r["started_at"],
        finished_at=r["finished_at"],
        receiving=r["receiving"],
        error_code=ErrorCode(r["error_code"]) if r["error_code"] else None,
        received_through=r["received_through"],
        resume_from=r["resume_from"],
    )


async def fetch_job(conn: Any, job_id: uuid.UUID) -> IngestionJob | None:
    record = await conn.fetchrow(f"SELECT {JOB_COLUMNS} FROM ingestion_job WHERE id = $1", job_id)
    return job_from_record(record) if record else None


async def get_job(resources: Resources, job_id: uuid.UUID) -> IngestionJob | None:
    async with resources.db.raw() as conn:
        return await fetch_job(conn, job_id)


async def list_jobs(
    resources: Resources, *, limit: int, after: tuple[datetime, uuid.UUID] | None, status: JobStatus | None
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
    async with resources.db.raw() as conn:
        return [job_from_record(r) for r in await conn.fetch(sql, *args)]


async def list_rejections(
    resources: Resources, job_id: uuid.UUID, *, limit: int, after_row: int | None
) -> list[Rejection]:
    """Rejections of one job in row order, keyset on row_number."""
    async with resources.db.raw() as conn:
        rows = await conn.fetch(
            "SELECT row_number, issues, record, replayed_by FROM ingestion_rejection "
            "WHERE job_id = $1 AND row_number > $2 ORDER BY row_number LIMIT $3",
            job_id, after_row if after_row is not None else -1, limit,
        )
    return [
        Rejection(
            job_id=job_id,
            row_number=r["row_number"],
            issues=tuple(Issue(ErrorCode(i["code"]), i.get("field"), i["message"]) for i in _json(r["issues"])),
            record=r["record"],
            replayed_by=r["replayed_by"],
        )
        for r in rows
    ]


async def count_rejections(resources: Resources, job_id: uuid.UUID) -> int:
    """Rejected rows of one job stored now: deletePerson erases those naming the person, so this can be fewer
    than the job's `rejected` count (which says what happened during the run)."""
    async with resources.db.raw() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM ingestion_rejection WHERE job_id = $1", job_id))


def _json(value: Any) -> Any:
    import orjson

    return orjson.loads(value) if isinstance(value, str | bytes) else value


# Who may cancel, replay or delete a job besides its creator: admins already trusted with audited,
# destructive actions. Any other activities:write key gets FORBIDDEN (it may still read the job).
OWNER_ADMIN_SCOPES = (Scope.TYPES_ADMIN, Scope.KEYS_ADMIN)


def check_owner(actor: Principal, created_by: str | None, action: str, field: str) -> None:
    """FORBIDDEN unless `actor` created the job or holds an admin scope."""
    if created_by != actor.id and not any(actor.allows(s) for s in OWNER_ADMIN_SCOPES):
        raise DomainError.of(ErrorCode.FORBIDDEN, f"Only the job's creator or an admin key (types:admin or "
                             f"keys:admin) may {action} it.", field)


async def cancel_job(resources: Resources, actor: Principal, job_id: uuid.UUID) -> IngestionJob:
    """Ask a job to stop: a queued job is cancelled at once, a running one at its next chunk boundary; an
    upload still being received stops reading at its next chunk. Creator or admin only (check_owner)."""
    async with resources.db.raw() as conn, conn.transaction():
        record = await conn.fetchrow("SELECT status, created_by FROM ingestion_job WHERE id = $1 FOR UPDATE",
                                     job_id)
        if record is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No ingestion job with this id.", "id")
        check_owner(actor, record["created_by"], "cancel", "id")
        status = JobStatus(record["status"])
        if status.is_terminal:
            raise DomainError.of(ErrorCode.INVALID_STATE, f"The job has already ended ({status.value}).", "id")
        if status is JobStatus.QUEUED:
            await conn.execute(
                "UPDATE ingestion_job SET status = 'CANCELLED', cancel_requested = TRUE, receiving = FALSE, "
                "finished_at = now(), updated_at = now() WHERE id = $1", job_id)
            await conn.execute("DELETE FROM ingestion_chunk WHERE job_id = $1", job_id)
        else:
            await conn.execute(
                "UPDATE ingestion_job SET cancel_requested = TRUE, updated_at = now() WHERE id = $1", job_id)
        # Wakes a worker waiting for the next chunk of an upload (the upload itself stops at its next chunk).
        await conn.execute("SELECT pg_notify($1, '')", chunk_channel(job_id))
        job = await fetch_job(conn, job_id)
    assert job is not None
    return job


async def delete_job(resources: Resources, actor: Principal, job_id: uuid.UUID) -> None:
    """Delete an ended job with its chunks and rejections (the FKs cascade) in one audited transaction.

    Only the job's creator or a types:admin / keys:admin key may (FORBIDDEN otherwise); a queued or running
    job must be cancelled first (INVALID_STATE). A replay job's source rejections stay marked as replayed.
    """
    async with resources.db.session() as session, session.begin():
        run: Any = session.exec  # Core text statements (SQLModel's overloads only type ORM selects)
        found = (await run(text(
            "SELECT status, source, created_by, total_rows, rejected_rows FROM ingestion_job WHERE id = :id "
            "FOR UPDATE").bindparams(id=job_id))).first()
        if found is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No ingestion job with this id.", "id")
        check_owner(actor, found.created_by, "delete", "id")
        status = JobStatus(found.status)
        if not status.is_terminal:
            raise DomainError.of(ErrorCode.INVALID_STATE, f"The job is {status.value}: cancel it first "
                                 "(cancelIngestionJob) and delete it once it has ended.", "id")
        await run(text("DELETE FROM ingestion_job WHERE id = :id").bindparams(id=job_id))
        # Counts only: the audit log must not keep the records the deletion removes.
        await audit.record(session, actor, "ingestionJob.delete", f"ingestionJob:{job_id}", {
            "status": status.value, "source": found.source, "createdBy": found.created_by,
            "totalRows": found.total_rows, "rejectedRows": found.rejected_rows})
