"""A chunk resolves each person reference once: rows naming the same email share it, each row keeps its answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from app.domain.ingestion import JobSource, JobStatus, SourceFormat
from app.services.ingestion.jobs import get_job, list_rejections
from app.services.ingestion.submit import JobSpec, submit_objects
from app.services.runtime import Resources
from tests.api.timeline_support import create_person
from tests.ingestion_support import approved_type, deposit

Worker = Callable[[], Awaitable[int]]
ROWS = [
    deposit(email="Nobody@x.io", key="1"), deposit(email="ann@x.io", key="2"), deposit(email="Nobody@x.io", key="3"),
    deposit(email="nobody@x.io", key="4"), deposit(key="5", person={"email": "Nobody@x.io", "externalId": "N1"}),
    deposit(email="ANN@x.io", key="6"), deposit(email="ann@x.io", key="7"),
]


async def test_rows_naming_the_same_person_each_get_its_answer(resources: Resources, run_worker: Worker) -> None:
    await approved_type(resources)
    await create_person(resources, "ann@x.io")
    job = await submit_objects(resources, JobSpec(source=JobSource.INLINE, format=SourceFormat.JSONL), ROWS)
    await run_worker()
    found = await list_rejections(resources, job.id, limit=100, after_row=None)
    assert [(r.row_number, r.first.code.value, r.first.message) for r in found] == [
        (1, "PERSON_NOT_FOUND", "No person matches email Nobody@x.io."),
        (3, "PERSON_NOT_FOUND", "No person matches email Nobody@x.io."),
        (4, "PERSON_NOT_FOUND", "No person matches email nobody@x.io."),  # as this row wrote it
        (5, "PERSON_NOT_FOUND", "No person matches email Nobody@x.io / externalId N1."),
    ]
    async with resources.db.raw() as conn:
        owners = await conn.fetch("SELECT DISTINCT p.email FROM activity a JOIN person p ON p.id = a.person_id")
    assert [r["email"] for r in owners] == ["ann@x.io"]


async def test_created_persons_are_spelled_as_first_written(resources: Resources, run_worker: Worker) -> None:
    await approved_type(resources)
    spec = JobSpec(source=JobSource.INLINE, format=SourceFormat.JSONL, create_missing_persons=True)
    job = await submit_objects(resources, spec, ROWS)
    await run_worker()
    done = await get_job(resources, job.id)
    assert done is not None and done.status is JobStatus.SUCCEEDED and done.counts.accepted == 7
    async with resources.db.raw() as conn:
        persons = await conn.fetch("SELECT email, external_id FROM person ORDER BY id")
        per_person = await conn.fetch("SELECT p.email, count(*) AS n FROM activity a JOIN person p "
                                      "ON p.id = a.person_id GROUP BY p.email ORDER BY p.email")
    assert sorted((r["email"], r["external_id"]) for r in persons) == [("Nobody@x.io", None), ("ann@x.io", None)]
    assert [(r["email"], r["n"]) for r in per_person] == [("Nobody@x.io", 4), ("ann@x.io", 3)]


async def test_a_dry_run_counts_each_new_person_once(resources: Resources, run_worker: Worker) -> None:
    await approved_type(resources)
    spec = JobSpec(source=JobSource.INLINE, format=SourceFormat.JSONL, dry_run=True, create_missing_persons=True)
    rows = [deposit(email=email, key="k") for email in ("New@x.io", "other@x.io", "new@x.io", "New@x.io")]
    job = await submit_objects(resources, spec, rows)
    await run_worker()
    done = await get_job(resources, job.id)
    assert done is not None and (done.counts.accepted, done.counts.duplicates) == (2, 2)
