"""Ingestion through the services and an in-process worker: write, dedup, conflicts, persons, dry run."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace

from app.domain.access import Principal
from app.domain.ingestion import JobSource, JobStatus, SourceFormat
from app.services.ingestion.jobs import cancel_job, get_job
from app.services.ingestion.submit import JobSpec, submit_objects
from app.services.runtime import Resources
from tests.ingestion_support import approved_type, deposit, deposit_definition, put_type

Worker = Callable[[], Awaitable[int]]
ADMIN = Principal.local_admin()
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


async def rejections(resources: Resources, job_id: object) -> dict[int, str]:
    from app.services.ingestion.jobs import list_rejections

    assert isinstance(job_id, uuid.UUID)
    return {r.row_number: r.first.code.value for r in await list_rejections(resources, job_id, limit=100,
                                                                           after_row=None)}


async def test_same_key_same_payload_is_a_duplicate_other_payload_a_conflict(
    resources: Resources, run_worker: Worker
) -> None:
    await approved_type(resources)
    first = await submit_objects(resources, INLINE, [deposit(key="k1"), deposit(key="k2", amount=5)])
    await run_worker()
    again = await submit_objects(resources, INLINE, [
        deposit(key="k1"),  # exact re-send
        deposit(key="k2", amount=6),  # same key, different payload
        deposit(key="k2", email="other@x.io", amount=6),  # same key, another person: a different activity
        deposit(key=None), deposit(key=None),  # no key: never deduplicated
    ])
    await run_worker()
    done = await get_job(resources, again.id)
    assert done is not None and first.id != again.id
    assert (done.counts.accepted, done.counts.duplicates, done.counts.rejected) == (3, 1, 1)
    assert await rejections(resources, again.id) == {2: "CONFLICT"}
    assert await count(resources) == 5


async def test_persons_types_and_references_are_checked(resources: Resources, run_worker: Worker) -> None:
    await approved_type(resources)
    async with resources.db.raw() as conn:
        await put_type(conn, replace(deposit_definition(), api_name="draftOnly", name="Draft only",
                                     trigger_name="t", filter_name="f"), approved=False)
        await conn.execute("INSERT INTO person (email, external_id) VALUES ('ann@example.com', 'A1'), "
                           "('bob@example.com', 'B1')")
    spec = JobSpec(source=JobSource.INLINE, format=SourceFormat.JSONL)  # no person creation
    job = await submit_objects(resources, spec, [
        deposit(email="ANN@example.com", key="1"),  # case-insensitive email
        deposit(key="2", person={"externalId": "B1"}),
        deposit(key="3", person={"email": "ann@example.com", "externalId": "B1"}),  # two persons
        deposit(key="4", person={"id": 999999}),
        deposit(key="5", email="nobody@example.com"),
        deposit(key="6", activityType="nope"),
        deposit(key="7", activityType="draftOnly"),
    ])
    await run_worker()
    assert await rejections(resources, job.id) == {
        3: "AMBIGUOUS_PERSON", 4: "PERSON_NOT_FOUND", 5: "PERSON_NOT_FOUND", 6: "UNKNOWN_ACTIVITY_TYPE",
        7: "TYPE_NOT_APPROVED"}
    done = await get_job(resources, job.id)
    assert done is not None and done.counts.accepted == 2 and done.status is JobStatus.COMPLETED_WITH_ERRORS


async def test_cancel_a_running_job_stops_at_a_chunk_boundary(resources: Resources, run_worker: Worker) -> None:
    from app.services.ingestion import process

    await approved_type(resources)
    limits = resources.settings.limits.model_copy(update={"chunk_rows": 2})
    small = Resources(settings=resources.settings.model_copy(update={"limits": limits}), db=resources.db,
                      queue=resources.queue)
    job = await submit_objects(small, INLINE, [deposit(key=f"k{i}") for i in range(6)])
    async with resources.db.raw() as conn:  # as if a worker had started it
        await conn.execute("UPDATE ingestion_job SET status = 'RUNNING' WHERE id = $1", job.id)
    await cancel_job(resources, ADMIN, job.id)
    assert await process.run_job(resources, job.id) == "CANCELLED"
    done = await get_job(resources, job.id)
    assert done is not None and done.status is JobStatus.CANCELLED and done.counts.processed == 0
    assert await count(resources, "SELECT count(*) FROM ingestion_chunk") == 0


async def test_reconciler_enqueues_orphans_and_leaves_live_jobs(resources: Resources) -> None:
    from app.services.ingestion.process import lock_key
    from app.services.ingestion.reconciler import reconcile

    await approved_type(resources)
    queued = await submit_objects(resources, INLINE, [deposit()])
    running = await submit_objects(resources, INLINE, [deposit(key="r")])
    async with resources.db.raw() as conn:
        await conn.execute("UPDATE ingestion_job SET status = 'RUNNING', attempts = 1 WHERE id = $1", running.id)
    stale = [k async for k in resources.queue.scan_iter(match="arq:*ingest:*")]
    await resources.queue.delete(resources.settings.arq_queue_name, *stale)  # Redis lost both jobs
    async with resources.db.raw() as holder:  # a live worker holds the running job's lock
        await holder.execute("SELECT pg_advisory_lock($1)", lock_key(running.id))
        assert await reconcile(resources) == 1  # only the queued one
        await holder.execute("SELECT pg_advisory_unlock($1)", lock_key(running.id))
    assert await reconcile(resources) == 1  # now the running one is an orphan
    assert await reconcile(resources) == 0  # both are queued in arq: nothing more to do
    ids = await resources.queue.zrange(resources.settings.arq_queue_name, 0, -1)
    assert sorted(ids) == sorted([f"ingest:{queued.id}".encode(), f"ingest:{running.id}:1".encode()])


async def test_reconciler_rescues_a_job_taken_but_never_claimed(resources: Resources) -> None:
    from app.services.ingestion.reconciler import reconcile

    await approved_type(resources)
    job = await submit_objects(resources, INLINE, [deposit()])
    await resources.queue.set(f"arq:in-progress:ingest:{job.id}", b"1")  # a worker took it, then died
    assert await reconcile(resources) == 0  # recent: its worker may be about to claim it
    async with resources.db.raw() as conn:
        await conn.execute("UPDATE ingestion_job SET updated_at = now() - interval '2 minutes' WHERE id = $1", job.id)
    assert await reconcile(resources) == 1
    assert await resources.queue.zscore(resources.settings.arq_queue_name, f"ingest:{job.id}:unclaimed") is not None


async def test_dry_run_counts_new_persons_apart(resources: Resources, run_worker: Worker) -> None:
    await approved_type(resources)
    spec = JobSpec(source=JobSource.INLINE, format=SourceFormat.JSONL, dry_run=True, create_missing_persons=True)
    job = await submit_objects(resources, spec, [
        deposit(email="new1@x.io", key="same"), deposit(email="new2@x.io", key="same"),
        deposit(email="NEW1@x.io", key="same"),  # the first new person again: a duplicate
    ])
    await run_worker()
    done = await get_job(resources, job.id)
    assert done is not None and (done.counts.accepted, done.counts.duplicates) == (2, 1)
    assert await count(resources, "SELECT count(*) FROM person") == 0


async def test_an_occurred_at_outside_the_utc_range_rejects_that_row_alone(
    resources: Resources, run_worker: Worker
) -> None:
    await approved_type(resources)
    job = await submit_objects(resources, INLINE, [
        deposit(key="a"), deposit(key="b", occurredAt="0001-01-01T00:00:00+01:00"),
        deposit(key="c", occurredAt="9999-12-31T23:59:59-01:00", person={"id": 1}), deposit(key="d")])
    await run_worker()
    done = await get_job(resources, job.id)
    assert done is not None and done.status is JobStatus.COMPLETED_WITH_ERRORS
    assert (done.counts.processed, done.counts.accepted, done.counts.rejected) == (4, 2, 2)
    assert await rejections(resources, job.id) == {2: "OUT_OF_RANGE", 3: "OUT_OF_RANGE"}
