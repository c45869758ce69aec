"""Cross-person search (`activities`): persons filter, 'at least N times', counts, paging, refusals, no N+1."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from app.db import person_repo
from app.domain.activity_types import FieldDataType
from app.services.runtime import Resources
from tests.api.timeline_support import SEARCH, T0, TIMELINE, Row, create_person, create_type, insert, minutes
from tests.conftest import GraphQL


async def _seed(resources: Resources) -> dict[str, Any]:
    deposit = await create_type(resources, "deposit", FieldDataType.STRING, [("amount", FieldDataType.CURRENCY)])
    webinar = await create_type(resources, "webinar")
    ann = await create_person(resources, "Ann@example.com", "crm-ann")
    bob = await create_person(resources, "bob@example.com", "crm-bob")
    cat = await create_person(resources, "cat@example.com")
    rows = [
        Row(ann, deposit, T0 + minutes(1), "Main St", {"amount": 500}),
        Row(ann, deposit, T0 + minutes(2), "Main St", {"amount": 50}),
        Row(ann, deposit, T0 + minutes(3), "Elm", {"amount": 700}),
        Row(bob, deposit, T0 + minutes(1), "Main St", {"amount": 900}),
        Row(bob, webinar, T0 + minutes(5), "Intro"),
        Row(cat, webinar, T0 + minutes(6), "Intro"),
        Row(cat, deposit, T0 + minutes(7), "Oak", {"amount": 600}),
        Row(cat, deposit, T0 + minutes(8), "Oak", {"amount": 601}),
    ]
    ids = await insert(resources, rows)
    return {"ann": ann, "bob": bob, "cat": cat, "ids": ids, "rows": rows}


async def _search(gql: GraphQL, flt: dict[str, Any], first: int = 50, after: str | None = None) -> dict[str, Any]:
    body = await gql(SEARCH, {"filter": flt, "first": first, "after": after})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["activities"]
    return result


async def test_search_across_persons(gql: GraphQL, resources: Resources) -> None:
    s = await _seed(resources)
    big = {"activityTypes": ["deposit"], "where": [{"field": "amount", "op": "GREATER_THAN_OR_EQUAL", "value": 500}]}
    result = await _search(gql, big)
    emails = [e["node"]["person"]["email"] for e in result["edges"]]
    # ann and bob tie at T0+1m: the higher id (bob's) comes first.
    assert emails == ["cat@example.com", "cat@example.com", "Ann@example.com", "bob@example.com", "Ann@example.com"]
    assert result["totalCount"] == 5
    only_ann = await _search(gql, {**big, "personEmails": ["ANN@example.com"]})
    assert only_ann["totalCount"] == 2
    by_ids = await _search(gql, {**big, "personIds": [str(s["bob"])], "personExternalIds": ["crm-ann"]})
    assert {e["node"]["person"]["id"] for e in by_ids["edges"]} == {str(s["ann"]), str(s["bob"])}
    assert (await _search(gql, {"personExternalIds": ["nobody"]}))["totalCount"] == 0


async def test_at_least_n_times(gql: GraphQL, resources: Resources) -> None:
    s = await _seed(resources)
    twice = {"activityTypes": ["deposit"], "where": [{"field": "amount", "op": "GREATER_THAN", "value": 400}]}
    result = await _search(gql, {**twice, "minActivitiesPerPerson": 2})
    # ann has 2 deposits over 400, cat has 2, bob only 1.
    assert {e["node"]["person"]["id"] for e in result["edges"]} == {str(s["ann"]), str(s["cat"])}
    assert result["totalCount"] == 4
    assert (await _search(gql, {**twice, "minActivitiesPerPerson": 3}))["totalCount"] == 0


async def test_search_pages_forward_without_loss(gql: GraphQL, resources: Resources) -> None:
    s = await _seed(resources)
    expected = [str(i) for _, i in sorted(zip((r.occurred_at for r in s["rows"]), s["ids"], strict=True), reverse=True)]
    both_types = {"activityTypes": ["deposit", "webinar"]}  # the per-type merge plan
    for size, flt in ((1, {}), (2, {}), (3, {}), (8, {}), (1, both_types), (3, both_types), (7, both_types)):
        seen: list[str] = []
        after = None
        while True:
            page = await _search(gql, flt, first=size, after=after)
            seen += [e["node"]["id"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert seen == expected


async def test_refusals_are_typed_never_500(gql: GraphQL, resources: Resources) -> None:
    s = await _seed(resources)
    person = str(s["ann"])

    async def error(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = await gql(query, variables)
        (err,) = body["errors"]
        ext: dict[str, Any] = err["extensions"]
        assert err["message"] != "Unexpected error."
        return ext

    ext = await error(TIMELINE, {"id": person, "first": 101})
    assert (ext["code"], ext["field"]) == ("LIMIT_EXCEEDED", "first")
    ext = await error(TIMELINE, {"id": person, "last": 500})
    assert (ext["code"], ext["field"]) == ("LIMIT_EXCEEDED", "last")
    ext = await error(TIMELINE, {"id": person, "first": -1})
    assert ext["code"] == "INVALID" and ext["issues"][0]["code"] == "OUT_OF_RANGE"
    ext = await error(TIMELINE, {"id": person, "first": 1, "last": 1})
    assert (ext["code"], ext["field"]) == ("INVALID", "last")
    for bad in ("garbage", "", "YTE6MTp4", "aTE6NQ"):
        ext = await error(TIMELINE, {"id": person, "first": 5, "after": bad})
        assert (ext["code"], ext["field"]) == ("INVALID_CURSOR", "after")
    ext = await error(TIMELINE, {"id": person, "last": 5, "before": "%%%"})
    assert (ext["code"], ext["field"]) == ("INVALID_CURSOR", "before")
    ext = await error(SEARCH, {"filter": {}, "first": 1000})
    assert ext["code"] == "LIMIT_EXCEEDED"
    ext = await error(SEARCH, {"filter": {}, "after": "zzz"})
    assert ext["code"] == "INVALID_CURSOR"
    ext = await error(SEARCH, {"filter": {"activityTypes": ["nope"]}})
    assert ext["code"] == "INVALID_FILTER" and ext["issues"][0]["code"] == "UNKNOWN_ACTIVITY_TYPE"
    ext = await error(SEARCH, {"filter": {"personIds": ["x"]}})
    assert (ext["code"], ext["field"]) == ("INVALID_FILTER", "filter.personIds.0")
    emails = [f"p{i}@example.com" for i in range(1001)]
    ext = await error(SEARCH, {"filter": {"personEmails": emails}})
    assert (ext["code"], ext["field"]) == ("LIMIT_EXCEEDED", "filter.personEmails")
    ext = await error(SEARCH, {"filter": {"personEmails": emails[:600], "personExternalIds": emails[600:]}})
    assert (ext["code"], ext["field"]) == ("LIMIT_EXCEEDED", "filter")
    ext = await error(SEARCH, {"filter": {"minActivitiesPerPerson": 0}})
    assert ext["code"] == "INVALID_FILTER"
    # Several problems at once are all reported.
    ext = await error(TIMELINE, {"id": person, "first": 101, "after": "bad", "filter": {"activityTypes": ["x"]}})
    assert {i["code"] for i in ext["issues"]} == {"LIMIT_EXCEEDED", "INVALID_CURSOR", "UNKNOWN_ACTIVITY_TYPE"}


async def test_related_objects_are_batched(gql: GraphQL, resources: Resources) -> None:
    """Persons and types of a page load in a constant number of statements, whatever the page size."""
    deposit = await create_type(resources, "deposit")
    webinar = await create_type(resources, "webinar")
    people = [await create_person(resources, f"n{i}@example.com") for i in range(20)]
    await insert(resources, [Row(p, (deposit, webinar)[i % 2], T0 + minutes(i)) for i, p in enumerate(people * 3)])
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = resources.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        query = (
            "{ activities(filter: {}, first: 60) { edges { node { id: rowId person { email } "
            "activityType { apiName } } } } }"
        )
        body = await gql(query)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(body["data"]["activities"]["edges"]) == 60
    person_queries = [s for s in statements if "FROM person" in s]
    type_queries = [s for s in statements if "FROM activity_type" in s]
    assert len(person_queries) == 1, person_queries
    assert 1 <= len(type_queries) <= 3, type_queries


async def test_slow_search_is_a_typed_error(gql: GraphQL, resources: Resources) -> None:
    type_id = await create_type(resources, "bulk")
    async with resources.db.raw() as conn:
        async with conn.transaction():
            bulk = [(f"bulk{g}@example.com", None, None, None) for g in range(500)]
            ids = await person_repo.create_missing(conn, bulk)
        await conn.execute(
            "INSERT INTO activity (person_id, activity_type_id, type_version, occurred_at, fields) "
            "SELECT ($2::bigint[])[1 + g % 500], $1, 1, now() - g * interval '1 second', '{}' "
            "FROM generate_series(1, 60000) g",
            type_id,
            ids,
        )
        # Statistics as autovacuum would leave them: stale ones from earlier tests' tiny tables can make the
        # planner nest loops over these 60k rows for minutes.
        await conn.execute("ANALYZE activity")
    limits = resources.settings.limits
    saved = limits.activity_search_timeout_ms
    limits.activity_search_timeout_ms = 1  # nothing aggregates 60k rows within a millisecond
    try:
        body = await gql(SEARCH, {"filter": {"activityTypes": ["bulk"], "minActivitiesPerPerson": 100}})
        (error,) = body["errors"]
        assert (error["extensions"]["code"], error["extensions"]["field"]) == ("QUERY_TOO_COMPLEX", "filter")
        count_only = await gql("{ activities(filter: {}, first: 1) { totalCount } }")
        assert count_only["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        limits.activity_search_timeout_ms = 0  # PostgreSQL: no timeout, so no timing in this assertion
        ok = await gql(SEARCH, {"filter": {"activityTypes": ["bulk"], "minActivitiesPerPerson": 100}, "first": 5})
        assert ok["data"]["activities"]["totalCount"] == 60000
    finally:
        limits.activity_search_timeout_ms = saved
