"""Job functions registered with arq; each is a thin adapter calling app.services."""

from __future__ import annotations

from app.logs import job_id_var
from app.services import health
from workers.context import WorkerContext


async def ping(ctx: WorkerContext, token: str) -> dict[str, str | bool]:
    """Round trip used by readiness checks and tests: proves a worker runs and reaches Postgres."""
    job_id_var.set(ctx.get("job_id"))
    return await health.ping(ctx["resources"], token)
