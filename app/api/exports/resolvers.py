"""Root fields of exports: queries, mutations and the progress subscription (scope `read`, own jobs unless admin)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from app.api.activities.errors import FIRST_DESCRIPTION, checked_first
from app.api.context import Info
from app.api.exports.inputs import ExportActivitiesInput, ExportPersonsInput
from app.api.exports.types import DeleteExportJobPayload, ExportJob, ExportJobConnection, ExportJobPayload
from app.api.global_ids import parsed_id, raw_id, to_global_id
from app.api.ingestion.types import decode_job_cursor, encode_job_cursor
from app.api.payloads import payload, query_errors, subscription_errors
from app.api.permissions import require
from app.domain.access import Scope
from app.domain.errors import DomainError, ErrorCode
from app.domain.exports import ExportKind
from app.services.exports import jobs
from app.services.ingestion import progress

ExportId = Annotated[strawberry.ID, strawberry.argument(description="The export's id.")]


def _job_id(value: str, field: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(raw_id(value, "ExportJob"))
    except ValueError as exc:
        raise DomainError.of(ErrorCode.NOT_FOUND, jobs.NOT_FOUND, field) from exc


async def export_job_node(info: Info, id: str) -> ExportJob | None:
    """Query.exportJob, and node(id:) for an ExportJob id: another key's export is null unless admin."""
    principal = require(info, Scope.READ)
    job_id = parsed_id(id, "ExportJob", uuid.UUID)
    job = await jobs.get(info.context.resources, principal, job_id) if job_id is not None else None
    return ExportJob.from_domain(job) if job else None


@strawberry.type
class ExportQueries:
    @strawberry.field(description="One export job by id, or null (also for another key's export, unless admin).")
    async def export_job(
        self, info: Info, id: ExportId
    ) -> ExportJob | None:
        return await export_job_node(info, id)

    @strawberry.field(description="This key's export jobs (an admin key: everyone's), newest first.")
    @query_errors
    async def export_jobs(
        self, info: Info, first: Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor: start after this job.")] = None,
    ) -> ExportJobConnection:
        principal = require(info, Scope.READ)
        limit = checked_first(first, info.context.settings.limits.max_page_size)
        position = decode_job_cursor(after) if after is not None else None
        found = await jobs.page(info.context.resources, principal, limit=limit + 1, after=position)
        return ExportJobConnection.page(found[:limit], encode_job_cursor, ExportJob.from_domain,
                                        has_next=len(found) > limit, has_previous=after is not None)


async def _create(info: Info, input: ExportActivitiesInput, kind: ExportKind) -> ExportJobPayload:
    principal = require(info, Scope.READ)
    job = await jobs.create(info.context.resources, principal, input.to_domain(kind))
    return ExportJobPayload(job=ExportJob.from_domain(job), errors=[])


@strawberry.type
class ExportMutations:
    @strawberry.mutation(description="Export the activities matching a filter into one file (JSONL or CSV, "
                         "gzip or not), read in one consistent snapshot; download it from `downloadUrl`.")
    @payload(ExportJobPayload)
    async def export_activities(
        self, info: Info, input: Annotated[ExportActivitiesInput, strawberry.argument(description="What to export.")]
    ) -> ExportJobPayload:
        return await _create(info, input, ExportKind.ACTIVITIES)

    @strawberry.mutation(description="Export persons (all, or those with an activity matching the filter).")
    @payload(ExportJobPayload)
    async def export_persons(
        self, info: Info, input: Annotated[ExportPersonsInput, strawberry.argument(description="What to export.")]
    ) -> ExportJobPayload:
        return await _create(info, input, ExportKind.PERSONS)

    @strawberry.mutation(description="Stop an export: at once if queued, within a second if running.")
    @payload(ExportJobPayload)
    async def cancel_export_job(self, info: Info, id: ExportId) -> ExportJobPayload:
        principal = require(info, Scope.READ)
        job = await jobs.cancel(info.context.resources, principal, _job_id(id))
        return ExportJobPayload(job=ExportJob.from_domain(job), errors=[])

    @strawberry.mutation(description="Delete an ended export and its file (audited).")
    @payload(DeleteExportJobPayload)
    async def delete_export_job(self, info: Info, id: ExportId) -> DeleteExportJobPayload:
        principal = require(info, Scope.READ)
        job_id = _job_id(id)
        await jobs.delete(info.context.resources, principal, job_id)
        return DeleteExportJobPayload(deleted_job_id=to_global_id("ExportJob", job_id), errors=[])


@strawberry.type
class ExportSubscriptions:
    @strawberry.subscription(description="The export now and after every change (progress about twice a second) "
                             "until it ends.")
    @subscription_errors
    async def export_job_updated(self, info: Info, id: ExportId) -> AsyncGenerator[ExportJob, None]:
        principal = require(info, Scope.READ)
        resources = info.context.resources
        job_id = _job_id(id)
        last = None
        async for _ in progress.job_signals(resources, job_id, kind="export"):
            job = await jobs.get(resources, principal, job_id)
            if job is None:
                raise DomainError.of(ErrorCode.NOT_FOUND, jobs.NOT_FOUND, "id")
            if job != last:
                last = job
                yield ExportJob.from_domain(job)
            if job.status.is_terminal:
                return
