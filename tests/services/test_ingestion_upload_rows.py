"""Uploaded files through import_file and a worker: the splitter and the job's end lose no row silently."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from app.domain.errors import ErrorCode
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
