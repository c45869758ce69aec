"""One large job shared by two real worker processes (its lead run in one, a helper run in the other): SIGKILL
of either one mid-job, and the job still ends with every row stored once and exact counts."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from app.services.runtime import Resources
from app.settings import Settings
from tests.conftest import eventually
from tests.e2e.test_ingestion_faults import (  # noqa: F401 (fixtures)
    StartWorker,
    job_row,
    jsonl,
    small_chunks,
    start_worker,
    submit,
    wait_status,
    worker_logs,
)
from tests.ingestion_support import approved_type

pytestmark = pytest.mark.e2e
ROWS, REPEATS = 200_000, 500  # ~6 s for two workers on a quiet machine: the helper joins long before the end


@pytest.mark.parametrize("victim", ["lead", "helper"])
async def test_sigkill_of_either_worker_sharing_a_job_keeps_it_exact(
    resources: Resources, settings: Settings, start_worker: StartWorker, tmp_path: Path, victim: str  # noqa: F811
) -> None:
    await approved_type(resources)
    # Unbuffered, so each worker's log says at once what it does (the test reads who helps from it).
    workers = [start_worker(settings, PYTHONUNBUFFERED="1"), start_worker(settings, PYTHONUNBUFFERED="1")]

    async def started() -> bool:
        return all("worker started on queue" in (tmp_path / f"worker-{n}.log").read_text() for n in range(2))

    await eventually(started, timeout=60, interval=0.1)
    # Chunks of 100 rows: 605 chunk transactions, so the job is still running when both workers are on it.
    job_id = await submit(small_chunks(resources, 100), jsonl(ROWS, repeats=REPEATS))
    helping: list[int] = []

    async def state() -> tuple[str, int]:  # the job row alone: counting its activities scans the table
        async with resources.db.raw() as conn:
            row = await conn.fetchrow("SELECT status, processed_rows FROM ingestion_job WHERE id = $1", job_id)
        assert row is not None
        return row["status"], row["processed_rows"]

    async def shared() -> bool:
        # A worker leaves the helper of a job it leads in the queue, so the one that says it helps is the other.
        helping[:] = [n for n in range(2) if f"helping with ingestion job {job_id}" in
                      (tmp_path / f"worker-{n}.log").read_text()]
        return bool(helping)

    await eventually(shared, timeout=60, interval=0.05)
    # Both workers can finish the job in about 2 s on a quiet machine: hold the job row (FOR SHARE) so every chunk
    # transaction stops at its last statement, the counts' UPDATE, and kill the victim while its chunks are open.
    async with resources.db.raw() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT status, processed_rows FROM ingestion_job WHERE id = $1 FOR SHARE", job_id)
        assert row is not None
        assert row["status"] == "RUNNING" and row["processed_rows"] < ROWS + REPEATS, worker_logs(tmp_path)

        async def chunks_held() -> bool:
            async with resources.db.raw() as probe:
                waiting = await probe.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = "
                    "current_database() AND query LIKE 'UPDATE ingestion_job%'")
            return bool(waiting)  # at least one chunk stopped: the job cannot end while we kill

        await eventually(chunks_held, timeout=30, interval=0.05)
        killed = workers[helping[0]] if victim == "helper" else workers[1 - helping[0]]
        killed.send_signal(signal.SIGKILL)
        killed.wait()

    # A dead lead: the helper goes on, and the other worker's reconciler (every second) sees the job's lock free
    # and enqueues a new lead; whichever run sees the last chunk done ends the job.
    done = await wait_status(settings, job_id, timeout=90)
    assert done["status"] == "SUCCEEDED", worker_logs(tmp_path)
    assert (done["processed_rows"], done["accepted_rows"], done["duplicate_rows"], done["rejected_rows"]) == (
        ROWS + REPEATS, ROWS, REPEATS, 0)
    assert done["activities"] == done["distinct"] == ROWS
