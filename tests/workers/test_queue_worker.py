"""The worker's poll skips the jobs it runs: arq alone re-examines a running job in Redis on every poll."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from arq import Worker
from arq.worker import func

from app.services.queue import deserialize, redis_settings, serialize
from app.services.runtime import Resources
from workers.queue_worker import QueueWorker


async def _slow(ctx: dict[str, Any]) -> str:
    await asyncio.sleep(0.6)  # ~30 polls of 20 ms
    return "done"


async def _examined(resources: Resources, worker_class: type[Worker], monkeypatch: pytest.MonkeyPatch) -> int:
    """How many job ids arq's own start_jobs looked at in Redis while one slow job ran."""
    examined: list[bytes] = []
    original = Worker.start_jobs

    async def counting(self: Worker, job_ids: list[bytes]) -> None:
        examined.extend(job_ids)
        await original(self, job_ids)

    monkeypatch.setattr(Worker, "start_jobs", counting)
    queue = f"test-poll-{uuid.uuid4().hex}"
    await resources.queue.enqueue_job("slow", _queue_name=queue)
    worker = worker_class(functions=[func(_slow, name="slow")], redis_settings=redis_settings(resources.settings),
                          queue_name=queue, burst=True, poll_delay=0.02, handle_signals=False,
                          job_serializer=serialize, job_deserializer=deserialize)
    try:
        await worker.main()
        assert worker.jobs_complete == 1
    finally:
        await worker.close()
        monkeypatch.undo()
    return len(examined)


async def test_a_running_job_is_examined_once_not_on_every_poll(
    resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await _examined(resources, Worker, monkeypatch) > 5  # what arq alone does
    assert await _examined(resources, QueueWorker, monkeypatch) == 1


async def test_a_job_the_worker_must_leave_stays_queued_for_another(resources: Resources) -> None:
    from arq.jobs import Job, JobStatus

    queue = f"test-leave-{uuid.uuid4().hex}"
    left = await resources.queue.enqueue_job("slow", _job_id=f"leave-me-{uuid.uuid4().hex}", _queue_name=queue)
    taken = await resources.queue.enqueue_job("slow", _queue_name=queue)
    assert left is not None and taken is not None
    worker = QueueWorker(functions=[func(_slow, name="slow")], redis_settings=redis_settings(resources.settings),
                         queue_name=queue, poll_delay=0.02, handle_signals=False,
                         job_serializer=serialize, job_deserializer=deserialize,
                         leave=lambda job_id: job_id.startswith("leave-me-"))
    running = asyncio.create_task(worker.main())
    try:
        assert await taken.result(timeout=20, poll_delay=0.05) == "done"
        assert await Job(left.job_id, resources.queue, _queue_name=queue).status() is JobStatus.queued
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await worker.close()
