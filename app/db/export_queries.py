"""Bulk export reads: the filtered activities or persons as ready-made JSONL lines or CSV columns, for COPY.

PostgreSQL formats every row (each JSON line is concatenated from JSON texts: ~20% faster than row_to_json,
measured) so the worker only moves bytes. Values are written as the API shows them: ids as strings, instants
as Python's isoformat() in UTC, typed values as their stored JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.db.activity_queries import filtered_sql
from app.domain.activities import ActivityScope
from app.domain.exports import FIELD_PREFIX, ExportFormat, ExportKind
from app.domain.filters import ResolvedFilter

# datetime.isoformat() of a UTC instant: microseconds only when there are some.
_ISO = (
    "CASE WHEN extract(microseconds FROM {c})::bigint % 1000000 = 0 "
    "THEN to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"') "
    "ELSE to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"') END"
)

_MARKETO_TIME = "to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
"""Marketo's `2016-02-03T22:36:23Z` (whole seconds, UTC), as app/api/rest/shapes.marketo_time writes it."""


def _quoted(expr: str) -> str:
    """JSON text of a value that needs no escaping (digits, ISO instants)."""
    return f"'\"' || {expr} || '\"'"


def _json(expr: str) -> str:
    """JSON text of a nullable SQL value."""
    return f"coalesce(to_json({expr})::text, 'null')"


# column -> (JSON text, never NULL; CSV text); `a` is the activity, `p` its person, `t` its type.
_ACTIVITY = {
    "id": (_quoted("a.id"), "a.id"),
    "activityType": (_json("t.api_name"), "t.api_name"),
    "typeVersion": ("a.type_version::text", "a.type_version"),
    "occurredAt": (_quoted(_ISO.format(c="a.occurred_at")), _ISO.format(c="a.occurred_at")),
    "ingestedAt": (_quoted(_ISO.format(c="a.ingested_at")), _ISO.format(c="a.ingested_at")),
    "personId": (_quoted("a.person_id"), "a.person_id"),
    "personEmail": ("p.email", "p.email"),  # JSONL: inside the `person` object
    "personExternalId": ("p.external_id", "p.external_id"),
    "primaryValue": ("coalesce(a.primary_value::text, 'null')", "a.primary_value #>> '{}'"),
    "fields": ("a.fields::text", "a.fields::text"),
    "idempotencyKey": (_json("a.idempotency_key"), "a.idempotency_key"),
    # Marketo's bulk extract columns (domain.MARKETO_ACTIVITY_COLUMNS): its names, ids as numbers, its instants.
    "marketoGUID": (_quoted("a.id"), "a.id"),
    "leadId": ("a.person_id::text", "a.person_id"),
    "activityDate": (_quoted(_MARKETO_TIME.format(c="a.occurred_at")), _MARKETO_TIME.format(c="a.occurred_at")),
    "activityTypeId": ("a.activity_type_id::text", "a.activity_type_id"),
    "campaignId": ("'null'", "NULL"),
    "primaryAttributeValueId": ("'null'", "NULL"),
    "primaryAttributeValue": ("coalesce(a.primary_value::text, 'null')", "a.primary_value #>> '{}'"),
    "attributes": ("a.fields::text", "a.fields::text"),
}
# column -> (JSON text, CSV text) of a person `p`.
_PERSON = {
    "id": (_quoted("p.id"), "p.id"),
    "email": (_json("p.email"), "p.email"),
    "externalId": (_json("p.external_id"), "p.external_id"),
    "firstName": (_json("p.first_name"), "p.first_name"),
    "lastName": (_json("p.last_name"), "p.last_name"),
    "createdAt": (_quoted(_ISO.format(c="p.created_at")), _ISO.format(c="p.created_at")),
    "updatedAt": (_quoted(_ISO.format(c="p.updated_at")), _ISO.format(c="p.updated_at")),
}
_PERSON_PARTS = {"personEmail": "email", "personExternalId": "externalId"}
_RESERVED_CSV = frozenset(_ACTIVITY)

COPY_JSONL = {"format": "csv", "delimiter": "\x02", "quote": "\x01"}
"""COPY options that pass one JSON text column through unchanged: JSON escapes control characters, so a line
never holds the delimiter, the quote or a newline that CSV mode would quote (text mode doubles backslashes)."""
COPY_CSV = {"format": "csv", "header": True}
"""RFC 4180 quoting by PostgreSQL itself; NULL is an empty cell, an empty string a quoted one ("")."""


def copy_options(fmt: ExportFormat) -> dict[str, Any]:
    """COPY's options for a file format (TSV and SCV are CSV with another delimiter, quoted the same way)."""
    if fmt.delimiter is None:
        return COPY_JSONL
    return {**COPY_CSV, "delimiter": fmt.delimiter}


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _object(members: list[tuple[str, str]]) -> str:
    """One JSON object as text from (key, JSON text) pairs; keys are our own column names (no escaping)."""
    parts = [f"'{',' if i else '{'}\"{key}\":' || {value}" for i, (key, value) in enumerate(members)]
    return " || ".join(parts) + " || '}'"


def csv_header(columns: tuple[str, ...]) -> list[str]:
    """CSV column names: per-field columns by the bare field name (as importActivities reads them), unless that
    name is also an envelope column."""
    names = []
    for c in columns:
        bare = c[len(FIELD_PREFIX):] if c.startswith(FIELD_PREFIX) else None
        names.append(bare if bare is not None and bare not in _RESERVED_CSV else c)
    return names


@dataclass(frozen=True, slots=True)
class ExportQuery:
    """The SELECT to COPY out and the COUNT of its rows (for progress), each with its parameters."""

    select: str
    params: list[Any]
    count: str
    count_params: list[Any]


def export_query(
    kind: ExportKind, fmt: ExportFormat, columns: tuple[str, ...], scope: ActivityScope, flt: ResolvedFilter | None
) -> ExportQuery:
    """What an export reads (asyncpg inlines the parameters as literals for COPY)."""
    if kind is ExportKind.PERSONS:
        select, count, params = _persons_sql(fmt, columns, scope, flt)
        return ExportQuery(select, params, count, params)
    inner, params = filtered_sql(scope, flt or ResolvedFilter(None, None, None, None, ()))
    select, select_params = _activities_sql(fmt, columns, inner, list(params))
    return ExportQuery(select, select_params, f"SELECT count(*) FROM ({inner}) a", params)


def _activities_sql(
    fmt: ExportFormat, columns: tuple[str, ...], inner: str, params: list[Any]
) -> tuple[str, list[Any]]:
    source = (f"({inner}) a JOIN person p ON p.id = a.person_id "
              "JOIN activity_type t ON t.id = a.activity_type_id")
    header = csv_header(columns)
    if fmt.delimiter is not None:
        exprs = []
        for column, name in zip(columns, header, strict=True):
            if column.startswith(FIELD_PREFIX):
                params.append(column[len(FIELD_PREFIX):])
                expr = f"a.fields -> ${len(params)}::text #>> '{{}}'"
            else:
                expr = _ACTIVITY[column][1]
            exprs.append(f"{expr} AS {_ident(name)}")
        return f"SELECT {', '.join(exprs)} FROM {source}", params
    members: list[tuple[str, str]] = []
    person = [f"'{_PERSON_PARTS[c]}', {_ACTIVITY[c][0]}" for c in columns if c in _PERSON_PARTS]
    for column in columns:
        if column in _PERSON_PARTS:
            if person:
                members.append(("person", f"jsonb_build_object({', '.join(person)})::text"))
                person = []
            continue
        members.append((column, _ACTIVITY[column][0]))
    return f"SELECT {_object(members)} FROM {source}", params


def _persons_sql(
    fmt: ExportFormat, columns: tuple[str, ...], scope: ActivityScope, flt: ResolvedFilter | None
) -> tuple[str, str, list[Any]]:
    where: str = "TRUE"
    params: list[Any] = []
    if flt is not None:
        inner, params = filtered_sql(scope, flt)
        where = f"p.id IN (SELECT a.person_id FROM ({inner}) a)"
    count = f"SELECT count(*) FROM person p WHERE {where}"
    if fmt.delimiter is not None:
        exprs = ", ".join(f"{_PERSON[c][1]} AS {_ident(c)}" for c in columns)
        return f"SELECT {exprs} FROM person p WHERE {where}", count, params
    return f"SELECT {_object([(c, _PERSON[c][0]) for c in columns])} FROM person p WHERE {where}", count, params
