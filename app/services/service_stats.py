"""Figures the metrics endpoint reads on each scrape: ingestion job states, throughput, queue depth, pool use."""

from __future__ import annotations

from dataclasses import dataclass

from app.db.ingestion_repo import in_session
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
        counts = await in_session.status_counts(conn)
        rate = await in_session.running_rows_per_second(conn)
    depth = await resources.queue.zcard(resources.settings.arq_queue_name)
    return ServiceStats(
        jobs_by_status={status.value: int(counts.get(status.value, 0)) for status in JobStatus},
        running_rows_per_second=float(rate),
        queue_depth=int(depth),
        connections_in_use=resources.db.connections_in_use(),
        connections_capacity=resources.db.pool_capacity,
    )
