"""arq adapters for exports: run one export job, reconcile export jobs and files."""

from __future__ import annotations

import uuid

from app.services.exports import reconciler, run
from workers.context import WorkerContext
from workers.ingest import TraceCarrier, reconcile_safely, run_or_retry

MAX_TRIES = 12


async def export(ctx: WorkerContext, job_id: str, trace: TraceCarrier = None) -> str:
    """Run one export; transient database/Redis failures retry with backoff (the file starts over)."""
    resources, job = ctx["resources"], uuid.UUID(job_id)
    return await run_or_retry(ctx, "export", job_id, lambda: run.run_export(resources, job),
                              lambda reason: run.fail(resources, job, reason), trace)


async def reconcile_exports(ctx: WorkerContext) -> int:
    """Cron and start-up: re-enqueue exports Redis lost or whose worker died; remove expired files."""
    return await reconcile_safely("export reconciler", lambda: reconciler.reconcile(ctx["resources"]))
