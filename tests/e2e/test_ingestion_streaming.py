"""A real worker process starts on an upload's committed chunks while the rest of the file is still coming."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from app.domain.ingestion import IngestionJob, JobSource, JobStatus, SourceFormat
from app.services.ingestion.jobs import get_job, list_jobs
from app.services.ingestion.submit import JobSpec
from app.services.ingestion.upload import import_file
from app.services.runtime import Resources
from tests.conftest import eventually
from tests.ingestion_support import approved_type
from tests.upload_readers import SteppedReader, deposit_lines, with_chunk_rows

pytestmark = pytest.mark.e2e
SPEC = JobSpec(source=JobSource.UPLOAD, format=SourceFormat.JSONL, create_missing_persons=True)


async def test_processing_starts_before_the_upload_ends(
    resources: Resources, worker_process: Callable[[], subprocess.Popen[bytes]]
) -> None:
    await approved_type(resources)
    lines = deposit_lines(2000, persons=50)
    seen: list[IngestionJob] = []

    async def processing() -> bool:
        jobs = await list_jobs(resources, limit=1, after=None, status=None)
        seen[:] = jobs
        return bool(jobs) and jobs[0].counts.processed > 0

    async def until_processing() -> None:  # the upload holds here: it goes on only once the worker has rows done
        await eventually(processing, timeout=60, interval=0.02)

    worker_process()
    reader = SteppedReader(b"".join(lines), pause_at=len(b"".join(lines[:600])), gate=until_processing)
    job = await import_file(with_chunk_rows(resources, 200), SPEC, reader)
    (during,) = seen
    assert during.id == job.id and during.receiving and during.status is JobStatus.RUNNING
    assert during.counts.total == 600 and 0 < during.counts.processed <= 600  # 3 of 10 chunks received
    assert job.counts.total == 2000 and not job.receiving

    async def ended() -> bool:
        now = await get_job(resources, job.id)
        return now is not None and now.status.is_terminal

    await eventually(ended, timeout=120, interval=0.05)
    done = await get_job(resources, job.id)
    assert done is not None and done.status is JobStatus.SUCCEEDED
    assert (done.counts.processed, done.counts.accepted) == (2000, 2000)
