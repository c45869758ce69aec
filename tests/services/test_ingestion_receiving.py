"""Uploads committed chunk by chunk: interrupted uploads keep their committed chunks, job keys and cancel
while receiving, and the reconciler on stalled receiving jobs."""

from __future__ import annotations

import asyncio
import gzip
import uuid
from collections.abc import Awaitable, Callable

import pytest

from app.domain.access import Principal
from app.domain.errors import DomainError, ErrorCode
from app.domain.ingestion import JobSource, JobStatus, SourceFormat
from app.services.ingestion import process
from app.services.ingestion.jobs import cancel_job, get_job
from app.services.ingestion.receive import UploadInterrupted
from app.services.ingestion.reconciler import reconcile
from app.services.ingestion.submit import JobSpec
from app.services.ingestion.upload import import_file
from app.services.runtime import Resources
from tests.conftest import eventually
from tests.ingestion_support import approved_type
from tests.upload_readers import SteppedReader, deposit_lines, with_chunk_rows

Worker = Callable[[], Awaitable[int]]
ADMIN = Principal.local_admin()
SPEC = JobSpec(source=JobSource.UPLOAD, format=SourceFormat.JSONL, create_missing_persons=True)


async def scalar(resources: Resources, sql: str, *args: object) -> int:
    async with resources.db.raw() as conn:
        return int(await conn.fetchval(sql, *args))


async def only_job_id(resources: Resources) -> uuid.UUID:
    async with resources.db.raw() as conn:
        job_id: uuid.UUID = await conn.fetchval("SELECT id FROM ingestion_job")
    return job_id


class Paused:
    """An upload held after its first chunks: `held` is set once it waits, `release` lets it go on."""

    def __init__(self) -> None:
        self.held, self.release = asyncio.Event(), asyncio.Event()

    async def gate(self) -> None:
        self.held.set()
        await asyncio.wait_for(self.release.wait(), timeout=60)


async def test_client_gone_after_the_first_chunks_keeps_them_and_the_job_fails(
    resources: Resources, run_worker: Worker
) -> None:
    await approved_type(resources)
    lines = deposit_lines(50)
    reader = SteppedReader(b"".join(lines), fail_at=len(b"".join(lines[:25])))  # 2 chunks of 10 committed
    with pytest.raises(UploadInterrupted) as stopped:
        await import_file(with_chunk_rows(resources, 10), SPEC, reader)
    job = stopped.value.job
    assert [i.code for i in stopped.value.issues] == [ErrorCode.UPLOAD_INTERRUPTED]
    assert not job.receiving and job.error_code is ErrorCode.UPLOAD_INTERRUPTED and job.counts.total == 20
    assert job.error is not None and "after 25 rows" in job.error and "the 20 rows" in job.error
    await run_worker()
    done = await get_job(resources, job.id)
    assert done is not None and done.status is JobStatus.FAILED and done.error == job.error
    assert (done.counts.processed, done.counts.accepted) == (20, 20)
    assert await scalar(resources, "SELECT count(*) FROM activity") == 20
    # Sending the whole file again as a new job stores the rest; the first 20 rows are duplicates.
    again = await import_file(with_chunk_rows(resources, 10), SPEC, SteppedReader(b"".join(lines)))
    await run_worker()
    redone = await get_job(resources, again.id)
    assert redone is not None and redone.status is JobStatus.SUCCEEDED
    assert (redone.counts.accepted, redone.counts.duplicates) == (30, 20)
    assert await scalar(resources, "SELECT count(*) FROM activity") == 50


async def test_corrupt_gzip_after_the_first_chunk_is_malformed_and_interrupts(
    resources: Resources, run_worker: Worker
) -> None:
    await approved_type(resources)
    packed = bytearray(gzip.compress(b"".join(deposit_lines(3000)), compresslevel=1))
    middle = len(packed) // 2
    packed[middle:middle + 64] = bytes(64)  # the deflate stream breaks (or its CRC at the end)
    with pytest.raises(UploadInterrupted) as stopped:
        await import_file(with_chunk_rows(resources, 100), SPEC, SteppedReader(bytes(packed), step=1024))
    assert [i.code for i in stopped.value.issues] == [ErrorCode.MALFORMED_ROW]
    job = stopped.value.job
    assert job.error_code is ErrorCode.UPLOAD_INTERRUPTED and job.counts.total >= 100
    await run_worker()
    done = await get_job(resources, job.id)
    assert done is not None and done.status is JobStatus.FAILED and done.counts.processed == job.counts.total


async def test_a_job_key_in_use_by_an_upload_still_receiving_is_a_conflict(resources: Resources) -> None:
    await approved_type(resources)
    small = with_chunk_rows(resources, 10)
    data = b"".join(deposit_lines(40))
    keyed = JobSpec(source=JobSource.UPLOAD, format=SourceFormat.JSONL, idempotency_key="file-7",
                    created_by="tester")
    paused = Paused()
    first = asyncio.create_task(import_file(small, keyed, SteppedReader(data, pause_at=len(data) // 2,
                                                                         gate=paused.gate)))
    await asyncio.wait_for(paused.held.wait(), timeout=60)
    receiving = await get_job(resources, await only_job_id(resources))
    assert receiving is not None and receiving.receiving
    with pytest.raises(DomainError) as refused:
        await import_file(small, keyed, SteppedReader(data))
    (issue,) = refused.value.issues
    assert issue.code is ErrorCode.CONFLICT and "still being received" in issue.message
    assert str(receiving.id) in issue.message
    paused.release.set()
    job = await first
    assert not job.receiving and job.counts.total == 40
    same = await import_file(small, keyed, SteppedReader(data))  # now it can be told: the same file
    assert same.id == job.id
    assert await scalar(resources, "SELECT count(*) FROM ingestion_job") == 1


async def test_cancel_while_receiving_stops_the_upload(resources: Resources) -> None:
    await approved_type(resources)
    small = with_chunk_rows(resources, 10)
    data = b"".join(deposit_lines(60))
    for worker_started in (False, True):
        paused = Paused()
        upload = asyncio.create_task(import_file(small, SPEC, SteppedReader(data, pause_at=len(data) // 2,
                                                                             gate=paused.gate)))
        await asyncio.wait_for(paused.held.wait(), timeout=60)
        async with resources.db.raw() as conn:
            job_id = await conn.fetchval("SELECT id FROM ingestion_job WHERE receiving")
            if worker_started:
                await conn.execute("UPDATE ingestion_job SET status = 'RUNNING' WHERE id = $1", job_id)
        cancelled = await cancel_job(resources, ADMIN, job_id)
        paused.release.set()
        with pytest.raises(UploadInterrupted) as stopped:
            await upload
        (issue,) = stopped.value.issues
        assert issue.code is ErrorCode.UPLOAD_INTERRUPTED and "cancelled" in issue.message
        if worker_started:  # the worker stops at its next step
            assert cancelled.status is JobStatus.RUNNING and cancelled.cancel_requested
            assert await process.run_job(resources, job_id) == "CANCELLED"
        else:
            assert cancelled.status is JobStatus.CANCELLED and not cancelled.receiving
        done = await get_job(resources, job_id)
        assert done is not None and done.status is JobStatus.CANCELLED and done.counts.total < 60
        assert await scalar(resources, "SELECT count(*) FROM ingestion_chunk WHERE job_id = $1", job_id) == 0


async def test_reconciler_fails_a_stalled_receiving_job_but_not_a_live_one(
    resources: Resources, run_worker: Worker
) -> None:
    await approved_type(resources)
    data = b"".join(deposit_lines(60))
    paused = Paused()
    upload = asyncio.create_task(import_file(with_chunk_rows(resources, 10), SPEC,
                                             SteppedReader(data, pause_at=len(data) // 2, gate=paused.gate)))
    await asyncio.wait_for(paused.held.wait(), timeout=60)
    job_id = await only_job_id(resources)
    await reconcile(resources)  # receiving and recent: left alone
    live = await get_job(resources, job_id)
    assert live is not None and live.receiving and live.error_code is None
    async with resources.db.raw() as conn:  # its uploader went quiet long ago
        await conn.execute("UPDATE ingestion_job SET updated_at = now() - interval '1 hour' WHERE id = $1", job_id)
    await reconcile(resources)
    stalled = await get_job(resources, job_id)
    assert stalled is not None and not stalled.receiving and stalled.error_code is ErrorCode.UPLOAD_INTERRUPTED
    assert stalled.error is not None and f"after {stalled.counts.total} rows" in stalled.error
    paused.release.set()  # an uploader that was only slow finds its job no longer taking rows
    with pytest.raises(UploadInterrupted) as stopped:
        await upload
    assert stopped.value.issues[0].code is ErrorCode.UPLOAD_INTERRUPTED
    await run_worker()
    done = await get_job(resources, job_id)
    assert done is not None and done.status is JobStatus.FAILED
    assert done.counts.processed == done.counts.accepted == stalled.counts.total > 0


async def test_a_worker_waits_for_the_rest_of_the_upload(resources: Resources) -> None:
    await approved_type(resources)
    data = b"".join(deposit_lines(60))
    paused = Paused()
    upload = asyncio.create_task(import_file(with_chunk_rows(resources, 10), SPEC,
                                             SteppedReader(data, pause_at=len(data) // 2, gate=paused.gate)))
    await asyncio.wait_for(paused.held.wait(), timeout=60)
    job_id = await only_job_id(resources)
    run = asyncio.create_task(process.run_job(resources, job_id))

    async def caught_up() -> bool:
        job = await get_job(resources, job_id)
        return job is not None and job.counts.processed == job.counts.total > 0

    await eventually(caught_up, timeout=60)
    assert not run.done()  # it waits for more chunks instead of ending the job
    paused.release.set()
    await upload
    assert await asyncio.wait_for(run, timeout=60) == "SUCCEEDED"
    done = await get_job(resources, job_id)
    assert done is not None and (done.counts.total, done.counts.accepted) == (60, 60)


async def test_an_upload_whose_job_was_cancelled_and_deleted_stops_without_a_job(resources: Resources) -> None:
    from app.domain.access import Principal, Scope
    from app.services.ingestion.jobs import delete_job

    await approved_type(resources)
    data = b"".join(deposit_lines(60))
    paused = Paused()
    owner = JobSpec(source=JobSource.UPLOAD, format=SourceFormat.JSONL, created_by="owner")
    upload = asyncio.create_task(import_file(with_chunk_rows(resources, 10), owner,
                                             SteppedReader(data, pause_at=len(data) // 2, gate=paused.gate)))
    await asyncio.wait_for(paused.held.wait(), timeout=60)
    job_id = await only_job_id(resources)
    await cancel_job(resources, ADMIN, job_id)
    await delete_job(resources, Principal(id="owner", name="owner", scopes=frozenset({Scope.ACTIVITIES_WRITE})),
                     job_id)
    paused.release.set()
    with pytest.raises(DomainError) as stopped:
        await upload
    assert not isinstance(stopped.value, UploadInterrupted)
    assert [i.code for i in stopped.value.issues] == [ErrorCode.UPLOAD_INTERRUPTED]
    assert "deleted" in stopped.value.issues[0].message
    assert await scalar(resources, "SELECT count(*) FROM ingestion_job") == 0
    assert await scalar(resources, "SELECT count(*) FROM ingestion_chunk") == 0


async def test_an_upload_still_receiving_holds_its_slot_of_the_per_key_quota(resources: Resources) -> None:
    from app.services.ingestion.submit import submit_objects
    from tests.ingestion_support import deposit

    await approved_type(resources)
    one_slot = with_chunk_rows(resources, 10)
    one_slot = Resources(settings=one_slot.settings.model_copy(update={"ingestion_concurrency_per_key": 1}),
                         db=resources.db, queue=resources.queue)
    owner = JobSpec(source=JobSource.UPLOAD, format=SourceFormat.JSONL, created_by="owner")
    data = b"".join(deposit_lines(40))
    paused = Paused()
    upload = asyncio.create_task(import_file(one_slot, owner, SteppedReader(data, pause_at=len(data) // 2,
                                                                            gate=paused.gate)))
    await asyncio.wait_for(paused.held.wait(), timeout=60)
    inline = JobSpec(source=JobSource.INLINE, format=SourceFormat.JSONL, created_by="owner")
    with pytest.raises(DomainError) as refused:
        await submit_objects(one_slot, inline, [deposit()])
    assert [i.code for i in refused.value.issues] == [ErrorCode.LIMIT_EXCEEDED]
    paused.release.set()
    assert (await upload).counts.total == 40
