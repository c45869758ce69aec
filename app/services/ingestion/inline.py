"""A small batch recorded synchronously: the same job pipeline as recordActivities, run to its end in the caller."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.domain.errors import ErrorCode, Issue
from app.domain.ingestion import IngestionJob, JobStatus
from app.services.ingestion.jobs import get_job, list_rejections
from app.services.ingestion.process import run_job
from app.services.ingestion.submit import JobSpec, submit_objects
from app.services.runtime import Resources

WAIT_SECONDS = 90.0  # Marketo's own timeout for adding custom activities


@dataclass(frozen=True, slots=True)
class InlineOutcome:
    """The finished job and the issues of each rejected row (row numbers from 1, in the order sent)."""

    job: IngestionJob
    rejected: dict[int, tuple[Issue, ...]]


async def record_now(resources: Resources, spec: JobSpec, activities: Sequence[dict[str, Any]]) -> InlineOutcome:
    """Submit the batch as a job and process it here (a worker that picks it up finds it done or locked)."""
    job = await submit_objects(resources, spec, activities)
    await run_job(resources, job.id)
    deadline = time.monotonic() + WAIT_SECONDS
    current: IngestionJob | None = await get_job(resources, job.id)
    while current is not None and not current.status.is_terminal:
        # A worker took it first (run_job answered "busy"): wait for that worker to finish it.
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
        current = await get_job(resources, job.id)
    assert current is not None
    rejected: dict[int, tuple[Issue, ...]] = {}
    after: int | None = None
    while True:
        page = await list_rejections(resources, job.id, limit=1000, after_row=after)
        rejected.update((r.row_number, r.issues) for r in page)
        if len(page) < 1000:
            break
        after = page[-1].row_number
    if current.status not in (JobStatus.SUCCEEDED, JobStatus.COMPLETED_WITH_ERRORS):
        reason = Issue(ErrorCode.INVALID_STATE, None, f"The job ended {current.status.value}: {current.error or ''}")
        for row in range(1, len(activities) + 1):
            rejected.setdefault(row, (reason,))
    return InlineOutcome(current, rejected)
