"""Demo data for `activities dev --demo`: the example types, persons and activities from the same generator."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg

from app.bench.datagen import EXAMPLE_TYPES, ActivityGenerator, generate_persons
from app.bench.seed import activity_count, activity_records, copy_activities, ensure_types, load_persons
from app.services.runtime import Resources
from app.settings import Settings, to_asyncpg_dsn

DEMO_PERSONS = 300
DEMO_ACTIVITIES = 5000


@dataclass(frozen=True, slots=True)
class DemoData:
    """What `load_demo` wrote (zeros when the database already had activities)."""

    types: tuple[str, ...]
    persons: int
    activities: int


async def load_demo_async(
    settings: Settings, persons: int = DEMO_PERSONS, activities: int = DEMO_ACTIVITIES, seed: int = 7
) -> DemoData:
    """Approve the example types and load persons and skewed activities, unless activities already exist."""
    assert settings.database_url
    conn = await asyncpg.connect(to_asyncpg_dsn(settings.database_url))
    resources = await Resources.open(settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0}),
                                     connect_queue=False)
    try:
        if await activity_count(conn):
            return DemoData((), 0, 0)
        types = await ensure_types(conn, resources, EXAMPLE_TYPES)
        people = generate_persons(persons, seed)
        person_ids = await load_persons(conn, people)
        generator = ActivityGenerator(people, [t.definition for t in types.values()], seed=seed, key_prefix="demo")
        written = await copy_activities(conn, activity_records(generator.activities(activities), person_ids, types))
        return DemoData(tuple(t.api_name for t in EXAMPLE_TYPES), len(people), written)
    finally:
        await conn.close()
        await resources.close()


def load_demo(settings: Settings) -> DemoData:
    return asyncio.run(load_demo_async(settings))
