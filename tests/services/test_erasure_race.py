"""An erasure racing an ingestion chunk never leaves activities without their person."""

from __future__ import annotations

import asyncio

from app.domain.access import Principal
from app.domain.ingestion_rows import PersonRef
from app.services import persons
from app.services.ingestion.persons import resolve_persons
from app.services.runtime import Resources
from tests.api.timeline_support import create_person
from tests.conftest import eventually

INSERT_ACTIVITY = (
    "INSERT INTO activity (person_id, occurred_at, activity_type_id, type_version, fields) "
    "SELECT $1, now(), id, 1, '{}'::jsonb FROM activity_type WHERE api_name = 'visitWebpage'"
)


async def _someone_waits_for(resources: Resources, holder: int) -> bool:
    """Whether a backend is blocked by a lock that backend `holder` holds (PostgreSQL's view, not timing)."""
    async with resources.db.raw() as conn:
        return bool(await conn.fetchval(
            "SELECT count(*) > 0 FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))", holder))


async def test_erasure_waits_for_a_chunk_that_resolved_the_person(resources: Resources) -> None:
    person_id = await create_person(resources, "race@example.com")
    async with resources.db.raw() as chunk:
        async with chunk.transaction():
            [resolved] = await resolve_persons(
                chunk, [PersonRef(email="RACE@example.com")], create_missing=False, dry_run=False
            )
            assert resolved == person_id
            holder = await chunk.fetchval("SELECT pg_backend_pid()")
            erasure = asyncio.create_task(persons.erase(resources, Principal.local_admin(), person_id))
            await eventually(lambda: _someone_waits_for(resources, holder), timeout=30, interval=0.02)
            assert not erasure.done(), "the erasure must wait for the chunk holding the person"
            await chunk.execute(INSERT_ACTIVITY, person_id)
        result = await erasure
    assert result.activities_deleted == 1
    async with resources.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM activity WHERE person_id = $1", person_id) == 0
        assert await conn.fetchval("SELECT count(*) FROM person WHERE id = $1", person_id) == 0


async def test_a_chunk_after_an_erasure_does_not_find_the_person(resources: Resources) -> None:
    person_id = await create_person(resources, "gone@example.com")
    await persons.erase(resources, Principal.local_admin(), person_id)
    async with resources.db.raw() as chunk, chunk.transaction():
        [resolved] = await resolve_persons(
            chunk, [PersonRef(email="gone@example.com")], create_missing=False, dry_run=False
        )
    assert not isinstance(resolved, int)
    assert resolved.code == "PERSON_NOT_FOUND"
