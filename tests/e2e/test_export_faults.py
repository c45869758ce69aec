"""Exports under faults, with real worker processes: SIGKILL mid-export or before the claim, and ingestion racing
the snapshot."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
import pytest
from arq.constants import in_progress_key_prefix, result_key_prefix
from sqlalchemy.engine import make_url

from app.db import export_repo
from app.domain.access import Principal
from app.domain.exports import Compression, ExportFormat, ExportKind, ExportSpec
from app.services.exports import jobs
from app.services.runtime import Resources
from app.settings import Settings
from tests.api.timeline_support import create_person, create_type
from tests.conftest import eventually
from tests.e2e.test_ingestion_faults import StartWorker
from workers.settings import health_key

pytestmark = pytest.mark.e2e
ADMIN = Principal.local_admin()
SPEC = ExportSpec(ExportKind.ACTIVITIES, None, ExportFormat.JSONL, Compression.NONE)


async def _seed(resources: Resources, rows: int) -> None:
    type_id = await create_type(resources, "depositCheck")
    persons = [await create_person(resources, f"p{i}@example.com") for i in range(20)]
    async with resources.db.raw() as conn:
        await conn.execute(
            "INSERT INTO activity (person_id, activity_type_id, type_version, occurred_at, primary_value, fields) "
            "SELECT ($1::bigint[])[1 + g % 20], $2, 1, now() - g * interval '1 second', to_jsonb('branch ' || g), "
            "jsonb_build_object('note', repeat('x', 200), 'n', g) FROM generate_series(1, $3) g",
            persons, type_id, rows)


def _rows(path: Path) -> list[int]:
    return [int(orjson.loads(line)["id"]) for line in path.read_bytes().splitlines()]


async def test_a_worker_killed_mid_export_leaves_no_torn_file_and_the_next_one_starts_over(
    resources: Resources, worker_process: Callable[[], subprocess.Popen[bytes]]
) -> None:
    await _seed(resources, 60_000)
    job = await jobs.create(resources, ADMIN, SPEC)
    store = Path(str(resources.settings.export_dir))
    part, final = store / f"export-{job.id}.part", store / f"export-{job.id}"
    first = worker_process()

    async def writing() -> bool:
        return part.exists() and part.stat().st_size > 0

    await eventually(writing, timeout=60, interval=0.005)
    first.send_signal(signal.SIGKILL)
    first.wait()
    async with resources.db.raw() as conn:
        killed = await export_repo.fetch(conn, job.id)
    assert killed is not None and killed.status.value == "RUNNING" and not final.exists()
    with part.open("ab") as torn:  # whatever the dead attempt left must not survive into the file
        torn.write(b'{"id":"-1"}\n{"id":"-1"')

    worker_process()  # its reconciler finds the job RUNNING without a live worker and re-enqueues it

    async def done() -> bool:
        found = await jobs.fetch_any(resources, job.id)
        return found is not None and found.status.is_terminal

    await eventually(done, timeout=120)
    result = await jobs.fetch_any(resources, job.id)
    assert result is not None and result.status.value == "SUCCEEDED" and result.attempts == 2
    ids = _rows(final)
    async with resources.db.raw() as conn:
        stored = {r["id"] for r in await conn.fetch("SELECT id FROM activity")}
    assert len(ids) == len(set(ids)) == result.rows == 60_000 and set(ids) == stored
    assert not part.exists()


class Gate:
    """A TCP relay to PostgreSQL that can stop passing bytes: a worker behind it hangs on its next query."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.open = asyncio.Event()
        self.open.set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.sockets: list[asyncio.StreamWriter] = []
        self.ports: list[int] = []  # our ends of the connections to PostgreSQL (client_port in pg_stat_activity)
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _relay(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        server_in, server_out = await asyncio.open_connection(*self.upstream)
        self.sockets += [client_out, server_out]
        self.ports.append(server_out.get_extra_info("sockname")[1])
        for source, sink in ((client_in, server_out), (server_in, client_out)):
            task = asyncio.create_task(self._pump(source, sink))
            self.tasks.add(task)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await source.read(65536):
                await self.open.wait()  # closed: what was read is held, never delivered
                sink.write(data)
                await sink.drain()
        sink.close()

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for socket in self.sockets:  # PostgreSQL ends the sessions (and frees their locks) as the peer goes
            socket.transport.abort()


async def test_a_worker_killed_before_it_claimed_a_queued_export_is_replaced_within_seconds(
    resources: Resources, settings: Settings, start_worker: StartWorker
) -> None:
    await _seed(resources, 2_000)
    url = make_url(str(settings.database_url))
    gate = Gate(str(url.host), int(url.port or 5432))
    gated = url.set(host="127.0.0.1", port=await gate.start()).render_as_string(hide_password=False)
    try:
        doomed = start_worker(settings.model_copy(update={"database_url": gated}))

        async def up() -> bool:
            return bool(await resources.queue.exists(health_key(settings)))

        await eventually(up)
        gate.open.clear()  # from now on the worker's queries never reach PostgreSQL
        job = await jobs.create(resources, ADMIN, SPEC)

        async def taken() -> bool:
            return bool(await resources.queue.exists(in_progress_key_prefix + f"export:{job.id}"))

        await eventually(taken)  # arq handed the job to the worker, which hangs before its claim
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
    finally:
        await gate.close()

    async def sessions_ended() -> bool:  # the dead worker's sessions hold no lock a later test could wait on
        async with resources.db.raw() as conn:
            return not await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE client_port = ANY($1::int[])", gate.ports)

    await eventually(sessions_ended)
    unclaimed = await jobs.fetch_any(resources, job.id)
    assert unclaimed is not None and unclaimed.status.value == "QUEUED" and unclaimed.attempts == 0

    start_worker(settings)  # its reconciler (every second) sees the job taken long enough ago and never claimed

    async def done() -> bool:
        found = await jobs.fetch_any(resources, job.id)
        return found is not None and found.status.is_terminal

    await eventually(done)  # arq alone would wait for the job timeout (an hour) before running it again
    result = await jobs.fetch_any(resources, job.id)
    assert result is not None and result.status.value == "SUCCEEDED" and result.attempts == 1
    assert result.rows == 2_000

    async def rescued() -> bool:  # arq stores the run's result just after the job has ended
        return bool(await resources.queue.exists(result_key_prefix + f"export:{job.id}:unclaimed1"))

    await eventually(rescued)


async def test_ingestion_during_an_export_never_tears_the_snapshot(
    resources: Resources, run_worker: Callable[[], Awaitable[int]]
) -> None:
    await _seed(resources, 20_000)
    job = await jobs.create(resources, ADMIN, SPEC)
    stop = asyncio.Event()
    inserted = 0

    async def ingest() -> None:
        nonlocal inserted
        type_id = await create_type(resources, "attendWebinar")
        person = await create_person(resources, "late@example.com")
        while not stop.is_set():
            async with resources.db.raw() as conn:
                await conn.execute(
                    "INSERT INTO activity (person_id, activity_type_id, type_version, occurred_at, primary_value, "
                    "fields) SELECT $1, $2, 1, now(), '\"late\"', '{}' FROM generate_series(1, 50)", person, type_id)
            inserted += 50
            await asyncio.sleep(0)

    racing = asyncio.create_task(ingest())
    try:
        await run_worker()
    finally:
        stop.set()
        await racing
    result = await jobs.fetch_any(resources, job.id)
    assert result is not None and result.status.value == "SUCCEEDED"
    ids = _rows(Path(str(resources.settings.export_dir)) / f"export-{job.id}")
    assert inserted > 0
    assert len(ids) == len(set(ids)) == result.rows == result.total_rows  # rows and count: one snapshot
    async with resources.db.raw() as conn:
        total = await conn.fetchval("SELECT count(*) FROM activity")
    assert 20_000 <= len(ids) < total
