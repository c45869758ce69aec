"""GraphQL types of exports: ExportJob, its connection and the mutation payloads."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from app.api.connections import Connection, connection
from app.api.enums import described_enum
from app.api.errors import UserError
from app.api.exports.inputs import ExportCompression, ExportFormat
from app.api.global_ids import ROW_ID, Node, to_global_id
from app.domain import exports as domain

ExportJobStatus = described_enum(domain.ExportStatus, name="ExportJobStatus",
                                 description="Lifecycle of an export: QUEUED -> RUNNING -> SUCCEEDED | FAILED | "
                                 "CANCELLED; CREATED: made by Marketo's bulk extract, not yet enqueued.", values={
    "CREATED": "Made by Marketo's bulk extract (`create.json`), waiting for `enqueue.json`.",
    "QUEUED": "Accepted, waiting for a worker.",
    "RUNNING": "A worker is writing the file.",
    "SUCCEEDED": "The file is complete and downloadable until it expires.",
    "FAILED": "Stopped by an error (see `error`); no file.",
    "CANCELLED": "Stopped by `cancelExportJob`; no file.",
})
ExportKind = described_enum(domain.ExportKind, name="ExportKind", description="One row per activity or per person.",
                            values={"ACTIVITIES": "One row per activity.", "PERSONS": "One row per person."})
ExportFileGone = described_enum(domain.FileGone, name="ExportFileGone",
                                description="Why a finished export's file can no longer be downloaded.", values={
    "EXPIRED": "Its retention time passed.",
    "DELETED": "The job was deleted.",
    "ERASED": "`deletePerson` erased a person the file may hold.",
})


def download_path(job_id: uuid.UUID) -> str:
    return f"/exports/{job_id}/file"


@strawberry.type(description="A bulk export of activities or persons into one file.")
class ExportJob(Node):
    row_id: strawberry.ID = strawberry.field(description=ROW_ID + " The download path carries this id.")
    kind: ExportKind = strawberry.field(description="Activities or persons.")  # type: ignore[valid-type]
    status: ExportJobStatus = strawberry.field(description="Where the job is in its lifecycle.")  # type: ignore[valid-type]
    format: ExportFormat = strawberry.field(description="File format.")  # type: ignore[valid-type]
    compression: ExportCompression = strawberry.field(description="File compression.")  # type: ignore[valid-type]
    columns: list[str] = strawberry.field(description="Columns (CSV) or keys (JSONL) written, in order.")
    rows: float = strawberry.field(description="Rows written so far; when SUCCEEDED, rows in the file.")
    total_rows: float | None = strawberry.field(description="Rows the export's snapshot holds (known once running).")
    progress: float = strawberry.field(description="rows / totalRows, from 0 to 1.")
    bytes: float = strawberry.field(description="Size of the stored file in bytes (compressed if GZIP).")
    sha256: str | None = strawberry.field(description="SHA-256 of the stored file (hex); the download's ETag.")
    attempts: int = strawberry.field(description="Times a worker started it (each attempt starts the file over).")
    cancel_requested: bool = strawberry.field(description="Cancellation was asked for.")
    error: str | None = strawberry.field(description="Why the job FAILED, if it did.")
    created_at: datetime = strawberry.field(description="When the job was created.")
    started_at: datetime | None = strawberry.field(description="When a worker first started it.")
    finished_at: datetime | None = strawberry.field(description="When it reached a terminal status.")
    expires_at: datetime | None = strawberry.field(description="When the file will be removed.")
    file_gone: ExportFileGone | None = strawberry.field(  # type: ignore[valid-type]
        description="Set when the file was removed: EXPIRED, DELETED, or ERASED (deletePerson removed a person "
        "it may hold); the download then answers 410 Gone.")
    download_url: str | None = strawberry.field(
        description="Path of the file (GET with the same API key; supports Range), once SUCCEEDED and while kept.")

    @classmethod
    def from_domain(cls, job: domain.ExportJob) -> ExportJob:
        return cls(
            id=to_global_id("ExportJob", job.id), row_id=strawberry.ID(str(job.id)),
            kind=job.kind, status=job.status, format=job.format,
            compression=job.compression, columns=list(job.columns), rows=job.rows, total_rows=job.total_rows,
            progress=job.progress, bytes=job.bytes, sha256=job.sha256, attempts=job.attempts,
            cancel_requested=job.cancel_requested, error=job.error, created_at=job.created_at,
            started_at=job.started_at, finished_at=job.finished_at, expires_at=job.expires_at,
            file_gone=job.file_gone, download_url=download_path(job.id) if job.downloadable else None,
        )


@connection("A page of export jobs, newest first.", edges="Jobs on this page.", edge="A job and its cursor.",
            node="The job.")
class ExportJobConnection(Connection[ExportJob]):
    pass


@strawberry.type(description="Result of an export mutation: the job, or why there is none.")
class ExportJobPayload:
    job: ExportJob | None = strawberry.field(default=None, description="The job (new or changed).")
    errors: list[UserError] = strawberry.field(default_factory=list, description="Expected failures; empty on success.")


@strawberry.type(description="Result of deleteExportJob.")
class DeleteExportJobPayload:
    deleted_job_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global id of the deleted job; null on errors."
    )
    errors: list[UserError] = strawberry.field(default_factory=list,
        description="Why nothing was deleted (NOT_FOUND, FORBIDDEN, or INVALID_STATE for an unfinished job)."
    )
