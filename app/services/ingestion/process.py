"""The worker's side of a job: a lead run under the job's advisory lock, helper runs beside it in other workers,
each processing chunks on several connections at once (lanes), until one of them ends the job.

Each chunk is one transaction that claims it (see chunk_work), so any number of runs may share a job: a
crash rolls its chunk back and another run writes it, exactly once. The lead run holds the job's advisory
lock for its whole run, on its connection: when its worker dies, Postgres releases it and the reconciler
knows the RUNNING job has no lead (no waiting for arq's in-progress key to expire) and enqueues one; helpers
hold no lock and may come and go. The lead stays until the job ends: when the chunks left are all held by
other runs it waits for the first of them, and claims it if its holder dies. An upload's job runs while its
file is still being received: past the last committed chunk the runs wait for the uploader's NOTIFY.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from app.db.ingestion_repo import chunks as chunks_repo
from app.db.ingestion_repo import jobs as jobs_repo
from app.db.raw_pool import Connection
from app.domain.ingestion import JobStatus, SourceFormat
from app.services.ingestion import progress
from app.services.ingestion.chunk_signal import ChunkSignal
from app.services.ingestion.chunk_work import Step, Timings, Verdict, conclude, process_next
from app.services.ingestion.prepare import JobContext
from app.services.ingestion.settle import settle_commits
from app.services.ingestion.writer import STAGE_DDL
from app.services.queue import JobName
from app.services.registry import cached_live_types
from app.services.runtime import Resources

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
CHUNK_POLL_SECONDS = 1.0  # a waiting worker looks at the job at least this often, NOTIFY or not
LIVE_PUBLISH_MAX_ROWS = 1000  # jobs up to this size publish their activities for live timelines
LOG_RUN_CHUNKS = 4  # runs of at least this many chunks log where their time went (not every inline batch)
DEADLOCK_RETRIES = 5  # a chunk chosen as a deadlock victim (keys of two chunks in opposite orders) runs again

HELPER_ID = "ingest-help:"  # arq ids of helper runs: ingest-help:<job id>:<lead attempt>:<n>
# Jobs this process works on (lead and helper runs): a worker process leaves the helper runs of these jobs in
# the queue for another process (workers/ingest.py).
_here: collections.Counter[uuid.UUID] = collections.Counter()
_bulk_here: collections.Counter[uuid.UUID] = collections.Counter()  # those of them that are bulk jobs


def running_here(job_id: uuid.UUID) -> bool:
    return _here[job_id] > 0


def bulk_running_here() -> bool:
    """Whether this process works on a bulk job right now (more than one chunk, or an upload): the delivery loop
    yields to it. A small inline batch (recordActivities) is not one: its webhooks must go out at once."""
    return bool(_bulk_here)


def lock_key(job_id: uuid.UUID) -> int:
    """The advisory-lock key of a job: its first 64 bits, signed as Postgres bigint wants."""
    return int.from_bytes(job_id.bytes[:8], "big", signed=True)


async def run_job(resources: Resources, job_id: uuid.UUID) -> str:
    """The lead run: process the job to its end (or until cancelled). Returns what happened, for arq's result."""
    return await run_locked(resources, job_id, _lead)


async def run_helper(resources: Resources, job_id: uuid.UUID) -> str:
    """A helper run: process chunks of a RUNNING job beside its lead, until none is free to claim; it ends the
    job if it commits the last chunk. Never starts a job nor counts as an attempt."""
    async with resources.db.raw() as conn:
        row = await jobs_repo.running(conn, job_id)
        if row is None:
            return "skipped"
        logger.info("helping with ingestion job %s", job_id)
        run = _Run(resources, await _context(resources, conn, row), row, lead=False)
        return await run.work(conn)


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


async def _lead(resources: Resources, conn: Connection, job_id: uuid.UUID) -> str:
    row = await jobs_repo.start_run(conn, job_id)
    if row is None:
        return "skipped"
    if row["attempts"] > MAX_ATTEMPTS:
        await _fail(conn, job_id, f"gave up after {MAX_ATTEMPTS} attempts")
        await progress.publish_job(resources, job_id, force=True)
        return JobStatus.FAILED.value
    run = _Run(resources, await _context(resources, conn, row), row, lead=True, attempt=row["attempts"])
    return await run.work(conn)


class _Run:
    """One worker's run of a job: its lanes, its wait for an upload's next chunk, and (the lead) its helpers."""

    def __init__(self, resources: Resources, ctx: JobContext, row: asyncpg.Record, *, lead: bool,
                 attempt: int = 0) -> None:
        self.resources, self.ctx, self.lead, self.attempt = resources, ctx, lead, attempt
        self.options = resources.settings.ingestion
        self.publisher = progress.Throttle()
        self.helpers_called = not lead or self.options.workers_per_job < 2
        # Chunks left as last read, for the next _lanes (saves a read).
        self.known_left: int | None = row["chunk_count"] - row["next_chunk"]
        self.bulk: bool = row["receiving"] or row["chunk_count"] > 1  # see bulk_running_here
        self.timings = Timings()
        self.settled = False  # the commits a worker node missed are finished (Citus; see _conclude)

    async def work(self, conn: Connection) -> str:
        job_id = self.ctx.id
        await conn.execute(STAGE_DDL)
        counters = (_here, _bulk_here) if self.bulk else (_here,)
        for counter in counters:
            counter[job_id] += 1
        signal: ChunkSignal | None = None
        try:
            while True:
                if signal is not None:
                    signal.reset()  # before looking at the job: a chunk committed after the look still wakes us
                step = await self._lanes(conn)
                verdict = await self._conclude(conn)
                if isinstance(verdict, JobStatus):
                    await progress.publish_job(self.resources, job_id, force=True)
                    return verdict.value
                wait: bool | None = verdict is Verdict.WAITING
                if not wait and step is Step.NONE:  # chunks are left: held by other runs, or just committed
                    wait = await self._held_elsewhere(conn)
                    if wait is None:
                        return "helped"  # the rest are held by others: the lead waits for them
                if wait:
                    if signal is None:  # listen, then look again: the chunk may have come before LISTEN did
                        signal = await ChunkSignal.listen(conn, job_id)
                    else:
                        await signal.wait(CHUNK_POLL_SECONDS)
        finally:
            for counter in counters:
                counter[job_id] -= 1
                if not counter[job_id]:
                    del counter[job_id]
            if signal is not None:
                await signal.close()
            if self.timings.chunks >= LOG_RUN_CHUNKS:
                logger.info("ingestion job %s, %s run: %s", job_id, "lead" if self.lead else "helper", self.timings)

    async def _held_elsewhere(self, conn: Connection) -> bool | None:
        """Chunks are left but none was free. The lead waits for the first one (claimed if its holder dies). A
        helper takes one that came meanwhile, or waits (True) while an upload is still coming, to help with its
        next chunks too; otherwise (None) it leaves the rest to the lead."""
        if self.lead:
            await self._chunk(conn, wait=True)
            return False
        if (await self._chunk(conn))[0] is Step.DONE:
            return False
        state = await jobs_repo.run_state(conn, self.ctx.id)
        return True if state is not None and state["receiving"] else None

    async def _conclude(self, conn: Connection) -> JobStatus | Verdict:
        """`conclude`; on Citus a job that is over ends once the commits a worker node missed are finished."""
        verdict = await conclude(conn, self.ctx.id, settled=self.settled or not self.ctx.distributed)
        if verdict is Verdict.SETTLE:
            await settle_commits(conn, self.ctx.id)
            self.settled = True
            verdict = await conclude(conn, self.ctx.id)
        return verdict

    async def _lanes(self, conn: Connection) -> Step:
        """Process chunks on `lanes` connections at once until none is free to claim (NONE) or the job stopped
        (STOP). One lane's error stops the others and is raised as it is (the arq job retries or fails on it)."""
        extra, left = self.options.lanes - 1, self.known_left
        if extra and left is None and (state := await jobs_repo.run_state(conn, self.ctx.id)) is not None:
            left = state["chunk_count"] - state["next_chunk"]
        self.known_left = None
        extra = min(extra, (left or 0) - 1)  # an inline batch of one chunk: one lane
        try:
            async with asyncio.TaskGroup() as group:
                lanes = [group.create_task(self._lane(conn))]
                lanes += [group.create_task(self._pooled_lane()) for _ in range(max(0, extra))]
        except ExceptionGroup as errors:
            raise errors.exceptions[0] from None
        return Step.STOP if any(lane.result() is Step.STOP for lane in lanes) else Step.NONE

    async def _pooled_lane(self) -> Step:
        async with self.resources.db.raw() as conn:
            await conn.execute(STAGE_DDL)
            return await self._lane(conn)

    async def _lane(self, conn: Connection) -> Step:
        while True:
            step, left = await self._chunk(conn)
            if step is not Step.DONE:
                return step
            if left <= 1:  # that was the last chunk there was: no transaction just to find none
                return Step.NONE

    async def _chunk(self, conn: Connection, *, wait: bool = False) -> tuple[Step, int]:
        for attempt in range(DEADLOCK_RETRIES + 1):
            try:
                step, left = await process_next(self.resources, conn, self.ctx, self.timings, wait=wait)
                break
            except asyncpg.DeadlockDetectedError:
                if attempt == DEADLOCK_RETRIES:
                    raise
                logger.info("ingestion job %s: a chunk was a deadlock victim; running it again", self.ctx.id)
        if step is Step.DONE:
            if self.publisher.due():
                await progress.publish_job(self.resources, self.ctx.id)
            if not self.helpers_called and left >= self.options.helper_min_chunks:
                self.helpers_called = True
                await self._call_helpers()
        return step, left

    async def _call_helpers(self) -> None:
        """Enqueue helper runs (best effort: the lead alone finishes the job anyway)."""
        job_id, queue = self.ctx.id, self.resources.settings.arq_queue_name
        try:
            for n in range(1, self.options.workers_per_job):
                await self.resources.queue.enqueue_job(
                    JobName.INGEST_HELP, str(job_id), _job_id=f"{HELPER_ID}{job_id}:{self.attempt}:{n}",
                    _queue_name=queue)
        except Exception:
            logger.warning("ingestion job %s: could not enqueue helpers", job_id, exc_info=True)


async def _context(resources: Resources, conn: Connection, row: asyncpg.Record) -> JobContext:
    types, names = await cached_live_types(resources, conn)
    return JobContext(
        id=row["id"], format=SourceFormat(row["format"]), activity_type=row["activity_type"],
        header=list(row["header"]) if row["header"] else None, dry_run=row["dry_run"],
        create_missing_persons=row["create_missing_persons"],
        live=not row["dry_run"] and not row["receiving"] and row["total_rows"] <= LIVE_PUBLISH_MAX_ROWS
        and await progress.has_listeners(resources),
        types=types, known_names=names, max_row_bytes=resources.settings.limits.max_row_bytes,
        distributed=await resources.db.distributed(),
    )


async def fail_job(resources: Resources, job_id: uuid.UUID, error: str) -> None:
    """Mark a job FAILED (its processed chunks stay written); chunks left are dropped, and an upload still
    being received stops at its next chunk."""
    async with resources.db.raw() as conn:
        await _fail(conn, job_id, error)


async def _fail(conn: Connection, job_id: uuid.UUID, error: str) -> None:
    await jobs_repo.fail(conn, job_id, error)
    await chunks_repo.delete_all(conn, job_id)


