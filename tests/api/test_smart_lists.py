"""Smart lists through GraphQL on the real database: preview, saved lists, memberships, refusals, audit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from app.domain.activity_types import FieldDataType as T
from app.services.runtime import Resources
from tests.api.timeline_support import Row, create_person, create_type, insert
from tests.conftest import GraphQL

PREVIEW = """
query($d: SmartListInput!, $first: Int, $after: String) {
  smartListPreview(definition: $d) {
    count
    members(first: $first, after: $after) {
      edges { cursor node { id: rowId email } } pageInfo { hasNextPage endCursor } }
  }
}
"""
CREATE = """
mutation($input: CreateSmartListInput!) {
  createSmartList(input: $input) { smartList { id name description definition count } errors { code field message } }
}
"""
UPDATE = """
mutation($id: ID!, $input: UpdateSmartListInput!) {
  updateSmartList(id: $id, input: $input) { smartList { id name description count } errors { code field message } }
}
"""
DELETE = "mutation($id: ID!) { deleteSmartList(id: $id) { deletedSmartListId errors { code field message } } }"
READ = """
query($id: ID!) {
  smartList(id: $id) { id name count members(first: 10) { edges { node { id: rowId } } } createdAt updatedAt }
}
"""
PERSON_LISTS = "query($id: ID!) { person(id: $id) { smartLists(first: 10) { edges { node { id name } } } } }"
NOW = datetime.now(UTC)

# "Deposited a Check" at Main St, more than 1,000, at least 3 times in the past 30 days, and not "Attended a Webinar".
MARKETO: dict[str, Any] = {
    "filters": [
        {"activity": {"activityType": "depositCheck", "withinLast": {"days": 30}, "minTimes": 3,
                      "where": [{"field": "primary", "op": "EQUALS", "value": "Main St"},
                                {"field": "amount", "op": "GREATER_THAN", "value": 1000}]}},
        {"activity": {"activityType": "attendWebinar", "did": False}},
    ],
}


async def _seed(resources: Resources) -> dict[str, int]:
    deposit = await create_type(resources, "depositCheck", T.STRING, [("amount", T.CURRENCY), ("teller", T.STRING)])
    webinar = await create_type(resources, "attendWebinar", T.STRING)
    people = {name: await create_person(resources, f"{name}@bank.com") for name in ("ann", "bob", "cat", "dan")}
    rows = []
    for name in ("ann", "bob", "cat"):
        rows += [Row(people[name], deposit, NOW - timedelta(days=d), "MAIN ST", {"amount": 1500}) for d in (1, 2, 3)]
    rows.append(Row(people["bob"], webinar, NOW - timedelta(days=400), "Intro"))
    rows += [Row(people["dan"], deposit, NOW - timedelta(days=d), "Main St", {"amount": 1500}) for d in (1, 2, 40)]
    await insert(resources, rows)
    return {**people, "deposit": deposit, "webinar": webinar}


async def test_the_marketo_example_previews_with_count_and_pages(gql: GraphQL, resources: Resources) -> None:
    people = await _seed(resources)
    body = await gql(PREVIEW, {"d": MARKETO, "first": 1})
    assert "errors" not in body, body
    preview = body["data"]["smartListPreview"]
    assert preview["count"] == 2
    first = preview["members"]
    assert [e["node"]["email"] for e in first["edges"]] == ["ann@bank.com"]
    assert first["pageInfo"]["hasNextPage"] is True
    # dan joins between the pages (a third recent deposit): keyset pages still show nobody twice.
    await insert(resources, [Row(people["dan"], people["deposit"], NOW - timedelta(hours=1), "main st",
                                 {"amount": 2000})])
    body = await gql(PREVIEW, {"d": MARKETO, "first": 5, "after": first["pageInfo"]["endCursor"]})
    rest = body["data"]["smartListPreview"]["members"]
    assert [e["node"]["email"] for e in rest["edges"]] == ["cat@bank.com", "dan@bank.com"]
    assert rest["pageInfo"]["hasNextPage"] is False
    advanced = {**MARKETO, "logic": "ADVANCED", "expression": "1 and not 2 or 2"}
    body = await gql(PREVIEW, {"d": advanced})
    assert body["data"]["smartListPreview"]["count"] == 4


async def test_saved_lists_lifecycle_memberships_and_audit(gql: GraphQL, resources: Resources) -> None:
    people = await _seed(resources)
    body = await gql(CREATE, {"input": {"name": "Main St regulars", "description": "d", "definition": MARKETO}})
    created = body["data"]["createSmartList"]
    assert created["errors"] == [] and created["smartList"]["count"] == 2
    list_id = created["smartList"]["id"]
    assert created["smartList"]["definition"]["filters"][1]["activity"]["did"] is False
    # The saved definition can be sent back as an input.
    again = await gql(PREVIEW, {"d": created["smartList"]["definition"]})
    assert again["data"]["smartListPreview"]["count"] == 2
    other = await gql(CREATE, {"input": {"name": "Webinar", "definition": {
        "filters": [{"activity": {"activityType": "attendWebinar"}}]}}})
    other_id = other["data"]["createSmartList"]["smartList"]["id"]
    duplicate = await gql(CREATE, {"input": {"name": "MAIN ST REGULARS", "definition": MARKETO}})
    assert duplicate["data"]["createSmartList"]["errors"][0]["code"] == "DUPLICATE"

    lists = await gql(PERSON_LISTS, {"id": str(people["ann"])})
    assert [e["node"]["id"] for e in lists["data"]["person"]["smartLists"]["edges"]] == [list_id]
    lists = await gql(PERSON_LISTS, {"id": str(people["bob"])})
    assert [e["node"]["id"] for e in lists["data"]["person"]["smartLists"]["edges"]] == [other_id]

    read = (await gql(READ, {"id": list_id}))["data"]["smartList"]
    assert read["count"] == 2
    assert [e["node"]["id"] for e in read["members"]["edges"]] == [str(people["ann"]), str(people["cat"])]

    updated = await gql(UPDATE, {"id": list_id, "input": {"name": "Regulars", "definition": {
        "filters": MARKETO["filters"][:1]}}})
    assert updated["data"]["updateSmartList"]["smartList"] == {
        "id": list_id, "name": "Regulars", "description": "d", "count": 3
    }
    all_lists = await gql("{ smartLists(first: 1) { edges { node { name } } pageInfo { hasNextPage } } }")
    assert all_lists["data"]["smartLists"]["edges"][0]["node"]["name"] == "Regulars"
    assert all_lists["data"]["smartLists"]["pageInfo"]["hasNextPage"] is True

    deleted = await gql(DELETE, {"id": list_id})
    assert deleted["data"]["deleteSmartList"] == {"deletedSmartListId": list_id, "errors": []}
    assert (await gql(READ, {"id": list_id}))["data"]["smartList"] is None
    missing = await gql(DELETE, {"id": list_id})
    assert missing["data"]["deleteSmartList"]["errors"][0]["code"] == "NOT_FOUND"
    async with resources.db.raw() as conn:
        actions = [r["action"] for r in await conn.fetch("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["smartList.create", "smartList.create", "smartList.update", "smartList.delete"]


BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"filters": [{"activity": {"activityType": "nope"}}]}, "UNKNOWN_ACTIVITY_TYPE",
     "definition.filters.0.activity.activityType"),
    ({"filters": [{"activity": {"activityType": "depositCheck", "where": [{"field": "zz", "op": "EQUALS",
                                                                         "value": 1}]}}]},
     "UNKNOWN_FIELD", "definition.filters.0.activity.where.0.field"),
    ({"filters": [{"activity": {"activityType": "depositCheck", "where": [{"field": "amount", "op": "CONTAINS",
                                                                         "value": "1"}]}}]},
     "INVALID_OPERATOR", "definition.filters.0.activity.where.0.op"),
    ({"filters": [{"activity": {"activityType": "depositCheck", "where": [{"field": "amount", "op": "EQUALS",
                                                                         "value": "lots"}]}}]},
     "WRONG_TYPE", "definition.filters.0.activity.where.0.value"),
    ({"filters": [{"activity": {"activityType": "depositCheck", "withinLast": {"days": -3}}}]}, "OUT_OF_RANGE",
     "definition.filters.0.activity.withinLast"),
    ({"filters": [{"activity": {"activityType": "depositCheck", "minTimes": 4, "maxTimes": 2}}]}, "INVALID",
     "definition.filters.0.activity.maxTimes"),
    ({"filters": [{"activity": {"activityType": "depositCheck"}}], "logic": "ADVANCED", "expression": "1 and (2"},
     "INVALID_LOGIC", "definition.expression"),
    ({"filters": [{"activity": {"activityType": "depositCheck"}}], "logic": "ADVANCED", "expression": "1 or 2"},
     "INVALID_LOGIC", "definition.expression"),
    ({"filters": [{"activity": {"activityType": "depositCheck"}}] * 51}, "LIMIT_EXCEEDED", "definition.filters"),
]


async def test_bad_definitions_are_typed_errors_and_nothing_is_saved(gql: GraphQL, resources: Resources) -> None:
    await _seed(resources)
    for definition, code, field in BAD:
        body = await gql(PREVIEW, {"d": definition})
        (error,) = body["errors"]
        issue = error["extensions"]["issues"][0]
        assert (issue["code"], issue["field"]) == (code, field), (definition, error)
        saved = await gql(CREATE, {"input": {"name": "x", "definition": definition}})
        (problem,) = saved["data"]["createSmartList"]["errors"]
        assert (problem["code"], problem["field"]) == (code, "input." + field), definition
    both = {"filters": [{"activity": {"activityType": "depositCheck"}, "person": {"where": []}}]}
    assert "errors" in await gql(PREVIEW, {"d": both})  # @oneOf: exactly one kind per filter
    async with resources.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM smart_list") == 0


async def test_a_removed_field_is_a_typed_error_never_a_wrong_list(gql: GraphQL, resources: Resources) -> None:
    people = await _seed(resources)
    teller = {"filters": [{"activity": {"activityType": "depositCheck",
                                        "where": [{"field": "teller", "op": "IS_EMPTY"}]}}]}
    list_id = (await gql(CREATE, {"input": {"name": "t", "definition": teller}}))["data"]["createSmartList"][
        "smartList"]["id"]
    # Version 2 of the type: `teller` removed, `amount` kept.
    async with resources.db.raw() as conn:
        definition = json.loads(await conn.fetchval(
            "SELECT definition::text FROM activity_type_version WHERE activity_type_id = $1", people["deposit"]))
        definition["fields"] = [f for f in definition["fields"] if f["apiName"] != "teller"]
        await conn.execute("INSERT INTO activity_type_version (activity_type_id, version, definition) "
                           "VALUES ($1, 2, $2::text::jsonb)", people["deposit"], json.dumps(definition))
        await conn.execute("UPDATE activity_type SET current_version = 2 WHERE id = $1", people["deposit"])
    body = await gql(READ, {"id": list_id})
    issues = [e["extensions"]["issues"][0] for e in body["errors"]]
    assert {(i["code"], i["field"]) for i in issues} == {
        ("UNKNOWN_FIELD", "definition.filters.0.activity.where.0.field")
    }
    lists = await gql(PERSON_LISTS, {"id": str(people["ann"])})
    assert lists["data"]["person"]["smartLists"]["edges"] == []
    # A list on a field that still exists keeps working across the type change.
    amount = {"filters": [{"activity": {"activityType": "depositCheck",
                                        "where": [{"field": "amount", "op": "GREATER_THAN", "value": 100}]}}]}
    kept = await gql(CREATE, {"input": {"name": "a", "definition": amount}})
    assert kept["data"]["createSmartList"]["smartList"]["count"] == 4


async def test_person_filters(gql: GraphQL, resources: Resources) -> None:
    await _seed(resources)
    await create_person(resources, "eve@other.org", external_id="e-1")
    cases = [
        ({"field": "email", "op": "ENDS_WITH", "value": "@BANK.COM"}, 4),
        ({"field": "email", "op": "NOT_CONTAINS", "value": "bank"}, 1),
        ({"field": "externalId", "op": "IS_NOT_EMPTY"}, 1),
        ({"field": "createdAt", "op": "LESS_THAN", "value": "2000-01-01T00:00:00Z"}, 0),
    ]
    for condition, expected in cases:
        body = await gql(PREVIEW, {"d": {"filters": [{"person": {"where": [condition]}}]}})
        assert body["data"]["smartListPreview"]["count"] == expected, condition
    recent = {"filters": [{"person": {"createdWithinLast": {"hours": 1}}}]}
    assert (await gql(PREVIEW, {"d": recent}))["data"]["smartListPreview"]["count"] == 5
