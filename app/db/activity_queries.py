"""Activity reads on raw asyncpg: resolved filters compiled to SQL, keyset pages (never OFFSET), counts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from app.db import type_stamps
from app.db.raw_pool import Connection
from app.domain.activities import Activity, ActivityScope
from app.domain.activity_types import PRIMARY
from app.domain.filters import NEGATED, FieldOperator, ResolvedCondition, ResolvedFilter, ValueKind

Op = FieldOperator
COLUMNS = (
    "id, person_id, activity_type_id, type_version, occurred_at, ingested_at, primary_value, fields, idempotency_key"
)
"""The columns of an activity row, in the order of Activity's fields: rows are built with Activity(*row)
(positional, ~0.35 us a row cheaper than by keyword; tests/db/test_activity_columns.py checks the order)."""
TEXT_COLUMNS = COLUMNS.replace("primary_value, fields", "primary_value::text, fields::text")
"""COLUMNS with the two JSON values as their stored text (`page(json_as_text=True)`); casts keep the names."""

# A typed view of one JSON value; NULL when missing, empty or of another JSON type (mirrors filters._stored).
# Dates are guarded by the validator's normalised formats (a regex, since pg_input_is_valid needs PostgreSQL 16).
_TYPED = {
    ValueKind.STRING: "CASE WHEN jsonb_typeof({v}) = 'string' THEN NULLIF(lower({v} #>> '{{}}'), '') END",
    ValueKind.NUMBER: "CASE WHEN jsonb_typeof({v}) = 'number' THEN ({v} #>> '{{}}')::numeric END",
    ValueKind.BOOLEAN: "CASE WHEN jsonb_typeof({v}) = 'boolean' THEN ({v} #>> '{{}}')::boolean END",
    ValueKind.DATE: (
        "CASE WHEN jsonb_typeof({v}) = 'string' AND ({v} #>> '{{}}') ~ '^\\d{{4}}-\\d{{2}}-\\d{{2}}' "
        "THEN left({v} #>> '{{}}', 10)::date END"
    ),
    ValueKind.DATETIME: (
        "CASE WHEN jsonb_typeof({v}) = 'string' "
        "AND ({v} #>> '{{}}') ~ '^\\d{{4}}-\\d{{2}}-\\d{{2}}T\\d{{2}}:\\d{{2}}:\\d{{2}}"
        "(\\.\\d+)?(Z|[+-]\\d{{2}}:\\d{{2}})$' "
        "THEN ({v} #>> '{{}}')::timestamptz END"
    ),
}
_SQL_TYPE = {
    ValueKind.STRING: "text",
    ValueKind.NUMBER: "numeric",
    ValueKind.BOOLEAN: "boolean",
    ValueKind.DATE: "date",
    ValueKind.DATETIME: "timestamptz",
}
_COMPARE = {
    Op.EQUALS: "=",
    Op.GREATER_THAN: ">",
    Op.GREATER_THAN_OR_EQUAL: ">=",
    Op.LESS_THAN: "<",
    Op.LESS_THAN_OR_EQUAL: "<=",
}


class Sql:
    """WHERE clauses and their numbered parameters, built together so numbers never drift."""

    def __init__(self) -> None:
        self.params: list[Any] = []
        self.clauses: list[str] = []

    def param(self, value: Any, sql_type: str) -> str:
        self.params.append(value)
        return f"${len(self.params)}::{sql_type}"

    def where(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "TRUE"


def _bind(kind: ValueKind, value: Any) -> Any:
    if kind is ValueKind.NUMBER:
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return value


def condition(sql: Sql, cond: ResolvedCondition, value_sql: str | None = None) -> str:
    """The SQL test of `cond` on an activity's JSON value, or on the jsonb expression `value_sql` if given."""
    if value_sql is not None:
        v = value_sql
    else:
        v = "primary_value" if cond.field == PRIMARY else f"(fields -> {sql.param(cond.field, 'text')})"
    if cond.op is Op.IS_EMPTY:
        return f"({v} IS NULL OR {v} = 'null'::jsonb OR {v} = '\"\"'::jsonb)"
    if cond.op is Op.IS_NOT_EMPTY:
        return f"NOT ({v} IS NULL OR {v} = 'null'::jsonb OR {v} = '\"\"'::jsonb)"
    typed = f"({_TYPED[cond.kind].format(v=v)})"
    positive = NEGATED.get(cond.op)
    if positive is not None:
        # A negation holds for empty values too, as in the domain (filters.NEGATED).
        return f"({typed} IS NULL OR NOT ({_positive(sql, positive, cond, typed)}))"
    return _positive(sql, cond.op, cond, typed)


def _positive(sql: Sql, op: FieldOperator, cond: ResolvedCondition, typed: str) -> str:
    sql_type = _SQL_TYPE[cond.kind]
    if op is Op.IN:
        values = [_bind(cond.kind, x) for x in cond.value]
        return f"{typed} = ANY({sql.param(values, sql_type + '[]')})"
    if op is Op.BETWEEN:
        low, high = (sql.param(_bind(cond.kind, x), sql_type) for x in cond.value)
        return f"{typed} BETWEEN {low} AND {high}"
    if op is Op.CONTAINS:
        return f"strpos({typed}, {sql.param(cond.value, 'text')}) > 0"
    if op is Op.STARTS_WITH:
        return f"starts_with({typed}, {sql.param(cond.value, 'text')})"
    if op is Op.ENDS_WITH:
        # right() counts characters as Python's endswith does; a LIKE pattern would need escaping.
        value = sql.param(cond.value, "text")
        return f"right({typed}, char_length({value})) = {value}"
    return f"{typed} {_COMPARE[op]} {sql.param(_bind(cond.kind, cond.value), sql_type)}"


def _compile(scope: ActivityScope, flt: ResolvedFilter, *, per_type: bool = False) -> Sql:
    """WHERE clauses for `scope` and `flt`; with `per_type`, the type test reads `t.type_id` (see `page`)."""
    sql = Sql()
    if scope.person_id is not None:
        sql.clauses.append(f"person_id = {sql.param(scope.person_id, 'bigint')}")
    elif scope.person_ids or scope.person_emails or scope.person_external_ids:
        # One subquery over the identity tables (app/db/person_repo.py); on Citus it runs first, as a unit.
        sql.clauses.append(
            f"person_id IN (SELECT unnest({sql.param(list(scope.person_ids), 'bigint[]')}) "
            "UNION SELECT person_id FROM person_email WHERE "
            f"email = ANY({sql.param([e.lower() for e in scope.person_emails], 'text[]')}) "
            "UNION SELECT person_id FROM person_external_id WHERE "
            f"external_id = ANY({sql.param(list(scope.person_external_ids), 'text[]')}))"
        )
    if flt.occurred_after is not None:
        sql.clauses.append(f"occurred_at >= {sql.param(flt.occurred_after, 'timestamptz')}")
    if flt.occurred_before is not None:
        sql.clauses.append(f"occurred_at < {sql.param(flt.occurred_before, 'timestamptz')}")
    if flt.ingested_after is not None:
        sql.clauses.append(f"ingested_at >= {sql.param(flt.ingested_after, 'timestamptz')}")
    sql.clauses.extend(condition(sql, c) for c in flt.conditions)
    types = list(flt.type_ids) if flt.type_ids is not None else None
    if scope.min_per_person is not None:
        # Same clauses and parameters, all listed types together: persons with at least N matches.
        matching = list(sql.clauses)
        if types is not None:
            matching.append(f"activity_type_id = ANY({sql.param(types, 'int[]')})")
        sql.clauses.append(
            f"person_id IN (SELECT person_id FROM activity WHERE {' AND '.join(matching) or 'TRUE'} "
            f"GROUP BY person_id HAVING count(*) >= {sql.param(scope.min_per_person, 'bigint')})"
        )
    if types is not None:
        sql.clauses.append(
            "activity_type_id = t.type_id" if per_type else f"activity_type_id = ANY({sql.param(types, 'int[]')})"
        )
    return sql


def filtered_sql(scope: ActivityScope, flt: ResolvedFilter) -> tuple[str, list[Any]]:
    """`SELECT COLUMNS FROM activity WHERE ...` for `scope` and `flt`, unordered (bulk export reads it whole)."""
    sql = _compile(scope, flt)
    return f"SELECT {COLUMNS} FROM activity WHERE {sql.where()}", sql.params


async def page(
    conn: Connection,
    scope: ActivityScope,
    flt: ResolvedFilter,
    *,
    limit: int,
    backward: bool,
    after: tuple[datetime, int] | None = None,
    before: tuple[datetime, int] | None = None,
    with_type_stamps: bool = False,
    distributed: bool = False,
    json_as_text: bool = False,
) -> tuple[list[Activity], bool, str | None]:
    """Up to `limit` activities newest first, strictly after/before the cursors, whether more exist, and (with
    `with_type_stamps`) the version stamps of their activity types, read with the rows (type_stamps format).
    With `json_as_text`, primary_value and fields hold the stored JSON text (for readers that send it on as is).

    Forward pages walk (occurred_at, id) downwards from `after`; backward pages walk upwards from `before`
    and are reversed here, so callers always get newest first.
    """
    query, params = _page_sql(
        scope, flt, limit=limit, backward=backward, after=after, before=before, distributed=distributed,
        json_as_text=json_as_text,
    )
    if not with_type_stamps:
        rows = await conn.fetch(query, *params)
        items = [Activity(*r) for r in rows[:limit]]
        stamps = None
    else:
        rows = await conn.fetch(_stamped(query, backward), *params)
        items = [Activity(*r[:9]) for r in rows[:limit]]
        stamps = rows[0][9] if rows else None
    more = len(rows) > limit
    if backward:
        items.reverse()
    return items, more, stamps


def _stamped(query: str, backward: bool) -> str:
    """The page query with the stamps once, beside the first row: the type cache then needs no query of its own."""
    order = _order(backward)
    return (
        f"WITH page AS MATERIALIZED ({query}) SELECT page.*, CASE WHEN row_number() OVER (ORDER BY {order}) = 1 "
        f"THEN ({type_stamps.OF_PAGE}) END FROM page ORDER BY {order}"
    )


def _order(backward: bool) -> str:
    return "occurred_at ASC, id ASC" if backward else "occurred_at DESC, id DESC"


def _page_sql(
    scope: ActivityScope,
    flt: ResolvedFilter,
    *,
    limit: int,
    backward: bool,
    after: tuple[datetime, int] | None = None,
    before: tuple[datetime, int] | None = None,
    distributed: bool = False,
    json_as_text: bool = False,
) -> tuple[str, list[Any]]:
    """The keyset page query.

    Searching by activity types, the page is the merge of one ordered, LIMITed index scan per type
    (`unnest(types) CROSS JOIN LATERAL`): `activity_type_id = ANY($n)` cannot use an index for order,
    so it would read and sort every matching row first. Citus cannot push a LIMITed lateral subquery down
    (`distributed`): there each shard sorts its matching rows and the coordinator merges the shards' first pages.
    """
    # One person's rows are few enough for the planner's own choice (PK scan or bitmap + sort).
    per_type = flt.type_ids is not None and scope.person_id is None and not distributed
    sql = _compile(scope, flt, per_type=per_type)
    if after is not None:
        sql.clauses.append(
            f"(occurred_at, id) < ({sql.param(after[0], 'timestamptz')}, {sql.param(after[1], 'bigint')})"
        )
    if before is not None:
        sql.clauses.append(
            f"(occurred_at, id) > ({sql.param(before[0], 'timestamptz')}, {sql.param(before[1], 'bigint')})"
        )
    order = _order(backward)
    limit_param = sql.param(limit + 1, "int")
    columns = TEXT_COLUMNS if json_as_text else COLUMNS
    inner = f"SELECT {columns} FROM activity WHERE {sql.where()} ORDER BY {order} LIMIT {limit_param}"
    if not per_type:
        return inner, sql.params
    types = sql.param(list(flt.type_ids or ()), "int[]")
    query = (
        f"SELECT {COLUMNS} FROM unnest({types}) AS t(type_id) CROSS JOIN LATERAL ({inner}) AS a "
        f"ORDER BY {order} LIMIT {limit_param}"
    )
    return query, sql.params


async def count(conn: Connection, scope: ActivityScope, flt: ResolvedFilter) -> int:
    """How many activities match (no cursor bounds)."""
    sql = _compile(scope, flt)
    return int(await conn.fetchval(f"SELECT count(*) FROM activity WHERE {sql.where()}", *sql.params))


async def one(conn: Connection, person_id: int, activity_id: int) -> Activity | None:
    """One activity by its person (the shard key, the primary key's first column) and id."""
    row = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM activity WHERE person_id = $1 AND id = $2", person_id, activity_id
    )
    return Activity(*row) if row is not None else None


async def sync_watermark(conn: Connection) -> datetime:
    """The earliest start of any open transaction in this database (or now).

    Rows take ingested_at = now() of their inserting transaction, so anything not yet visible to a read
    made after this call has ingested_at >= the result: reading `ingestedAfter` it next time misses nothing.
    """
    value: datetime = await conn.fetchval(
        "SELECT least(now(), min(xact_start)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND xact_start IS NOT NULL"
    )
    return value


def explain_sql(
    scope: ActivityScope,
    flt: ResolvedFilter,
    limit: int,
    *,
    with_type_stamps: bool = False,
    distributed: bool = False,
) -> tuple[str, list[Any]]:
    """The first-page query and its parameters, as `page` sends it (for EXPLAIN in benchmarks, docs and tests)."""
    query, params = _page_sql(scope, flt, limit=limit, backward=False, distributed=distributed)
    return (_stamped(query, False) if with_type_stamps else query), params
