"""On Citus, a worker node stopped in the middle of an import: the job retries and ends with exact counts."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.services.runtime import Resources
from app.settings import Settings
from tests.citus.conftest import node_stopped
from tests.conftest import child_env, eventually
from tests.e2e.test_ingestion_faults import job_row, jsonl, small_chunks, submit, wait_status
from tests.ingestion_support import approved_type
from tests.stores import PROJECT_ROOT

pytestmark = [pytest.mark.usefixtures("on_citus"), pytest.mark.e2e]


@pytest.fixture
def worker_process(settings: Settings, tmp_path: Path) -> Iterator[Path]:
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "app.cli.main", "worker"], env=child_env(settings),
                                cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield log
        finally:
            proc.terminate()
            proc.wait(timeout=30)


async def test_a_stopped_worker_node_mid_import_delays_the_job_and_loses_nothing(
    resources: Resources, settings: Settings, worker_process: Path
) -> None:
    await approved_type(resources)
    job_id = await submit(small_chunks(resources, 200), jsonl(40_000, repeats=300))

    async def mid_job() -> bool:
        return bool((await job_row(settings, job_id))["processed_rows"] >= 2000)

    await eventually(mid_job, timeout=90, interval=0.02)
    async with node_stopped(settings, resources, "worker2"):
        await asyncio.sleep(3)  # chunks fail while the node is away (connection errors: retried with backoff)
        async with resources.db.raw() as conn:  # the job row lives on the coordinator: readable meanwhile
            status = await conn.fetchval("SELECT status FROM ingestion_job WHERE id = $1", job_id)
        assert status in ("RUNNING", "QUEUED")
    done = await wait_status(settings, job_id, timeout=120)
    log = await asyncio.to_thread(worker_process.read_text)
    assert done["status"] == "SUCCEEDED", log[-3000:]
    assert (done["processed_rows"], done["accepted_rows"], done["duplicate_rows"]) == (40_300, 40_000, 300)
    assert done["activities"] == done["distinct"] == 40_000
    assert "transient error" in log  # the node's absence was met, and retried
