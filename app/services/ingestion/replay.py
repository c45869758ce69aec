"""replayRejections: re-ingest a finished job's rejected rows against the types' current versions."""

from __future__ import annotations

import uuid

from app.domain.access import Principal
from app.domain.errors import DomainError, ErrorCode
from app.domain.ingestion import IngestionJob, JobSource, RawRow
from app.services.ingestion.jobs import check_owner, get_job
from app.services.ingestion.submit import JobSpec, created_job, new_job
from app.services.runtime import Resources

# Rows whose stored record is not the original bytes (cut or re-encoded) cannot be replayed.
NOT_REPLAYABLE = ["ROW_TOO_LARGE", "INVALID_ENCODING"]
PENDING = "job_id = $1 AND replayed_by IS NULL AND NOT (code = ANY($2::text[]))"


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
        header = await conn.fetchval("SELECT header FROM ingestion_job WHERE id = $1", original.id)
        draft.header = list(header) if header else None
        async for row in conn.cursor(
            f"SELECT row_number, record FROM ingestion_rejection WHERE {PENDING} ORDER BY row_number",
            original.id, NOT_REPLAYABLE, prefetch=1000,
        ):
            data = row["record"].encode()
            draft.total_bytes += len(data)
            await draft.add(RawRow(row["row_number"], data))
        if draft.rows == 0:
            raise DomainError.of(ErrorCode.INVALID_STATE, "The job has no rejected rows left to replay.", "jobId")
        await conn.execute(f"UPDATE ingestion_rejection SET replayed_by = $3 WHERE {PENDING}",
                           original.id, NOT_REPLAYABLE, draft.id)
    return await created_job(resources, draft)
