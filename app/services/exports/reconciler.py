"""Keep exports moving and files tidy: re-enqueue jobs Redis lost or whose worker died, remove expired files.

Run by the worker's cron beside the ingestion reconciler. A RUNNING export whose advisory lock is free has no
live worker; it is enqueued under a fresh arq id (`export:<id>:<attempt>`) and its next attempt starts the
file over. Expired files are marked EXPIRED (downloads answer 410) before they are removed.
"""

from __future__ import annotations

import logging

from app.db import export_repo
from app.services.exports.jobs import remove_expired
from app.services.ingestion.reconciler import WAITING, arq_status, ensure_enqueued, lock_is_free
from app.services.queue import JobName
from app.services.runtime import Resources

logger = logging.getLogger(__name__)


async def reconcile(resources: Resources) -> int:
    """Remove expired files, (re-)enqueue what needs it; returns how many jobs were enqueued."""
    expired = await remove_expired(resources)
    if expired:
        logger.info("reconciler removed %d expired export file(s)", expired)
    async with resources.db.raw() as conn:
        queued, orphaned = [], []
        for job in await export_repo.unfinished(conn):
            if job["status"] == "QUEUED":
                queued.append(job["id"])
            elif await lock_is_free(conn, job["id"]):
                orphaned.append((job["id"], job["attempts"]))
    count = 0
    for job_id in queued:
        count += await ensure_enqueued(resources, JobName.EXPORT, job_id, f"export:{job_id}")
    for job_id, attempts in orphaned:
        if await arq_status(resources, f"export:{job_id}") in WAITING:
            continue  # an arq retry is already scheduled
        count += await ensure_enqueued(resources, JobName.EXPORT, job_id, f"export:{job_id}:{attempts}")
    if count:
        logger.info("reconciler enqueued %d export job(s)", count)
    return count
