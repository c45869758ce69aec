"""The worker wiring, exercised by the ping job: in-process and as a real `activities worker` process."""

from __future__ import annotations

import subprocess
from collections.abc import Awaitable, Callable

from app.services.queue import deserialize, enqueue_ping, job_result
from app.services.runtime import Resources


async def test_ping_job_round_trip_in_process(
    resources: Resources, run_worker: Callable[[], Awaitable[int]]
) -> None:
    job = await enqueue_ping(resources.queue, resources.settings, "hello")
    assert job is not None
    assert await run_worker() >= 1  # the reconciler cron may run beside it
    result = await job_result(resources.queue, resources.settings, job.job_id, timeout=5)
    assert result["token"] == "hello"
    assert result["database"] is True


async def test_ping_job_through_a_worker_process(
    resources: Resources, worker_process: Callable[[], subprocess.Popen[bytes]]
) -> None:
    worker_process()
    job = await enqueue_ping(resources.queue, resources.settings, "from-test")
    assert job is not None
    result = await job_result(resources.queue, resources.settings, job.job_id, timeout=60)
    assert result == {"token": "from-test", "host": result["host"], "database": True}


async def test_queue_payloads_are_msgpack_not_pickle(resources: Resources) -> None:
    job = await enqueue_ping(resources.queue, resources.settings, "raw")
    assert job is not None
    raw = await resources.queue.get(f"arq:job:{job.job_id}")
    assert raw is not None and not raw.startswith(b"\x80")  # pickle protocol marker
    assert deserialize(raw)["a"] == ["raw"]
