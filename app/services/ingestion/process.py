"""The worker's side of a job: claim it under a per-job advisory lock, then process chunk after chunk.

Each chunk is one transaction: read the chunk at the checkpoint (`next_chunk`), validate, resolve persons,
write activities and rejections, advance the checkpoint and counters (if the job is still RUNNING at that
chunk), delete the chunk. A crash anywhere rolls the chunk back, so a re-run resumes at the same chunk and
writes nothing twice. An upload's job runs while its file is still being received: past the last committed
chunk the worker waits for the uploader's NOTIFY of the next one.
The advisory lock lives as long as the worker's connection: when a worker dies, Postgres releases it and
the reconciler knows the RUNNING job is orphaned (no waiting for arq's in-progress key to expire).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import orjson

from app.db.ingestion_repo import chunks as chunks_repo
from app.db.ingestion_repo import jobs as jobs_repo
from app.db.ingestion_repo import rejections as rejections_repo
from app.db.raw_pool import Connection
from app.domain.errors import ErrorCode, Issue
from app.domain.ingestion import ChunkTally, JobCounts, JobStatus, SourceFormat
from app.domain.ingestion_rows import RowFailure, record_text
from app.services.ingestion import progress
from app.services.ingestion.chunk_signal import ChunkSignal
from app.services.ingestion.persons import resolve_persons
from app.services.ingestion.prepare import JobContext, Prepared, prepare_chunk_stepwise
from app.services.ingestion.writer import STAGE_DDL, Staged, write_rows
from app.services.registry import cached_live_types
from app.services.runtime import Resources

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
WAITING = "waiting"  # _step: every committed chunk is done, more are coming
CHUNK_POLL_SECONDS = 1.0  # a waiting worker looks at the job at least this often, NOTIFY or not
LIVE_PUBLISH_MAX_ROWS = 1000  # jobs up to this size publish their activities for live timelines


def lock_key(job_id: uuid.UUID) -> int:
    """The advisory-lock key of a job: its first 64 bits, signed as Postgres bigint wants."""
    return int.from_bytes(job_id.bytes[:8], "big", signed=True)


class Prefetch:
    """Reads and prepares the next chunk (own connection; CPU in short steps on the event loop, so the chunk
    being written is never kept waiting for the GIL) while this one is written.

    Reading ahead outside the job lock is safe: chunks never change, and the checkpoint read under the
    lock decides which chunk is processed; a prefetched chunk that turns out stale is simply dropped."""

    def __init__(self, resources: Resources, ctx: JobContext) -> None:
        self.resources, self.ctx = resources, ctx
        self.seq: int | None = None
        self.task: asyncio.Task[Prepared | None] | None = None

    def start(self, seq: int) -> None:
        self.cancel()
        self.seq = seq
        self.task = asyncio.create_task(self._load(seq))

    async def take(self, seq: int) -> Prepared | None:
        """The prepared chunk `seq` if it was read ahead (None if absent or not prefetched)."""
        if self.task is None or self.seq != seq:
            return None
        task, self.task = self.task, None
        try:
            return await task
        except Exception:  # the read-ahead is an optimisation; the locked path reads it again
            logger.debug("prefetch of chunk %s failed", seq, exc_info=True)
            return None

    def cancel(self) -> None:
        if self.task is not None:
            self.task.add_done_callback(lambda t: t.cancelled() or t.exception())  # never "never retrieved"
            self.task.cancel()
            self.task = None

    async def _load(self, seq: int) -> Prepared | None:
        async with self.resources.db.raw() as conn:
            data = await chunks_repo.data(conn, self.ctx.id, seq)
        if data is None:
            return None
        return await prepare_chunk_stepwise(self.ctx, data)


async def run_job(resources: Resources, job_id: uuid.UUID) -> str:
    """Process the job to its end (or until cancelled). Returns what happened, for arq's result."""
    return await run_locked(resources, job_id, _run_locked)


async def run_locked(
    resources: Resources, job_id: uuid.UUID, body: Callable[[Resources, Any, uuid.UUID], Awaitable[str]]
) -> str:
    """`body(resources, conn, job_id)` holding the job's advisory lock on `conn` (ingestion and export jobs);
    "busy" when another worker holds it."""
    async with resources.db.raw() as conn:
        key = lock_key(job_id)
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
            return "busy"  # another worker is processing it right now
        try:
            return await body(resources, conn, job_id)
        finally:
            try:
                await conn.execute("SELECT pg_advisory_unlock($1)", key)
            except Exception:  # a broken connection holds no lock; never pool one that might
                conn.terminate()


async def _run_locked(resources: Resources, conn: Connection, job_id: uuid.UUID) -> str:
    row = await jobs_repo.start_run(conn, job_id)
    if row is None:
        return "skipped"
    if row["attempts"] > MAX_ATTEMPTS:
        await _fail(conn, job_id, f"gave up after {MAX_ATTEMPTS} attempts")
        await progress.publish_job(resources, job_id, force=True)
        return JobStatus.FAILED.value
    ctx = await _context(resources, conn, row)
    await conn.execute(STAGE_DDL)
    publisher = progress.Throttle()
    prefetch = Prefetch(resources, ctx)
    signal: ChunkSignal | None = None
    try:
        while True:
            if signal is not None:
                signal.reset()  # before reading the job: a chunk committed after the read still wakes us
            outcome = await _step(resources, conn, ctx, prefetch)
            if outcome == WAITING:
                if signal is None:  # listen, then look again: the chunk may have come before LISTEN did
                    signal = await ChunkSignal.listen(conn, job_id)
                else:
                    await signal.wait(CHUNK_POLL_SECONDS)
                continue
            if outcome is not None:
                await progress.publish_job(resources, job_id, force=True)
                return outcome
            if publisher.due():
                await progress.publish_job(resources, job_id)
    finally:
        prefetch.cancel()
        if signal is not None:
            await signal.close()


async def _context(resources: Resources, conn: Connection, row: asyncpg.Record) -> JobContext:
    types, names = await cached_live_types(resources, conn)
    return JobContext(
        id=row["id"], format=SourceFormat(row["format"]), activity_type=row["activity_type"],
        header=list(row["header"]) if row["header"] else None, dry_run=row["dry_run"],
        create_missing_persons=row["create_missing_persons"],
        live=not row["dry_run"] and not row["receiving"] and row["total_rows"] <= LIVE_PUBLISH_MAX_ROWS
        and await progress.has_listeners(resources),
        types=types, known_names=names, max_row_bytes=resources.settings.limits.max_row_bytes,
    )


async def _step(resources: Resources, conn: Connection, ctx: JobContext, prefetch: Prefetch) -> str | None:
    """Process the chunk at the checkpoint in one transaction; a status when the job has ended, WAITING when
    every committed chunk is done but the upload is still being received.

    The job row is not locked while the chunk is written (an uploader adds chunks to it meanwhile): the
    advisory lock already makes this run the only one, and the checkpoint moves only if the job is still
    RUNNING at this chunk, or the whole chunk rolls back."""
    inserted: list[Any] = []
    try:
        async with conn.transaction():
            job = await jobs_repo.checkpoint(conn, ctx.id)
            if job is None or job["status"] != JobStatus.RUNNING.value:
                return job["status"] if job else "missing"
            if job["cancel_requested"]:
                await jobs_repo.finish(conn, ctx.id, JobStatus.CANCELLED)
                await chunks_repo.delete_all(conn, ctx.id)
                return JobStatus.CANCELLED.value
            seq = job["next_chunk"]
            if seq >= job["chunk_count"]:
                if job["receiving"]:
                    return WAITING
                status = await _end(conn, ctx.id, job)
                return status.value
            prepared = await prefetch.take(seq)
            if prepared is None:
                data = await chunks_repo.data(conn, ctx.id, seq)
                # A chunk is deleted only with the checkpoint that passes it, so a missing one is lost: skip it
                # and process the rest; its rows are missing from the counts and the job's end fails it (_end).
                # In steps on the event loop like the read-ahead, not on a thread: a one-chunk inline batch (the
                # Marketo facade's, recordActivities') has nothing to overlap, and 8 concurrent ones in one API
                # process made ~20% fewer calls/s with the thread (GIL hand-offs; in-process A/B, load ~10).
                prepared = await prepare_chunk_stepwise(ctx, data) if data is not None else Prepared()
            if seq + 1 < job["chunk_count"]:
                prefetch.start(seq + 1)
            tally = ChunkTally()
            inserted = await write_chunk(conn, ctx, prepared, tally)
            if not await jobs_repo.advance(conn, ctx.id, seq, tally):
                raise _Superseded  # the job ended meanwhile (cancelled while queued, failed): keep nothing
            await chunks_repo.delete(conn, ctx.id, seq)
    except _Superseded:
        return None  # the next step reads the job's new status
    if inserted:
        await progress.publish_activities(resources, inserted)
    return None


class _Superseded(Exception):
    """Rolls back a chunk whose job changed status while it was written."""


async def _end(conn: Connection, job_id: uuid.UUID, job: asyncpg.Record) -> JobStatus:
    """End a job whose chunks are all processed. Its counts must add up to the rows it received: if they do
    not, rows were lost somewhere and it FAILs with ROW_COUNT_MISMATCH, never SUCCEEDED."""
    counts = JobCounts(job["total_rows"], job["processed_rows"], job["accepted_rows"], job["rejected_rows"],
                       job["duplicate_rows"])
    mismatch = counts.mismatch()
    if mismatch is not None:
        logger.error("ingestion job %s: %s", job_id, mismatch)
        await jobs_repo.record_mismatch(conn, job_id, mismatch)
        status = JobStatus.FAILED
    elif job["error_code"] is not None:  # the upload was interrupted: its committed rows are done
        status = JobStatus.FAILED
    elif job["rejected_rows"] == 0:
        status = JobStatus.SUCCEEDED
    else:
        status = JobStatus.COMPLETED_WITH_ERRORS
    await jobs_repo.finish(conn, job_id, status)
    return status


async def fail_job(resources: Resources, job_id: uuid.UUID, error: str) -> None:
    """Mark a job FAILED (its processed chunks stay written); chunks left are dropped, and an upload still
    being received stops at its next chunk."""
    async with resources.db.raw() as conn:
        await _fail(conn, job_id, error)


async def _fail(conn: Connection, job_id: uuid.UUID, error: str) -> None:
    await jobs_repo.fail(conn, job_id, error)
    await chunks_repo.delete_all(conn, job_id)


async def write_chunk(conn: Connection, ctx: JobContext, prepared: Prepared, tally: ChunkTally) -> list[Any]:
    """Resolve persons, write a prepared chunk and its rejections; fills `tally`; returns inserted activity
    records when the job publishes live."""
    failures = list(prepared.failures)
    candidates = prepared.candidates
    persons = await resolve_persons(conn, prepared.people,
                                    create_missing=ctx.create_missing_persons, dry_run=ctx.dry_run)
    staged: list[Staged] = []
    for number, who, at, type_id, version, primary, fields, key, digest, raw in candidates:
        person = persons[who]
        if isinstance(person, Issue):
            failures.append(RowFailure(number, [person], raw))
            continue
        staged.append((number, person, at, type_id, version, primary, fields, key, digest))
    result = await write_rows(conn, ctx.id, staged, dry_run=ctx.dry_run, return_rows=ctx.live,
                              expect_new=not ctx.keys_stored)
    ctx.keys_stored = ctx.keys_stored or result.stored_keys
    raw_by_row = {c[0]: c[9] for c in candidates} if result.conflicts else {}
    for row in result.conflicts:
        message = "This idempotency key was already used for a different activity of this person and type."
        failures.append(RowFailure(row[0], [Issue(ErrorCode.CONFLICT, "idempotencyKey", message)],
                                   raw_by_row[row[0]]))
    await _reject(conn, ctx.id, failures)
    tally.processed += prepared.rows
    tally.accepted += result.accepted
    tally.duplicates += len(result.duplicates)
    tally.rejected += len(failures)
    return result.inserted


async def _reject(conn: Connection, job_id: uuid.UUID, failures: list[RowFailure]) -> None:
    if not failures:
        return
    records = []
    for f in failures:
        first = f.issues[0]
        records.append((job_id, f.row_number, first.code.value, first.field, first.message,
                        orjson.dumps([i.as_dict() for i in f.issues]).decode(), record_text(f.raw)))
    await rejections_repo.insert(conn, records)
