"""Ingestion through the services and an in-process worker: write, dedup, conflicts, persons, dry run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from app.domain.ingestion import JobSource, JobStatus, SourceFormat
from app.services.ingestion.jobs import get_job
from app.services.ingestion.submit import JobSpec, submit_objects
from app.services.runtime import Resources
from tests.ingestion_support import approved_type, deposit

Worker = Callable[[], Awaitable[int]]
INLINE = JobSpec(source=JobSource.INLINE, format=SourceFormat.JSONL, create_missing_persons=True)


async def count(resources: Resources, sql: str = "SELECT count(*) FROM activity") -> int:
    async with resources.db.raw() as conn:
        return int(await conn.fetchval(sql))


async def test_inline_batch_is_written_with_counts(resources: Resources, run_worker: Worker) -> None:
    await approved_type(resources)
    job = await submit_objects(resources, INLINE, [deposit(key=f"k{i}", email=f"p{i % 3}@x.io") for i in range(10)])
    assert job.status is JobStatus.QUEUED and job.counts.total == 10
    await run_worker()
    done = await get_job(resources, job.id)
    assert done is not None and done.status is JobStatus.SUCCEEDED
    assert (done.counts.processed, done.counts.accepted, done.counts.rejected, done.counts.duplicates) == (10, 10, 0, 0)
    assert await count(resources) == 10
    assert await count(resources, "SELECT count(*) FROM person") == 3
    assert await count(resources, "SELECT count(*) FROM ingestion_chunk") == 0
