"""Standard (system) activity types in timelines beside custom ones, recorded through the API and filtered."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from app.domain.activity_types import FieldDataType as T
from app.services.runtime import Resources
from tests.api.timeline_support import create_person, create_type
from tests.conftest import GraphQL

Worker = Callable[[], Awaitable[int]]

RECORD = """mutation($input: RecordActivitiesInput!) {
  recordActivities(input: $input) { job { id } errors { code field message } } }"""
JOB = "query($id: ID!) { ingestionJob(id: $id) { status counts { accepted rejected } } }"
TIMELINE = """query($email: String!, $filter: TimelineFilter) { person(email: $email) {
  timeline(first: 50, filter: $filter) { edges { node {
    primaryValue fields typeVersion idempotencyKey activityType { apiName isSystem version } } } } } }"""
SEARCH = """query($filter: ActivitySearch!) { activities(filter: $filter, first: 50) {
  edges { node { idempotencyKey person { email } activityType { apiName } } } totalCount } }"""


def activity(type_: str, email: str, minute: int, primary: Any, key: str, **fields: Any) -> dict[str, Any]:
    return {
        "activityType": type_,
        "person": {"email": email},
        "occurredAt": f"2026-11-02T10:{minute:02d}:00Z",
        "primaryValue": primary,
        "fields": fields,
        "idempotencyKey": key,
    }


@pytest.fixture
async def recorded(gql: GraphQL, resources: Resources, run_worker: Worker) -> None:
    """Ann: three web activities (standard) and a deposit (custom); Bob: one visit. Stored by a real job."""
    await create_type(resources, "depositCheck", T.STRING, [("amount", T.CURRENCY)])
    await create_person(resources, "ann@example.com")
    await create_person(resources, "bob@example.com")
    rows = [
        activity("visitWebpage", "ann@example.com", 1, "https://shop.example/pricing", "v1", searchEngine="Google"),
        activity("visitWebpage", "ann@example.com", 2, "https://blog.example/hello", "v2", searchEngine="Bing"),
        activity("depositCheck", "ann@example.com", 3, "Main St", "d1", amount=120.5),
        activity("clickLink", "ann@example.com", 4, "https://shop.example/cart", "c1"),
        activity("visitWebpage", "bob@example.com", 5, "https://shop.example/", "v3"),
    ]
    body = await gql(RECORD, {"input": {"activities": rows}})
    assert body["data"]["recordActivities"]["errors"] == [], body
    await run_worker()
    job = (await gql(JOB, {"id": body["data"]["recordActivities"]["job"]["id"]}))["data"]["ingestionJob"]
    assert job == {"status": "SUCCEEDED", "counts": {"accepted": 5, "rejected": 0}}, job


async def timeline(gql: GraphQL, email: str, filter_: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    body = await gql(TIMELINE, {"email": email, "filter": filter_})
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["person"]["timeline"]["edges"]]


@pytest.mark.usefixtures("recorded")
async def test_standard_and_custom_activities_side_by_side(gql: GraphQL) -> None:
    nodes = await timeline(gql, "ann@example.com")
    assert [(n["idempotencyKey"], n["activityType"]["apiName"], n["activityType"]["isSystem"]) for n in nodes] == [
        ("c1", "clickLink", True),
        ("d1", "depositCheck", False),
        ("v2", "visitWebpage", True),
        ("v1", "visitWebpage", True),
    ]
    assert all(n["typeVersion"] == 1 == n["activityType"]["version"] for n in nodes)
    assert nodes[3]["primaryValue"] == "https://shop.example/pricing"
    assert nodes[3]["fields"] == {"searchEngine": "Google"}
    assert nodes[1]["fields"] == {"amount": 120.5}


@pytest.mark.usefixtures("recorded")
async def test_filter_by_a_standard_type_and_its_primary_field(gql: GraphQL) -> None:
    visits = await timeline(gql, "ann@example.com", {"activityTypes": ["visitWebpage"]})
    assert [n["idempotencyKey"] for n in visits] == ["v2", "v1"]
    shop = {"activityTypes": ["visitWebpage"], "where": [{"field": "primary", "op": "CONTAINS", "value": "shop."}]}
    assert [n["idempotencyKey"] for n in await timeline(gql, "ann@example.com", shop)] == ["v1"]
    bing = {"activityTypes": ["visitWebpage"], "where": [{"field": "searchEngine", "op": "EQUALS", "value": "Bing"}]}
    assert [n["idempotencyKey"] for n in await timeline(gql, "ann@example.com", bing)] == ["v2"]
    mixed = await timeline(gql, "ann@example.com", {"activityTypes": ["clickLink", "depositCheck"]})
    assert [n["idempotencyKey"] for n in mixed] == ["c1", "d1"]
    # A condition on the primary field applies to each listed type (both are LINKs here).
    both = {
        "activityTypes": ["visitWebpage", "clickLink"],
        "where": [{"field": "primary", "op": "STARTS_WITH", "value": "https://shop.example/"}],
    }
    assert [n["idempotencyKey"] for n in await timeline(gql, "ann@example.com", both)] == ["c1", "v1"]


@pytest.mark.usefixtures("recorded")
async def test_search_across_persons_by_a_standard_type(gql: GraphQL) -> None:
    shop = {"activityTypes": ["visitWebpage"], "where": [{"field": "primary", "op": "CONTAINS", "value": "shop."}]}
    body = await gql(SEARCH, {"filter": shop})
    assert "errors" not in body, body
    found = body["data"]["activities"]
    assert [(e["node"]["idempotencyKey"], e["node"]["person"]["email"]) for e in found["edges"]] == [
        ("v3", "bob@example.com"),
        ("v1", "ann@example.com"),
    ]
    assert found["totalCount"] == 2


@pytest.mark.usefixtures("recorded")
async def test_operator_that_does_not_fit_a_standard_field_is_refused(gql: GraphQL) -> None:
    wrong = {"activityTypes": ["visitWebpage"], "where": [{"field": "primary", "op": "GREATER_THAN", "value": 3}]}
    body = await gql(TIMELINE, {"email": "ann@example.com", "filter": wrong})
    assert body["errors"][0]["extensions"]["code"] == "INVALID_FILTER"
