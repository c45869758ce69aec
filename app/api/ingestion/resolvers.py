"""Root fields of ingestion: queries, mutations and subscriptions (scope checked once per root field)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from typing import Annotated, cast

import strawberry

from app.api.activities.errors import FIRST_DESCRIPTION, checked_first
from app.api.activities.inputs import TimelineFilter
from app.api.activities.types import Activity
from app.api.context import Info
from app.api.errors import user_errors
from app.api.global_ids import parsed_id, raw_id, to_global_id
from app.api.ingestion.inputs import ImportActivitiesInput, RecordActivitiesInput
from app.api.ingestion.types import (
    DeleteIngestionJobPayload,
    IngestionJob,
    IngestionJobConnection,
    IngestionJobPayload,
    IngestionJobStatus,
    decode_job_cursor,
    encode_job_cursor,
)
from app.api.payloads import payload, query_errors, subscription_errors
from app.api.permissions import require
from app.domain.access import Scope
from app.domain.errors import DomainError, ErrorCode
from app.domain.filters import TimelineFilter as DomainFilter
from app.domain.filters import resolve
from app.domain.ingestion import IngestionJob as DomainJob
from app.domain.ingestion import JobSource, JobStatus, SourceFormat, infer_format
from app.services.ingestion import progress
from app.services.ingestion.jobs import cancel_job, delete_job, get_job, list_jobs
from app.services.ingestion.receive import UploadInterrupted
from app.services.ingestion.replay import replay_rejections
from app.services.ingestion.submit import JobSpec, submit_objects
from app.services.ingestion.upload import Readable, import_file
from app.services.timelines import live_definitions

JobId = Annotated[strawberry.ID, strawberry.argument(description="The job's id.")]


def _job_id(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw_id(value, "IngestionJob"))
    except ValueError as exc:
        raise DomainError.of(ErrorCode.NOT_FOUND, "No ingestion job with this id.", field) from exc


def _payload(job: DomainJob) -> IngestionJobPayload:
    return IngestionJobPayload(job=IngestionJob.from_domain(job))


async def ingestion_job_node(info: Info, id: str) -> IngestionJob | None:
    """Query.ingestionJob, and node(id:) for an IngestionJob id."""
    require(info, Scope.READ)
    job_id = parsed_id(id, "IngestionJob", uuid.UUID)
    job = await get_job(info.context.resources, job_id) if job_id is not None else None
    return IngestionJob.from_domain(job) if job else None


@strawberry.type
class IngestionQueries:
    @strawberry.field(description="One ingestion job by id, or null.")
    async def ingestion_job(
        self, info: Info, id: JobId
    ) -> IngestionJob | None:
        return await ingestion_job_node(info, id)

    @strawberry.field(description="Ingestion jobs, newest first, optionally only those with `status`.")
    @query_errors
    async def ingestion_jobs(
        self, info: Info, first: Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor: start after this job.")] = None,
        status: Annotated[IngestionJobStatus | None,  # type: ignore[valid-type]
                          strawberry.argument(description="Only jobs in this status.")] = None,
    ) -> IngestionJobConnection:
        require(info, Scope.READ)
        limit = checked_first(first, info.context.settings.limits.max_page_size)
        position = decode_job_cursor(after) if after is not None else None
        jobs = await list_jobs(info.context.resources, limit=limit + 1, after=position,
                               status=JobStatus(status) if status else None)
        return IngestionJobConnection.page(jobs[:limit], encode_job_cursor, IngestionJob.from_domain,
                                           has_next=len(jobs) > limit, has_previous=after is not None)


@strawberry.type
class IngestionMutations:
    @strawberry.mutation(description="Record a small batch of activities as an ingestion job (see its status).")
    @payload(IngestionJobPayload)
    async def record_activities(
        self, info: Info, input: Annotated[RecordActivitiesInput, strawberry.argument(description="The batch.")]
    ) -> IngestionJobPayload:
        principal = require(info, Scope.ACTIVITIES_WRITE)
        cap = info.context.settings.limits.max_inline_activities
        if not input.activities:
            raise DomainError.of(ErrorCode.REQUIRED, "Send at least one activity.", "input.activities")
        if len(input.activities) > cap:
            raise DomainError.of(ErrorCode.LIMIT_EXCEEDED, f"At most {cap} activities per call (maxInlineActivities); "
                                 "use importActivities for more.", "input.activities")
        spec = JobSpec(source=JobSource.INLINE, format=SourceFormat.JSONL, dry_run=input.dry_run,
                       create_missing_persons=input.create_missing_persons, idempotency_key=input.idempotency_key,
                       created_by=principal.id)
        job = await submit_objects(info.context.resources, spec, (a.to_json() for a in input.activities))
        return _payload(job)

    @strawberry.mutation(
        description="Import a JSONL or CSV file (optionally gzip) as an ingestion job. The job is committed and "
        "queued with the file's first chunk (`limits.chunkRows` rows) and `receiving` is true until the whole file "
        "has been read: workers process the committed chunks meanwhile, so the job may already be RUNNING when "
        "this returns. A file smaller than one chunk is all or nothing. If the upload fails after its first chunk "
        "(maxUploadRows/maxUploadBytes, a corrupt gzip stream, a broken connection), `errors` has the reason "
        "(e.g. PAYLOAD_TOO_LARGE) and `job` is returned too: the rows of its committed chunks are processed and "
        "kept, then it ends FAILED with `errorCode` UPLOAD_INTERRUPTED and `error` saying how many rows were "
        "received; send the same file again as a new job with `resumeFrom` set to the job's `resumeFrom` to "
        "import the rest. Reusing the `idempotencyKey` of a job still `receiving` is a CONFLICT."
    )
    @payload(IngestionJobPayload)
    async def import_activities(
        self, info: Info,
        input: Annotated[ImportActivitiesInput, strawberry.argument(description="The file and how to read it.")],
    ) -> IngestionJobPayload:
        principal = require(info, Scope.ACTIVITIES_WRITE)
        filename = getattr(input.file, "filename", None)
        fmt = SourceFormat(input.format) if input.format else infer_format(filename)
        if fmt is None:
            raise DomainError.of(
                ErrorCode.REQUIRED, "Give format (JSONL or CSV); the file name does not say.", "input.format")
        spec = JobSpec(source=JobSource.UPLOAD, format=fmt, activity_type=input.activity_type,
                       dry_run=input.dry_run, create_missing_persons=input.create_missing_persons,
                       idempotency_key=input.idempotency_key, created_by=principal.id, filename=filename,
                       resume_from=input.resume_from)
        try:
            job = await import_file(info.context.resources, spec, cast(Readable, input.file))
        except UploadInterrupted as stopped:  # the job exists and keeps its committed chunks: return it too
            return IngestionJobPayload(job=IngestionJob.from_domain(stopped.job), errors=user_errors(stopped))
        return _payload(job)

    @strawberry.mutation(description="Stop a job: at once if queued, at the next chunk if running; an upload "
                         "still being received stops reading the file at its next chunk. Only its creator or a "
                         "types:admin / keys:admin key may.")
    @payload(IngestionJobPayload)
    async def cancel_ingestion_job(self, info: Info, id: JobId) -> IngestionJobPayload:
        principal = require(info, Scope.ACTIVITIES_WRITE)
        return _payload(await cancel_job(info.context.resources, principal, _job_id(id, "id")))

    @strawberry.mutation(
        description="Delete an ended job with its rejections (original records) and chunks, audited. Only its "
        "creator or a types:admin / keys:admin key may; cancel a queued or running job first."
    )
    @payload(DeleteIngestionJobPayload)
    async def delete_ingestion_job(self, info: Info, id: JobId) -> DeleteIngestionJobPayload:
        principal = require(info, Scope.ACTIVITIES_WRITE)
        job_id = _job_id(id, "id")
        await delete_job(info.context.resources, principal, job_id)
        return DeleteIngestionJobPayload(deleted_job_id=to_global_id("IngestionJob", job_id))

    @strawberry.mutation(description="Re-ingest a finished job's rejected rows against the types' current versions. "
                         "Only its creator or a types:admin / keys:admin key may.")
    @payload(IngestionJobPayload)
    async def replay_rejections(
        self, info: Info,
        job_id: Annotated[strawberry.ID, strawberry.argument(description="The ended job whose rejections to replay.")],
    ) -> IngestionJobPayload:
        principal = require(info, Scope.ACTIVITIES_WRITE)
        return _payload(await replay_rejections(info.context.resources, principal, _job_id(job_id, "jobId")))


@strawberry.type
class IngestionSubscriptions:
    @strawberry.subscription(description="The job now and after every change (a few per second) until it ends.")
    @subscription_errors
    async def ingestion_job_updated(
        self, info: Info, id: JobId
    ) -> AsyncGenerator[IngestionJob, None]:
        require(info, Scope.READ)
        resources = info.context.resources
        job_id = _job_id(id, "id")
        last = None
        async for _ in progress.job_signals(resources, job_id):
            job = await get_job(resources, job_id)
            if job is None:
                raise DomainError.of(ErrorCode.NOT_FOUND, "No ingestion job with this id.", "id")
            if job != last:
                last = job
                yield IngestionJob.from_domain(job)
            if job.status.is_terminal:
                return

    @strawberry.subscription(description="Activities as they are recorded (inline batches and small jobs).")
    @subscription_errors
    async def activity_recorded(
        self, info: Info,
        filter: Annotated[
            TimelineFilter | None, strawberry.argument(description="Only activities matching this.")
        ] = None,
    ) -> AsyncGenerator[Activity, None]:
        require(info, Scope.READ)
        resources = info.context.resources
        definitions = await live_definitions(resources)
        resolved = resolve(filter.to_domain() if filter else DomainFilter(), definitions)
        async for batch in progress.activity_batches(resources):
            for activity in batch:
                if resolved.matches(activity):
                    yield Activity.from_domain(activity)
