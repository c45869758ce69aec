"""arq adapters for ingestion: run one job, reconcile the queue with Postgres."""

from __future__ import annotations

import gc
import logging
import uuid

from arq import Retry

from app.logs import job_id_var
from app.services.ingestion import process, reconciler
from app.services.transient import is_transient
from workers.context import WorkerContext

logger = logging.getLogger(__name__)

MAX_TRIES = 12


def backoff(job_try: int) -> float:
    """1, 2, 4, 8 s ... capped at 15 s."""
    return float(min(15, 2 ** max(0, job_try - 1)))


async def ingest(ctx: WorkerContext, job_id: str) -> str:
    """Run one ingestion job; transient database/Redis failures retry with backoff from the checkpoint."""
    job_id_var.set(job_id)
    resources = ctx["resources"]
    try:
        return await process.run_job(resources, uuid.UUID(job_id))
    except Exception as exc:
        if is_transient(exc):
            delay = backoff(ctx.get("job_try", 1))
            logger.warning("ingestion job %s: transient error (%s); retrying in %.0fs", job_id, exc, delay)
            raise Retry(defer=delay) from exc
        logger.exception("ingestion job %s failed", job_id)
        await process.fail_job(resources, uuid.UUID(job_id), f"internal error: {type(exc).__name__}")
        raise


async def reconcile(ctx: WorkerContext) -> int:
    """Cron and start-up: re-enqueue jobs Redis lost or whose worker died."""
    try:
        return await reconciler.reconcile(ctx["resources"])
    except Exception as exc:
        if is_transient(exc):
            logger.warning("reconciler: stores unavailable (%s); next run will retry", exc)
            return 0
        raise


def tune_gc() -> None:
    """Fewer cyclic-GC passes in the worker: a chunk allocates ~100k short-lived objects that reference
    counting frees (rows hold no cycles), yet each 700 allocations trigger a young-generation pass, and the
    oldest generation keeps re-scanning start-up objects (modules, compiled validators). Freezing those and
    raising the young threshold cut preparation CPU by ~20-25% in a micro-benchmark and the worker's CPU for
    a 100k-row import from 5.3-6.2 s to 3.8-5.6 s (A/B, same runs); cycles are still collected."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
