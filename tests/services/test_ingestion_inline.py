"""record_now: an inline batch as one transaction in the caller (the Marketo facade's external.json)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from app.domain.activities import Activity
from app.domain.errors import DomainError, ErrorCode
from app.domain.ingestion import JobSource, JobStatus, SourceFormat
from app.services.ingestion import progress
from app.services.ingestion.inline import record_now
from app.services.ingestion.jobs import get_job, list_jobs, list_rejections
from app.services.ingestion.submit import JobSpec
from app.services.runtime import Resources
from tests.ingestion_support import approved_type, deposit

Worker = Callable[[], Awaitable[int]]
SPEC = JobSpec(source=JobSource.INLINE, format=SourceFormat.JSONL, create_missing_persons=True, created_by="k1")


async def count(resources: Resources, sql: str) -> int:
    async with resources.db.raw() as conn:
        return int(await conn.fetchval(sql))


async def test_a_batch_ends_in_one_call_and_a_bad_row_is_kept_alone(resources: Resources, run_worker: Worker) -> None:
    await approved_type(resources)
    batch = [deposit(key=None, email="a@x.io"), deposit(key=None, amount="lots"), deposit(key="k", email="b@x.io")]
    outcome = await record_now(resources, SPEC, batch)
    job = outcome.job
    assert job.status is JobStatus.COMPLETED_WITH_ERRORS and job.source is JobSource.INLINE
    assert (job.counts.total, job.counts.processed, job.counts.accepted, job.counts.rejected) == (3, 3, 2, 1)
    assert job.started_at is not None and job.finished_at is not None and job.created_by == "k1"
    assert list(outcome.rejected) == [2] and outcome.rejected[2][0].field == "fields.amount"
    # Kept for replay like any job's rejection, with its record as sent.
    kept = await list_rejections(resources, job.id, limit=10, after_row=None)
    assert [r.row_number for r in kept] == [2] and b'"lots"' in kept[0].record.encode()
    assert await count(resources, "SELECT count(*) FROM activity") == 2
    # Nothing was queued or stored for a worker, and the job is listed like the others.
    assert await count(resources, "SELECT count(*) FROM ingestion_chunk") == 0
    assert await run_worker() == 0
    assert [j.id for j in await list_jobs(resources, limit=10, after=None, status=None)] == [job.id]
    assert await get_job(resources, job.id) == job


async def test_a_repeated_activity_key_is_a_duplicate(resources: Resources) -> None:
    await approved_type(resources)
    first = await record_now(resources, SPEC, [deposit(key="same")])
    again = await record_now(resources, SPEC, [deposit(key="same"), deposit(key="same", amount=7)])
    assert first.job.status is JobStatus.SUCCEEDED
    assert (again.job.counts.accepted, again.job.counts.duplicates, again.job.counts.rejected) == (0, 1, 1)
    assert again.rejected[2][0].code is ErrorCode.CONFLICT


async def test_the_key_cap_counts_unfinished_jobs(resources: Resources) -> None:
    await approved_type(resources)
    one_slot = Resources(settings=resources.settings.model_copy(update={"ingestion_concurrency_per_key": 1}),
                         db=resources.db, queue=resources.queue)
    await record_now(one_slot, SPEC, [deposit(key=None)])  # its own job is never counted: it ends in the call
    async with resources.db.raw() as conn:
        await conn.execute("INSERT INTO ingestion_job (id, source, format, status, created_by) "
                           "VALUES (gen_random_uuid(), 'INLINE', 'JSONL', 'QUEUED', 'k1')")
    with pytest.raises(DomainError) as refused:
        await record_now(one_slot, SPEC, [deposit(key=None)])
    assert refused.value.issues[0].code is ErrorCode.LIMIT_EXCEEDED
    assert await count(resources, "SELECT count(*) FROM ingestion_job") == 2  # nothing of the refused call


@contextlib.asynccontextmanager
async def listening(resources: Resources) -> AsyncIterator[asyncio.Queue[list[Activity]]]:
    seen: asyncio.Queue[list[Activity]] = asyncio.Queue()

    async def listen() -> None:
        async for batch in progress.activity_batches(resources):
            await seen.put(list(batch))

    task = asyncio.create_task(listen())
    try:
        for _ in range(200):  # until its SUBSCRIBE is in
            if await progress.has_listeners(resources):
                break
            await asyncio.sleep(0.01)
        yield seen
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_rows_are_published_only_while_someone_listens(resources: Resources) -> None:
    await approved_type(resources)
    assert not await progress.has_listeners(resources)
    await record_now(resources, SPEC, [deposit(key=None)])  # nobody listens: nothing is built or sent
    async with listening(resources) as seen:
        await record_now(resources, SPEC, [deposit(key=None, amount=3), deposit(key=None, amount=4)])
        batch = await asyncio.wait_for(seen.get(), 10)
    assert [a.fields["amount"] for a in batch] == [3, 4]
    assert seen.empty()


async def _waiting_for_lock(resources: Resources, exclude: set[int]) -> int:
    """The pid of the backend waiting for a lock on ingestion_job (the batch's first write), not in `exclude`."""
    for _ in range(500):
        async with resources.db.raw() as conn:
            pid = await conn.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database() "
                "AND query ILIKE '%ingestion_job%' AND NOT (pid = ANY($1::int[])) LIMIT 1", list(exclude))
        if pid is not None:
            return int(pid)
        await asyncio.sleep(0.02)
    raise AssertionError("the batch never waited for the lock")


async def test_a_batch_rolled_back_by_a_lost_connection_is_written_again_once(resources: Resources) -> None:
    await approved_type(resources)
    batch = [deposit(key=None, email="a@x.io"), deposit(key=None, email="b@x.io", amount=9)]
    call: asyncio.Task[Any] | None = None
    try:
        async with resources.db.raw() as holder:
            async with holder.transaction():
                await holder.execute("LOCK TABLE ingestion_job IN EXCLUSIVE MODE")  # the batch's INSERT waits
                call = asyncio.create_task(record_now(resources, SPEC, batch))
                first = await _waiting_for_lock(resources, set())
                # ::int: Citus adds an overload of pg_terminate_backend
                assert await holder.fetchval("SELECT pg_terminate_backend($1::int)", first)
                await _waiting_for_lock(resources, {first})  # the second attempt, on another connection
        outcome = await asyncio.wait_for(call, timeout=30)
    finally:
        if call is not None and not call.done():  # never leave it writing into the next test
            call.cancel()
            await asyncio.gather(call, return_exceptions=True)
    assert outcome.job.status is JobStatus.SUCCEEDED and outcome.job.counts.accepted == 2
    assert await count(resources, "SELECT count(*) FROM activity") == 2
    assert await count(resources, "SELECT count(*) FROM ingestion_job") == 1  # the first attempt left nothing

