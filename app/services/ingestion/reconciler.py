"""Re-enqueue every unfinished job Postgres knows whenever Redis lost it or its worker died.

Postgres is the source of truth; Redis only carries job ids. Run at worker start-up and periodically:
- an upload still `receiving` with no change for upload_stall_seconds lost its uploader: it is ended as
  UPLOAD_INTERRUPTED (its committed chunks are processed, then it is FAILED); one still receiving is not;
- a QUEUED job whose arq job is missing (Redis flushed or restarted, enqueue failed) is enqueued again,
  and so is one a worker took from the queue a minute ago without ever claiming it (it died in between);
- a RUNNING job whose advisory lock is free has no live worker (a worker holds the lock for the whole
  run on its connection, and Postgres drops it when the worker dies). It is enqueued under a fresh arq id
  (`ingest:<id>:<attempt>`) because arq keeps a killed job's in-progress key until its timeout expires.
Enqueueing an extra copy is harmless: a run that cannot take the job's lock returns at once.
"""

from __future__ import annotations

import logging
import uuid

from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import Job
from arq.jobs import JobStatus as ArqStatus

from app.db.ingestion_repo import jobs as jobs_repo
from app.db.raw_pool import Connection
from app.services.ingestion.process import lock_key
from app.services.queue import JobName, deserialize
from app.services.runtime import Resources

logger = logging.getLogger(__name__)

WAITING = (ArqStatus.queued, ArqStatus.deferred)
STALE_QUEUED_SECONDS = 60.0  # a worker claims a job within milliseconds of taking it from the queue


# An upload with nothing new for upload_stall_seconds lost its uploader (API process or connection died).
STALLED_MESSAGE = (
    "The upload stopped: nothing arrived for %s s after %s rows (its connection or API process died); those rows "
    "are processed and kept, the rest never arrived. To import the rest, send the same file again as a new job "
    "with resumeFrom: %s (activities import FILE --resume-from %s)."
)


async def reconcile(resources: Resources) -> int:
    """Fail stalled uploads, enqueue what needs it; returns how many jobs were (re-)enqueued."""
    async with resources.db.raw() as conn:
        await fail_stalled_uploads(conn, resources.settings.upload_stall_seconds)
        jobs = await jobs_repo.unfinished(conn, STALE_QUEUED_SECONDS)
        orphaned: list[tuple[uuid.UUID, int]] = []
        queued: list[tuple[uuid.UUID, bool]] = []
        for job in jobs:
            if job["status"] == "QUEUED":
                queued.append((job["id"], job["stale"]))
            elif await lock_is_free(conn, job["id"]):
                orphaned.append((job["id"], job["attempts"]))
    count = 0
    for job_id, stale in queued:
        arq_id = f"ingest:{job_id}"
        if stale and await arq_status(resources, arq_id) is ArqStatus.in_progress:
            # Picked up long ago but never claimed: its worker died before starting it.
            arq_id = f"ingest:{job_id}:unclaimed"
        count += await ensure_enqueued(resources, JobName.INGEST, job_id, arq_id)
    for job_id, attempts in orphaned:
        if await arq_status(resources, f"ingest:{job_id}") in WAITING:
            continue  # an arq retry is already scheduled
        count += await ensure_enqueued(resources, JobName.INGEST, job_id, f"ingest:{job_id}:{attempts}")
    if count:
        logger.info("reconciler enqueued %d ingestion job(s)", count)
    return count


async def fail_stalled_uploads(conn: Connection, stall_seconds: float) -> list[uuid.UUID]:
    """End `receiving` with UPLOAD_INTERRUPTED for uploads without a new chunk (or any other change) for
    `stall_seconds`; their worker (woken by NOTIFY, or the one enqueued below) processes the chunks committed
    before and ends the job FAILED. A job still receiving chunks, or still being processed, bumps updated_at
    and is left alone."""
    stalled = await jobs_repo.end_stalled_uploads(conn, float(stall_seconds), STALLED_MESSAGE)
    for job_id in stalled:
        await jobs_repo.notify(conn, job_id)
    if stalled:
        logger.warning("reconciler: %d upload(s) stalled for %ss, ended as interrupted", len(stalled), stall_seconds)
    return stalled


async def lock_is_free(conn: Connection, job_id: uuid.UUID) -> bool:
    """No live worker holds the job's advisory lock (`process.lock_key`; export runs take the same kind)."""
    key = lock_key(job_id)
    if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
        return False
    await conn.execute("SELECT pg_advisory_unlock($1)", key)
    return True


async def arq_status(resources: Resources, arq_id: str) -> ArqStatus:
    job = Job(arq_id, resources.queue, _queue_name=resources.settings.arq_queue_name, _deserializer=deserialize)
    status: ArqStatus = await job.status()
    return status


async def ensure_enqueued(resources: Resources, name: JobName, job_id: uuid.UUID, arq_id: str) -> int:
    """Enqueue job `name` for `job_id` under `arq_id` unless that arq job is waiting or running; 1 if enqueued."""
    status = await arq_status(resources, arq_id)
    if status in (*WAITING, ArqStatus.in_progress):
        return 0
    if status is ArqStatus.complete:
        await resources.queue.delete(result_key_prefix + arq_id)  # a finished run of an unfinished job
    else:  # not in the queue: a job key left without its queue entry would make arq refuse the id
        await resources.queue.delete(job_key_prefix + arq_id)
    job = await resources.queue.enqueue_job(
        name, str(job_id), _job_id=arq_id, _queue_name=resources.settings.arq_queue_name)
    return 1 if job is not None else 0
