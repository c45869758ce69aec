"""Many processes on one Redis and one database: 2 API processes and 3 workers, as a scaled deployment runs.

Subscriptions on one API see jobs that another API accepted and any worker ran; jobs spread over workers; a
job enqueued several times at once still runs once (its PostgreSQL lock), so counts stay exact.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_ws import aconnect_ws

from app.api.global_ids import raw_id
from app.embedded.lease import free_port
from app.services.ingestion.progress import activity_channel
from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import ADMIN_KEY_ID, ADMIN_TOKEN, bearer, insert_key
from tests.conftest import child_env, eventually
from tests.ingestion_support import approved_type, deposit
from tests.stores import PROJECT_ROOT

pytestmark = pytest.mark.e2e
RECORD = """mutation($input: RecordActivitiesInput!) {
  recordActivities(input: $input) { job { id } errors { code } } }"""
JOB_UPDATES = "subscription($id: ID!) { ingestionJobUpdated(id: $id) { status counts { accepted duplicates } } }"
RECORDED = "subscription { activityRecorded { idempotencyKey } }"
JOBS, PER_JOB = 6, 40


class Processes:
    def __init__(self, settings: Settings, log_dir: Path) -> None:
        # One job at a time per worker (so they must share), and room for all the test's jobs under one key.
        self.env = child_env(settings) | {"ACTIVITIES_WORKER_MAX_JOBS": "1",
                                          "ACTIVITIES_INGESTION_CONCURRENCY_PER_KEY": str(JOBS)}
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[bytes]] = []
        self.worker_logs: list[Path] = []

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> Path:
        log = self.log_dir / f"{name}.log"
        with log.open("wb") as out:
            self.procs.append(subprocess.Popen([sys.executable, "-m", "app.cli.main", *args], env=env,
                                               cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT))
        return log

    def api(self, name: str) -> str:
        port = free_port()
        self._spawn(name, ["serve", "--no-migrate"], self.env | {"ACTIVITIES_PORT": str(port)})
        return f"http://127.0.0.1:{port}"

    def worker(self, name: str) -> None:
        self.worker_logs.append(self._spawn(name, ["worker"], self.env))

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def processes(settings: Settings, tmp_path: Path) -> Iterator[Processes]:
    started = Processes(settings, tmp_path)
    try:
        yield started
    finally:
        started.stop()


async def _ready(url: str) -> bool:
    try:
        async with httpx.AsyncClient() as http:
            return (await http.get(url + "/readyz", timeout=2)).status_code == 200
    except httpx.HTTPError:
        return False


async def _follow(url: str, query: str, variables: dict[str, Any], until: int | None = None) -> list[dict[str, Any]]:
    """Every `next` payload of one subscription on the API at `url`: until it completes, or `until` arrived."""
    received: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=url) as http, aconnect_ws(
        "/graphql", http, subprotocols=["graphql-transport-ws"]
    ) as ws:
        await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {ADMIN_TOKEN}"}})
        assert (await ws.receive_json(timeout=20))["type"] == "connection_ack"
        await ws.send_json({"type": "subscribe", "id": "s", "payload": {"query": query, "variables": variables}})
        while until is None or len(received) < until:
            message = await ws.receive_json(timeout=60)
            if message["type"] == "complete":
                break
            assert message["type"] == "next", message
            received.append(message["payload"]["data"])
    return received


async def test_two_apis_and_three_workers_share_jobs_and_live_updates(
    settings: Settings, resources: Resources, processes: Processes
) -> None:
    await approved_type(resources)
    await insert_key(resources, token=ADMIN_TOKEN, key_id=ADMIN_KEY_ID, name="test admin")
    api_a, api_b = processes.api("api-a"), processes.api("api-b")
    for name in ("worker-1", "worker-2", "worker-3"):
        processes.worker(name)
    for url in (api_a, api_b):
        await eventually(lambda url=url: _ready(url), timeout=60, interval=0.1)  # type: ignore[misc]

    async def workers_started() -> bool:
        logs = [await asyncio.to_thread(log.read_text) for log in processes.worker_logs]
        return all("worker started" in text for text in logs)

    await eventually(workers_started, timeout=60, interval=0.1)
    # API A pushes every activity recorded, whoever accepted and whichever worker stored it.
    recorded = asyncio.create_task(_follow(api_a, RECORDED, {}, until=JOBS * PER_JOB))

    async def listening() -> bool:
        counts = await resources.queue.pubsub_numsub(activity_channel(resources))
        return bool(counts and counts[0][1] > 0)

    await eventually(listening, timeout=30, interval=0.05)

    job_ids: list[str] = []
    async with httpx.AsyncClient(base_url=api_b, headers=bearer(ADMIN_TOKEN)) as http:
        for job in range(JOBS):
            activities = [deposit(email=f"p{i % 7}@x.io", key=f"j{job}-{i}") for i in range(PER_JOB)]
            body = (await http.post("/graphql", json={"query": RECORD, "variables": {
                "input": {"activities": activities, "createMissingPersons": True}}}, timeout=30)).json()
            assert body["data"]["recordActivities"]["errors"] == [], body
            job_ids.append(body["data"]["recordActivities"]["job"]["id"])
    # The API returns global ids; workers take the raw UUID (a global id fails at once, testing nothing).
    raw_ids = [raw_id(job_id, "IngestionJob") for job_id in job_ids]
    for raw in raw_ids:  # the same jobs again under other arq ids: any idle worker may try each one
        for copy in range(2):
            await resources.queue.enqueue_job("ingest", raw, _job_id=f"ingest:{raw}:copy{copy}",
                                              _queue_name=settings.arq_queue_name)

    finals = await asyncio.gather(*(_follow(api_a, JOB_UPDATES, {"id": j}) for j in job_ids))
    for updates in finals:
        assert updates[-1]["ingestionJobUpdated"] == {
            "status": "SUCCEEDED", "counts": {"accepted": PER_JOB, "duplicates": 0}
        }
    pushed = await asyncio.wait_for(recorded, timeout=60)
    keys = [p["activityRecorded"]["idempotencyKey"] for p in pushed]
    assert sorted(keys) == sorted(f"j{job}-{i}" for job in range(JOBS) for i in range(PER_JOB))  # each once

    async with resources.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM activity") == JOBS * PER_JOB
        assert await conn.fetchval("SELECT count(*) FROM person") == 7
    logs = [await asyncio.to_thread(log.read_text) for log in processes.worker_logs]
    assert "Traceback" not in "".join(logs)  # the copies found the job locked or done, none failed
    # arq logs "<arq id>:<function>(args)" as a run starts; the API's enqueue uses the arq id "ingest:<uuid>".
    started = [{raw for raw in raw_ids if f"ingest:{raw}:ingest(" in text} for text in logs]
    assert set().union(*started) == set(raw_ids)
    assert sum(1 for jobs in started if jobs) >= 2, [len(jobs) for jobs in started]  # the jobs spread over workers
