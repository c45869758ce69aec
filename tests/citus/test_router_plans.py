"""On Citus, what a timeline touches: one shard for the person lookup and one for each page query."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.db.activity_queries import ActivityScope, explain_sql
from app.domain.filters import ResolvedFilter
from app.services.runtime import Resources
from tests.api.timeline_support import T0, Row, create_person, create_type, insert

pytestmark = pytest.mark.usefixtures("on_citus")


async def _task_counts(resources: Resources, query: str, params: list[Any]) -> list[int]:
    async with resources.db.raw() as conn:
        plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {query}", *params))
    return [int(n) for n in re.findall(r"Task Count: (\d+)", plan)]


async def test_a_timeline_page_is_a_single_shard_query(resources: Resources) -> None:
    type_id = await create_type(resources, "visit")
    person = await create_person(resources, "ann@example.com", "crm-1")
    await insert(resources, [Row(person, type_id, T0) for _ in range(3)])
    flt = ResolvedFilter(type_ids=None, occurred_after=None, occurred_before=None, ingested_after=None, conditions=())
    by_type = ResolvedFilter(type_ids=(type_id,), occurred_after=T0, occurred_before=None, ingested_after=None,
                             conditions=())
    for f in (flt, by_type):
        for stamps in (False, True):
            query, params = explain_sql(ActivityScope(person_id=person), f, 20, with_type_stamps=stamps)
            counts = await _task_counts(resources, query, params)
            assert counts and set(counts) == {1}, (stamps, f, counts)


async def test_person_lookups_read_one_shard(resources: Resources) -> None:
    person = await create_person(resources, "bob@example.com", "crm-2")
    for query, value in (
        ("SELECT person_id FROM person_email WHERE email = lower($1::text)", "BOB@example.com"),
        ("SELECT person_id FROM person_external_id WHERE external_id = $1::text", "crm-2"),
        ("SELECT id, email FROM person WHERE id = $1", person),
    ):
        assert await _task_counts(resources, query, [value]) == [1], query


async def test_a_search_across_persons_reads_every_shard(resources: Resources) -> None:
    type_id = await create_type(resources, "visit")
    flt = ResolvedFilter(type_ids=(type_id,), occurred_after=None, occurred_before=None, ingested_after=None,
                         conditions=())
    query, params = explain_sql(ActivityScope(), flt, 20, distributed=True)
    counts = await _task_counts(resources, query, params)
    assert counts and max(counts) == resources.settings.citus_shard_count, counts
