"""Smart-list figures: a 3-filter list's count and first page through GraphQL vs hand-written SQL in the same run,
and `person { smartLists }` for a person with 10 saved lists."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg

from app.bench.datagen import EPOCH
from app.bench.load import client, graphql
from app.bench.report import Goal, Row
from app.bench.state import Run, ensure_data
from app.db import smart_list_queries
from app.domain.smart_list_resolve import resolve_definition
from app.domain.smart_lists import SmartListDefinition

WINDOW_DAYS = 30
DRIVER, EVER, NEVER = "depositCheck", "attendWebinar", "visitWebpage"

PREVIEW_COUNT = "query($d: SmartListInput!) { smartListPreview(definition: $d) { count } }"
PREVIEW_PAGE = """query($d: SmartListInput!) {
  smartListPreview(definition: $d) { members(first: 50) { edges { node { rowId email } } pageInfo { hasNextPage } } }
}"""
CREATE = """mutation($input: CreateSmartListInput!) {
  createSmartList(input: $input) { smartList { id } errors { code field message } }
}"""
PERSON_LISTS = "query($id: ID!) { person(id: $id) { smartLists(first: 20) { edges { node { id } } } } }"

# The same question written by hand: start from the rare grouped filter, probe the others per candidate.
HAND_CANDIDATES = """
SELECT person_id FROM activity
 WHERE activity_type_id = $1 AND occurred_at >= $2
   AND starts_with(lower(primary_value #>> '{}'), 'main st') AND (fields ->> 'amount')::numeric > 1000
 GROUP BY person_id HAVING count(*) >= 3
"""
HAND_TAIL = """
   AND EXISTS (SELECT 1 FROM activity b WHERE b.person_id = d.person_id AND b.activity_type_id = $3)
   AND NOT EXISTS (SELECT 1 FROM activity c WHERE c.person_id = d.person_id AND c.activity_type_id = $4)
"""
HAND_COUNT = f"SELECT count(*) FROM ({HAND_CANDIDATES}) d WHERE TRUE {HAND_TAIL}"
HAND_PAGE = (
    f"SELECT p.id, p.email FROM ({HAND_CANDIDATES}) d JOIN person p ON p.id = d.person_id WHERE TRUE {HAND_TAIL}"
    " ORDER BY p.id LIMIT 51"
)


def definition() -> dict[str, Any]:
    """The benchmark list. Generated data ends at datagen.EPOCH, so "the last 30 days" is the 30 days before it
    (an absolute window; `withinLast` would measure back from today and select nothing)."""
    after = (EPOCH - timedelta(days=WINDOW_DAYS)).isoformat()
    return {
        "filters": [
            {"activity": {"activityType": DRIVER, "occurredAfter": after, "minTimes": 3,
                          "where": [{"field": "primary", "op": "STARTS_WITH", "value": "Main St"},
                                    {"field": "amount", "op": "GREATER_THAN", "value": 1000}]}},
            {"activity": {"activityType": EVER}},
            {"activity": {"activityType": NEVER, "did": False}},
        ]
    }


async def _median_ms(call: Callable[[], Awaitable[Any]], repeats: int) -> tuple[float, Any]:
    result = await call()  # warm-up (plans, caches)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = await call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), result


async def bench_smart_lists(run: Run) -> None:
    """Figure: count and first page of the 3-filter list (GraphQL vs hand SQL), then memberships of 10 lists."""
    if "smartListPreview" not in run.features:
        run.report.add(Row("smart list count ms", "ms", None, note="not available: no smartListPreview"))
        return
    await ensure_data(run)
    types = run.types
    args = (types[DRIVER].id, EPOCH - timedelta(days=WINDOW_DAYS), types[EVER].id, types[NEVER].id)
    api = run.stack.services["api"]
    assert api.url
    variables = {"d": definition()}
    n = run.options.repeats
    conn = await asyncpg.connect(run.dsn)
    try:
        await conn.execute("ANALYZE activity; ANALYZE person")
        hand_count_ms, hand_count = await _median_ms(lambda: conn.fetchval(HAND_COUNT, *args), n)
        hand_page_ms, hand_page = await _median_ms(lambda: conn.fetch(HAND_PAGE, *args), n)
        plans = await explain(run, conn, args)
    finally:
        await conn.close()
    path = run.settings.data_dir.resolve() / "bench-logs" / "smart-list-explain.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(plans)
    run.report.facts["smart list EXPLAIN"] = str(path)
    async with client(api.url, run.stack.api_key, timeout=120) as http:
        count_ms, data = await _median_ms(lambda: graphql(http, PREVIEW_COUNT, variables), n)
        page_ms, page = await _median_ms(lambda: graphql(http, PREVIEW_PAGE, variables), n)
        count = data["smartListPreview"]["count"]
        ids = [int(e["node"]["rowId"]) for e in page["smartListPreview"]["members"]["edges"]]
        same = count == hand_count and ids == [r["id"] for r in hand_page[:50]]
        member = ids[0] if ids else run.person_ids[0]
        lists_ms = await _memberships(http, member, n)
    check = f"same answer as the hand SQL: {'yes' if same else 'NO'} ({count:,} members)"
    label = f"{run.options.rows:,} activities, {run.options.persons:,} persons"
    run.report.add(
        Row(f"smart list count ms ({label})", "ms", count_ms, hand_count_ms, "hand SQL", Goal.RATIO_AT_MOST, 1.5,
            f"{check}; goal also < 1000 ms"),
        Row("smart list first page (50) ms", "ms", page_ms, hand_page_ms, "hand SQL", Goal.RATIO_AT_MOST, 1.5,
            "goal also < 1000 ms"),
        Row("person { smartLists } ms (10 saved lists)", "ms", lists_ms, None, "", Goal.VALUE_AT_MOST, 50,
            f"median of {n}, a member of the bench list"),
    )


async def _memberships(http: Any, person_id: int, repeats: int) -> float:
    base = definition()
    for n in range(10):
        # Ten lists of the same shape with different thresholds, so each is its own statement part.
        lst = {"filters": [{**f, "activity": {**f["activity"]}} for f in base["filters"]]}
        lst["filters"][0]["activity"]["minTimes"] = 1 + n % 4
        await graphql(http, CREATE, {"input": {"name": f"bench list {n}", "definition": lst}})
    ms, _ = await _median_ms(lambda: graphql(http, PERSON_LISTS, {"id": str(person_id)}), repeats)
    return ms


async def explain(run: Run, conn: Any, args: tuple[Any, ...]) -> str:
    """EXPLAIN ANALYZE of the compiled count and members page and of the hand-written count (for the docs)."""
    live = {t.id: t.definition for t in run.types.values()}
    lst = resolve_definition(SmartListDefinition.from_json(definition()), live, EPOCH)
    parts = []
    compiled = {
        "compiled count": smart_list_queries.count_sql(lst),
        "compiled members page": smart_list_queries.members_sql(lst, limit=50, after=None),
        "hand count": (HAND_COUNT, list(args)),
    }
    for name, (query, params) in compiled.items():
        rows = await conn.fetch(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) {query}", *params)
        parts.append(f"-- {name}\n{query}\n" + "\n".join(r[0] for r in rows))
    return "\n\n".join(parts) + "\n"
