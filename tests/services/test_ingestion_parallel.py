"""Chunks of one job in flight at once (lanes of one run, a lead and a helper run): new persons, idempotency
keys and cancellation across them, with exact counts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest

from app.domain.access import Principal
from app.domain.ingestion import JobSource, JobStatus, SourceFormat
from app.services.ingestion import chunk_work, prepare, process
from app.services.ingestion.jobs import cancel_job, get_job
from app.services.ingestion.progress import activity_channel
from app.services.ingestion.submit import JobSpec, submit_objects
from app.services.ingestion.upload import import_file
from app.services.runtime import Resources
from app.settings import Ingestion
from tests.conftest import eventually
from tests.ingestion_support import approved_type, deposit
from tests.services.test_ingestion_receiving import Paused, only_job_id
from tests.upload_readers import SteppedReader, deposit_lines

SPEC = JobSpec(source=JobSource.INLINE, format=SourceFormat.JSONL, create_missing_persons=True)
UPLOAD = JobSpec(source=JobSource.UPLOAD, format=SourceFormat.JSONL, create_missing_persons=True)


def tuned(resources: Resources, *, chunk_rows: int, lanes: int = 2, helpers: bool = False) -> Resources:
    limits = resources.settings.limits.model_copy(update={"chunk_rows": chunk_rows, "max_inline_activities": 5000})
    ingestion = Ingestion(lanes=lanes, workers_per_job=2 if helpers else 1)
    settings = resources.settings.model_copy(update={"limits": limits, "ingestion": ingestion})
    return Resources(settings=settings, db=resources.db, queue=resources.queue)


@pytest.fixture
def together(monkeypatch: pytest.MonkeyPatch) -> Iterator[asyncio.Barrier]:
    """Holds each prepared chunk until two are prepared: both are claimed and in flight when they write."""
    barrier = asyncio.Barrier(2)
    original = prepare.prepare_chunk_stepwise

    async def held(*args: Any) -> Any:
        prepared = await original(*args)
        await asyncio.wait_for(barrier.wait(), timeout=20)
        return prepared

    monkeypatch.setattr(chunk_work, "prepare_chunk_stepwise", held)
    yield barrier


async def fetch(resources: Resources, sql: str, *args: Any) -> Any:
    async with resources.db.raw() as conn:
        return await conn.fetchval(sql, *args)


# Both paths of the writer: jobs of up to 1,000 rows insert with ON CONFLICT (and publish live), larger ones COPY.
PATHS = pytest.mark.parametrize("rows_per_chunk", [1, 600], ids=["on-conflict", "copy"])


def two_chunks(rows_per_chunk: int, first: dict[str, Any], second: dict[str, Any]) -> list[dict[str, Any]]:
    """`first` opens chunk 0 and `second` chunk 1; the other rows have persons and keys of their own."""
    filler = rows_per_chunk - 1
    return ([first] + [deposit(email=f"a{i}@x.io", key=f"a{i}") for i in range(filler)]
            + [second] + [deposit(email=f"b{i}@x.io", key=f"b{i}") for i in range(filler)])


@PATHS
async def test_two_chunks_in_flight_create_one_new_person(
    resources: Resources, together: asyncio.Barrier, rows_per_chunk: int
) -> None:
    await approved_type(resources)
    small = tuned(resources, chunk_rows=rows_per_chunk)
    rows = two_chunks(rows_per_chunk, deposit(email="New@x.io", key="n1"), deposit(email="new@X.io", key="n2"))
    job = await submit_objects(small, SPEC, rows)
    assert await process.run_job(small, job.id) == "SUCCEEDED"
    done = await get_job(resources, job.id)
    assert done is not None and (done.counts.processed, done.counts.accepted) == (len(rows), len(rows))
    person = await fetch(resources, "SELECT person_id FROM person_email WHERE email = 'new@x.io'")
    assert await fetch(resources, "SELECT count(*) FROM activity WHERE job_id = $1 AND person_id = $2",
                       job.id, person) == 2
    assert await fetch(resources, "SELECT count(*) FROM person WHERE id = $1", person) == 1


@PATHS
@pytest.mark.parametrize("same_payload", [True, False], ids=["duplicate", "conflict"])
async def test_one_key_in_two_chunks_in_flight_is_stored_once(
    resources: Resources, together: asyncio.Barrier, rows_per_chunk: int, same_payload: bool
) -> None:
    await approved_type(resources)
    small = tuned(resources, chunk_rows=rows_per_chunk)
    rows = two_chunks(rows_per_chunk, deposit(email="k@x.io", key="same", amount=1),
                      deposit(email="k@x.io", key="same", amount=1 if same_payload else 2))
    job = await submit_objects(small, SPEC, rows)
    expected = "SUCCEEDED" if same_payload else "COMPLETED_WITH_ERRORS"
    assert await process.run_job(small, job.id) == expected
    done = await get_job(resources, job.id)
    assert done is not None
    counts = done.counts
    assert (counts.processed, counts.accepted) == (len(rows), len(rows) - 1)
    assert (counts.duplicates, counts.rejected) == ((1, 0) if same_payload else (0, 1))
    assert await fetch(resources, "SELECT count(*) FROM activity WHERE idempotency_key = 'same'") == 1
    if not same_payload:
        assert await fetch(resources, "SELECT code FROM ingestion_rejection WHERE job_id = $1", job.id) == "CONFLICT"


@asynccontextmanager
async def lead_and_helper(resources: Resources, job_id: uuid.UUID) -> AsyncIterator[list[asyncio.Task[str]]]:
    """The lead run and, once the job is RUNNING, a helper run, as two tasks of this process."""
    lead = asyncio.create_task(process.run_job(resources, job_id))

    async def running() -> bool:
        return bool(await fetch(resources, "SELECT status FROM ingestion_job WHERE id = $1", job_id) == "RUNNING")

    await eventually(running, timeout=20, interval=0.01)
    helper = asyncio.create_task(process.run_helper(resources, job_id))
    try:
        yield [lead, helper]
    finally:
        for task in (lead, helper):
            task.cancel()
        await asyncio.gather(lead, helper, return_exceptions=True)


async def test_a_lead_and_a_helper_share_a_job_exactly(resources: Resources) -> None:
    await approved_type(resources)
    small = tuned(resources, chunk_rows=50, helpers=True)
    rows = [deposit(email=f"p{i % 1900 % 40}@x.io", key=f"k{i % 1900}", amount=i % 1900) for i in range(2000)]
    job = await submit_objects(small, SPEC, rows)
    async with lead_and_helper(small, job.id) as (lead, helper):
        assert await asyncio.wait_for(lead, timeout=30) == "SUCCEEDED"
        assert await asyncio.wait_for(helper, timeout=30) in ("SUCCEEDED", "helped", "skipped")
    done = await get_job(resources, job.id)
    assert done is not None
    assert (done.counts.processed, done.counts.accepted, done.counts.duplicates) == (2000, 1900, 100)
    assert await fetch(resources, "SELECT count(*) FROM activity WHERE job_id = $1", job.id) == 1900
    assert await fetch(resources, "SELECT count(*) FROM ingestion_chunk WHERE job_id = $1", job.id) == 0


async def test_cancel_while_a_lead_and_a_helper_run_keeps_exactly_what_was_counted(resources: Resources) -> None:
    await approved_type(resources)
    small = tuned(resources, chunk_rows=20, helpers=True)
    job = await submit_objects(small, SPEC, [deposit(email=f"p{i % 30}@x.io", key=f"c{i}") for i in range(3000)])
    async with lead_and_helper(small, job.id) as (lead, helper):
        async def some_done() -> bool:
            return bool(await fetch(resources, "SELECT processed_rows FROM ingestion_job WHERE id = $1", job.id))

        await eventually(some_done, timeout=20, interval=0.005)
        await cancel_job(resources, Principal.local_admin(), job.id)
        assert await asyncio.wait_for(lead, timeout=30) == "CANCELLED"
        assert await asyncio.wait_for(helper, timeout=30) in ("CANCELLED", "helped")
    done = await get_job(resources, job.id)
    assert done is not None and done.status is JobStatus.CANCELLED
    assert 0 < done.counts.processed < 3000 and done.counts.accepted == done.counts.processed
    assert await fetch(resources, "SELECT count(*) FROM activity WHERE job_id = $1", job.id) == done.counts.accepted
    assert await fetch(resources, "SELECT count(*) FROM ingestion_chunk WHERE job_id = $1", job.id) == 0


async def test_a_lead_and_a_helper_both_wait_for_the_rest_of_an_upload(resources: Resources) -> None:
    await approved_type(resources)
    small = tuned(resources, chunk_rows=10, helpers=True)
    data = b"".join(deposit_lines(400))
    paused = Paused()
    upload = asyncio.create_task(import_file(small, UPLOAD, SteppedReader(data, pause_at=len(data) // 2,
                                                                            gate=paused.gate)))
    await asyncio.wait_for(paused.held.wait(), timeout=20)
    job_id = await only_job_id(resources)
    async with lead_and_helper(small, job_id) as (lead, helper):
        async def caught_up() -> bool:
            job = await get_job(resources, job_id)
            return job is not None and job.counts.processed == job.counts.total > 0

        await eventually(caught_up, timeout=20)
        assert not lead.done() and not helper.done()  # both wait for more chunks instead of ending the job
        paused.release.set()
        await upload
        assert await asyncio.wait_for(lead, timeout=20) == "SUCCEEDED"
        assert await asyncio.wait_for(helper, timeout=20) in ("SUCCEEDED", "helped")
    done = await get_job(resources, job_id)
    assert done is not None and (done.counts.total, done.counts.accepted, done.counts.duplicates) == (400, 400, 0)
    assert await fetch(resources, "SELECT count(*) FROM activity WHERE job_id = $1", job_id) == 400


async def test_two_lanes_publish_each_stored_activity_once(resources: Resources, together: asyncio.Barrier) -> None:
    await approved_type(resources)
    small = tuned(resources, chunk_rows=3)  # a job of up to 1,000 rows publishes what it stores
    rows = two_chunks(3, deposit(email="k@x.io", key="same"), deposit(email="k@x.io", key="same"))
    job = await submit_objects(small, SPEC, rows)
    pubsub = resources.queue.pubsub()
    await pubsub.subscribe(activity_channel(resources))
    try:
        confirmed = await pubsub.get_message(timeout=5.0)
        assert confirmed is not None and confirmed["type"] == "subscribe"
        assert await process.run_job(small, job.id) == "SUCCEEDED"
        published: list[int] = []
        while (message := await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)) is not None:
            published += [a["id"] for a in orjson.loads(message["data"])]
    finally:
        await pubsub.unsubscribe()
        await pubsub.aclose()  # type: ignore[no-untyped-call]
    async with resources.db.raw() as conn:
        stored = [r[0] for r in await conn.fetch("SELECT id FROM activity WHERE job_id = $1", job.id)]
    assert len(stored) == 5 and sorted(published) == sorted(stored)  # the duplicate row is not published
