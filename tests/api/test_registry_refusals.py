"""Every refusal of the registry, as typed errors in the mutation payload (and scopes as top-level errors)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text

from app.domain.access import Scope
from app.services.runtime import Resources
from tests.access_helpers import bearer, insert_key
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


def codes(errors: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in errors]


async def test_duplicates_are_refused_case_insensitively(gql: GraphQL) -> None:
    await ok(gql, CREATE, input=deposit_input("depositCheck"))
    assert codes(await refused(gql, CREATE, input=deposit_input("DEPOSITCHECK", name="n2"))) == [
        ("DUPLICATE", "input.apiName")
    ]
    clash = deposit_input(
        "second",
        name="deposit check depositCheck",
        triggerName="DEPOSITS A CHECK depositCheck",
        filterName="Deposited a check depositcheck",
    )
    errors = await refused(gql, CREATE, input=clash)
    assert codes(errors) == [
        ("DUPLICATE", "input.name"),
        ("DUPLICATE", "input.triggerName"),
        ("DUPLICATE", "input.filterName"),
    ]
    assert "depositCheck" in errors[0]["message"]
    # A standard type's names are taken too.
    assert codes(await refused(gql, CREATE, input=deposit_input("visit", name="Visit Webpage"))) == [
        ("DUPLICATE", "input.name")
    ]
    # Renaming into another type's name is refused as well.
    await ok(gql, CREATE, input=deposit_input("third"))
    errors = await refused(gql, UPDATE, api="third", input={"filterName": "Deposited a Check depositCheck"})
    assert codes(errors) == [("DUPLICATE", "input.filterName")]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"apiName": "1deposit"}, ("INVALID_IDENTIFIER", "input.apiName")),
        ({"apiName": "deposit check"}, ("INVALID_IDENTIFIER", "input.apiName")),
        ({"apiName": "x" * 65}, ("INVALID_IDENTIFIER", "input.apiName")),
        ({"name": "   "}, ("REQUIRED", "input.name")),
        ({"name": "1234"}, ("INVALID", "input.name")),
        ({"triggerName": "x" * 256}, ("TOO_LONG", "input.triggerName")),
        (
            {"primaryField": {"apiName": "occurredAt", "name": "When"}},
            ("INVALID_IDENTIFIER", "input.primaryField.apiName"),
        ),
        (
            {"fields": [{"apiName": "a-b", "name": "A"}]},
            ("INVALID_IDENTIFIER", "input.fields.a-b.apiName"),
        ),
        (
            {"fields": [{"apiName": "Branch", "name": "Other"}]},
            ("DUPLICATE", "input.fields.Branch.apiName"),
        ),
        (
            {"fields": [{"apiName": "n", "name": "N", "dataType": "INTEGER", "maxLength": 3}]},
            ("INVALID", "input.fields.n.maxLength"),
        ),
        (
            {"fields": [{"apiName": "n", "name": "N", "dataType": "FLOAT", "minValue": 5, "maxValue": 1}]},
            ("OUT_OF_RANGE", "input.fields.n.minValue"),
        ),
        (
            {"fields": [{"apiName": "n", "name": "N", "dataType": "INTEGER", "allowedValues": ["1"]}]},
            ("INVALID", "input.fields.n.allowedValues"),
        ),
        (
            {"fields": [{"apiName": "s", "name": "S", "maxLength": 100_000}]},
            ("OUT_OF_RANGE", "input.fields.s.maxLength"),
        ),
        (
            {"fields": [{"apiName": "s", "name": "S", "allowedValues": ["a", "a"]}]},
            ("DUPLICATE", "input.fields.s.allowedValues"),
        ),
    ],
)
async def test_bad_definitions_are_refused(
    gql: GraphQL, overrides: dict[str, Any], expected: tuple[str, str]
) -> None:
    errors = await refused(gql, CREATE, input=deposit_input("bad", **{**overrides}))
    assert expected in codes(errors), errors
    assert (await gql(GET, {"api": "bad"}))["data"]["activityType"] is None


async def test_unknown_types_and_fields(gql: GraphQL) -> None:
    for document, variables in (
        (UPDATE, {"api": "nope", "input": {"name": "x"}}),
        (ADD_FIELDS, {"api": "nope", "fields": []}),
        (APPROVE, {"api": "nope"}),
        (DISCARD, {"api": "nope"}),
        (DELETE, {"api": "nope"}),
    ):
        errors = await refused(gql, document, **variables)
        assert errors[0]["code"] == "NOT_FOUND" and "nope" in errors[0]["message"]
    await ok(gql, CREATE, input=deposit_input())
    assert codes(await refused(gql, REMOVE_FIELD, api="depositCheck", field="ghost")) == [("NOT_FOUND", "field")]
    errors = await refused(gql, UPDATE_FIELD, api="depositCheck", field="ghost", input={"name": "G"})
    assert codes(errors) == [("NOT_FOUND", "field")]
    assert codes(await refused(gql, REMOVE_FIELD, api="depositCheck", field="branch")) == [("INVALID", "field")]
    errors = await refused(gql, UPDATE, api="depositCheck", input={"primaryField": "ghost"})
    assert codes(errors) == [("NOT_FOUND", "input.primaryField")]


async def test_approve_and_discard_without_a_draft(gql: GraphQL) -> None:
    await ok(gql, CREATE, input=deposit_input())
    errors = await refused(gql, DISCARD, api="depositCheck")
    assert errors[0]["code"] == "INVALID_STATE" and "delete it instead" in errors[0]["message"]
    await ok(gql, APPROVE, api="depositCheck")
    assert (await refused(gql, APPROVE, api="depositCheck"))[0]["code"] == "NO_DRAFT"
    assert (await refused(gql, DISCARD, api="depositCheck"))[0]["code"] == "NO_DRAFT"


async def test_discard_cannot_restore_a_name_taken_since(gql: GraphQL) -> None:
    await create_approved(gql, "first", name="Alpha")
    await ok(gql, UPDATE, api="first", input={"name": "Beta"})
    await ok(gql, CREATE, input=deposit_input("second", name="Alpha"))
    errors = await refused(gql, DISCARD, api="first")
    assert codes(errors) == [("DUPLICATE", "name")] and "approve this draft" in errors[0]["message"]


async def test_type_limit(gql: GraphQL, resources: Resources, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources.settings.limits, "max_activity_types", 2)
    await ok(gql, CREATE, input=deposit_input("one"))
    await ok(gql, CREATE, input=deposit_input("two"))
    errors = await refused(gql, CREATE, input=deposit_input("three"))
    assert errors[0]["code"] == "LIMIT_EXCEEDED" and "at most 2" in errors[0]["message"]
    # Standard types do not count, and deleting a custom type frees its slot.
    await ok(gql, DELETE, api="two")
    await ok(gql, CREATE, input=deposit_input("three"))


async def test_field_limit(gql: GraphQL, resources: Resources, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources.settings.limits, "max_fields_per_type", 3)
    await ok(gql, CREATE, input=deposit_input())
    errors = await refused(gql, ADD_FIELDS, api="depositCheck", fields=[{"apiName": "extra", "name": "Extra"}])
    assert codes(errors) == [("LIMIT_EXCEEDED", "fields")]
    fields = [{"apiName": f"f{i}", "name": f"F{i}"} for i in range(4)]
    errors = await refused(gql, CREATE, input=deposit_input("big", fields=fields))
    assert codes(errors) == [("LIMIT_EXCEEDED", "input.fields")]
    body = await gql("{ limits { maxActivityTypes maxFieldsPerType } }")
    assert body["data"]["limits"] == {"maxActivityTypes": 1000, "maxFieldsPerType": 3}


BREAKING: list[tuple[str, str, dict[str, Any]]] = [
    ("FIELD_REMOVED", REMOVE_FIELD, {"field": "note"}),
    ("FIELD_RENAMED", UPDATE_FIELD, {"field": "note", "input": {"apiName": "comment"}}),
    ("DATA_TYPE_CHANGED", UPDATE_FIELD, {"field": "amount", "input": {"dataType": "FLOAT"}}),
    ("MADE_REQUIRED", UPDATE_FIELD, {"field": "note", "input": {"required": True}}),
    ("REQUIRED_FIELD_ADDED", ADD_FIELDS, {"fields": [{"apiName": "teller", "name": "Teller", "required": True}]}),
    ("PRIMARY_FIELD_CHANGED", UPDATE, {"input": {"primaryField": "currency"}}),
    ("CONSTRAINT_NARROWED", UPDATE_FIELD, {"field": "note", "input": {"maxLength": 100}}),
    ("CONSTRAINT_NARROWED", UPDATE_FIELD, {"field": "amount", "input": {"minValue": 10}}),
    ("CONSTRAINT_NARROWED", UPDATE_FIELD, {"field": "amount", "input": {"maxValue": 1000}}),
    ("CONSTRAINT_NARROWED", UPDATE_FIELD, {"field": "currency", "input": {"allowedValues": ["USD"]}}),
    ("CONSTRAINT_NARROWED", UPDATE_FIELD, {"field": "primary", "input": {"maxLength": 10}}),
]

BREAKING_IDS = [f"{rule}-{i}" for i, (rule, _, _) in enumerate(BREAKING)]


@pytest.mark.parametrize(("rule", "document", "variables"), BREAKING, ids=BREAKING_IDS)
async def test_breaking_changes_are_refused_once_used(
    gql: GraphQL, resources: Resources, rule: str, document: str, variables: dict[str, Any]
) -> None:
    await create_approved(gql)
    await record_use(resources, "depositCheck")
    drafted = await ok(gql, document, api="depositCheck", **variables)  # the draft takes it; approval decides
    assert rule in [c["breakingRule"] for c in drafted["pendingChanges"]]  # visible before approving
    errors = await refused(gql, APPROVE, api="depositCheck")
    assert {e["code"] for e in errors} == {"BREAKING_CHANGE"}
    assert any(e["message"].startswith(f"{rule}:") for e in errors), errors
    after = (await gql(GET, {"api": "depositCheck"}))["data"]["activityType"]
    assert after["version"] == 1 and after["status"] == "APPROVED_WITH_DRAFT"  # nothing changed, draft kept
    # The way out the message names: discard the draft.
    assert (await ok(gql, DISCARD, api="depositCheck"))["status"] == "APPROVED"


@pytest.mark.parametrize(("rule", "document", "variables"), BREAKING, ids=BREAKING_IDS)
async def test_breaking_changes_approve_while_unused(
    gql: GraphQL, rule: str, document: str, variables: dict[str, Any]
) -> None:
    await create_approved(gql)
    await ok(gql, document, api="depositCheck", **variables)
    assert (await ok(gql, APPROVE, api="depositCheck"))["version"] == 2


ADDITIVE: list[tuple[str, dict[str, Any]]] = [
    (ADD_FIELDS, {"fields": [{"apiName": "teller", "name": "Teller", "dataType": "EMAIL"}]}),
    (UPDATE, {"input": {"description": "New words", "name": "Deposit", "triggerName": "T", "filterName": "F"}}),
    (UPDATE_FIELD, {"field": "note", "input": {"maxLength": 5000, "name": "Remark"}}),
    (UPDATE_FIELD, {"field": "note", "input": {"maxLength": None}}),
    (UPDATE_FIELD, {"field": "amount", "input": {"required": False, "minValue": -5}}),
    (UPDATE_FIELD, {"field": "currency", "input": {"allowedValues": ["USD", "EUR", "GBP"]}}),
    (UPDATE_FIELD, {"field": "currency", "input": {"allowedValues": None}}),
]


@pytest.mark.parametrize(("document", "variables"), ADDITIVE)
async def test_additive_changes_approve_while_used(
    gql: GraphQL, resources: Resources, document: str, variables: dict[str, Any]
) -> None:
    await create_approved(gql)
    await record_use(resources, "depositCheck")
    drafted = await ok(gql, document, api="depositCheck", **variables)
    assert drafted["pendingChanges"] and not any(c["breakingRule"] for c in drafted["pendingChanges"])
    assert (await ok(gql, APPROVE, api="depositCheck"))["version"] == 2


async def test_delete_refused_while_an_import_is_pending(gql: GraphQL, resources: Resources) -> None:
    await create_approved(gql)
    job_id = uuid.uuid4()
    async with resources.db.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO ingestion_job (id, source, format, activity_type, status) "
                "VALUES (:id, 'upload', 'csv', 'DEPOSITCHECK', 'QUEUED')"
            ),
            {"id": job_id},
        )
    errors = await refused(gql, DELETE, api="depositCheck")
    assert codes(errors) == [("IN_USE", "apiName")]
    assert str(job_id) in errors[0]["message"] and "cancelIngestionJob" in errors[0]["message"]
    async with resources.db.engine.begin() as conn:
        await conn.execute(text("UPDATE ingestion_job SET status = 'SUCCEEDED'"))
    assert (await ok(gql, DELETE, api="depositCheck"))["status"] == "DELETED"


async def test_scopes(gql: GraphQL, resources: Resources) -> None:
    reader = await insert_key(resources, scopes=[Scope.READ])
    body = await gql(CREATE, {"input": deposit_input()}, **bearer(reader))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "activityTypes" in (await gql(LIST, {}, **bearer(reader)))["data"]
    writer = await insert_key(resources, scopes=[Scope.TYPES_ADMIN])
    body = await gql(LIST, {}, **bearer(writer))
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await gql(CREATE, {"input": deposit_input()}, **bearer(writer))
    assert body["data"]["createActivityType"]["errors"] == []
