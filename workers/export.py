"""arq adapters for exports: run one export job, reconcile export jobs and files."""

from __future__ import annotations

import logging
import uuid

from arq import Retry

from app.logs import job_id_var
from app.services.exports import reconciler, run
from workers.context import WorkerContext
from workers.ingest import backoff, is_transient

logger = logging.getLogger(__name__)

MAX_TRIES = 12


async def export(ctx: WorkerContext, job_id: str) -> str:
    """Run one export; transient database/Redis failures retry with backoff (the file starts over)."""
    job_id_var.set(job_id)
    resources = ctx["resources"]
    try:
        return await run.run_export(resources, uuid.UUID(job_id))
    except Exception as exc:
        if is_transient(exc):
            delay = backoff(ctx.get("job_try", 1))
            logger.warning("export job %s: transient error (%s); retrying in %.0fs", job_id, exc, delay)
            raise Retry(defer=delay) from exc
        logger.exception("export job %s failed", job_id)
        await run.fail(resources, uuid.UUID(job_id), f"internal error: {type(exc).__name__}")
        raise


async def reconcile_exports(ctx: WorkerContext) -> int:
    """Cron and start-up: re-enqueue exports Redis lost or whose worker died; remove expired files."""
    try:
        return await reconciler.reconcile(ctx["resources"])
    except Exception as exc:
        if is_transient(exc):
            logger.warning("export reconciler: stores unavailable (%s); next run will retry", exc)
            return 0
        raise
