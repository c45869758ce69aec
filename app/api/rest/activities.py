"""`/rest/v1/activities...`: add custom activities, list types, paging tokens and reading activities."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

import orjson
from starlette.responses import Response

from app.api.rest.envelope import RestError, issue_errors, ok, respond
from app.api.rest.handler import Call
from app.api.rest.shapes import activity_type_out, marketo_time
from app.domain.activities import Activity
from app.domain.activity_types import ActivityTypeDefinition
from app.domain.cursors import decode_activity_cursor, encode_activity_cursor
from app.domain.errors import DomainError, ErrorCode, Issue
from app.domain.filters import ActivitySearch, TimelineFilter
from app.domain.ingestion import JobSource, SourceFormat
from app.services import timelines
from app.services.ingestion.inline import record_now
from app.services.ingestion.submit import JobSpec
from app.services.registry import LiveType, cached_live_types

MAX_TYPE_IDS = 10  # Marketo's cap on activityTypeIds; kept so requests that work here also work there
MAX_LEAD_IDS = 30


async def _live(call: Call) -> dict[str, LiveType]:
    live, _ = await cached_live_types(call.resources)
    return live


def _to_ours(record: object, by_id: dict[int, LiveType], by_name: dict[str, LiveType]) -> dict[str, Any] | Issue:
    """One Marketo input record as one JSONL activity of ours, or why it cannot be one."""
    if not isinstance(record, dict):
        return Issue(ErrorCode.INVALID, None, "Each input record must be an object.")
    type_id, api_name = record.get("activityTypeId"), record.get("apiName")
    live = by_id.get(type_id) if isinstance(type_id, int) and not isinstance(type_id, bool) else None
    if live is None and isinstance(api_name, str):
        live = by_name.get(api_name.lower())
    if live is None:
        what = f"activityTypeId {type_id}" if type_id is not None else f"apiName '{api_name}'"
        return Issue(ErrorCode.UNKNOWN_ACTIVITY_TYPE, "activityTypeId", f"No approved activity type has {what}.")
    lead = record.get("leadId")
    if not isinstance(lead, int) or isinstance(lead, bool):
        return Issue(ErrorCode.REQUIRED, "leadId", "leadId (an integer) is required.")
    fields: dict[str, Any] = {}
    by_display = {f.name: f.api_name for f in live.definition.fields}
    attributes = record.get("attributes") or []
    if not isinstance(attributes, list):
        return Issue(ErrorCode.INVALID, "attributes", "attributes must be a list of {apiName | name, value}.")
    for item in attributes:
        api_name = item.get("apiName") if isinstance(item, dict) else None
        display = item.get("name") if isinstance(item, dict) else None
        if isinstance(api_name, str):
            fields[api_name] = item.get("value")
        elif isinstance(display, str):
            fields[by_display.get(display, display)] = item.get("value")
        else:
            return Issue(ErrorCode.INVALID, "attributes", "Each attribute needs an apiName or a name.")
    return {"activityType": live.api_name, "person": {"id": lead}, "occurredAt": record.get("activityDate"),
            "primaryValue": record.get("primaryAttributeValue"), "fields": fields}


async def add_custom(call: Call) -> Response:
    records = (await call.body()).get("input")
    if not isinstance(records, list) or not records:
        raise RestError(1002, "input: give a non-empty list of activity records.")
    cap = call.settings.marketo.max_batch
    if len(records) > cap:
        raise RestError(1003, f"input: at most {cap} records per call (ACTIVITIES_MARKETO__MAX_BATCH).")
    live = await _live(call)
    by_id = {t.id: t for t in live.values()}
    mapped = [_to_ours(r, by_id, live) for r in records]
    sendable = [(n, m) for n, m in enumerate(mapped) if isinstance(m, dict)]
    rejected: dict[int, tuple[Issue, ...]] = {n: (m,) for n, m in enumerate(mapped) if isinstance(m, Issue)}
    if sendable:
        spec = JobSpec(source=JobSource.INLINE, format=SourceFormat.JSONL, created_by=call.principal.id)
        try:
            outcome = await record_now(call.resources, spec, [m for _, m in sendable])
        except DomainError as failure:
            if any(i.code is ErrorCode.LIMIT_EXCEEDED for i in failure.issues):
                # The per-key cap on unfinished jobs (ingestion_concurrency_per_key): Marketo's concurrency
                # code, which its clients retry.
                raise RestError(615, failure.issues[0].message) from None
            raise
        for row, issues in outcome.rejected.items():
            rejected[sendable[row - 1][0]] = issues
    result: list[dict[str, Any]] = []
    for n in range(len(records)):
        if n in rejected:
            reasons = issue_errors(rejected[n])
            result.append({"status": "skipped", "errors": reasons, "reasons": reasons})
        else:
            result.append({"status": "added"})
    return ok(result)


async def types(call: Call) -> Response:
    live = sorted((await _live(call)).values(), key=lambda t: t.id)
    return ok([activity_type_out(t.id, t.definition) for t in live])


def _encode_token(since: datetime, cursor: str | None) -> str:
    raw = orjson.dumps({"s": since.isoformat(), "c": cursor})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> tuple[datetime, str | None]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        since, cursor = datetime.fromisoformat(data["s"]), data["c"]
        if cursor is not None:
            decode_activity_cursor(cursor, "nextPageToken")
        if since.tzinfo is None or not (cursor is None or isinstance(cursor, str)):
            raise ValueError
    except (ValueError, KeyError, TypeError, binascii.Error, orjson.JSONDecodeError, DomainError):
        raise RestError(1003, "Invalid nextPageToken") from None
    return since, cursor


def _since(value: str | None) -> datetime:
    if not value:
        raise RestError(1002, "sinceDatetime: a value is required.")
    try:
        since = datetime.fromisoformat(value.replace(" ", "+"))  # an unencoded '+' arrives as a space
    except ValueError:
        raise RestError(1003, f"sinceDatetime: '{value}' is not an ISO-8601 date-time.") from None
    if since.tzinfo is None:
        since = since.astimezone()  # Marketo reads a bare date-time in the instance's time zone
    return since


async def paging_token(call: Call) -> Response:
    token = _encode_token(_since(call.params.get("sinceDatetime")), None)
    return respond({"success": True, "nextPageToken": token})


def _ints(value: str | None, name: str, cap: int) -> tuple[int, ...]:
    if not value:
        return ()
    try:
        numbers = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise RestError(1003, f"{name}: a comma-separated list of integers is expected.") from None
    if len(numbers) > cap:
        raise RestError(1003, f"{name}: at most {cap} values.")
    return numbers


def _activity_out(a: Activity, definitions: dict[int, ActivityTypeDefinition]) -> dict[str, Any]:
    definition = definitions.get(a.activity_type_id)
    names = {f.api_name: f.name for f in definition.fields} if definition else {}
    assert isinstance(a.fields, dict), "read_page decodes JSON unless asked for its text"
    return {"id": a.id, "marketoGUID": str(a.id), "leadId": a.person_id, "activityDate": marketo_time(a.occurred_at),
            "activityTypeId": a.activity_type_id, "primaryAttributeValue": a.primary_value,
            "attributes": [{"name": names.get(k, k), "apiName": k, "value": v} for k, v in a.fields.items()
                           if v is not None]}


async def read(call: Call) -> Response:
    params = call.params
    since, cursor = _decode_token(params.get("nextPageToken") or "")
    type_ids = _ints(params.get("activityTypeIds"), "activityTypeIds", MAX_TYPE_IDS)
    lead_ids = _ints(params.get("leadIds"), "leadIds", MAX_LEAD_IDS)
    size = _ints(params.get("batchSize"), "batchSize", 1)
    batch = min(size[0] if size else 300, 300, call.settings.limits.max_page_size)
    if batch < 1:
        raise RestError(1003, "batchSize: must be at least 1.")
    definitions = await timelines.live_definitions(call.resources)
    names = tuple(definitions[t].api_name for t in type_ids if t in definitions)
    if type_ids and not names:
        raise RestError(1003, "activityTypeIds: none of these is an activity type.")
    flt = TimelineFilter(activity_types=names or None, occurred_after=since)

    async def known() -> dict[int, ActivityTypeDefinition]:
        return definitions

    # Pages are read oldest first: the last `batch` items of the newest-first order, before the previous page.
    args = timelines.PageArgs(last=batch, before=cursor)
    try:
        scope = timelines.search_scope(ActivitySearch(person_ids=lead_ids))
        page = await timelines.read_page(call.resources, scope, flt, args, definitions=known)
    except DomainError as failure:
        raise RestError(1003, errors=issue_errors(failure.issues)) from None
    items = list(reversed(page.items))
    next_cursor = encode_activity_cursor(items[-1].occurred_at, items[-1].id) if items else cursor
    token = _encode_token(since, next_cursor)
    return ok([_activity_out(a, definitions) for a in items], next_page_token=token, more=page.has_previous_page)

