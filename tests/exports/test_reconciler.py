"""The export reconciler on queued jobs: Redis lost the arq job, or a worker took it and died before its claim."""

from __future__ import annotations

from arq.constants import in_progress_key_prefix

from app.domain.access import Principal
from app.domain.exports import Compression, ExportFormat, ExportKind, ExportSpec
from app.services.exports import jobs
from app.services.exports.reconciler import ARQ_IN_PROGRESS_EXTRA_SECONDS, CLAIM_GRACE_SECONDS, reconcile
from app.services.ingestion.process import lock_key
from app.services.runtime import Resources

SPEC = ExportSpec(ExportKind.ACTIVITIES, None, ExportFormat.JSONL, Compression.NONE)


async def _queued(resources: Resources, arq_id: str) -> bool:
    return await resources.queue.zscore(resources.settings.arq_queue_name, arq_id) is not None


async def test_a_queued_export_redis_lost_is_enqueued_again(resources: Resources) -> None:
    job = await jobs.create(resources, Principal.local_admin(), SPEC)
    assert await reconcile(resources) == 0  # waiting in arq's queue: nothing to do
    await resources.queue.delete(resources.settings.arq_queue_name, f"arq:job:export:{job.id}")
    assert await reconcile(resources) == 1
    assert await _queued(resources, f"export:{job.id}")
    assert await reconcile(resources) == 0


async def test_a_queued_export_taken_by_a_worker_that_never_claimed_it_is_rescued(resources: Resources) -> None:
    job = await jobs.create(resources, Principal.local_admin(), SPEC)
    in_progress = in_progress_key_prefix + f"export:{job.id}"
    full_ms = (resources.settings.job_timeout_seconds + ARQ_IN_PROGRESS_EXTRA_SECONDS) * 1000
    await resources.queue.psetex(in_progress, full_ms, b"1")  # as arq marks a job it hands to a worker
    assert await reconcile(resources) == 0  # just taken: its worker may be about to claim it
    await resources.queue.pexpire(in_progress, full_ms - int(CLAIM_GRACE_SECONDS * 1000) - 1000)
    async with resources.db.raw() as holder:  # a live worker took the job's lock: it is claiming it now
        await holder.execute("SELECT pg_advisory_lock($1)", lock_key(job.id))
        assert await reconcile(resources) == 0
        await holder.execute("SELECT pg_advisory_unlock($1)", lock_key(job.id))
    assert await reconcile(resources) == 1  # taken long enough ago, never claimed: its worker died
    assert await _queued(resources, f"export:{job.id}:unclaimed1")
    assert await reconcile(resources) == 0
    await resources.queue.psetex(in_progress_key_prefix + f"export:{job.id}:unclaimed1", 1000, b"1")  # died too
    assert await reconcile(resources) == 1
    assert await _queued(resources, f"export:{job.id}:unclaimed2")
