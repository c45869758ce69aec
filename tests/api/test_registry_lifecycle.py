"""The activity-type lifecycle through GraphQL on the real database: create, approve, change, version, delete."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import text

from app.services.runtime import Resources
from tests.api.registry_support import (
    ADD_FIELDS,
    APPROVE,
    CREATE,
    DELETE,
    DISCARD,
    GET,
    LIST,
    REMOVE_FIELD,
    UPDATE,
    UPDATE_FIELD,
    create_approved,
    deposit_input,
    ok,
    record_use,
    refused,
)
from tests.conftest import GraphQL
from tests.docs.markdown import code_blocks, section


async def test_full_lifecycle(gql: GraphQL, resources: Resources) -> None:
    created = await ok(gql, CREATE, input=deposit_input())
    assert created["status"] == "DRAFT" and created["version"] is None and not created["acceptsActivities"]
    assert created["isSystem"] is False and created["versions"] == [] and created["pendingChanges"] == []
    assert created["createdAt"] and created["updatedAt"] and created["deletedAt"] is None
    assert created["draft"]["primaryField"]["apiName"] == "branch"
    assert [f["apiName"] for f in created["fields"]] == ["amount", "currency", "note"]
    assert created["fields"][1]["allowedValues"] == ["USD", "EUR"]

    v1 = await ok(gql, APPROVE, api="depositCheck")
    assert v1["status"] == "APPROVED" and v1["version"] == 1 and v1["draft"] is None and v1["acceptsActivities"]
    assert [v["number"] for v in v1["versions"]] == [1]
    assert v1["versions"][0]["approvedBy"].startswith("test admin") and v1["versions"][0]["approvedAt"]
    assert datetime.fromisoformat(v1["updatedAt"]) >= datetime.fromisoformat(created["updatedAt"])

    # Changes go to a draft while version 1 keeps serving.
    changed = await ok(
        gql, ADD_FIELDS, api="depositCheck", fields=[{"apiName": "teller", "name": "Teller", "dataType": "STRING"}]
    )
    assert changed["status"] == "APPROVED_WITH_DRAFT" and changed["version"] == 1
    assert [f["apiName"] for f in changed["fields"]] == ["amount", "currency", "note"]
    assert [f["apiName"] for f in changed["draft"]["fields"]] == ["amount", "currency", "note", "teller"]
    renamed = await ok(gql, UPDATE, api="depositCheck", input={"name": "Deposit a Check", "description": None})
    assert renamed["name"] == "Deposit Check depositCheck"  # live name until approval
    assert renamed["draft"]["name"] == "Deposit a Check" and renamed["draft"]["description"] is None

    v2 = await ok(gql, APPROVE, api="depositCheck")
    assert v2["status"] == "APPROVED" and v2["version"] == 2 and v2["name"] == "Deposit a Check"
    assert [v["number"] for v in v2["versions"]] == [1, 2]
    assert len(v2["versions"][0]["definition"]["fields"]) == 3 and len(v2["versions"][1]["definition"]["fields"]) == 4

    # Discard: back to the live version, names included.
    await ok(gql, UPDATE, api="depositCheck", input={"name": "Cash a Check", "triggerName": "Cashes a Check"})
    discarded = await ok(gql, DISCARD, api="depositCheck")
    assert discarded["status"] == "APPROVED" and discarded["draft"] is None and discarded["name"] == "Deposit a Check"
    # The discarded names are free again for other types, and the live ones still guarded.
    await ok(gql, CREATE, input=deposit_input("other", name="Cash a Check", triggerName="Cashes a Check"))
    errors = await refused(gql, CREATE, input=deposit_input("third", name="deposit a check"))
    assert [(e["code"], e["field"]) for e in errors] == [("DUPLICATE", "input.name")]

    # Delete refuses while activities exist, then works once they are gone; the type stays readable.
    await record_use(resources, "depositCheck")
    errors = await refused(gql, DELETE, api="depositCheck")
    assert errors[0]["code"] == "IN_USE" and "deletePerson" in errors[0]["message"]
    async with resources.db.engine.begin() as conn:
        await conn.execute(text("DELETE FROM activity"))
    deleted = await ok(gql, DELETE, api="depositCheck")
    assert deleted["status"] == "DELETED" and deleted["deletedAt"] and not deleted["acceptsActivities"]
    body = await gql(GET, {"api": "DEPOSITCHECK"})
    assert body["data"]["activityType"]["status"] == "DELETED"
    # Deleted: no more changes, its apiName is never reused, but its names are free.
    assert (await refused(gql, APPROVE, api="depositCheck"))[0]["code"] == "NOT_FOUND"
    errors = await refused(gql, CREATE, input=deposit_input("depositCheck", name="X one"))
    assert [(e["code"], e["field"]) for e in errors] == [("DUPLICATE", "input.apiName")]
    await ok(gql, CREATE, input=deposit_input("fresh", name="Deposit a Check"))

    async with resources.db.engine.begin() as conn:
        actions = (await conn.execute(text("SELECT action FROM audit_log ORDER BY id"))).scalars().all()
    assert actions == [
        "activityType.create",
        "activityType.approve",
        "activityType.addFields",
        "activityType.update",
        "activityType.approve",
        "activityType.update",
        "activityType.discardDraft",
        "activityType.create",
        "activityType.delete",
        "activityType.create",
    ]


async def test_field_changes_and_primary_promotion(gql: GraphQL) -> None:
    await create_approved(gql)
    t = await ok(
        gql, UPDATE_FIELD, api="depositCheck", field="note", input={"maxLength": None, "description": "Free text"}
    )
    note = t["draft"]["fields"][2]
    assert note["maxLength"] is None and note["description"] == "Free text" and note["dataType"] == "TEXT"
    t = await ok(gql, UPDATE_FIELD, api="depositCheck", field="primary", input={"name": "Branch name"})
    assert t["draft"]["primaryField"]["name"] == "Branch name"
    t = await ok(gql, UPDATE, api="depositCheck", input={"primaryField": "currency"})
    assert t["draft"]["primaryField"]["apiName"] == "currency"
    assert [f["apiName"] for f in t["draft"]["fields"]] == ["amount", "branch", "note"]
    t = await ok(gql, REMOVE_FIELD, api="depositCheck", field="note")
    assert [f["apiName"] for f in t["draft"]["fields"]] == ["amount", "branch"]
    # Unused type: even breaking changes approve.
    t = await ok(gql, APPROVE, api="depositCheck")
    assert t["version"] == 2 and t["primaryField"]["apiName"] == "currency"


async def test_changing_back_to_live_drops_the_draft(gql: GraphQL) -> None:
    await create_approved(gql)
    t = await ok(gql, UPDATE, api="depositCheck", input={"description": "changed"})
    assert t["status"] == "APPROVED_WITH_DRAFT"
    t = await ok(gql, UPDATE, api="depositCheck", input={"description": "A customer deposited a check."})
    assert t["status"] == "APPROVED" and t["draft"] is None


async def test_list_pages_and_filters(gql: GraphQL) -> None:
    await create_approved(gql, "alpha")
    await ok(gql, CREATE, input=deposit_input("beta"))
    body = await gql(LIST, {"includeSystem": False})
    assert [(e["node"]["apiName"], e["node"]["status"]) for e in body["data"]["activityTypes"]["edges"]] == [
        ("alpha", "APPROVED"),
        ("beta", "DRAFT"),
    ]
    body = await gql(LIST, {"status": "DRAFT"})
    assert [e["node"]["apiName"] for e in body["data"]["activityTypes"]["edges"]] == ["beta"]
    seen: list[str] = []
    after = None
    while True:
        page = (await gql(LIST, {"first": 5, "after": after}))["data"]["activityTypes"]
        seen += [e["node"]["apiName"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert {"visitWebpage", "fillOutForm", "clickLink", "openEmail", "clickEmail", "emailDelivered"} <= set(seen)
    assert {"newPerson", "changeDataValue", "alpha", "beta"} <= set(seen) and len(seen) == len(set(seen))
    bad = await gql(LIST, {"after": "nonsense"})
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


async def test_include_system_null_means_true(gql: GraphQL) -> None:
    # The schema declares `includeSystem: Boolean`: an explicit null (variable or literal) is the default, true.
    await create_approved(gql, "alpha")
    for body in (
        await gql(LIST, {"first": 100, "includeSystem": None}),
        await gql("{ activityTypes(first: 100, includeSystem: null) { edges { node { apiName status isSystem } } } }"),
    ):
        assert "errors" not in body, body
        nodes = [e["node"] for e in body["data"]["activityTypes"]["edges"]]
        assert {"visitWebpage", "alpha"} <= {n["apiName"] for n in nodes}
        assert any(n["isSystem"] for n in nodes)
    without = await gql(LIST, {"first": 100, "includeSystem": False})
    assert [e["node"]["apiName"] for e in without["data"]["activityTypes"]["edges"]] == ["alpha"]


async def test_standard_types_are_listed_and_read_only(gql: GraphQL) -> None:
    visit = (await gql(GET, {"api": "visitWebpage"}))["data"]["activityType"]
    assert visit["isSystem"] and visit["status"] == "APPROVED" and visit["version"] == 1
    assert visit["primaryField"]["dataType"] == "LINK"
    for document, variables in (
        (UPDATE, {"api": "visitWebpage", "input": {"name": "Visit"}}),
        (ADD_FIELDS, {"api": "visitWebpage", "fields": [{"apiName": "x", "name": "X"}]}),
        (UPDATE_FIELD, {"api": "visitWebpage", "field": "userAgent", "input": {"required": True}}),
        (REMOVE_FIELD, {"api": "visitWebpage", "field": "userAgent"}),
        (APPROVE, {"api": "visitWebpage"}),
        (DISCARD, {"api": "visitWebpage"}),
        (DELETE, {"api": "visitWebpage"}),
    ):
        errors = await refused(gql, document, **variables)
        assert errors[0]["code"] == "READ_ONLY", document
    assert (await gql(GET, {"api": "nope"}))["data"]["activityType"] is None


async def test_the_docs_example_works(gql: GraphQL) -> None:
    page = (Path(__file__).parents[2] / "docs" / "activity-types.md").read_text()
    create, approve = code_blocks(section(page, "Define and approve"), "graphql")
    first = await gql(create)
    assert first["data"]["createActivityType"] == {
        "activityType": {"apiName": "depositCheck", "status": "DRAFT"},
        "errors": [],
    }
    second = await gql(approve)
    assert second["data"]["approveActivityType"]["activityType"] == {"status": "APPROVED", "version": 1}


async def test_activities_resolve_their_type_through_the_loader(gql: GraphQL, resources: Resources) -> None:
    await create_approved(gql)
    await record_use(resources, "depositCheck")
    query = """query { person(email: "depositCheck@x.io") { timeline(first: 5) { edges { node {
        typeVersion activityType { apiName version isSystem } } } } } }"""
    body = await gql(query)
    assert "errors" not in body, body
    nodes = [e["node"] for e in body["data"]["person"]["timeline"]["edges"]]
    assert nodes == [{"typeVersion": 1, "activityType": {"apiName": "depositCheck", "version": 1, "isSystem": False}}]


CHECK = """query($api: String!, $p: JSON, $f: JSON, $draft: Boolean!, $text: Boolean!) {
  checkActivityRecord(apiName: $api, primaryValue: $p, fields: $f, useDraft: $draft, fromText: $text) {
    valid version primaryValue fields errors { code field message } } }"""


async def test_check_activity_record(gql: GraphQL) -> None:
    await ok(gql, CREATE, input=deposit_input())
    args = {"api": "depositCheck", "p": "Main", "f": {"amount": "12.50", "currency": "USD"}, "text": True}
    body = await gql(CHECK, {**args, "draft": False})
    assert body["errors"][0]["extensions"]["issues"][0]["code"] == "TYPE_NOT_APPROVED"
    body = await gql(CHECK, {**args, "draft": True})
    assert body["data"]["checkActivityRecord"] == {
        "valid": True,
        "version": None,
        "primaryValue": "Main",
        "fields": {"amount": 12.5, "currency": "USD"},
        "errors": [],
    }
    await ok(gql, APPROVE, api="depositCheck")
    body = await gql(CHECK, {**args, "f": {"amount": "lots", "colour": 1}, "draft": False, "text": False})
    check = body["data"]["checkActivityRecord"]
    assert check["valid"] is False and check["version"] == 1
    assert [(e["code"], e["field"]) for e in check["errors"]] == [
        ("INVALID_CURRENCY", "fields.amount"),
        ("UNKNOWN_FIELD", "fields.colour"),
    ]
    body = await gql(CHECK, {**args, "draft": True})
    assert body["errors"][0]["extensions"]["issues"][0]["code"] == "NO_DRAFT"
    body = await gql(CHECK, {**args, "api": "nope", "draft": False})
    assert body["errors"][0]["extensions"]["issues"][0] == {
        "code": "NOT_FOUND",
        "field": "apiName",
        "message": "Activity type 'nope' does not exist.",
    }
