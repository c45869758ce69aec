"""GraphQL types of ingestion: IngestionJob (counts, progress, timings, rejections) and its connections."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Protocol

import strawberry

from app.api.activities.errors import FIRST_DESCRIPTION, checked_first
from app.api.connections import Connection, connection, page_info
from app.api.context import Info
from app.api.enums import described_enum
from app.api.errors import ErrorCodeEnum, UserError
from app.api.global_ids import ROW_ID, Node, to_global_id
from app.api.payloads import query_errors
from app.domain.errors import DomainError, ErrorCode
from app.domain.ingestion import IngestionJob as DomainJob
from app.domain.ingestion import JobSource, JobStatus, SourceFormat
from app.domain.ingestion import Rejection as DomainRejection

IngestionJobStatus = described_enum(JobStatus, name="IngestionJobStatus", description="Lifecycle of an ingestion job.",
                                    values={
    "QUEUED": "Accepted, waiting for a worker.",
    "RUNNING": "A worker is storing its rows.",
    "SUCCEEDED": "Finished; every row was stored.",
    "COMPLETED_WITH_ERRORS": "Finished; some rows were rejected (see `rejections`), the others stored.",
    "FAILED": "Stopped by an error of the job itself (see `error`); rows stored before it stay.",
    "CANCELLED": "Stopped by `cancelIngestionJob`.",
})
IngestionFormat = described_enum(SourceFormat, name="IngestionFormat",
                                 description="Payload format: JSON Lines (one activity per line) or CSV.", values={
    "JSONL": "JSON Lines: one activity object per line.",
    "CSV": "CSV with a header row (RFC 4180).",
})
IngestionSource = described_enum(JobSource, name="IngestionSource",
                                 description="Where a job's rows came from: inline, a file, or a replay.", values={
    "INLINE": "Sent in the `recordActivities` mutation.",
    "UPLOAD": "A file sent to `importActivities`.",
    "REPLAY": "Rejected rows of an earlier job, re-ingested by `replayRejections`.",
})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Dated(Protocol):
    """A job as its cursor sees it (ingestion and export jobs page alike)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def created_at(self) -> datetime: ...


def encode_job_cursor(job: _Dated) -> str:
    micros = (job.created_at - _EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"j1:{micros}:{job.id}".encode()).decode().rstrip("=")


def decode_job_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        text = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode("ascii")).decode("ascii")
        kind, micros, job_id = text.split(":")
        if kind != "j1":
            raise ValueError(kind)
        return _EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(job_id)
    except (binascii.Error, UnicodeError, ValueError, OverflowError) as exc:
        raise DomainError.of(ErrorCode.INVALID_CURSOR, "Malformed cursor: pass a cursor this API returned.",
                             "after") from exc


def encode_row_cursor(row_number: int) -> str:
    return base64.urlsafe_b64encode(f"r1:{row_number}".encode()).decode().rstrip("=")


def decode_row_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode("ascii")).decode("ascii")
        kind, number = text.split(":")
        if kind != "r1":
            raise ValueError(kind)
        return int(number)
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise DomainError.of(ErrorCode.INVALID_CURSOR, "Malformed cursor: pass a cursor this API returned.",
                             "after") from exc


@strawberry.type(description="Row counts of a job; when it ends, processed = accepted + rejected + duplicates.")
class IngestionCounts:
    total: int = strawberry.field(
        description="Rows in the payload (blank lines are not rows); while the job is `receiving`, rows received "
        "so far."
    )
    processed: int = strawberry.field(description="Rows handled so far.")
    accepted: int = strawberry.field(description="Rows stored (or, in a dry run, that would be stored).")
    rejected: int = strawberry.field(description="Rows rejected; see `rejections`.")
    duplicates: int = strawberry.field(
        description="Rows skipped because the same activity (same idempotency key and payload) is already stored."
    )


@strawberry.type(description="When a job was created, started and finished, and how fast it went.")
class IngestionTimings:
    created_at: datetime = strawberry.field(description="When the job was submitted.")
    started_at: datetime | None = strawberry.field(description="When a worker first started it.")
    updated_at: datetime = strawberry.field(description="Last change of status or counts.")
    finished_at: datetime | None = strawberry.field(description="When it reached a terminal status.")
    duration_seconds: float | None = strawberry.field(description="Processing time so far (start to finish/now).")
    rows_per_second: float | None = strawberry.field(description="Processed rows per second of processing.")


@strawberry.type(description="A rejected row: where it was, why, and the original record, kept for replay.")
class Rejection:
    row_number: int = strawberry.field(
        description="Line number (JSONL), record number with the header as 1 (CSV) or position (inline, from 1)."
    )
    code: ErrorCodeEnum = strawberry.field(description="Reason of the first issue.")  # type: ignore[valid-type]
    field: str | None = strawberry.field(description="Path of the first issue, e.g. `fields.amount`.")
    message: str = strawberry.field(description="Message of the first issue.")
    issues: list[UserError] = strawberry.field(description="Every issue found in the row.")
    record: str = strawberry.field(
        description="The original row as text, whole (at most limits.maxRowBytes; a ROW_TOO_LARGE row keeps its "
        "first 1,024 bytes); invalid bytes and NUL are shown as U+FFFD.")
    replayed_by: strawberry.ID | None = strawberry.field(
        description="Global id of the replay job that re-ingested this row."
    )

    @classmethod
    def from_domain(cls, r: DomainRejection) -> Rejection:
        first = r.first
        return cls(
            row_number=r.row_number, code=first.code, field=first.field, message=first.message,
            issues=[UserError.from_issue(i) for i in r.issues], record=r.record,
            replayed_by=to_global_id("IngestionJob", r.replayed_by) if r.replayed_by else None,
        )


@connection("A page of a job's rejected rows in row order.", edges="Rejected rows on this page.",
            edge="A rejection and its cursor.", node="The rejected row.")
class RejectionConnection(Connection[Rejection]):
    counter: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(
        description="Rejected rows of the job stored now (deletePerson erases those naming the person, so this "
        "can be below counts.rejected); one COUNT query, only when selected."
    )
    async def total_count(self) -> int:
        return await self.counter()


@strawberry.type(description="A bulk ingestion: an inline batch, an uploaded file or a replay of rejections.")
class IngestionJob(Node):
    row_id: strawberry.ID = strawberry.field(description=ROW_ID)
    status: IngestionJobStatus = strawberry.field(description="Where the job is in its lifecycle.")  # type: ignore[valid-type]
    source: IngestionSource = strawberry.field(description="Inline batch, file upload or replay.")  # type: ignore[valid-type]
    format: IngestionFormat = strawberry.field(description="Payload format.")  # type: ignore[valid-type]
    activity_type: str | None = strawberry.field(description="Activity type of every row, when given for the job.")
    dry_run: bool = strawberry.field(description="Validate only; no activity is written.")
    create_missing_persons: bool = strawberry.field(description="Persons not found by email/externalId are created.")
    idempotency_key: str | None = strawberry.field(description="Key that makes re-submitting return this job.")
    filename: str | None = strawberry.field(description="Name of the uploaded file.")
    replay_of: strawberry.ID | None = strawberry.field(
        description="Global id of the job whose rejections this job replays."
    )
    counts: IngestionCounts = strawberry.field(description="Row counts.")
    progress: float = strawberry.field(description="processed / total, from 0 to 1.")
    timings: IngestionTimings = strawberry.field(description="Timestamps and throughput.")
    total_bytes: float = strawberry.field(description="Uncompressed payload size in bytes.")
    attempts: int = strawberry.field(description="Times a worker started the job (more than 1 after a crash/retry).")
    cancel_requested: bool = strawberry.field(description="Cancellation was asked for.")
    error: str | None = strawberry.field(description="Why the job FAILED, if it did.")
    error_code: ErrorCodeEnum | None = strawberry.field(  # type: ignore[valid-type]
        description="Code of `error` when it has one: UPLOAD_INTERRUPTED (the upload failed or stalled after its "
        "first chunks; their rows were processed and kept) or ROW_COUNT_MISMATCH (the counts did not add up to "
        "the rows received: rows were lost, so the job cannot have succeeded)."
    )
    receiving: bool = strawberry.field(
        description="The uploaded file is still being read: chunks are added (and counts.total grows) while "
        "workers process the ones already committed."
    )
    resume_from: int | None = strawberry.field(
        description="An interrupted upload (errorCode UPLOAD_INTERRUPTED): the first row of the file this job did "
        "not take (line number; CSV record number with the header as 1). Send the same file again with "
        "`importActivities(input: {resumeFrom: ...})` to import the rest without sending any row twice."
    )
    job_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_domain(cls, job: DomainJob) -> IngestionJob:
        c = job.counts
        return cls(
            id=to_global_id("IngestionJob", job.id), row_id=strawberry.ID(str(job.id)),
            status=job.status, source=job.source, format=job.format,
            activity_type=job.activity_type, dry_run=job.dry_run, create_missing_persons=job.create_missing_persons,
            idempotency_key=job.idempotency_key, filename=job.filename,
            replay_of=to_global_id("IngestionJob", job.replay_of) if job.replay_of else None,
            counts=IngestionCounts(total=c.total, processed=c.processed, accepted=c.accepted, rejected=c.rejected,
                                   duplicates=c.duplicates),
            progress=1.0 if job.status is JobStatus.SUCCEEDED else c.progress,
            timings=IngestionTimings(created_at=job.created_at, started_at=job.started_at,
                                     updated_at=job.updated_at, finished_at=job.finished_at,
                                     duration_seconds=job.duration_seconds, rows_per_second=job.rows_per_second),
            total_bytes=job.total_bytes, attempts=job.attempts, cancel_requested=job.cancel_requested,
            error=job.error, error_code=job.error_code, receiving=job.receiving, resume_from=job.resume_at,
            job_id=job.id,
        )

    @strawberry.field(description="Rejected rows in row order (kept until the job is deleted).")
    @query_errors
    async def rejections(
        self, info: Info, first: Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor: start after this rejection.")] = None,
    ) -> RejectionConnection:
        from app.services.ingestion.jobs import count_rejections, list_rejections

        limit = checked_first(first, info.context.settings.limits.max_page_size)
        after_row = decode_row_cursor(after) if after is not None else None
        rows = await list_rejections(info.context.resources, self.job_id, limit=limit + 1, after_row=after_row)
        edges = RejectionConnection.edges_of(rows[:limit], lambda r: encode_row_cursor(r.row_number),
                                             Rejection.from_domain)
        resources, job_id = info.context.resources, self.job_id
        return RejectionConnection(edges=edges, page_info=page_info(edges, len(rows) > limit, after is not None),
                                   counter=lambda: count_rejections(resources, job_id))


@connection("A page of ingestion jobs, newest first.", edges="Jobs on this page.", edge="A job and its cursor.",
            node="The job.")
class IngestionJobConnection(Connection[IngestionJob]):
    pass


@strawberry.type(description="Result of an ingestion mutation: the job, or why there is none.")
class IngestionJobPayload:
    job: IngestionJob | None = strawberry.field(
        default=None, description="The job (new, existing for a reused key, or changed)."
    )
    errors: list[UserError] = strawberry.field(default_factory=list, description="Expected failures; empty on success.")


@strawberry.type(description="Result of deleteIngestionJob.")
class DeleteIngestionJobPayload:
    deleted_job_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global id of the deleted job; null on errors."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description="Why nothing was deleted (NOT_FOUND, FORBIDDEN, or INVALID_STATE for an unfinished job)."
    )
