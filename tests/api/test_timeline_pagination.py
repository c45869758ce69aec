"""Timeline keyset pagination through GraphQL: both directions, page boundaries inside runs of equal timestamps."""

from __future__ import annotations

from typing import Any

import pytest

from app.services.runtime import Resources
from tests.api.timeline_support import T0, TIMELINE, Row, create_person, create_type, insert, minutes
from tests.conftest import GraphQL


async def _seed(resources: Resources) -> tuple[int, list[str]]:
    """37 activities on 5 distinct instants (runs of equal occurredAt); returns the expected newest-first ids."""
    type_id = await create_type(resources, "pageTest")
    person = await create_person(resources, "pager@example.com")
    other = await create_person(resources, "other@example.com")
    rows = [Row(person, type_id, T0 + minutes(i % 5), primary=f"a{i}") for i in range(37)]
    ids = await insert(resources, rows)
    await insert(resources, [Row(other, type_id, T0 + minutes(i % 5)) for i in range(5)])
    expected = sorted(zip((r.occurred_at for r in rows), ids, strict=True), reverse=True)
    return person, [str(i) for _, i in expected]


async def _walk(
    gql: GraphQL, person: int, size: int, *, backward: bool, flt: dict[str, Any] | None = None
) -> list[str]:
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        args: dict[str, Any] = {"id": str(person), "filter": flt}
        args.update({"last": size, "before": cursor} if backward else {"first": size, "after": cursor})
        body = await gql(TIMELINE, args)
        assert "errors" not in body, body
        conn = body["data"]["person"]["timeline"]
        ids = [e["node"]["id"] for e in conn["edges"]]
        info = conn["pageInfo"]
        if ids:
            assert info["startCursor"] == conn["edges"][0]["cursor"]
            assert info["endCursor"] == conn["edges"][-1]["cursor"]
        pages += 1
        assert pages < 100
        if backward:
            seen = ids + seen
            assert info["hasNextPage"] is (cursor is not None)
            if not info["hasPreviousPage"]:
                return seen
            cursor = info["startCursor"]
        else:
            seen = seen + ids
            assert info["hasPreviousPage"] is (cursor is not None)
            if not info["hasNextPage"]:
                return seen
            cursor = info["endCursor"]


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 10, 36, 37, 38, 100])
async def test_forward_and_backward_walks_see_every_activity_once(
    gql: GraphQL, resources: Resources, size: int
) -> None:
    person, expected = await _seed(resources)
    assert await _walk(gql, person, size, backward=False) == expected
    assert await _walk(gql, person, size, backward=True) == expected


@pytest.mark.parametrize("size", [1, 4, 6])
async def test_walks_with_a_type_filter(gql: GraphQL, resources: Resources, size: int) -> None:
    person, expected = await _seed(resources)
    noise = await create_type(resources, "noise")
    await insert(resources, [Row(person, noise, T0 + minutes(i % 5)) for i in range(11)])
    for flt in ({"activityTypes": ["pageTest"]}, {"activityTypes": ["pageTest", "NOISE"]}):
        forward = await _walk(gql, person, size, backward=False, flt=flt)
        assert await _walk(gql, person, size, backward=True, flt=flt) == forward
        if flt["activityTypes"] == ["pageTest"]:
            assert forward == expected
        else:
            assert len(forward) == 48 and set(expected) <= set(forward)


async def test_turning_around_mid_walk(gql: GraphQL, resources: Resources) -> None:
    person, expected = await _seed(resources)
    first = (await gql(TIMELINE, {"id": str(person), "first": 12}))["data"]["person"]["timeline"]
    second = await gql(TIMELINE, {"id": str(person), "first": 9, "after": first["pageInfo"]["endCursor"]})
    second_conn = second["data"]["person"]["timeline"]
    assert [e["node"]["id"] for e in second_conn["edges"]] == expected[12:21]
    back = await gql(TIMELINE, {"id": str(person), "last": 5, "before": second_conn["pageInfo"]["startCursor"]})
    back_conn = back["data"]["person"]["timeline"]
    assert [e["node"]["id"] for e in back_conn["edges"]] == expected[7:12]
    assert back_conn["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": True,
        "startCursor": back_conn["edges"][0]["cursor"],
        "endCursor": back_conn["edges"][-1]["cursor"],
    }


async def test_default_page_and_empty_timeline(gql: GraphQL, resources: Resources) -> None:
    person, expected = await _seed(resources)
    body = await gql(TIMELINE, {"id": str(person)})
    assert [e["node"]["id"] for e in body["data"]["person"]["timeline"]["edges"]] == expected
    lonely = await create_person(resources, "lonely@example.com")
    conn = (await gql(TIMELINE, {"id": str(lonely), "first": 10}))["data"]["person"]["timeline"]
    assert conn["edges"] == []
    assert conn["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None, "endCursor": None}
    zero = (await gql(TIMELINE, {"id": str(person), "first": 0}))["data"]["person"]["timeline"]
    assert zero["edges"] == [] and zero["pageInfo"]["hasNextPage"] is True


async def test_activity_fields_and_loaders(gql: GraphQL, resources: Resources) -> None:
    type_id = await create_type(resources, "deposit")
    person = await create_person(resources, "ann@example.com", "crm-1")
    await insert(resources, [Row(person, type_id, T0, primary="Main St", fields={"amount": 12.5}, key="k1")])
    body = await gql(
        """query($id: ID!) { person(id: $id) { timeline(first: 5) { edges { node {
             id typeVersion occurredAt primaryValue fields idempotencyKey
             activityType { apiName } person { id: rowId email externalId } } } } } }""",
        {"id": str(person)},
    )
    (edge,) = body["data"]["person"]["timeline"]["edges"]
    node = edge["node"]
    assert node["typeVersion"] == 1 and node["primaryValue"] == "Main St" and node["fields"] == {"amount": 12.5}
    assert node["idempotencyKey"] == "k1"
    assert node["occurredAt"].startswith("2026-11-02T10:00:00")
    assert node["activityType"] == {"apiName": "deposit"}
    assert node["person"] == {"id": str(person), "email": "ann@example.com", "externalId": "crm-1"}
