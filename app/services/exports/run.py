"""The worker's side of an export: one REPEATABLE READ snapshot COPYed out in chunks into the file store.

The job is claimed under a per-job advisory lock held on a connection of its own (Postgres drops it when the
worker dies, which is how the reconciler knows to re-enqueue). Each attempt starts the file from scratch in
a new snapshot and writes it as a part renamed only once complete, so a killed worker never leaves a file
with missing or doubled rows: the next attempt overwrites the part. Memory stays flat: COPY hands over
chunks, at most BUFFER_BYTES of them are held before they go (compressed, hashed) to the store.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from typing import Any

from app.db import export_queries, export_repo
from app.domain.activities import ActivityScope
from app.domain.errors import DomainError
from app.domain.exports import Compression, ExportJob, ExportStatus
from app.domain.filters import ResolvedFilter, resolve
from app.services.exports.jobs import part_key
from app.services.exports.store import PartWriter, file_store
from app.services.ingestion import progress
from app.services.ingestion.process import run_locked
from app.services.runtime import Resources
from app.services.timelines import live_definitions, search_scope

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BUFFER_BYTES = 1024 * 1024
PROGRESS_SECONDS = 0.5  # how often a running export records its progress and looks for cancel/restart


class _Stop(Exception):
    """Raised out of the COPY callback: the job was cancelled (or deleted), or must restart (an erasure)."""

    def __init__(self, restart: bool) -> None:
        super().__init__("restart" if restart else "cancel")
        self.restart = restart


class _Sink:
    """COPY's output callback: buffers chunks, hands them to the store, records progress now and then."""

    def __init__(self, resources: Resources, conn: Any, job_id: uuid.UUID, writer: PartWriter) -> None:
        self.resources, self.conn, self.job_id, self.writer = resources, conn, job_id, writer
        self.buffer: list[bytes] = []
        self.buffered = 0
        self.lines = 0
        self.written = 0
        self.last = time.monotonic()

    async def take(self, data: bytes) -> None:
        self.buffer.append(data)
        self.buffered += len(data)
        self.lines += data.count(b"\n")
        if self.buffered >= BUFFER_BYTES:
            await self.flush()
        if time.monotonic() - self.last >= PROGRESS_SECONDS:
            self.last = time.monotonic()
            cancel, restart = await export_repo.set_progress(self.conn, self.job_id, self.lines, self.written)
            await progress.publish_job(self.resources, self.job_id, kind="export")
            if cancel or restart:
                raise _Stop(restart)

    async def flush(self) -> None:
        if self.buffer:
            data = b"".join(self.buffer)
            self.buffer, self.buffered = [], 0
            self.written += len(data)
            await self.writer.write(data)


async def run_export(resources: Resources, job_id: uuid.UUID) -> str:
    """Run the export to its end (or until cancelled). Returns what happened, for arq's result."""
    return await run_locked(resources, job_id, _run_locked)


async def _run_locked(resources: Resources, conn: Any, job_id: uuid.UUID) -> str:
    while True:
        job = await export_repo.claim(conn, job_id)
        if job is None:
            return "skipped"
        if job.attempts > MAX_ATTEMPTS:
            return await _end(resources, conn, job_id, ExportStatus.FAILED, error=f"gave up after {MAX_ATTEMPTS} "
                              "attempts")
        try:
            flt = await _resolved(resources, job)
        except DomainError as error:  # a type of the filter was deleted since the job was created
            return await _end(resources, conn, job_id, ExportStatus.FAILED, error=str(error))
        writer = file_store(resources.settings).open_part(part_key(job_id), gzip=job.compression is Compression.GZIP)
        try:
            rows = await _copy(resources, conn, job, flt, writer)
        except _Stop as stop:
            await writer.abort()
            if stop.restart:
                logger.info("export %s restarts: a person was erased during its snapshot", job_id)
                continue
            return await _end(resources, conn, job_id, ExportStatus.CANCELLED, error="cancelled")
        except BaseException:
            await writer.abort()
            raise
        outcome = await _commit(resources, conn, job_id, writer, rows)
        if outcome is not None:
            return outcome


async def _resolved(resources: Resources, job: ExportJob) -> ResolvedFilter | None:
    if job.search is None:
        return None
    needs_types = job.search.activity_types is not None or bool(job.search.where)
    return resolve(job.search, await live_definitions(resources) if needs_types else {}, "input.filter")


async def _copy(resources: Resources, conn: Any, job: ExportJob, flt: ResolvedFilter | None, writer: PartWriter) -> int:
    scope = search_scope(job.search) if job.search is not None else ActivityScope()
    query = export_queries.export_query(job.kind, job.format, job.columns, scope, flt)
    options = export_queries.copy_options(job.format)
    sink = _Sink(resources, conn, job.id, writer)
    async with resources.db.raw() as data:
        try:
            # One snapshot for the count and every row: concurrent ingestion never tears the file.
            async with data.transaction(isolation="repeatable_read", readonly=True):
                total = await data.fetchval(query.count, *query.count_params)
                await export_repo.set_snapshot(conn, job.id, total)
                status = await data.copy_from_query(query.select, *query.params, output=sink.take, **options)
        except BaseException:
            data.terminate()  # a COPY stopped midway leaves the connection unusable
            raise
    await sink.flush()
    return int(status.split()[-1])


async def _commit(resources: Resources, conn: Any, job_id: uuid.UUID, writer: PartWriter, rows: int) -> str | None:
    """Publish the file unless the job was cancelled or must restart meanwhile (None: run it again)."""
    size, sha256 = await writer.commit()
    retention = timedelta(days=resources.settings.export_retention_days)
    async with conn.transaction():
        found = await conn.fetchrow(
            "SELECT cancel_requested, restart_requested FROM export_job WHERE id = $1 FOR UPDATE", job_id)
        if found is None or found["cancel_requested"] or found["restart_requested"]:
            restart = found is not None and found["restart_requested"] and not found["cancel_requested"]
        else:
            await conn.execute(
                "UPDATE export_job SET status = 'SUCCEEDED', rows = $2, bytes = $3, sha256 = $4, file_key = $5, "
                "finished_at = now(), updated_at = now(), expires_at = now() + $6::interval WHERE id = $1",
                job_id, rows, size, sha256, part_key(job_id), retention)
            restart = None
    if restart is None:
        await progress.publish_job(resources, job_id, force=True, kind="export")
        return ExportStatus.SUCCEEDED.value
    await file_store(resources.settings).delete(part_key(job_id))
    if restart:
        return None
    if found is None:
        return "deleted"
    return await _end(resources, conn, job_id, ExportStatus.CANCELLED, error="cancelled")


async def _end(resources: Resources, conn: Any, job_id: uuid.UUID, status: ExportStatus, *, error: str) -> str:
    await export_repo.finish(conn, job_id, status, error=error if status is ExportStatus.FAILED else None)
    await progress.publish_job(resources, job_id, force=True, kind="export")
    return status.value


async def fail(resources: Resources, job_id: uuid.UUID, error: str) -> None:
    async with resources.db.raw() as conn:
        await export_repo.finish(conn, job_id, ExportStatus.FAILED, error=error)
    await progress.publish_job(resources, job_id, force=True, kind="export")
