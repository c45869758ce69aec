"""Export jobs: what is exported (activities or persons, a search filter, format, columns) and their lifecycle."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.domain.activity_types import ActivityTypeDefinition
from app.domain.errors import DomainError, ErrorCode, Issue
from app.domain.filters import ActivitySearch, FieldCondition, FieldOperator, resolve

MAX_COLUMNS = 200


class ExportKind(StrEnum):
    """What an export holds: one row per activity, or one row per person."""

    ACTIVITIES = "ACTIVITIES"
    PERSONS = "PERSONS"


class ExportStatus(StrEnum):
    """Lifecycle of an export job: [CREATED ->] QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED.

    CREATED is a job stored but not yet queued: Marketo's bulk extract creates, then enqueues, as two calls.
    """

    CREATED = "CREATED"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self not in (ExportStatus.CREATED, ExportStatus.QUEUED, ExportStatus.RUNNING)


class ExportFormat(StrEnum):
    """File format: JSON Lines (one object per row), or delimited text with a header line: CSV (RFC 4180), TSV
    (tab-separated) or SCV (semicolon-separated, Marketo's name), quoted alike."""

    JSONL = "JSONL"
    CSV = "CSV"
    TSV = "TSV"
    SCV = "SCV"

    @property
    def delimiter(self) -> str | None:
        """The column separator of a delimited format; None for JSONL."""
        return {"CSV": ",", "TSV": "\t", "SCV": ";"}.get(self.value)


class Compression(StrEnum):
    GZIP = "GZIP"
    NONE = "NONE"


class FileGone(StrEnum):
    """Why a finished export's file is no longer downloadable."""

    EXPIRED = "EXPIRED"
    DELETED = "DELETED"
    ERASED = "ERASED"  # deletePerson removed a person the file may hold


# Columns in file order. `fields` is one JSON column; `fields.<apiName>` one column per field (a single type).
ACTIVITY_COLUMNS = (
    "id", "activityType", "typeVersion", "occurredAt", "ingestedAt", "personId", "personEmail",
    "personExternalId", "primaryValue", "fields", "idempotencyKey",
)
# Marketo's bulk activity extract columns (the REST facade's `fields`), accepted beside ours; campaignId and
# primaryAttributeValueId have no counterpart here and stay empty.
MARKETO_ACTIVITY_COLUMNS = (
    "marketoGUID", "leadId", "activityDate", "activityTypeId", "campaignId", "primaryAttributeValueId",
    "primaryAttributeValue", "attributes",
)
PERSON_COLUMNS = ("id", "email", "externalId", "firstName", "lastName", "createdAt", "updatedAt")
FIELD_PREFIX = "fields."


@dataclass(frozen=True, slots=True)
class ExportSpec:
    """An export request as the client made it (columns None = the default set)."""

    kind: ExportKind
    search: ActivitySearch | None
    format: ExportFormat
    compression: Compression
    columns: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ExportJob:
    """One export job as stored."""

    id: uuid.UUID
    kind: ExportKind
    status: ExportStatus
    format: ExportFormat
    compression: Compression
    columns: tuple[str, ...]
    search: ActivitySearch | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    expires_at: datetime | None = None
    rows: int = 0
    total_rows: int | None = None
    bytes: int = 0
    sha256: str | None = None
    attempts: int = 0
    cancel_requested: bool = False
    error: str | None = None
    file_gone: FileGone | None = None

    @property
    def progress(self) -> float:
        if self.status is ExportStatus.SUCCEEDED:
            return 1.0
        if not self.total_rows:
            return 0.0
        return min(1.0, self.rows / self.total_rows)

    @property
    def downloadable(self) -> bool:
        return self.status is ExportStatus.SUCCEEDED and self.file_gone is None

    @property
    def filename(self) -> str:
        suffix = "." + ("csv" if self.format is ExportFormat.SCV else self.format.value.lower())
        return f"{self.kind.value.lower()}-{self.id}{suffix}" + (".gz" if self.compression is Compression.GZIP else "")

    @property
    def content_type(self) -> str:
        if self.compression is Compression.GZIP:
            return "application/gzip"
        if self.format is ExportFormat.JSONL:
            return "application/x-ndjson"
        kind = "tab-separated-values" if self.format is ExportFormat.TSV else "csv"
        return f"text/{kind}; charset=utf-8"


def plan_columns(
    spec: ExportSpec, definitions: Mapping[int, ActivityTypeDefinition], path: str = "input"
) -> tuple[str, ...]:
    """The checked column list of `spec` (its own or the default); raises DomainError with every issue.

    Per-field CSV columns need exactly one exported type; several types (or all) get the JSON `fields` column.
    """
    issues: list[Issue] = []
    single = _single_type(spec, definitions)
    if spec.kind is ExportKind.PERSONS:
        allowed: Sequence[str] = PERSON_COLUMNS
        default: tuple[str, ...] = PERSON_COLUMNS
    else:
        allowed = (*ACTIVITY_COLUMNS, *MARKETO_ACTIVITY_COLUMNS)
        default = ACTIVITY_COLUMNS
        if spec.format.delimiter is not None and single is not None:
            field_columns = tuple(FIELD_PREFIX + f.api_name for f in single.fields)
            default = (*ACTIVITY_COLUMNS[:9], *field_columns, ACTIVITY_COLUMNS[10])
    if spec.columns is None:
        return default
    if not spec.columns:
        issues.append(Issue(ErrorCode.REQUIRED, f"{path}.columns", "Give at least one column, or omit columns."))
    if len(spec.columns) > MAX_COLUMNS:
        issues.append(Issue(ErrorCode.LIMIT_EXCEEDED, f"{path}.columns", f"At most {MAX_COLUMNS} columns."))
    seen: set[str] = set()
    for i, name in enumerate(spec.columns[:MAX_COLUMNS]):
        where = f"{path}.columns.{i}"
        if name in seen:
            issues.append(Issue(ErrorCode.DUPLICATE, where, f"Column '{name}' is listed twice."))
        seen.add(name)
        if name.startswith(FIELD_PREFIX) and spec.kind is ExportKind.ACTIVITIES:
            issues.extend(_field_column_issues(spec, single, name, where))
        elif name not in allowed:
            issues.append(Issue(ErrorCode.UNKNOWN_FIELD, where,
                                f"Unknown column '{name[:100]}'; use one of {', '.join(allowed)}."))
    if issues:
        raise DomainError(issues)
    return spec.columns


def _field_column_issues(
    spec: ExportSpec, single: ActivityTypeDefinition | None, name: str, where: str
) -> list[Issue]:
    if spec.format.delimiter is None:
        return [Issue(ErrorCode.INVALID, where, "Per-field columns are for CSV (TSV, SCV); JSONL rows carry `fields`.")]
    if single is None:
        return [Issue(ErrorCode.INVALID, where, "Per-field columns need exactly one type in filter.activityTypes; "
                      "export several types with the JSON column `fields`.")]
    if single.field_named(name[len(FIELD_PREFIX):]) is None or name == FIELD_PREFIX + "primary":
        return [Issue(ErrorCode.UNKNOWN_FIELD, where, f"Type '{single.api_name}' has no field '{name[7:]}'.")]
    return []


def _single_type(
    spec: ExportSpec, definitions: Mapping[int, ActivityTypeDefinition]
) -> ActivityTypeDefinition | None:
    names = spec.search.activity_types if spec.search is not None else None
    if names is None or len({n.lower() for n in names}) != 1:
        return None
    wanted = names[0].lower()
    return next((d for d in definitions.values() if d.api_name.lower() == wanted), None)


def check_spec(
    spec: ExportSpec, definitions: Mapping[int, ActivityTypeDefinition], path: str = "input"
) -> tuple[str, ...]:
    """Every problem with `spec` at once (filter and columns) as one DomainError; else the columns to write."""
    issues: list[Issue] = []
    if spec.search is not None:
        flt = spec.search
        if flt.occurred_after and flt.occurred_before and flt.occurred_after > flt.occurred_before:
            issues.append(Issue(ErrorCode.OUT_OF_RANGE, f"{path}.filter.occurredBefore",
                                "occurredBefore must not be earlier than occurredAfter."))
        try:
            resolve(flt, definitions, f"{path}.filter")
        except DomainError as error:
            issues.extend(error.issues)
    try:
        columns = plan_columns(spec, definitions, path)
    except DomainError as error:
        issues.extend(error.issues)
    if issues:
        raise DomainError(issues)
    return columns


def search_to_json(search: ActivitySearch | None) -> dict[str, Any] | None:
    """The filter as stored with the job (the worker re-resolves it against the types at run time)."""
    if search is None:
        return None
    return {
        "activityTypes": list(search.activity_types) if search.activity_types is not None else None,
        "occurredAfter": search.occurred_after.isoformat() if search.occurred_after else None,
        "occurredBefore": search.occurred_before.isoformat() if search.occurred_before else None,
        "ingestedAfter": search.ingested_after.isoformat() if search.ingested_after else None,
        "where": [{"field": c.field, "op": c.op.value, "value": c.value} for c in search.where],
        "personIds": list(search.person_ids),
        "personEmails": list(search.person_emails),
        "personExternalIds": list(search.person_external_ids),
        "minActivitiesPerPerson": search.min_activities_per_person,
    }


def search_from_json(data: Mapping[str, Any] | None) -> ActivitySearch | None:
    if data is None:
        return None

    def instant(name: str) -> datetime | None:
        value = data.get(name)
        return datetime.fromisoformat(value) if value else None

    types = data.get("activityTypes")
    return ActivitySearch(
        activity_types=tuple(types) if types is not None else None,
        occurred_after=instant("occurredAfter"),
        occurred_before=instant("occurredBefore"),
        ingested_after=instant("ingestedAfter"),
        where=tuple(FieldCondition(c["field"], FieldOperator(c["op"]), c.get("value")) for c in data.get("where", [])),
        person_ids=tuple(data.get("personIds", ())),
        person_emails=tuple(data.get("personEmails", ())),
        person_external_ids=tuple(data.get("personExternalIds", ())),
        min_activities_per_person=data.get("minActivitiesPerPerson"),
    )
