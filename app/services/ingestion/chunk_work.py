"""One chunk of a job in one transaction, claimed by whichever worker gets it; and the job's end, decided once.

A chunk's transaction: claim a chunk (its row, FOR UPDATE SKIP LOCKED), look at the job (still RUNNING, no
cancel asked), prepare the chunk, resolve persons, write activities and rejections, delete the chunk row (its done
marker) and add its counts to the job (guarded on RUNNING, else the whole chunk rolls back). Locks are taken in
one order, chunk row then job row (a cancel deletes the chunks before it ends the job), so chunks committing
in several workers at once never deadlock with each other, a cancel or an upload's next chunk. A crash rolls the
chunk back and unlocks its row: the next worker to claim it writes it, exactly once.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from enum import Enum
from typing import Any

import asyncpg
import orjson

from app.db.ingestion_repo import chunks as chunks_repo
from app.db.ingestion_repo import jobs as jobs_repo
from app.db.ingestion_repo import rejections as rejections_repo
from app.db.raw_pool import Connection
from app.db.two_phase import enlist_nodes
from app.domain.errors import ErrorCode, Issue
from app.domain.ingestion import ChunkTally, JobCounts, JobStatus
from app.domain.ingestion_rows import RowFailure, record_text
from app.services.ingestion import progress
from app.services.ingestion.persons import resolve_persons
from app.services.ingestion.prepare import JobContext, Prepared, prepare_chunk_stepwise
from app.services.ingestion.writer import Staged, write_rows
from app.services.runtime import Resources

logger = logging.getLogger(__name__)


class Step(Enum):
    """What one attempt at a chunk found."""

    DONE = "done"  # a chunk was processed and committed
    NONE = "none"  # no chunk free to claim (none left, or the rest are held by other transactions)
    STOP = "stop"  # the job is no longer RUNNING, or a cancel was asked: `conclude` says what to do


class Verdict(Enum):
    """What `conclude` found, when the job has not ended."""

    MORE = "more"  # chunks are left (held by other workers' transactions, or just committed by an upload)
    WAITING = "waiting"  # every chunk received is done and the upload is still being received
    SETTLE = "settle"  # every chunk is done: on Citus, finish commits a node missed first (app/db/two_phase.py)


@dataclass
class Timings:
    """Where a run's time went, summed over its chunks (lanes overlap, so the parts may exceed the run's
    wall time): claiming (and waiting for a held chunk), preparing (CPU), writing (persons, rows, counts:
    mostly PostgreSQL) and committing."""

    chunks: int = 0
    rows: int = 0
    claim: float = 0.0
    prepare: float = 0.0
    write: float = 0.0
    commit: float = 0.0

    def __str__(self) -> str:
        return (f"{self.chunks} chunks, {self.rows} rows; claim {self.claim:.2f} s, prepare {self.prepare:.2f} s, "
                f"write {self.write:.2f} s, commit {self.commit:.2f} s")


async def process_next(
    resources: Resources, conn: Connection, ctx: JobContext, timings: Timings, *, wait: bool = False
) -> tuple[Step, int]:
    """Claim one chunk of the job and process it in one transaction; what happened, and how many chunks were
    left before this one (0 when no chunk was claimed). `wait`: if every chunk left is held by another
    transaction, wait for the first of them (claimed if its holder dies) instead of NONE."""
    inserted: list[Any] = []
    started = time.perf_counter()
    try:
        async with conn.transaction():
            # Claimed first: a waiting claim must hold no other lock (see chunks_repo.claim).
            chunk = await chunks_repo.claim(conn, ctx.id, wait=wait)
            if chunk is None:
                return Step.NONE, 0  # whether the job is over (or cancelled) is for `conclude` to say
            job = await jobs_repo.run_state(conn, ctx.id)
            if job is None or job["status"] != JobStatus.RUNNING.value or job["cancel_requested"]:
                return Step.STOP, 0
            claimed = time.perf_counter()
            prepared = await prepare_chunk_stepwise(ctx, chunk["data"])
            ready = time.perf_counter()
            tally = ChunkTally()
            inserted = await write_chunk(conn, ctx, prepared, tally)
            await chunks_repo.delete(conn, ctx.id, chunk["seq"])
            if not await jobs_repo.add_chunk(conn, ctx.id, tally):
                raise _Superseded  # the job ended meanwhile (cancelled, failed): keep nothing
            written = time.perf_counter()
    except _Superseded:
        return Step.STOP, 0
    timings.chunks, timings.rows = timings.chunks + 1, timings.rows + tally.processed
    timings.claim += claimed - started
    timings.prepare += ready - claimed
    timings.write += written - ready
    timings.commit += time.perf_counter() - written
    if inserted:
        await progress.publish_activities(resources, inserted)
    return Step.DONE, job["chunk_count"] - job["next_chunk"]


class _Superseded(Exception):
    """Rolls back a chunk whose job changed status while it was written."""


async def conclude(conn: Connection, job_id: uuid.UUID, *, settled: bool = True) -> JobStatus | Verdict:
    """Under the job row's lock, one worker at a time: end the job if it is over (its final status), else say
    why not. Any worker of the job may call it; the first to see the job over ends it, the others see it ended.
    `settled=False` (on Citus, until the caller has recovered pending commits): a job that is over is not ended
    but SETTLE is returned, as its counts must not be reported before every node holds its rows.

    Over means: a cancel was asked (the chunks left are dropped; one being written elsewhere is waited for and
    counts), or it is no longer receiving and no chunk is left (a chunk still in another worker's open
    transaction is left: that worker calls this again after its commit)."""
    async with conn.transaction():
        job = await jobs_repo.lock_for_end(conn, job_id)
        if job is None:
            return JobStatus.FAILED
        if job["status"] != JobStatus.RUNNING.value:
            return JobStatus(job["status"])
        cancel = job["cancel_requested"]
        if not cancel:
            if await chunks_repo.any_left(conn, job_id):
                return Verdict.MORE
            if job["receiving"]:
                return Verdict.WAITING
            if not settled:
                return Verdict.SETTLE
            return await _end(conn, job_id, job)
    # Cancelled: chunk rows before the job row, in a transaction of its own, as every chunk transaction locks
    # them (holding the job row while the chunks are deleted could deadlock with a chunk being committed). The
    # delete waits for the chunks being written elsewhere (they commit and count), then drops the rest.
    async with conn.transaction():
        await chunks_repo.delete_all(conn, job_id)
        await jobs_repo.finish(conn, job_id, JobStatus.CANCELLED)
    return JobStatus.CANCELLED


async def _end(conn: Connection, job_id: uuid.UUID, job: asyncpg.Record) -> JobStatus:
    """End a job whose chunks are all processed. Its counts must add up to the rows it received: if they do
    not, rows were lost somewhere (a chunk missing from the table) and it FAILs with ROW_COUNT_MISMATCH, never
    SUCCEEDED."""
    counts = JobCounts(job["total_rows"], job["processed_rows"], job["accepted_rows"], job["rejected_rows"],
                       job["duplicate_rows"])
    mismatch = counts.mismatch()
    if mismatch is not None:
        logger.error("ingestion job %s: %s", job_id, mismatch)
        await jobs_repo.record_mismatch(conn, job_id, mismatch)
    # An interrupted upload (error_code set) fails with its committed rows done.
    status = counts.final_status(interrupted=job["error_code"] is not None)
    await jobs_repo.finish(conn, job_id, status)
    return status


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
    if ctx.distributed and staged and not ctx.dry_run:
        await enlist_nodes(conn, (row[1] for row in staged))
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
