"""Test helpers for timelines: approved types, persons and activities written straight to the database."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from app.db import person_repo
from app.domain.activity_types import ActivityTypeDefinition, FieldDataType, FieldSpec
from app.services.runtime import Resources

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)

TIMELINE = """
query($id: ID!, $first: Int, $after: String, $last: Int, $before: String, $filter: TimelineFilter) {
  person(id: $id) {
    timeline(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
      edges { cursor node { id: rowId occurredAt ingestedAt primaryValue fields typeVersion idempotencyKey } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}
"""

SEARCH = """
query($filter: ActivitySearch!, $first: Int, $after: String) {
  activities(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id: rowId occurredAt primaryValue fields person { id: rowId email } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    totalCount
  }
}
"""


async def create_type(
    resources: Resources,
    api_name: str,
    primary: FieldDataType = FieldDataType.STRING,
    fields: Sequence[tuple[str, FieldDataType]] = (),
) -> int:
    """An approved custom type (version 1) written directly; returns its id."""
    definition = ActivityTypeDefinition(
        api_name=api_name,
        name=f"{api_name} name",
        trigger_name=f"{api_name} trigger",
        filter_name=f"{api_name} filter",
        primary_field=FieldSpec("main", "Main", primary),
        fields=tuple(FieldSpec(n, n.title(), t) for n, t in fields),
    )
    async with resources.db.raw() as conn:
        type_id: int = await conn.fetchval(
            "INSERT INTO activity_type (api_name, name, trigger_name, filter_name, status, current_version) "
            "VALUES ($1, $2, $3, $4, 'APPROVED', 1) RETURNING id",
            api_name,
            definition.name,
            definition.trigger_name,
            definition.filter_name,
        )
        await conn.execute(
            "INSERT INTO activity_type_version (activity_type_id, version, definition) VALUES ($1, 1, $2::text::jsonb)",
            type_id,
            json.dumps(definition.to_json()),
        )
    return type_id


async def create_person(resources: Resources, email: str | None = None, external_id: str | None = None) -> int:
    """A new person with its identity rows (as the services write them)."""
    async with resources.db.raw() as conn, conn.transaction():
        [person_id] = await person_repo.create_missing(conn, [(email, external_id, None, None)])
    assert person_id is not None, f"{email or external_id} exists already"
    return person_id


@dataclass
class Row:
    person_id: int
    type_id: int
    occurred_at: datetime
    primary: Any = None
    fields: dict[str, Any] = field(default_factory=dict)
    ingested_at: datetime | None = None
    key: str | None = None


async def insert(resources: Resources, rows: Sequence[Row]) -> list[int]:
    """Insert activities in one statement; returns their ids in input order (drawn first: on Citus, RETURNING
    gives rows shard by shard, not in input order)."""
    async with resources.db.raw() as conn:
        ids: list[int] = [r[0] for r in await conn.fetch(
            "SELECT nextval(pg_get_serial_sequence('activity', 'id')) FROM generate_series(1, $1::int)", len(rows)
        )]
        await conn.execute(
            "INSERT INTO activity (id, person_id, activity_type_id, type_version, occurred_at, primary_value, fields, "
            "idempotency_key, ingested_at) "
            "SELECT d, p, t, 1, o, pv::jsonb, f::jsonb, k, coalesce(i, now()) FROM unnest($8::bigint[], "
            "$1::bigint[], $2::int[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::timestamptz[]) "
            "AS u(d, p, t, o, pv, f, k, i)",
            [r.person_id for r in rows],
            [r.type_id for r in rows],
            [r.occurred_at for r in rows],
            [json.dumps(r.primary) for r in rows],
            [json.dumps(r.fields) for r in rows],
            [r.key for r in rows],
            [r.ingested_at for r in rows],
            ids,
        )
    return ids


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
