"""arq's Worker, minus re-examining on every poll the jobs it already knows are running."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from arq import Worker

RUNNING_ELSEWHERE_SECONDS = 0.5  # how long a job found running in another worker is not looked at again


class QueueWorker(Worker):
    """A job stays in arq's queue while it runs, so each poll (every 20 ms) reads its id again and runs
    WATCH / EXISTS / ZSCORE (plus a reset) to learn it is running: four Redis round trips per running job
    per poll, ~200/s each, for as long as an import runs. This worker skips the ids it runs itself, and for
    RUNNING_ELSEWHERE_SECONDS those another worker was found running (a job retried elsewhere is re-queued
    with a later score, so it waits at most that long more).

    `leave(job_id)`: True for a job this worker must leave in the queue for another one, for now."""

    def __init__(self, *args: Any, leave: Callable[[str], bool] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._elsewhere: dict[bytes, float] = {}
        self._leave = leave

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        now = time.monotonic()
        if self._elsewhere:
            self._elsewhere = {j: until for j, until in self._elsewhere.items() if until > now}
        for job_id in job_ids:
            if job_id.decode() in self.tasks or job_id in self._elsewhere:
                continue
            if self._leave is not None and self._leave(job_id.decode()):
                continue
            if self.job_counter >= self.max_jobs:
                return
            await super().start_jobs([job_id])
            if job_id.decode() not in self.tasks:  # running in another worker (or just finished there)
                self._elsewhere[job_id] = now + RUNNING_ELSEWHERE_SECONDS
