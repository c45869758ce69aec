"""Write generated data straight into PostgreSQL (set-up for benchmarks, demo data, and the COPY baseline)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from app.bench.datagen import GeneratedActivity, PersonSeed
from app.domain.activity_types import ActivityTypeDefinition

ACTIVITY_COLUMNS = (
    "person_id", "occurred_at", "activity_type_id", "type_version", "primary_value", "fields", "idempotency_key",
)


@dataclass(frozen=True, slots=True)
class TypeRef:
    """Where an approved activity type lives: its id and the version activities are validated against."""

    id: int
    version: int
    definition: ActivityTypeDefinition


async def approved_types(conn: asyncpg.Connection) -> dict[str, TypeRef]:
    """Every approved (current) activity type, system and custom, by API name."""
    rows = await conn.fetch(
        """SELECT t.id, t.api_name, v.version, v.definition::text AS definition
             FROM activity_type t
             JOIN activity_type_version v ON v.activity_type_id = t.id AND v.version = t.current_version
            WHERE t.deleted_at IS NULL AND t.current_version IS NOT NULL"""
    )
    return {
        r["api_name"]: TypeRef(r["id"], r["version"], ActivityTypeDefinition.from_json(orjson.loads(r["definition"])))
        for r in rows
    }


async def system_type_names(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch("SELECT api_name FROM activity_type WHERE is_system AND current_version IS NOT NULL")
    return sorted(r["api_name"] for r in rows)


async def ensure_types(conn: asyncpg.Connection, definitions: Sequence[ActivityTypeDefinition]) -> dict[str, TypeRef]:
    """Create and approve (version 1) each definition that does not exist yet; returns every approved type."""
    existing = await approved_types(conn)
    async with conn.transaction():
        for d in definitions:
            if d.api_name in existing:
                continue
            type_id = await conn.fetchval(
                """INSERT INTO activity_type (api_name, name, trigger_name, filter_name, status, current_version)
                   VALUES ($1, $2, $3, $4, 'APPROVED', 1) RETURNING id""",
                d.api_name, d.name, d.trigger_name, d.filter_name,
            )
            await conn.execute(
                """INSERT INTO activity_type_version (activity_type_id, version, definition, approved_by)
                   VALUES ($1, 1, $2::jsonb, 'bench')""",
                type_id, orjson.dumps(d.to_json()).decode(),
            )
    return await approved_types(conn)


async def load_persons(conn: asyncpg.Connection, persons: Sequence[PersonSeed]) -> list[int]:
    """Insert the persons that are missing (by external id); returns database ids in generator order."""
    async with conn.transaction():
        await conn.execute("CREATE TEMP TABLE bench_person (LIKE person INCLUDING DEFAULTS) ON COMMIT DROP")
        await conn.copy_records_to_table(
            "bench_person",
            columns=("id", "email", "external_id", "first_name", "last_name"),
            records=[(0, p.email, p.external_id, p.first_name, p.last_name) for p in persons],
        )
        await conn.execute(
            """INSERT INTO person (email, external_id, first_name, last_name)
               SELECT email, external_id, first_name, last_name FROM bench_person
               ON CONFLICT DO NOTHING"""
        )
    rows = await conn.fetch(
        "SELECT id, external_id FROM person WHERE external_id = ANY($1::text[])", [p.external_id for p in persons]
    )
    ids = {r["external_id"]: r["id"] for r in rows}
    return [ids[p.external_id] for p in persons]


def activity_records(
    activities: Iterable[GeneratedActivity], person_ids: Sequence[int], types: dict[str, TypeRef]
) -> list[tuple[Any, ...]]:
    """Rows for COPY into `activity` (ACTIVITY_COLUMNS order), built ahead so only the COPY is timed."""
    dumps = orjson.dumps
    return [
        (
            person_ids[a.person],
            a.occurred_at,
            types[a.activity_type].id,
            types[a.activity_type].version,
            dumps(a.primary_value).decode(),
            dumps(a.fields).decode(),
            a.idempotency_key,
        )
        for a in activities
    ]


async def copy_activities(conn: asyncpg.Connection, records: Sequence[tuple[Any, ...]]) -> int:
    """Plain COPY into the activity table, one transaction: the baseline the importer is compared with."""
    async with conn.transaction():
        await conn.copy_records_to_table("activity", columns=ACTIVITY_COLUMNS, records=records)
    return len(records)


async def activity_count(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM activity"))
