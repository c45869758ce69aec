"""A small batch recorded synchronously: one job, prepared and written in one transaction in the caller."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from app.db.ingestion_repo import jobs as jobs_repo
from app.domain.errors import ErrorCode, Issue
from app.domain.ingestion import ChunkTally, IngestionJob, JobCounts, JobStatus, RawRow, encode_chunk
from app.services.ingestion import progress
from app.services.ingestion.chunk_work import write_chunk
from app.services.ingestion.jobs import get_job, list_rejections
from app.services.ingestion.prepare import JobContext, prepare_chunk_stepwise
from app.services.ingestion.process import LIVE_PUBLISH_MAX_ROWS, run_job
from app.services.ingestion.submit import JobSpec, object_row, payload_digest_part, submit_objects
from app.services.ingestion.writer import STAGE_DDL, TypesChanged
from app.services.quotas import ingestion_limit_exceeded
from app.services.registry import cached_live_types
from app.services.runtime import Resources
from app.services.transient import is_transient

logger = logging.getLogger(__name__)

WAIT_SECONDS = 90.0  # Marketo's own timeout for adding custom activities
ATTEMPTS = 3  # a type approved between validation and write (TypesChanged) is validated again
TRANSIENT_ATTEMPTS = 4  # a transaction rolled back by a transient failure (deadlock, lost connection) runs again
TRANSIENT_DELAY_SECONDS = 0.05  # before the second attempt; doubled for each next one


@dataclass(frozen=True, slots=True)
class InlineOutcome:
    """The finished job and the issues of each rejected row (row numbers from 1, in the order sent)."""

    job: IngestionJob
    rejected: dict[int, tuple[Issue, ...]]


async def record_now(resources: Resources, spec: JobSpec, activities: Sequence[dict[str, Any]]) -> InlineOutcome:
    """Record the batch as an INLINE job and return it ended, with the issues of each rejected row.

    Without an idempotency key the job row, its activities, its rejections and its end are one transaction: the
    job is never seen unfinished and no worker takes part, so nothing is queued and no chunk is stored (a crash
    rolls all of it back and the caller, who got no answer, sends it again). A bad row is rejected alone and kept
    for replay like any job's. With a key, the job is submitted (the key's job may exist) and processed here."""
    if spec.idempotency_key is not None:
        return await _submitted(resources, spec, activities)
    rows, digest, total_bytes = _rows(resources, activities)
    changed = failed = 0
    while True:
        commit = _Commit()
        try:
            job, inserted = await _one_transaction(resources, spec, rows, digest, total_bytes, commit)
            break
        except TypesChanged:
            changed += 1
            if changed == ATTEMPTS:
                raise
            logger.info("activity types changed while an inline batch was written; validating it again")
        except Exception as exc:
            # Only a transaction known to be rolled back runs again: a failure once COMMIT was sent may have
            # committed, and the batch has no key to find out by (the caller gets the error and decides).
            failed += 1
            if commit.sent or failed == TRANSIENT_ATTEMPTS or not is_transient(exc):
                raise
            logger.info("an inline batch was rolled back (%s); writing it again", exc)
            await asyncio.sleep(TRANSIENT_DELAY_SECONDS * 2 ** (failed - 1))
    if inserted:
        await progress.publish_activities(resources, inserted)
    return await _outcome(resources, job, len(activities))


def _rows(resources: Resources, activities: Sequence[dict[str, Any]]) -> tuple[list[RawRow], str, int]:
    """Each activity as a JSONL row numbered from 1 (one over maxRowBytes kept as a prefix: ROW_TOO_LARGE), the
    payload digest as submit_objects computes it, and the payload's size."""
    max_row_bytes = resources.settings.limits.max_row_bytes
    digest = hashlib.sha256()
    rows: list[RawRow] = []
    total = 0
    for number, activity in enumerate(activities, start=1):
        data = orjson.dumps(activity)
        digest.update(payload_digest_part(data))
        total += len(data)
        rows.append(object_row(number, data, max_row_bytes))
    return rows, digest.hexdigest(), total


@dataclass(slots=True)
class _Commit:
    sent: bool = False  # the transaction's COMMIT was sent: its outcome is unknown if the connection fails now


async def _one_transaction(
    resources: Resources, spec: JobSpec, rows: list[RawRow], digest: str, total_bytes: int, commit: _Commit
) -> tuple[IngestionJob, list[Any]]:
    job_id = uuid.uuid4()
    live = not spec.dry_run and len(rows) <= LIVE_PUBLISH_MAX_ROWS and await progress.has_listeners(resources)
    async with resources.db.raw() as conn:
        types, names = await cached_live_types(resources, conn)
        ctx = JobContext(id=job_id, format=spec.format, activity_type=spec.activity_type, header=None,
                         dry_run=spec.dry_run, create_missing_persons=spec.create_missing_persons, live=live,
                         types=types, known_names=names, max_row_bytes=resources.settings.limits.max_row_bytes,
                         distributed=await resources.db.distributed())
        prepared = await prepare_chunk_stepwise(ctx, encode_chunk(rows))
        async with conn.transaction():
            if not await jobs_repo.insert_inline(
                conn, job_id, format=spec.format, activity_type=spec.activity_type, dry_run=spec.dry_run,
                create_missing_persons=spec.create_missing_persons, created_by=spec.created_by, rows=len(rows),
                total_bytes=total_bytes, sha256=digest, cap=resources.settings.ingestion_concurrency_per_key,
            ):
                raise ingestion_limit_exceeded(resources.settings.ingestion_concurrency_per_key)
            # The staging table serves live rows and rows with idempotency keys (a concurrent insert of the same
            # key falls back to it); a batch with neither goes straight to COPY.
            if live or any(c[7] is not None for c in prepared.candidates):
                await conn.execute(STAGE_DDL)
            tally = ChunkTally()
            inserted = await write_chunk(conn, ctx, prepared, tally)
            counts = JobCounts(len(rows), tally.processed, tally.accepted, tally.rejected, tally.duplicates)
            mismatch = counts.mismatch()
            if mismatch is not None:
                logger.error("ingestion job %s: %s", job_id, mismatch)
            job = await jobs_repo.finish_inline(conn, job_id, counts.final_status(), tally, mismatch)
            commit.sent = True  # leaving the block sends COMMIT
    return job, inserted


async def _submitted(resources: Resources, spec: JobSpec, activities: Sequence[dict[str, Any]]) -> InlineOutcome:
    """Submit the batch as a job and process it here (a worker that picks it up finds it done or locked)."""
    job = await submit_objects(resources, spec, activities)
    await run_job(resources, job.id)
    deadline = time.monotonic() + WAIT_SECONDS
    current: IngestionJob | None = await get_job(resources, job.id)
    while current is not None and not current.status.is_terminal:
        # A worker took it first (run_job answered "busy"): wait for that worker to finish it.
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
        current = await get_job(resources, job.id)
    assert current is not None
    return await _outcome(resources, current, len(activities))


async def _outcome(resources: Resources, job: IngestionJob, sent: int) -> InlineOutcome:
    rejected: dict[int, tuple[Issue, ...]] = {}
    after: int | None = None
    while job.counts.rejected:
        page = await list_rejections(resources, job.id, limit=1000, after_row=after)
        rejected.update((r.row_number, r.issues) for r in page)
        if len(page) < 1000:
            break
        after = page[-1].row_number
    if job.status not in (JobStatus.SUCCEEDED, JobStatus.COMPLETED_WITH_ERRORS):
        reason = Issue(ErrorCode.INVALID_STATE, None, f"The job ended {job.status.value}: {job.error or ''}")
        for row in range(1, sent + 1):
            rejected.setdefault(row, (reason,))
    return InlineOutcome(job, rejected)
