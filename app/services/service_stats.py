"""Figures the metrics endpoint reads on each scrape: ingestion job states, throughput, queue depth, pool use."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from app.domain.ingestion import JobStatus
from app.services.runtime import Resources


@dataclass(frozen=True, slots=True)
class ServiceStats:
    jobs_by_status: dict[str, int]
    running_rows_per_second: float  # summed over running jobs: rows processed since each started
    queue_depth: int
    connections_in_use: int
    connections_capacity: int


async def read_stats(resources: Resources) -> ServiceStats:
    async with resources.db.engine.connect() as conn:
        by_status = await conn.execute(text("SELECT status, count(*) FROM ingestion_job GROUP BY status"))
        counts: dict[str, int] = {str(status): int(count) for status, count in by_status.all()}
        rate = (await conn.execute(text(
            "SELECT coalesce(sum(processed_rows / greatest(extract(epoch FROM now() - started_at), 0.001)), 0) "
            "FROM ingestion_job WHERE status = 'RUNNING' AND started_at IS NOT NULL"
        ))).scalar_one()
    depth = await resources.queue.zcard(resources.settings.arq_queue_name)
    return ServiceStats(
        jobs_by_status={status.value: int(counts.get(status.value, 0)) for status in JobStatus},
        running_rows_per_second=float(rate),
        queue_depth=int(depth),
        connections_in_use=resources.db.connections_in_use(),
        connections_capacity=resources.db.pool_capacity,
    )
