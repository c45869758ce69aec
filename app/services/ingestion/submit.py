"""Create an ingestion job from rows at hand (inline batch, replay) in one transaction; enqueue it after commit."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from app.db.ingestion_repo import chunks as chunks_repo
from app.db.ingestion_repo import jobs as jobs_repo
from app.db.raw_pool import Connection
from app.domain.errors import DomainError, ErrorCode
from app.domain.ingestion import IngestionJob, JobSource, RawRow, SourceFormat, encode_chunk
from app.domain.ingestion_split import KEEP_PREFIX
from app.services import quotas
from app.services.ingestion.fingerprint import check_reuse
from app.services.queue import enqueue_ingestion
from app.services.runtime import Resources

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobSpec:
    """What the caller asked for; rows come separately (a list, an upload stream or old rejections)."""

    source: JobSource
    format: SourceFormat
    activity_type: str | None = None
    dry_run: bool = False
    create_missing_persons: bool = False
    idempotency_key: str | None = None
    created_by: str | None = None
    filename: str | None = None
    replay_of: uuid.UUID | None = None
    resume_from: int | None = None  # an upload: skip the rows numbered before it (an interrupted upload's rest)


class JobDraft:
    """A job being written inside one transaction; `existing` is set when the idempotency key was used."""

    def __init__(self, conn: Connection, job_id: uuid.UUID, chunk_rows: int, max_rows: int, spec: JobSpec) -> None:
        self.conn = conn
        self.spec = spec
        self.id = job_id
        self.existing: IngestionJob | None = None
        self.job: IngestionJob | None = None  # the new job as committed (QUEUED)
        self.existing_sha256: str | None = None
        self.digest = hashlib.sha256()  # of the payload as sent: compared when the job key is reused
        self.header: list[str] | None = None
        self.total_bytes = 0
        self.rows = 0
        self._chunk: list[RawRow] = []
        self._chunk_rows = chunk_rows
        self._max_rows = max_rows
        self._seq = 0

    async def add(self, row: RawRow) -> None:
        self.rows += 1
        if self.rows > self._max_rows:
            raise DomainError.of(ErrorCode.PAYLOAD_TOO_LARGE,
                                 f"More than {self._max_rows} rows (maxUploadRows).", "file")
        self._chunk.append(row)
        if len(self._chunk) >= self._chunk_rows:
            await self.flush()

    async def flush(self) -> None:
        if not self._chunk:
            return
        await chunks_repo.insert(self.conn, self.id, self._seq, self._chunk[0].number, len(self._chunk),
                                 encode_chunk(self._chunk))
        self._seq += 1
        self._chunk = []

    @property
    def chunk_count(self) -> int:
        return self._seq


@contextlib.asynccontextmanager
async def new_job(resources: Resources, spec: JobSpec) -> AsyncIterator[JobDraft]:
    """Open a job; add rows to the draft; on exit commit and enqueue. A reused idempotency key yields
    a draft whose `existing` job is returned instead (the caller should skip reading its payload)."""
    limits = resources.settings.limits
    job_id = uuid.uuid4()
    async with resources.db.raw() as conn, conn.transaction():
        draft = JobDraft(conn, job_id, limits.chunk_rows, limits.max_upload_rows, spec)
        if not await insert_job(resources, conn, job_id, spec):  # the key is taken: the empty transaction commits
            found = await by_key(conn, spec)
            assert found is not None  # the insert conflicted with it, and it is locked until we commit
            draft.existing, draft.existing_sha256 = found
            yield draft
            return
        yield draft
        await draft.flush()
        draft.job = await jobs_repo.set_payload(
            conn, job_id, header=draft.header, rows=draft.rows, total_bytes=draft.total_bytes,
            chunks=draft.chunk_count, sha256=draft.digest.hexdigest())
    await enqueue(resources, job_id)


async def insert_job(resources: Resources, conn: Connection, job_id: uuid.UUID, spec: JobSpec, *,
                     receiving: bool = False) -> bool:
    """Insert the QUEUED job row inside the caller's transaction, after taking a slot of the per-key quota
    (LIMIT_EXCEEDED; serialised per key until the transaction ends: see quotas). False if this principal
    already used the idempotency key (nothing written)."""
    limit = resources.settings.ingestion_concurrency_per_key
    await quotas.reserve_ingestion_slot(conn, spec.created_by, limit, spec.idempotency_key)
    return await jobs_repo.insert(
        conn, job_id, source=spec.source, format=spec.format, activity_type=spec.activity_type, dry_run=spec.dry_run,
        create_missing_persons=spec.create_missing_persons, idempotency_key=spec.idempotency_key,
        created_by=spec.created_by, filename=spec.filename, replay_of=spec.replay_of, resume_from=spec.resume_from,
        receiving=receiving,
    )


async def by_key(conn: Connection, spec: JobSpec) -> tuple[IngestionJob, str | None] | None:
    """The job holding this principal's key, and its payload digest (keys are scoped per principal)."""
    return await jobs_repo.by_key(conn, spec.created_by, spec.idempotency_key)


async def enqueue(resources: Resources, job_id: uuid.UUID) -> None:
    """Hand the job to the workers. If Redis is down the job stays QUEUED and the reconciler enqueues it."""
    try:
        await enqueue_ingestion(resources.queue, resources.settings, str(job_id))
    except Exception:  # Redis is only a transport; Postgres already has the job
        logger.warning("could not enqueue ingestion job %s; the reconciler will", job_id, exc_info=True)


def payload_digest_part(data: bytes) -> bytes:
    """One inline activity's share of the payload digest: length-prefixed, so rows cannot shift."""
    return b"%d\n%b\n" % (len(data), data)


def object_row(number: int, data: bytes, max_row_bytes: int) -> RawRow:
    """An inline activity as a JSONL row; one longer than maxRowBytes kept as a file's would be (a prefix and its
    size: ROW_TOO_LARGE), so that limit bounds every record a rejection keeps."""
    return RawRow(number, data) if len(data) <= max_row_bytes else RawRow(number, data[:KEEP_PREFIX],
                                                                           oversize=len(data))


async def submit_objects(resources: Resources, spec: JobSpec, activities: Iterable[dict[str, Any]]) -> IngestionJob:
    """An inline batch (recordActivities): each activity becomes one JSONL row, numbered from 1. One longer than
    maxRowBytes is kept as a file's would be (a prefix and its size: ROW_TOO_LARGE), so that limit bounds
    every record a rejection keeps."""
    max_row_bytes = resources.settings.limits.max_row_bytes
    async with new_job(resources, spec) as draft:
        for number, activity in enumerate(activities, start=1):
            data = orjson.dumps(activity)
            draft.digest.update(payload_digest_part(data))
            if draft.existing is None:
                draft.total_bytes += len(data)
                await draft.add(object_row(number, data, max_row_bytes))
    return await created_job(resources, draft)


async def created_job(resources: Resources, draft: JobDraft) -> IngestionJob:
    """The new job, or the one already holding the key if this is the same request (else CONFLICT)."""
    if draft.existing is not None:
        check_reuse(draft.existing, draft.existing_sha256, draft.spec, draft.digest.hexdigest())
        return draft.existing
    assert draft.job is not None  # set when the job's transaction committed
    return draft.job  # as committed (QUEUED): no second connection and query to read it back
