"""Ingestion under faults, end to end with real worker processes: SIGKILL, lost Redis, Postgres restart,
poison rows, two workers on one queue. Tests that restart or flush a store use their own private servers."""

from __future__ import annotations

import asyncio
import io
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
import redis

from app.db.migrate import upgrade
from app.domain.ingestion import JobSource, SourceFormat
from app.embedded.postgres import EmbeddedPostgres
from app.embedded.redis import EmbeddedRedis
from app.services.ingestion.submit import JobSpec
from app.services.ingestion.upload import import_file
from app.services.runtime import Resources
from app.settings import Settings, to_asyncpg_dsn
from tests.conftest import child_env, eventually
from tests.ingestion_support import approved_type, deposit
from tests.stores import PROJECT_ROOT

pytestmark = pytest.mark.e2e
SPEC = JobSpec(source=JobSource.UPLOAD, format=SourceFormat.JSONL, create_missing_persons=True)
StartWorker = Callable[..., subprocess.Popen[bytes]]


def jsonl(rows: int, *, repeats: int = 0, persons: int = 50, tag: str = "k") -> bytes:
    """`rows` distinct keyed activities, then the first `repeats` of them again (duplicates)."""
    lines = [orjson.dumps(deposit(email=f"p{i % persons}@x.io", key=f"{tag}{i}", amount=i % 1000))
             for i in range(rows)]
    return b"\n".join(lines + lines[:repeats]) + b"\n"


def small_chunks(resources: Resources, rows: int) -> Resources:
    limits = resources.settings.limits.model_copy(update={"chunk_rows": rows})
    settings = resources.settings.model_copy(update={"limits": limits})
    return Resources(settings=settings, db=resources.db, queue=resources.queue)


async def submit(resources: Resources, data: bytes, spec: JobSpec = SPEC) -> uuid.UUID:
    job = await import_file(resources, spec, _Reader(data))
    return job.id


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._buffer = io.BytesIO(data)

    async def read(self, size: int = -1) -> bytes:
        return self._buffer.read(size)


async def job_row(settings: Settings, job_id: uuid.UUID) -> dict[str, Any]:
    """Read through a fresh connection, so it works across a Postgres restart."""
    assert settings.database_url
    conn = await asyncpg.connect(to_asyncpg_dsn(settings.database_url))
    try:
        row = await conn.fetchrow("SELECT * FROM ingestion_job WHERE id = $1", job_id)
        activities = await conn.fetchval("SELECT count(*) FROM activity WHERE job_id = $1", job_id)
        distinct = await conn.fetchval(
            "SELECT count(DISTINCT (person_id, idempotency_key)) FROM activity WHERE job_id = $1", job_id)
    finally:
        await conn.close()
    return {**dict(row), "activities": activities, "distinct": distinct}


async def wait_status(settings: Settings, job_id: uuid.UUID, timeout: float = 60) -> dict[str, Any]:
    async def done() -> bool:
        try:
            return (await job_row(settings, job_id))["status"] not in ("QUEUED", "RUNNING")
        except (OSError, asyncpg.PostgresError):
            return False

    await eventually(done, timeout=timeout, interval=0.1)
    return await job_row(settings, job_id)


def worker_logs(tmp_path: Path) -> str:
    """The tail of every worker's log, for assertion messages."""
    return "\n".join(f"--- {p.name}\n{p.read_text()[-4000:]}" for p in sorted(tmp_path.glob("worker-*.log")))


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[StartWorker]:
    """Real `activities worker` processes with a 1 s reconciler; killed at teardown."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(settings: Settings, **env: str) -> subprocess.Popen[bytes]:
        environment = child_env(settings)
        environment.update(ACTIVITIES_RECONCILE_INTERVAL_SECONDS="1", **env)
        log = (tmp_path / f"worker-{len(procs)}.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "app.cli.main", "worker"], env=environment,
                                cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[str]:
    server = EmbeddedRedis(tmp_path / "redis-private")
    yield server.start()
    server.stop()


@pytest.fixture
async def private_stack(tmp_path: Path, private_redis: str, settings: Settings) -> AsyncIterator[
    tuple[Settings, Resources, EmbeddedPostgres]
]:
    """A private PostgreSQL and Redis that this test may restart or flush."""
    pg = EmbeddedPostgres(tmp_path / "pg-private")
    url = pg.start()
    await asyncio.to_thread(upgrade, url)
    own = settings.model_copy(update={"database_url": url, "redis_url": private_redis})
    resources = await Resources.open(own)
    try:
        yield own, resources, pg
    finally:
        await resources.close()
        pg.stop()


async def test_sigkilled_worker_job_finishes_after_restart_exactly_once(
    resources: Resources, settings: Settings, start_worker: StartWorker, tmp_path: Path
) -> None:
    await approved_type(resources)
    job_id = await submit(small_chunks(resources, 200), jsonl(40_000, repeats=500))
    worker = start_worker(settings)

    async def mid_job() -> bool:
        return bool((await job_row(settings, job_id))["processed_rows"] >= 2000)

    await eventually(mid_job, timeout=60, interval=0.02)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    killed = await job_row(settings, job_id)
    assert killed["status"] == "RUNNING" and killed["processed_rows"] < 40_500

    start_worker(settings)  # its start-up reconciler sees the job's lock free and re-enqueues it
    done = await wait_status(settings, job_id)
    assert done["status"] == "SUCCEEDED" and done["attempts"] >= 2, worker_logs(tmp_path)
    assert (done["processed_rows"], done["accepted_rows"], done["duplicate_rows"], done["rejected_rows"]) == (
        40_500, 40_000, 500, 0)
    assert done["activities"] == done["distinct"] == 40_000


async def test_jobs_redis_lost_are_reenqueued_from_postgres(
    resources: Resources, settings: Settings, private_redis: str, start_worker: StartWorker
) -> None:
    await approved_type(resources)
    own = settings.model_copy(update={"redis_url": private_redis})
    queued = await Resources.open(own)
    try:
        before_worker = [await submit(queued, jsonl(300, tag=f"q{n}-")) for n in range(2)]
    finally:
        await queued.close()
    client = redis.Redis.from_url(private_redis)
    assert client.zcard(own.arq_queue_name) == 2
    client.flushall()  # Redis loses everything while the jobs are queued
    client.close()
    start_worker(own)  # the reconciler runs at start-up
    for job_id in before_worker:
        done = await wait_status(own, job_id)
        assert done["status"] == "SUCCEEDED" and done["accepted_rows"] == 300

    # A job whose enqueue went to a Redis the workers never read is found by the periodic reconciler.
    lost = own.model_copy(update={"redis_prefix": own.redis_prefix + "-elsewhere"})
    elsewhere = await Resources.open(lost)
    try:
        job_id = await submit(elsewhere, jsonl(300, tag="lost-"))
    finally:
        await elsewhere.close()
    done = await wait_status(own, job_id, timeout=30)
    assert done["status"] == "SUCCEEDED" and done["accepted_rows"] == 300


async def test_postgres_restart_mid_job_retries_and_finishes(
    private_stack: tuple[Settings, Resources, EmbeddedPostgres], start_worker: StartWorker, tmp_path: Path
) -> None:
    own, resources, pg = private_stack
    await approved_type(resources)
    job_id = await submit(small_chunks(resources, 200), jsonl(40_000, repeats=300))
    await resources.db.dispose()  # our pooled connections would die with the restart
    start_worker(own)

    async def mid_job() -> bool:
        return bool((await job_row(own, job_id))["processed_rows"] >= 2000)

    await eventually(mid_job, timeout=60, interval=0.02)
    await asyncio.to_thread(pg._run, "pg_ctl", "-D", str(pg.pgdata), "-m", "fast", "-w", "restart")
    done = await wait_status(own, job_id, timeout=90)
    assert done["status"] == "SUCCEEDED", worker_logs(tmp_path)
    assert (done["processed_rows"], done["accepted_rows"], done["duplicate_rows"]) == (40_300, 40_000, 300)
    assert done["activities"] == done["distinct"] == 40_000


async def test_rows_that_break_naive_workers_are_rejected_alone(
    resources: Resources, settings: Settings, start_worker: StartWorker
) -> None:
    await approved_type(resources)
    good = [orjson.dumps(deposit(email=f"g{i}@x.io", key=f"g{i}")) for i in range(6)]
    huge = b'{"activityType": "depositCheck", "primaryValue": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    lines = [
        b"\xef\xbb\xbf" + good[0],  # BOM at the start of the file
        b'{"activityType": "depositCheck", "person": {',  # malformed JSON
        good[1],
        huge,  # a 10 MB line
        good[2],
        b'{"activityType": "depositCheck", "primaryValue": "caf\xe9"}',  # invalid UTF-8 (Latin-1)
        good[3],
    ]
    jsonl_job = await submit(resources, b"\r\n".join(lines) + b"\n")
    csv_rows = [
        "\ufeffpersonEmail,occurredAt,primaryValue,idempotencyKey,amount",
        "c1@x.io,2026-11-02T10:00:00Z,Main,c1,10",
        "c2@x.io,2026-11-02T10:00:00Z,Main,c2",  # wrong column count
        'c3@x.io,2026-11-02T10:00:00Z,"multi\nline",c3,30',
    ]
    csv_spec = JobSpec(source=JobSource.UPLOAD, format=SourceFormat.CSV, activity_type="depositCheck",
                       create_missing_persons=True)
    csv_job = await submit(resources, "\n".join(csv_rows).encode(), csv_spec)
    start_worker(settings)

    done = await wait_status(settings, jsonl_job)
    assert (done["accepted_rows"], done["rejected_rows"], done["status"]) == (4, 3, "COMPLETED_WITH_ERRORS")
    async with resources.db.raw() as conn:
        codes = dict(await conn.fetch(
            "SELECT row_number, code FROM ingestion_rejection WHERE job_id = $1", jsonl_job))
    assert codes == {2: "MALFORMED_ROW", 4: "ROW_TOO_LARGE", 6: "INVALID_ENCODING"}

    done = await wait_status(settings, csv_job)
    assert (done["accepted_rows"], done["rejected_rows"]) == (2, 1)
    async with resources.db.raw() as conn:
        assert await conn.fetchval("SELECT code FROM ingestion_rejection WHERE job_id = $1", csv_job) == (
            "WRONG_COLUMN_COUNT")
        assert await conn.fetchval("SELECT primary_value FROM activity WHERE idempotency_key = 'c3'") == (
            "multi\nline")


async def test_two_workers_never_process_a_chunk_twice(
    resources: Resources, settings: Settings, start_worker: StartWorker
) -> None:
    await approved_type(resources)
    chunked = small_chunks(resources, 100)
    jobs = [await submit(chunked, jsonl(3000, repeats=100, persons=7)) for _ in range(3)]
    for job_id in jobs:  # the same job under other arq ids, so both workers try to run it at once
        for copy in range(3):
            await resources.queue.enqueue_job("ingest", str(job_id), _job_id=f"ingest:{job_id}:copy{copy}",
                                              _queue_name=settings.arq_queue_name)
    start_worker(settings)
    start_worker(settings)
    for job_id in jobs:
        done = await wait_status(settings, job_id)
        assert done["status"] == "SUCCEEDED" and done["processed_rows"] == 3100
        assert done["accepted_rows"] + done["duplicate_rows"] == 3100
    async with resources.db.raw() as conn:
        # The three jobs carry the same keys: each activity is stored once, whichever job got there first.
        assert await conn.fetchval("SELECT count(*) FROM activity") == 3000
        assert await conn.fetchval("SELECT sum(accepted_rows) FROM ingestion_job") == 3000
        assert await conn.fetchval("SELECT sum(duplicate_rows) FROM ingestion_job") == 3 * 3100 - 3000


def pg_ctl(pg: EmbeddedPostgres, *args: str) -> None:
    pg._run("pg_ctl", "-D", str(pg.pgdata), "-m", "fast", "-w", "-t", "60", *args)


def pg_start_again(pg: EmbeddedPostgres) -> None:
    """Start a stopped private cluster on the port it had (its URL stays valid)."""
    from app.embedded.postgres import HOST

    pg._run("pg_ctl", "-D", str(pg.pgdata), "-l", str(pg.pgdata / "server.log"), "-o",
            f"-p {pg.port} -h {HOST} -k ''", "-w", "-t", "60", "start")


async def upload_paused_after_five_chunks(resources: Resources) -> tuple[asyncio.Task[Any], Any]:
    """A 3,000-row upload in chunks of 200, held after 1,100 rows (5 chunks committed, 100 rows in the next);
    returns (its task, the gate that holds it)."""
    from tests.services.test_ingestion_receiving import Paused
    from tests.upload_readers import SteppedReader

    await approved_type(resources)
    lines = [orjson.dumps(deposit(email=f"p{i % 50}@x.io", key=f"u{i}", amount=i % 1000)) + b"\n"
             for i in range(3000)]
    paused = Paused()
    upload = asyncio.create_task(import_file(small_chunks(resources, 200), SPEC, SteppedReader(
        b"".join(lines), step=8192, pause_at=len(b"".join(lines[:1100])), gate=paused.gate)))
    await asyncio.wait_for(paused.held.wait(), timeout=60)
    return upload, paused


async def test_postgres_restart_while_the_api_commits_upload_chunks_is_ridden_out(
    private_stack: tuple[Settings, Resources, EmbeddedPostgres],
) -> None:
    from app.services.ingestion import process

    own, resources, pg = private_stack
    upload, paused = await upload_paused_after_five_chunks(resources)
    await asyncio.to_thread(pg_ctl, pg, "restart")  # the upload's connection dies with it
    paused.release.set()
    job = await asyncio.wait_for(upload, timeout=120)
    assert (job.receiving, job.error_code, job.counts.total) == (False, None, 3000)
    await resources.db.dispose()  # the other pooled connections died with the restart too
    assert await process.run_job(resources, job.id) == "SUCCEEDED"
    done = await job_row(own, job.id)
    assert (done["chunk_count"], done["processed_rows"], done["accepted_rows"]) == (15, 3000, 3000)
    assert done["activities"] == done["distinct"] == 3000


async def test_postgres_down_longer_than_the_upload_retries_ends_it_at_once_with_the_job(
    private_stack: tuple[Settings, Resources, EmbeddedPostgres],
) -> None:
    from app.domain.errors import ErrorCode
    from app.services.ingestion import process
    from app.services.ingestion.receive import UploadInterrupted

    own, resources, pg = private_stack
    impatient = Resources(settings=resources.settings.model_copy(update={"upload_retry_seconds": 2}),
                          db=resources.db, queue=resources.queue)
    upload, paused = await upload_paused_after_five_chunks(impatient)
    await asyncio.to_thread(pg_ctl, pg, "stop")
    try:
        paused.release.set()
        with pytest.raises(UploadInterrupted) as stopped:
            await asyncio.wait_for(upload, timeout=60)
    finally:
        await asyncio.to_thread(pg_start_again, pg)
    job = stopped.value.job  # answered while the database was still down: the id, what is kept, where to resume
    assert [i.code for i in stopped.value.issues] == [ErrorCode.UPLOAD_INTERRUPTED]
    assert (job.error_code, job.receiving, job.counts.total, job.resume_at) == (
        ErrorCode.UPLOAD_INTERRUPTED, False, 1000, 1001)
    assert job.error is not None and "resumeFrom: 1001" in job.error

    async def ended() -> bool:  # once the database is back, the API ends the job (no 300 s stall wait)
        try:
            row = await job_row(own, job.id)
        except (OSError, asyncpg.PostgresError):
            return False
        return bool(row["error_code"] == "UPLOAD_INTERRUPTED" and not row["receiving"])

    await eventually(ended, timeout=60, interval=0.2)
    await resources.db.dispose()
    assert await process.run_job(resources, job.id) == "FAILED"
    done = await job_row(own, job.id)
    assert (done["total_rows"], done["processed_rows"], done["accepted_rows"]) == (1000, 1000, 1000)
    assert done["activities"] == done["distinct"] == 1000 and done["received_through"] == 1000
