"""`/bulk/v1/activities/export...`: Marketo's bulk activity extract, on the export jobs GraphQL's exports use."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.responses import Response

from app.api.exports.download import Refusal, file_response
from app.api.ingestion.types import decode_job_cursor, encode_job_cursor
from app.api.rest.envelope import RestError, ok
from app.api.rest.handler import Call
from app.api.rest.shapes import marketo_time
from app.domain.activity_types import PRIMARY
from app.domain.errors import DomainError, ErrorCode
from app.domain.exports import (
    MARKETO_ACTIVITY_COLUMNS,
    Compression,
    ExportFormat,
    ExportJob,
    ExportKind,
    ExportSpec,
    ExportStatus,
)
from app.domain.filters import ActivitySearch, FieldCondition, FieldOperator
from app.services.exports import jobs
from app.services.timelines import live_definitions

STATUS = {
    ExportStatus.CREATED: "Created", ExportStatus.QUEUED: "Queued", ExportStatus.RUNNING: "Processing",
    ExportStatus.SUCCEEDED: "Completed", ExportStatus.FAILED: "Failed", ExportStatus.CANCELLED: "Cancelled",
}
BY_NAME = {name.lower(): status for status, name in STATUS.items()}
FILTERS = {"createdAt", "activityTypeIds", "leadIds", "primaryAttributeValues"}
MAX_LIST = 300  # jobs per page of export.json
FORMATS = ("CSV", "TSV", "SCV")


def job_out(job: ExportJob) -> dict[str, Any]:
    """Marketo's export job shape; numberOfRecords, fileSize and fileChecksum once Completed."""
    out: dict[str, Any] = {"exportId": str(job.id), "format": job.format.value, "status": STATUS[job.status],
                           "createdAt": marketo_time(job.created_at)}
    if job.status is ExportStatus.QUEUED:
        out["queuedAt"] = marketo_time(job.updated_at)  # not stored apart: known only while the job waits
    if job.started_at is not None:
        out["startedAt"] = marketo_time(job.started_at)
    if job.finished_at is not None:
        out["finishedAt"] = marketo_time(job.finished_at)
    if job.status is ExportStatus.SUCCEEDED:
        out.update(numberOfRecords=job.rows, fileSize=job.bytes, fileChecksum=f"sha256:{job.sha256}")
    if job.error and job.status is ExportStatus.FAILED:
        out["errorMsg"] = job.error
    return out


def _instant(value: object, where: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise RestError(1003, f"{where}: an ISO-8601 date-time is expected.")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _ints(value: object, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise RestError(1003, f"{where}: a list of integers is expected.")
    return tuple(value)


async def _search(call: Call, flt: dict[str, Any]) -> ActivitySearch:
    """Marketo's filter as ours: createdAt is the activity date (endAt included), leadIds the persons."""
    unknown = sorted(set(flt) - FILTERS)
    if unknown:
        raise RestError(1003, f"filter.{unknown[0]}: not supported here (use {', '.join(sorted(FILTERS))}).")
    window = flt.get("createdAt")
    days = call.settings.marketo.export_window_days
    start = end = None
    if window is not None:
        if not isinstance(window, dict):
            raise RestError(1003, "filter.createdAt: give {startAt, endAt}.")
        start = _instant(window.get("startAt"), "filter.createdAt.startAt")
        end = _instant(window.get("endAt"), "filter.createdAt.endAt")
    if days is not None and (start is None or end is None or end - start > timedelta(days=days)):
        raise RestError(1003, f"filter.createdAt: a window of at most {days} days is required "
                        "(ACTIVITIES_MARKETO__EXPORT_WINDOW_DAYS).")
    names = None
    if "activityTypeIds" in flt:
        ids = _ints(flt["activityTypeIds"], "filter.activityTypeIds")
        definitions = await live_definitions(call.resources)
        missing = [i for i in ids if i not in definitions]
        if missing:
            raise RestError(1003, f"filter.activityTypeIds: no activity type has id {missing[0]}.")
        names = tuple(definitions[i].api_name for i in ids)
    where: tuple[FieldCondition, ...] = ()
    if "primaryAttributeValues" in flt:
        values = flt["primaryAttributeValues"]
        if not isinstance(values, list) or not values:
            raise RestError(1003, "filter.primaryAttributeValues: a non-empty list is expected.")
        where = (FieldCondition(PRIMARY, FieldOperator.IN, values),)
    return ActivitySearch(
        activity_types=names, occurred_after=start,
        occurred_before=end + timedelta(microseconds=1) if end is not None else None,
        person_ids=_ints(flt.get("leadIds", []), "filter.leadIds"), where=where)


def _quota(failure: DomainError) -> RestError | None:
    """The key's export quotas (issues of no field; a filter's limits name theirs) as Marketo's 1029, which its
    clients treat as "queue full, try later"."""
    if any(i.code is ErrorCode.LIMIT_EXCEEDED and i.field is None for i in failure.issues):
        return RestError(1029, failure.issues[0].message)
    return None


async def create(call: Call) -> Response:
    body = await call.body()
    fmt = str(body.get("format") or "CSV").upper()
    if fmt not in FORMATS:
        raise RestError(1003, f"format: one of {', '.join(FORMATS)}.")
    fields = body.get("fields")
    if fields is not None and (not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)):
        raise RestError(1003, "fields: a list of field names is expected.")
    flt = body.get("filter")
    if not isinstance(flt, dict):
        raise RestError(1003, "filter: an object is expected ({createdAt: {startAt, endAt}, activityTypeIds, ...}).")
    spec = ExportSpec(ExportKind.ACTIVITIES, await _search(call, flt), ExportFormat(fmt), Compression.NONE,
                      tuple(fields) if fields else MARKETO_ACTIVITY_COLUMNS)
    try:
        job = await jobs.create(call.resources, call.principal, spec, queue=False)
    except DomainError as failure:
        raise _quota(failure) or failure from None
    warnings = ["columnHeaderNames is not supported: the header holds the field names."] \
        if body.get("columnHeaderNames") else []
    return ok([job_out(job)], warnings=warnings)


async def _job(call: Call) -> ExportJob:
    """The export of the path, if the caller may see it and it is an activity export; else 1013."""
    try:
        job_id = uuid.UUID(call.request.path_params["exportId"])
    except ValueError:
        raise RestError(1013, "Export job not found") from None
    job = await jobs.get(call.resources, call.principal, job_id)
    if job is None or job.kind is not ExportKind.ACTIVITIES:
        raise RestError(1013, "Export job not found")
    return job


async def enqueue(call: Call) -> Response:
    job = await _job(call)
    quota = call.settings.marketo.export_daily_bytes
    if quota is not None:
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        used = await jobs.bytes_exported_since(call.resources, call.principal, today)
        if used >= quota:
            raise RestError(1029, f"Export daily quota exceeded ({used} of {quota} bytes today, UTC; "
                            "ACTIVITIES_MARKETO__EXPORT_DAILY_BYTES).")
    if job.status is not ExportStatus.CREATED:
        raise RestError(1029, f"Job already {STATUS[job.status].lower()}")
    try:
        queued = await jobs.enqueue(call.resources, call.principal, job.id)
    except DomainError as failure:
        raise _quota(failure) or failure from None
    return ok([job_out(queued)])


async def status(call: Call) -> Response:
    return ok([job_out(await _job(call))])


async def cancel(call: Call) -> Response:
    job = await _job(call)
    if job.status.is_terminal:
        raise RestError(709, f"The export has already ended ({STATUS[job.status]}).")
    return ok([job_out(await jobs.cancel(call.resources, call.principal, job.id))])


async def file(call: Call) -> Response:
    """The CSV (a `Range: bytes=` part of it answers 206); a job not Completed gets 709, a removed file 1013."""
    served = await file_response(call.resources, await _job(call), call.request)
    if not isinstance(served, Refusal):
        return served
    if served.status == 416:
        raise RestError(1003, served.message, status=416, headers=served.headers)
    raise RestError(709 if served.code is ErrorCode.INVALID_STATE else 1013, served.message)


async def list_jobs(call: Call) -> Response:
    """This key's activity exports (every key's for an admin), newest first, optionally of some statuses."""
    wanted = set()
    for name in filter(None, (s.strip().lower() for s in call.params.get("status", "").split(","))):
        if name not in BY_NAME:
            raise RestError(1003, f"status: '{name}' is not one of {', '.join(STATUS.values())}.")
        wanted.add(BY_NAME[name])
    size = call.params.get("batchSize") or str(MAX_LIST)
    if not size.isdigit() or not 1 <= int(size) <= MAX_LIST:
        raise RestError(1003, f"batchSize: 1 to {MAX_LIST}.")
    token = call.params.get("nextPageToken")
    try:
        after = decode_job_cursor(token) if token else None
    except DomainError:
        raise RestError(1003, "Invalid nextPageToken") from None
    found = await jobs.page(call.resources, call.principal, limit=int(size) + 1, after=after)
    page = found[:int(size)]
    shown = [j for j in page if j.kind is ExportKind.ACTIVITIES and (not wanted or j.status in wanted)]
    # The token only while more jobs follow: marketorestpython pages until a response has none.
    more = len(found) > len(page)
    return ok([job_out(j) for j in shown], next_page_token=encode_job_cursor(page[-1]) if more else None,
              more=more)
