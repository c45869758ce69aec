"""Reading and changing ingestion jobs (raw SQL on asyncpg): snapshots, pages, rejections, cancel, delete."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from app.db.ingestion_repo import chunks as chunks_repo
from app.db.ingestion_repo import in_session
from app.db.ingestion_repo import jobs as jobs_repo
from app.db.ingestion_repo import rejections as rejections_repo
from app.db.raw_pool import Connection
from app.domain.access import Principal
from app.domain.errors import DomainError, ErrorCode, Issue
from app.domain.ingestion import IngestionJob, JobStatus, Rejection
from app.services import audit
from app.services.runtime import Resources


def chunk_channel(job_id: uuid.UUID) -> str:
    """The NOTIFY channel of a receiving job (app/db/ingestion_repo/jobs.py)."""
    return jobs_repo.chunk_channel(job_id)


async def fetch_job(conn: Connection, job_id: uuid.UUID) -> IngestionJob | None:
    """The job as it is in `conn`'s transaction."""
    return await jobs_repo.fetch(conn, job_id)


async def get_job(resources: Resources, job_id: uuid.UUID) -> IngestionJob | None:
    async with resources.db.raw() as conn:
        return await fetch_job(conn, job_id)


async def list_jobs(
    resources: Resources, *, limit: int, after: tuple[datetime, uuid.UUID] | None, status: JobStatus | None
) -> list[IngestionJob]:
    """Newest first, keyset on (created_at, id); `limit` rows (ask for one more to know if a page follows)."""
    async with resources.db.raw() as conn:
        return await jobs_repo.page(conn, limit=limit, after=after, status=status)


async def list_rejections(
    resources: Resources, job_id: uuid.UUID, *, limit: int, after_row: int | None
) -> list[Rejection]:
    """Rejections of one job in row order, keyset on row_number."""
    async with resources.db.raw() as conn:
        rows = await rejections_repo.page(conn, job_id, limit=limit, after_row=after_row)
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
        return await rejections_repo.count(conn, job_id)


def _json(value: Any) -> Any:
    import orjson

    return orjson.loads(value) if isinstance(value, str | bytes) else value




def check_owner(actor: Principal, created_by: str | None, action: str, field: str) -> None:
    """FORBIDDEN unless `actor` created the job or holds an admin scope."""
    # Any other activities:write key gets FORBIDDEN (it may still read the job).
    if created_by != actor.id and not actor.is_admin:
        raise DomainError.of(ErrorCode.FORBIDDEN, f"Only the job's creator or an admin key (types:admin or "
                             f"keys:admin) may {action} it.", field)


async def cancel_job(resources: Resources, actor: Principal, job_id: uuid.UUID) -> IngestionJob:
    """Ask a job to stop: a queued job is cancelled at once, a running one at its next chunk boundary; an
    upload still being received stops reading at its next chunk. Creator or admin only (check_owner)."""
    async with resources.db.raw() as conn, conn.transaction():
        record = await jobs_repo.lock_for_change(conn, job_id)
        if record is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No ingestion job with this id.", "id")
        check_owner(actor, record["created_by"], "cancel", "id")
        status = JobStatus(record["status"])
        if status.is_terminal:
            raise DomainError.of(ErrorCode.INVALID_STATE, f"The job has already ended ({status.value}).", "id")
        if status is JobStatus.QUEUED:
            await jobs_repo.cancel_queued(conn, job_id)
            await chunks_repo.delete_all(conn, job_id)
        else:
            await jobs_repo.request_cancel(conn, job_id)
        # Wakes a worker waiting for the next chunk of an upload (the upload itself stops at its next chunk).
        await jobs_repo.notify(conn, job_id)
        job = await jobs_repo.fetch(conn, job_id)
    assert job is not None
    return job


async def delete_job(resources: Resources, actor: Principal, job_id: uuid.UUID) -> None:
    """Delete an ended job with its chunks and rejections (the FKs cascade) in one audited transaction.

    Only the job's creator or a types:admin / keys:admin key may (FORBIDDEN otherwise); a queued or running
    job must be cancelled first (INVALID_STATE). A replay job's source rejections stay marked as replayed.
    """
    async with resources.db.session() as session, session.begin():
        found = await in_session.lock_for_delete(session, job_id)
        if found is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No ingestion job with this id.", "id")
        check_owner(actor, found.created_by, "delete", "id")
        status = JobStatus(found.status)
        if not status.is_terminal:
            raise DomainError.of(ErrorCode.INVALID_STATE, f"The job is {status.value}: cancel it first "
                                 "(cancelIngestionJob) and delete it once it has ended.", "id")
        await in_session.delete(session, job_id)
        # Counts only: the audit log must not keep the records the deletion removes.
        await audit.record(session, actor, "ingestionJob.delete", f"ingestionJob:{job_id}", {
            "status": status.value, "source": found.source, "createdBy": found.created_by,
            "totalRows": found.total_rows, "rejectedRows": found.rejected_rows})
