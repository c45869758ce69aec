"""Uploaded files through import_file and a worker: the splitter and the job's end lose no row silently."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from app.domain.errors import DomainError, ErrorCode
from app.domain.ingestion import JobSource, JobStatus, SourceFormat
from app.services.ingestion.jobs import get_job, list_rejections
from app.services.ingestion.submit import JobSpec, submit_objects
from app.services.ingestion.upload import import_file
from app.services.runtime import Resources
from tests.ingestion_support import approved_type, deposit
from tests.upload_readers import SteppedReader, with_chunk_rows

Worker = Callable[[], Awaitable[int]]
CSV = JobSpec(source=JobSource.UPLOAD, format=SourceFormat.CSV, activity_type="depositCheck",
              create_missing_persons=True)
INLINE = JobSpec(source=JobSource.INLINE, format=SourceFormat.JSONL, create_missing_persons=True)
HEADER = b"personEmail,occurredAt,primaryValue,amount,currency\n"


def csv_rows(count: int) -> list[bytes]:
    return [b"p%d@x.io,2026-11-02T10:00:00Z,Branch %d,%d,USD\n" % (i % 7, i, i) for i in range(count)]


async def test_a_quote_inside_an_unquoted_csv_cell_loses_no_row(resources: Resources, run_worker: Worker) -> None:
    await approved_type(resources)
    # Row 3's primary value holds a stray quote (`5" screen`): the csv module reads 300 records, so must we.
    rows = csv_rows(300)
    rows[1] = b'p1@x.io,2026-11-02T10:00:00Z,TV 5" screen,1,USD\n'
    job = await import_file(with_chunk_rows(resources, 64), CSV, SteppedReader(HEADER + b"".join(rows), step=999))
    await run_worker()
    done = await get_job(resources, job.id)
    assert done is not None and done.status is JobStatus.SUCCEEDED
    assert (done.counts.total, done.counts.accepted, done.counts.rejected) == (300, 300, 0)


async def test_an_unclosed_quote_costs_one_row_limit_of_the_file_not_the_rest(
    resources: Resources, run_worker: Worker
) -> None:
    # Row 3 opens a quote it never closes: it becomes one ROW_TOO_LARGE record ending at the first line end
    # past the row limit (200 bytes: its own 43 bytes and the next four lines of 44), and every later row goes in.
    await approved_type(resources)
    rows = csv_rows(300)
    rows[1] = b'p1@x.io,2026-11-02T10:00:00Z,"Branch,1,USD\n'
    small = with_chunk_rows(resources, 64, max_row_bytes=200)
    job = await import_file(small, CSV, SteppedReader(HEADER + b"".join(rows), step=999))
    await run_worker()
    done = await get_job(resources, job.id)
    assert done is not None and done.status is JobStatus.COMPLETED_WITH_ERRORS
    assert (done.counts.total, done.counts.accepted, done.counts.rejected) == (296, 295, 1)
    (rejection,) = await list_rejections(resources, job.id, limit=10, after_row=None)
    assert (rejection.row_number, rejection.first.code.value) == (3, "ROW_TOO_LARGE")


async def test_a_job_whose_processed_rows_fall_short_of_its_total_fails_loudly(
    resources: Resources, run_worker: Worker
) -> None:
    # A chunk gone from the table (it must never be: chunks are deleted with the checkpoint that passes
    # them) was counted as 0 rows and the job said SUCCEEDED with 4 of its 6 rows.
    await approved_type(resources)
    job = await submit_objects(with_chunk_rows(resources, 2), INLINE, [deposit(key=f"k{i}") for i in range(6)])
    async with resources.db.raw() as conn:
        await conn.execute("DELETE FROM ingestion_chunk WHERE job_id = $1 AND seq = 1", job.id)
    await run_worker()
    done = await get_job(resources, job.id)
    assert done is not None and done.status is JobStatus.FAILED
    assert done.error_code is ErrorCode.ROW_COUNT_MISMATCH and done.error is not None
    assert "4 of 6 rows" in done.error
    assert (done.counts.total, done.counts.processed, done.counts.accepted) == (6, 4, 4)


async def test_nul_anywhere_in_a_row_rejects_that_row_alone(resources: Resources, run_worker: Worker) -> None:
    # PostgreSQL text and jsonb cannot hold NUL: such a row reached the database (a person lookup, an
    # idempotency key, a rejection message naming an unknown field) and failed the whole chunk.
    await approved_type(resources)
    nul = "x\x00y"
    job = await submit_objects(resources, INLINE, [
        deposit(key="ok1"),
        deposit(key="a", email=f"{nul}@x.io"),
        deposit(key="b", person={"externalId": nul}),
        deposit(key=nul),
        deposit(key="c", activityType=nul),
        deposit(key="d", fields={"amount": 1, nul: 2}),
        deposit(key="e", fields={"amount": 1, "currency": nul}),
        deposit(key="f", primaryValue=nul),
        deposit(key="ok2"),
    ])
    await run_worker()
    done = await get_job(resources, job.id)
    assert done is not None and done.status is JobStatus.COMPLETED_WITH_ERRORS
    assert (done.counts.accepted, done.counts.rejected) == (2, 7)
    found = {r.row_number: (r.first.code.value, r.first.field)
             for r in await list_rejections(resources, job.id, limit=10, after_row=None)}
    assert found == {2: ("INVALID_VALUE", "person.email"), 3: ("INVALID_VALUE", "person.externalId"),
                     4: ("INVALID_VALUE", "idempotencyKey"), 5: ("INVALID_VALUE", "activityType"),
                     6: ("INVALID_VALUE", "fields"), 7: ("INVALID_VALUE", "fields.currency"),
                     8: ("INVALID_VALUE", "primaryValue")}


async def test_nul_in_a_csv_cell_or_header_is_invalid_value(resources: Resources, run_worker: Worker) -> None:
    await approved_type(resources)
    rows = csv_rows(3)
    rows[1] = b"p1@x.io,2026-11-02T10:00:00Z,Bran\x00ch,1,USD\n"
    job = await import_file(resources, CSV, SteppedReader(HEADER + b"".join(rows)))
    await run_worker()
    done = await get_job(resources, job.id)
    assert done is not None and (done.counts.accepted, done.counts.rejected) == (2, 1)
    (rejection,) = await list_rejections(resources, job.id, limit=10, after_row=None)
    assert (rejection.row_number, rejection.first.code.value, rejection.first.field) == (3, "INVALID_VALUE",
                                                                                         "primaryValue")
    with pytest.raises(DomainError) as refused:
        await import_file(resources, CSV, SteppedReader(HEADER.replace(b"currency", b"curr\x00ency") + rows[0]))
    assert [(i.code, i.field) for i in refused.value.issues] == [(ErrorCode.INVALID_VALUE, "file")]


async def test_import_and_upsert_persons_share_one_email_rule(resources: Resources, run_worker: Worker) -> None:
    from app.services.persons import PersonUpsert, upsert

    await approved_type(resources)
    bad = ["a@", "x@y@z", "@b.io", "a@b", "a b@c.io"]
    job = await submit_objects(resources, INLINE, [deposit(key=f"k{i}", email=e) for i, e in enumerate(bad)]
                               + [deposit(key="ok", email="ann@example.com")])
    await run_worker()
    found = {r.row_number: (r.first.code.value, r.first.field)
             for r in await list_rejections(resources, job.id, limit=10, after_row=None)}
    assert found == dict.fromkeys(range(1, len(bad) + 1), ("INVALID_EMAIL", "person.email"))
    results = await upsert(resources, [PersonUpsert(email=e) for e in bad])
    assert [[(i.code.value, i.field) for i in r.issues] for r in results] == [
        [("INVALID_EMAIL", "persons.0.email")], [("INVALID_EMAIL", "persons.1.email")],
        [("INVALID_EMAIL", "persons.2.email")], [("INVALID_EMAIL", "persons.3.email")],
        [("INVALID_EMAIL", "persons.4.email")]]


async def test_a_row_with_a_repeated_json_key_is_rejected(resources: Resources, run_worker: Worker) -> None:
    # orjson keeps the last of two equal keys: a row saying two different things was stored as one of them.
    await approved_type(resources)
    good = (b'{"activityType":"depositCheck","person":{"email":"a@x.io"},"occurredAt":"2026-11-02T10:00:00Z",'
            b'"primaryValue":"Main","fields":{"amount":1,"currency":"USD"},"idempotencyKey":"%s"}\n')
    lines = [good % b"k1",
             good.replace(b'"primaryValue":"Main"', b'"primaryValue":"Main","primaryValue":"Elm"') % b"k2",
             good.replace(b'"amount":1', b'"amount":1,"amount":2') % b"k3",
             good.replace(b'{"email":"a@x.io"}', b'{"email":"a@x.io", "email" :"b@x.io"}') % b"k4",
             good % b"k5"]
    spec = JobSpec(source=JobSource.UPLOAD, format=SourceFormat.JSONL, create_missing_persons=True)
    job = await import_file(resources, spec, SteppedReader(b"".join(lines)))
    await run_worker()
    done = await get_job(resources, job.id)
    assert done is not None and (done.counts.accepted, done.counts.rejected) == (2, 3)
    found = {r.row_number: (r.first.code.value, r.first.field)
             for r in await list_rejections(resources, job.id, limit=10, after_row=None)}
    assert found == {2: ("DUPLICATE", "primaryValue"), 3: ("DUPLICATE", "fields.amount"),
                     4: ("DUPLICATE", "person.email")}



async def test_a_long_rejected_row_is_kept_whole_and_replays_faithfully(
    resources: Resources, run_worker: Worker
) -> None:
    # A rejected record was cut at 10,000 characters, so its replay was a different (broken) row.
    from app.domain.access import Principal
    from app.services.ingestion.replay import replay_rejections
    from tests.ingestion_support import deposit_definition, put_type

    await approved_type(resources)
    long_note = "n" * 30_000
    job = await submit_objects(resources, INLINE, [deposit(key="long", fields={"amount": 1, "note": long_note})])
    await run_worker()
    (rejection,) = await list_rejections(resources, job.id, limit=10, after_row=None)
    assert rejection.first.code.value == "UNKNOWN_FIELD" and long_note in rejection.record
    async with resources.db.raw() as conn:  # the type learns the field: the row now passes
        from app.domain.activity_types import FieldDataType, FieldSpec

        await put_type(conn, deposit_definition(extra=(FieldSpec("note", "Note", FieldDataType.TEXT),)))
    replay = await replay_rejections(resources, Principal.local_admin(), job.id)
    await run_worker()
    done = await get_job(resources, replay.id)
    assert done is not None and (done.counts.accepted, done.counts.rejected) == (1, 0)
    async with resources.db.raw() as conn:
        stored = await conn.fetchval("SELECT fields ->> 'note' FROM activity")
    assert stored == long_note


async def test_an_inline_activity_over_the_row_limit_is_row_too_large(
    resources: Resources, run_worker: Worker
) -> None:
    # The bound on a kept record is maxRowBytes for inline batches too, as for files.
    await approved_type(resources)
    small = with_chunk_rows(resources, 100, max_row_bytes=2000)
    job = await submit_objects(small, INLINE, [deposit(key="a"), deposit(key="b", primaryValue="p" * 3000)])
    await run_worker()
    (rejection,) = await list_rejections(resources, job.id, limit=10, after_row=None)
    assert (rejection.row_number, rejection.first.code.value) == (2, "ROW_TOO_LARGE")
    assert len(rejection.record) <= 1024
