"""Keep exports moving and files tidy: re-enqueue jobs Redis lost or whose worker died, remove expired files.

Run by the worker's cron beside the ingestion reconciler. A RUNNING export whose advisory lock is free has no
live worker; it is enqueued under a fresh arq id (`export:<id>:<attempt>`) and its next attempt starts the
file over. A QUEUED export whose arq job is gone is enqueued again; one that a worker took from the queue but
never claimed (the worker died in between: arq keeps its in-progress key until the job timeout, an hour) is
enqueued under `export:<id>:unclaimed<n>` once CLAIM_GRACE_SECONDS have passed without its lock being taken.
Expired files are marked EXPIRED (downloads answer 410) before they are removed.
"""

from __future__ import annotations

import logging
import uuid

from arq.constants import in_progress_key_prefix
from arq.jobs import JobStatus as ArqStatus

from app.db import export_repo
from app.services.exports.jobs import remove_expired
from app.services.ingestion.reconciler import WAITING, arq_status, ensure_enqueued, lock_is_free
from app.services.queue import JobName
from app.services.runtime import Resources

logger = logging.getLogger(__name__)

# A live worker takes the job's advisory lock milliseconds after arq hands it the job; a job taken this long ago
# whose lock is free lost its worker. A slow live worker only costs an extra run that finds the lock taken.
CLAIM_GRACE_SECONDS = 5.0
MAX_RESCUES = 5  # unclaimed ids tried per job (each a worker that died before claiming); then arq's own timeout
ARQ_IN_PROGRESS_EXTRA_SECONDS = 10  # arq sets the in-progress key's TTL to the longest job timeout + 10 s


async def reconcile(resources: Resources) -> int:
    """Remove expired files, (re-)enqueue what needs it; returns how many jobs were enqueued."""
    expired = await remove_expired(resources)
    if expired:
        logger.info("reconciler removed %d expired export file(s)", expired)
    count = 0
    async with resources.db.raw() as conn:
        for job in await export_repo.unfinished(conn):
            job_id: uuid.UUID = job["id"]
            if job["status"] == "QUEUED":
                arq_id = await _queued_arq_id(resources, job_id)
                if arq_id is None:
                    continue
                if arq_id != f"export:{job_id}" and not await lock_is_free(conn, job_id):
                    continue  # a worker is claiming it right now (it takes the lock just before the claim)
                count += await ensure_enqueued(resources, JobName.EXPORT, job_id, arq_id)
            elif await lock_is_free(conn, job_id):
                if await arq_status(resources, f"export:{job_id}") in WAITING:
                    continue  # an arq retry is already scheduled
                count += await ensure_enqueued(resources, JobName.EXPORT, job_id, f"export:{job_id}:{job['attempts']}")
    if count:
        logger.info("reconciler enqueued %d export job(s)", count)
    return count


async def _queued_arq_id(resources: Resources, job_id: uuid.UUID) -> str | None:
    """The arq id a QUEUED job should be (re-)enqueued under, or None while a worker may still claim it.

    Its own id unless a worker took that from the queue more than CLAIM_GRACE_SECONDS ago; then the first
    `unclaimed<n>` id no worker took (or took too recently)."""
    arq_id = f"export:{job_id}"
    for rescue in range(1, MAX_RESCUES + 1):
        if await arq_status(resources, arq_id) is not ArqStatus.in_progress:
            return arq_id
        if await _taken_seconds_ago(resources, arq_id) < CLAIM_GRACE_SECONDS:
            return None
        arq_id = f"export:{job_id}:unclaimed{rescue}"
    return None


async def _taken_seconds_ago(resources: Resources, arq_id: str) -> float:
    """How long ago a worker took `arq_id` from the queue, from what is left of its in-progress key's TTL (a key
    without a TTL counts as taken long ago)."""
    left_ms: int = await resources.queue.pttl(in_progress_key_prefix + arq_id)
    if left_ms < 0:
        return float("inf")
    full = resources.settings.job_timeout_seconds + ARQ_IN_PROGRESS_EXTRA_SECONDS
    return full - left_ms / 1000
