"""Resuming an interrupted upload: the job knows the first row it did not take (`resume_at`), and the same file
sent again with `resume_from` there stores every row exactly once, idempotency keys or not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

import orjson
import pytest

from app.domain.errors import DomainError, ErrorCode
from app.domain.ingestion import JobSource, JobStatus, SourceFormat
from app.services.ingestion.jobs import get_job
from app.services.ingestion.receive import UploadInterrupted
from app.services.ingestion.submit import JobSpec
from app.services.ingestion.upload import import_file
from app.services.runtime import Resources
from tests.ingestion_support import approved_type, deposit
from tests.upload_readers import SteppedReader, with_chunk_rows

Worker = Callable[[], Awaitable[int]]
SPEC = JobSpec(source=JobSource.UPLOAD, format=SourceFormat.JSONL, create_missing_persons=True, created_by="etl")


def keyless_lines(rows: int) -> list[bytes]:
    """Valid deposits without idempotency keys: sent twice, they would be stored twice."""
    return [orjson.dumps(deposit(email=f"p{i % 7}@x.io", key=None, amount=i)) + b"\n" for i in range(rows)]


async def activities(resources: Resources) -> int:
    async with resources.db.raw() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM activity"))


async def test_an_interrupted_upload_resumed_where_it_stopped_stores_each_row_once(
    resources: Resources, run_worker: Worker
) -> None:
    await approved_type(resources)
    lines = keyless_lines(50)
    lines.insert(10, b"\n")  # row numbers are line numbers: line 11 is blank
    data = b"".join(lines)
    small = with_chunk_rows(resources, 10)
    with pytest.raises(UploadInterrupted) as stopped:  # the client goes away after 26 lines
        await import_file(small, SPEC, SteppedReader(data, fail_at=len(b"".join(lines[:26]))))
    job = stopped.value.job
    # Two chunks of 10 rows were committed: lines 1-10 and 12-21; the first line not taken is 22.
    assert (job.counts.total, job.resume_at) == (20, 22)
    assert job.error is not None and "resumeFrom: 22" in job.error and "--resume-from 22" in job.error
    await run_worker()
    failed = await get_job(resources, job.id)
    assert failed is not None and failed.status is JobStatus.FAILED and failed.resume_at == 22
    resumed = await import_file(small, replace(SPEC, resume_from=22), SteppedReader(data))
    assert resumed.counts.total == 30 and resumed.resume_at is None
    await run_worker()
    done = await get_job(resources, resumed.id)
    assert done is not None and done.status is JobStatus.SUCCEEDED and done.counts.accepted == 30
    assert await activities(resources) == 50  # not 70, as sending the whole file again would store


async def test_a_csv_upload_resumes_by_record_number_and_still_reads_its_header(
    resources: Resources, run_worker: Worker
) -> None:
    await approved_type(resources)
    header = b"activityType,personEmail,occurredAt,primaryValue,amount,currency\n"
    records = [b"depositCheck,p%d@x.io,2026-11-02T10:00:00Z,Main St,%d,USD\n" % (i % 5, i) for i in range(30)]
    data = header + b"".join(records)
    spec = replace(SPEC, format=SourceFormat.CSV)
    small = with_chunk_rows(resources, 10)
    with pytest.raises(UploadInterrupted) as stopped:
        await import_file(small, spec, SteppedReader(data, fail_at=len(header + b"".join(records[:25]))))
    assert stopped.value.job.resume_at == 22  # the header is record 1: records 2-21 were committed
    resumed = await import_file(small, replace(spec, resume_from=22), SteppedReader(data))
    assert resumed.counts.total == 10
    await run_worker()
    assert await activities(resources) == 30


async def test_resume_from_is_part_of_the_job_key_and_must_be_positive(resources: Resources) -> None:
    await approved_type(resources)
    data = b"".join(keyless_lines(5))
    keyed = replace(SPEC, idempotency_key="nightly")
    await import_file(resources, keyed, SteppedReader(data))
    with pytest.raises(DomainError) as refused:
        await import_file(resources, replace(keyed, resume_from=3), SteppedReader(data))
    (issue,) = refused.value.issues
    assert issue.code is ErrorCode.CONFLICT and "resumeFrom" in issue.message
    for bad in (0, -4):
        with pytest.raises(DomainError) as invalid:
            await import_file(resources, replace(SPEC, resume_from=bad), SteppedReader(data))
        assert [(i.code, i.field) for i in invalid.value.issues] == [(ErrorCode.INVALID, "input.resumeFrom")]
    with pytest.raises(DomainError) as past_the_end:
        await import_file(resources, replace(SPEC, resume_from=6), SteppedReader(data))
    assert [(i.code, i.field) for i in past_the_end.value.issues] == [(ErrorCode.REQUIRED, "file")]
    assert "resumeFrom" in past_the_end.value.issues[0].message
