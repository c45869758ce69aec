"""replayRejections: re-ingest a finished job's rejected rows against the types' current versions."""

from __future__ import annotations

import uuid

from app.db.ingestion_repo import jobs as jobs_repo
from app.db.ingestion_repo import rejections as rejections_repo
from app.domain.access import Principal
from app.domain.errors import DomainError, ErrorCode
from app.domain.ingestion import IngestionJob, JobSource, RawRow
from app.services.ingestion.jobs import check_owner, get_job
from app.services.ingestion.submit import JobSpec, created_job, new_job
from app.services.runtime import Resources


async def replay_rejections(resources: Resources, actor: Principal, job_id: uuid.UUID) -> IngestionJob:
    """A new job (replayOf = the original) holding the original's not-yet-replayed rejected rows, keeping
    their row numbers. Rows that now pass are ingested; the others are rejected again in the new job.
    Only the original's creator or an admin may replay it (check_owner)."""
    original = await get_job(resources, job_id)
    if original is None:
        raise DomainError.of(ErrorCode.NOT_FOUND, "No ingestion job with this id.", "jobId")
    check_owner(actor, original.created_by, "replay", "jobId")
    if not original.status.is_terminal:
        raise DomainError.of(ErrorCode.INVALID_STATE, "Wait until the job has ended, or cancel it.", "jobId")
    if original.dry_run:
        raise DomainError.of(ErrorCode.INVALID_STATE, "A dry run wrote nothing; submit the file for real.", "jobId")
    spec = JobSpec(
        source=JobSource.REPLAY, format=original.format, activity_type=original.activity_type,
        create_missing_persons=original.create_missing_persons, created_by=actor.id, replay_of=original.id,
    )
    async with new_job(resources, spec) as draft:
        conn = draft.conn
        draft.header = await jobs_repo.header(conn, original.id)
        async for row in rejections_repo.pending(conn, original.id):
            data = row["record"].encode()
            draft.total_bytes += len(data)
            await draft.add(RawRow(row["row_number"], data))
        if draft.rows == 0:
            raise DomainError.of(ErrorCode.INVALID_STATE, "The job has no rejected rows left to replay.", "jobId")
        await rejections_repo.mark_replayed(conn, original.id, draft.id)
    return await created_job(resources, draft)
