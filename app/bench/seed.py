"""Write generated data straight into PostgreSQL (set-up for benchmarks, demo data, and the COPY baseline)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from app.bench.datagen import GeneratedActivity, PersonSeed
from app.db import person_repo
from app.domain.access import ALL_SCOPES, Principal
from app.domain.activity_types import ActivityTypeDefinition
from app.services import registry_admin
from app.services.runtime import Resources

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


SEED_ACTOR = Principal(id="seed", name="data generator (bench/demo)", scopes=ALL_SCOPES)


async def ensure_types(
    conn: asyncpg.Connection, resources: Resources, definitions: Sequence[ActivityTypeDefinition]
) -> dict[str, TypeRef]:
    """Create and approve, through the registry service, each definition that does not exist yet.

    Returns every approved type (system and custom) by API name.
    """
    existing = await approved_types(conn)
    for definition in definitions:
        if definition.api_name in existing:
            continue
        await registry_admin.create(resources, SEED_ACTOR, definition)
        await registry_admin.approve(resources, SEED_ACTOR, definition.api_name)
    return await approved_types(conn)


async def load_persons(conn: asyncpg.Connection, persons: Sequence[PersonSeed]) -> list[int]:
    """Insert the persons that are missing (by external id); returns database ids in generator order."""
    async with conn.transaction():
        await person_repo.create_missing(conn, [(p.email, p.external_id, p.first_name, p.last_name) for p in persons])
    rows = await conn.fetch(
        "SELECT person_id AS id, external_id FROM person_external_id WHERE external_id = ANY($1::text[])",
        [p.external_id for p in persons],
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
