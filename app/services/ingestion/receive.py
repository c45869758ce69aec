"""An upload's job committed chunk by chunk, so a worker processes the first chunks while the rest arrives."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import time
import uuid

from app.db.ingestion_repo import chunks as chunks_repo
from app.db.ingestion_repo import jobs as jobs_repo
from app.db.raw_pool import Connection
from app.domain.errors import DomainError, ErrorCode, Issue
from app.domain.ingestion import IngestionJob, RawRow, encode_chunk
from app.services.ingestion import progress
from app.services.ingestion.fingerprint import check_reuse
from app.services.ingestion.jobs import fetch_job
from app.services.ingestion.reconnect import Reconnecting
from app.services.ingestion.submit import JobSpec, by_key, enqueue, insert_job
from app.services.runtime import Resources

logger = logging.getLogger(__name__)

# A job still takes chunks while it is receiving and was neither cancelled nor ended by someone else
# (cancelIngestionJob, the reconciler's stalled-upload check, a worker giving up).


class UploadInterrupted(DomainError):
    """The upload stopped after its job was committed: `job` (FAILED, CANCELLED, or still processing the
    chunks committed before) comes back with the issues that stopped the upload."""

    def __init__(self, job: IngestionJob, issues: list[Issue]) -> None:
        super().__init__(issues)
        self.job = job


# Jobs being ended in the background once the database is back (a reference, so they are not collected).
_BACKGROUND: set[asyncio.Task[None]] = set()


class _Stopped(Exception):
    """Rolls back a chunk whose job no longer accepts chunks."""


class Receiver:
    """The rows of one upload, committed `chunk_rows` at a time.

    The job row (QUEUED, `receiving`) is committed with the first full chunk and enqueued at once; each later
    chunk is one short transaction that also raises the job's chunk_count/total_rows, bumps updated_at (the
    reconciler's heartbeat) and NOTIFYs the job's channel so a worker waiting for it wakes up. The last one
    clears `receiving` and stores the payload digest. An upload smaller than one chunk is written in one
    transaction at its end: all or nothing, as before. Each transaction rides out a short database outage
    (`link`: retried on a fresh connection for upload_retry_seconds, never committed twice).
    """

    def __init__(self, resources: Resources, link: Reconnecting, spec: JobSpec) -> None:
        limits = resources.settings.limits
        self.resources, self.link, self.spec = resources, link, spec
        self.id = uuid.uuid4()
        self.created = False
        self.existing: IngestionJob | None = None
        self.existing_sha256: str | None = None
        self.digest = hashlib.sha256()  # of the payload as sent: compared when the job key is reused
        self.header: list[str] | None = None
        self.total_bytes = 0
        self.rows = 0  # rows read so far
        self.committed_rows = 0  # rows of the committed chunks
        self.received_through = 0  # row number of the last committed row: an interrupted upload resumes after it
        self._seq = 0  # chunks committed
        self._chunk: list[RawRow] = []
        self._chunk_rows = limits.chunk_rows
        self._max_rows = limits.max_upload_rows
        self._publish = progress.Throttle()
        self.snapshot: IngestionJob | None = None  # the job as committed with its first chunk

    async def find_key(self) -> None:
        """A reused job key: the file is then only hashed and compared (see `reused`)."""
        if self.spec.idempotency_key is not None:
            await self.link.run(self._find_key)

    async def _find_key(self, conn: Connection) -> None:
        found = await by_key(conn, self.spec)
        if found is not None:
            self.existing, self.existing_sha256 = found

    async def add(self, row: RawRow) -> None:
        if self.existing is not None:  # the key turned out to be taken: rows are no longer kept
            return
        if self.rows >= self._max_rows:
            raise DomainError.of(ErrorCode.PAYLOAD_TOO_LARGE,
                                 f"More than {self._max_rows} rows (maxUploadRows).", "file")
        self.rows += 1
        self._chunk.append(row)
        if len(self._chunk) >= self._chunk_rows:
            await self._commit(final=False)

    async def add_many(self, rows: list[RawRow]) -> None:
        """`add` for each row, without a coroutine call per row: the same chunks, and the same error at the
        row past maxUploadRows (the rows before it are taken)."""
        start = 0
        while start < len(rows) and self.existing is None:
            if self.rows >= self._max_rows:
                await self.add(rows[start])  # raises PAYLOAD_TOO_LARGE
            room = min(self._chunk_rows - len(self._chunk), self._max_rows - self.rows)
            taken = rows[start : start + room]
            start += len(taken)
            self.rows += len(taken)
            self._chunk += taken
            if len(self._chunk) >= self._chunk_rows:
                await self._commit(final=False)

    async def finish(self) -> None:
        """The whole file is read: commit what is left and end `receiving`."""
        await self._commit(final=True)

    async def _commit(self, *, final: bool) -> None:
        chunk, self._chunk = self._chunk, []
        if not self.created:
            await self.link.run(lambda conn: self._create(conn, chunk, final), self._created)
            if self.existing is not None:
                return
            self._committed(chunk)
            self.created = True
            await enqueue(self.resources, self.id)
            await progress.publish_job(self.resources, self.id, force=True)
        else:
            await self.link.run(lambda conn: self._append(conn, chunk, final),
                                lambda conn: self._appended(conn, chunk, final))
            self._committed(chunk)
            if final or self._publish.due():
                await progress.publish_job(self.resources, self.id, force=final)

    async def _created(self, conn: Connection) -> bool:
        """Whether the job's first transaction committed before its connection broke."""
        self.snapshot = await fetch_job(conn, self.id)
        return self.snapshot is not None

    async def _appended(self, conn: Connection, chunk: list[RawRow], final: bool) -> bool:
        """Whether this chunk's transaction committed before its connection broke: it is the only one that sets
        chunk_count to this value (or, for an empty last chunk, the digest)."""
        state = await jobs_repo.upload_state(conn, self.id)
        if state is None:
            return False
        if chunk:
            return bool(state["chunk_count"] == self._seq + 1)
        return final and state["payload_sha256"] is not None

    async def _create(self, conn: Connection, chunk: list[RawRow], final: bool) -> None:
        async with conn.transaction():
            if not await insert_job(self.resources, conn, self.id, self.spec, receiving=not final):
                found = await by_key(conn, self.spec)  # a concurrent request with the same key won the race
                assert found is not None  # the insert conflicted with it, and it is locked until we commit
                self.existing, self.existing_sha256 = found
                return
            await self._insert_chunk(conn, chunk)
            await jobs_repo.set_payload(
                conn, self.id, header=self.header, rows=self.committed_rows + len(chunk), total_bytes=self.total_bytes,
                chunks=self._seq + 1, sha256=self.digest.hexdigest() if final else None,
                received_through=chunk[-1].number if chunk else None)
            self.snapshot = await fetch_job(conn, self.id)

    async def _append(self, conn: Connection, chunk: list[RawRow], final: bool) -> None:
        try:
            async with conn.transaction():
                # The job row first: its row lock keeps cancel/delete out until the chunk is in.
                accepted = await jobs_repo.append_upload(
                    conn, self.id, chunks=self._seq + (1 if chunk else 0), rows=self.committed_rows + len(chunk),
                    total_bytes=self.total_bytes, receiving=not final,
                    sha256=self.digest.hexdigest() if final else None,
                    received_through=chunk[-1].number if chunk else None)
                if not accepted:
                    raise _Stopped
                await self._insert_chunk(conn, chunk)
                await jobs_repo.notify(conn, self.id)
        except _Stopped:
            raise self._stopped(await fetch_job(conn, self.id)) from None

    def _stopped(self, job: IngestionJob | None) -> DomainError:
        """Why the job no longer takes chunks: cancelled, ended, or judged stalled by the reconciler."""
        if job is None:  # cancelled, then deleted
            state = "cancelled and deleted"
        elif job.cancel_requested:
            state = "cancelled"
        elif job.status.is_terminal:
            state = f"ended ({job.status.value})"
        else:
            state = "stopped (see its error)"
        issue = Issue(ErrorCode.UPLOAD_INTERRUPTED, "file",
                      f"The job was {state} while the file was being received: {self.committed_rows:,} rows were "
                      "taken, the rest of the file was not read.")
        return UploadInterrupted(job, [issue]) if job is not None else DomainError([issue])

    async def _insert_chunk(self, conn: Connection, chunk: list[RawRow]) -> None:
        if chunk:
            await chunks_repo.insert(conn, self.id, self._seq, chunk[0].number, len(chunk), encode_chunk(chunk))

    def _committed(self, chunk: list[RawRow]) -> None:
        if chunk:
            self._seq += 1
            self.committed_rows += len(chunk)
            self.received_through = chunk[-1].number

    def kept(self) -> str:
        """What an interrupted upload keeps, for the error that stopped it."""
        return (f"The job keeps the {self.committed_rows:,} rows of its committed chunks (through row "
                f"{self.received_through:,}); they are processed, the rest of the file is not: {self._resume()}")

    def _resume(self) -> str:
        start = self.received_through + 1
        return (f"send the same file again as a new job with resumeFrom: {start} (activities import FILE "
                f"--resume-from {start}) to import the rest.")

    def _interrupted(self, reason: str) -> str:
        return (
            f"The upload was interrupted after {self.rows:,} rows ({reason}); the {self.committed_rows:,} rows of "
            f"the chunks committed before (through row {self.received_through:,}) are processed and kept, the rest "
            f"is not: {self._resume()}")[:1000]

    async def interrupt(self, reason: str) -> IngestionJob:
        """The upload failed after the job was committed: end `receiving` with UPLOAD_INTERRUPTED, so the
        worker processes the committed chunks and then ends the job FAILED. On a fresh connection: the
        upload's own may be what broke."""
        message = self._interrupted(reason)
        async with self.resources.db.raw() as conn:
            await jobs_repo.interrupt_upload(conn, self.id, message)
            await jobs_repo.notify(conn, self.id)
            job = await fetch_job(conn, self.id)
        if job is None:  # cancelled and deleted meanwhile
            raise self._stopped(None)
        await progress.publish_job(self.resources, self.id, force=True)
        return job

    def interrupt_later(self, reason: str) -> IngestionJob:
        """The database stayed unreachable: end the job as interrupted once it answers again (in the background;
        after upload_stall_seconds the reconciler would), and return the job as it will then be."""
        task = asyncio.get_running_loop().create_task(self._interrupt_when_back(reason))
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)
        assert self.snapshot is not None
        counts = dataclasses.replace(self.snapshot.counts, total=self.committed_rows)
        return dataclasses.replace(self.snapshot, receiving=False, error_code=ErrorCode.UPLOAD_INTERRUPTED,
                                   error=self._interrupted(reason), counts=counts, total_bytes=self.total_bytes,
                                   received_through=self.received_through)

    async def _interrupt_when_back(self, reason: str) -> None:
        give_up = time.monotonic() + self.resources.settings.upload_stall_seconds
        while time.monotonic() < give_up:
            try:
                await self.interrupt(reason)
                return
            except DomainError:  # cancelled and deleted meanwhile: nothing left to end
                return
            except Exception:
                await asyncio.sleep(1)

    async def job(self) -> IngestionJob:
        found: list[IngestionJob | None] = []

        async def read(conn: Connection) -> None:
            found.append(await fetch_job(conn, self.id))

        await self.link.run(read)
        assert found[-1] is not None
        return found[-1]

    async def reused(self) -> IngestionJob:
        """The job holding the key if this is the same request (digest of the whole file, so read it all
        first), else CONFLICT. Read again: it may have finished receiving since we looked."""
        assert self.existing is not None
        async with self.resources.db.raw() as conn:
            found = await by_key(conn, self.spec)
        job, sha256 = found if found is not None else (self.existing, self.existing_sha256)
        check_reuse(job, sha256, self.spec, self.digest.hexdigest())
        return job
