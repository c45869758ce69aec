"""Incremental sync with ingestedAfter and syncWatermark, including late backfills with old occurredAt."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from app.services.runtime import Resources
from tests.api.timeline_support import SEARCH, T0, Row, create_person, create_type, insert, minutes
from tests.conftest import GraphQL

SYNC = """
query($id: ID!, $after: String, $since: DateTime) {
  person(id: $id) {
    timeline(first: 3, after: $after, filter: {ingestedAfter: $since}) {
      edges { node { id: rowId occurredAt ingestedAt } }
      pageInfo { hasNextPage endCursor }
      syncWatermark
    }
  }
}
"""


async def _sync(gql: GraphQL, person: int, since: str | None) -> tuple[list[str], str]:
    """One sync pass: every page since `since`; returns the ids and the first page's watermark."""
    seen: list[str] = []
    after = None
    watermark = None
    while True:
        body = await gql(SYNC, {"id": str(person), "after": after, "since": since})
        assert "errors" not in body, body
        conn = body["data"]["person"]["timeline"]
        watermark = watermark or conn["syncWatermark"]
        seen += [e["node"]["id"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            return seen, watermark
        after = conn["pageInfo"]["endCursor"]


async def test_sync_loop_sees_new_and_backfilled_activities_exactly(gql: GraphQL, resources: Resources) -> None:
    type_id = await create_type(resources, "syncType")
    person = await create_person(resources, "sync@example.com")
    first_ids = await insert(resources, [Row(person, type_id, T0 + minutes(i)) for i in range(7)])
    seen, mark = await _sync(gql, person, None)
    assert sorted(seen) == sorted(map(str, first_ids))

    # Nothing new: the next pass is empty.
    again, mark2 = await _sync(gql, person, mark)
    assert again == []
    assert datetime.fromisoformat(mark2) >= datetime.fromisoformat(mark)

    # New activities, and a late backfill that occurred long before everything already read.
    await asyncio.sleep(0.01)
    new_ids = await insert(resources, [Row(person, type_id, T0 + minutes(100 + i)) for i in range(4)])
    backfill = await insert(resources, [Row(person, type_id, T0 - minutes(10_000 + i)) for i in range(5)])
    delta, _ = await _sync(gql, person, mark2)
    assert sorted(delta) == sorted(map(str, new_ids + backfill))
    # Within a pass the order is still the timeline's: newest first.
    assert delta[:4] == [str(i) for i in reversed(new_ids)]


async def test_watermark_trails_open_transactions(gql: GraphQL, resources: Resources) -> None:
    """A row written by a transaction that started before the read but commits after it is not skipped."""
    type_id = await create_type(resources, "slowType")
    person = await create_person(resources, "slow@example.com")
    async with resources.db.raw() as conn:
        tx = conn.transaction()
        await tx.start()
        await conn.execute(
            "INSERT INTO activity (person_id, activity_type_id, type_version, occurred_at, fields) "
            "VALUES ($1, $2, 1, $3, '{}')",
            person,
            type_id,
            T0,
        )
        await asyncio.sleep(0.05)
        seen, mark = await _sync(gql, person, None)
        assert seen == []  # not committed yet
        await tx.commit()
    later, _ = await _sync(gql, person, mark)
    assert len(later) == 1


async def test_search_wide_sync_by_ingested_after(gql: GraphQL, resources: Resources) -> None:
    type_id = await create_type(resources, "wide")
    people = [await create_person(resources, f"p{i}@example.com") for i in range(3)]
    await insert(resources, [Row(p, type_id, T0) for p in people])
    body = await gql(
        "query { activities(filter: {}, first: 10) { syncWatermark edges { node { id: rowId } } } }",
    )
    mark = body["data"]["activities"]["syncWatermark"]
    await asyncio.sleep(0.01)
    fresh = await insert(resources, [Row(p, type_id, T0 - minutes(60)) for p in people])
    variables: dict[str, Any] = {"filter": {"ingestedAfter": mark}, "first": 10}
    result = await gql(SEARCH, variables)
    assert sorted(e["node"]["id"] for e in result["data"]["activities"]["edges"]) == sorted(map(str, fresh))
    assert result["data"]["activities"]["totalCount"] == 3
