"""Every filter and every operator per data type, through GraphQL on the real database.

Each case is also checked against the pure `matches()` (what live subscriptions use), so SQL and Python agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.domain.activities import Activity
from app.domain.activity_types import FieldDataType as T
from app.domain.filters import FieldCondition, FieldOperator, TimelineFilter, resolve
from app.services.runtime import Resources
from app.services.timelines import live_definitions
from tests.api.timeline_support import SEARCH, T0, TIMELINE, Row, create_person, create_type, insert, minutes
from tests.conftest import GraphQL

FIELDS = [
    ("s", T.STRING),
    ("t", T.TEXT),
    ("e", T.EMAIL),
    ("ph", T.PHONE),
    ("l", T.LINK),
    ("i", T.INTEGER),
    ("f", T.FLOAT),
    ("c", T.CURRENCY),
    ("b", T.BOOLEAN),
    ("d", T.DATE),
    ("dt", T.DATETIME),
]
ROWS: dict[str, tuple[Any, dict[str, Any]]] = {
    "r0": (
        "Main St",
        {
            "s": "Hello World",
            "t": "a long text",
            "e": "Ann@Example.com",
            "ph": "+1 555 0100",
            "l": "https://a.example/x",
            "i": 5,
            "f": 1.5,
            "c": 100,
            "b": True,
            "d": "2026-01-15",
            "dt": "2026-01-15T10:00:00Z",
        },
    ),
    "r1": (
        "main street",
        {
            "s": "hello",
            "e": "bob@example.com",
            "i": 10,
            "f": 2.25,
            "c": 250.75,
            "b": False,
            "d": "2026-03-01",
            "dt": "2026-03-01T00:00:00Z",
        },
    ),
    "r2": ("Elm", {"s": "", "i": -3, "f": 0, "c": 0, "d": "2025-12-31", "dt": "2025-12-31T23:59:59.5Z"}),
    "r3": ("", {}),
    "r4": ("Oak", {"s": None, "i": 10, "b": True}),
}
ALL = set(ROWS)
Op = FieldOperator

CASES: list[tuple[str, FieldOperator, Any, set[str]]] = [
    # text-like: case-insensitive
    ("primary", Op.EQUALS, "main st", {"r0"}),
    ("primary", Op.NOT_EQUALS, "main st", ALL - {"r0"}),
    ("primary", Op.CONTAINS, "MAIN", {"r0", "r1"}),
    ("primary", Op.STARTS_WITH, "main s", {"r0", "r1"}),
    ("primary", Op.IN, ["ELM", "oak", "nope"], {"r2", "r4"}),
    ("primary", Op.IS_EMPTY, None, {"r3"}),
    ("primary", Op.IS_NOT_EMPTY, None, ALL - {"r3"}),
    ("s", Op.EQUALS, "HELLO", {"r1"}),
    ("s", Op.CONTAINS, "o w", {"r0"}),
    ("s", Op.IS_EMPTY, None, {"r2", "r3", "r4"}),
    ("s", Op.IS_NOT_EMPTY, None, {"r0", "r1"}),
    ("s", Op.NOT_EQUALS, "hello", {"r0", "r2", "r3", "r4"}),
    ("t", Op.CONTAINS, "long", {"r0"}),
    ("e", Op.EQUALS, "ann@example.com", {"r0"}),
    ("e", Op.STARTS_WITH, "bob@", {"r1"}),
    ("ph", Op.STARTS_WITH, "+1 555", {"r0"}),
    ("l", Op.CONTAINS, "a.example", {"r0"}),
    # numbers
    ("i", Op.EQUALS, 10, {"r1", "r4"}),
    ("i", Op.NOT_EQUALS, 10, {"r0", "r2", "r3"}),
    ("i", Op.GREATER_THAN, 5, {"r1", "r4"}),
    ("i", Op.GREATER_THAN_OR_EQUAL, 5, {"r0", "r1", "r4"}),
    ("i", Op.LESS_THAN, 5, {"r2"}),
    ("i", Op.LESS_THAN_OR_EQUAL, 5, {"r0", "r2"}),
    ("i", Op.BETWEEN, [-3, 5], {"r0", "r2"}),
    ("i", Op.IN, [5, -3], {"r0", "r2"}),
    ("i", Op.IS_EMPTY, None, {"r3"}),
    ("f", Op.GREATER_THAN, 1.5, {"r1"}),
    ("f", Op.EQUALS, 2.25, {"r1"}),
    ("f", Op.BETWEEN, [0, 1.5], {"r0", "r2"}),
    ("c", Op.GREATER_THAN_OR_EQUAL, 100, {"r0", "r1"}),
    ("c", Op.EQUALS, 250.75, {"r1"}),
    ("c", Op.LESS_THAN, 0.01, {"r2"}),
    # booleans
    ("b", Op.EQUALS, True, {"r0", "r4"}),
    ("b", Op.NOT_EQUALS, True, {"r1", "r2", "r3"}),
    ("b", Op.IS_EMPTY, None, {"r2", "r3"}),
    ("b", Op.IS_NOT_EMPTY, None, {"r0", "r1", "r4"}),
    # dates and instants
    ("d", Op.EQUALS, "2026-01-15", {"r0"}),
    ("d", Op.GREATER_THAN, "2026-01-15", {"r1"}),
    ("d", Op.LESS_THAN, "2026-01-01", {"r2"}),
    ("d", Op.BETWEEN, ["2025-12-31", "2026-01-15"], {"r0", "r2"}),
    ("d", Op.IN, ["2026-03-01"], {"r1"}),
    ("d", Op.GREATER_THAN_OR_EQUAL, "2026-01-15", {"r0", "r1"}),
    ("d", Op.LESS_THAN_OR_EQUAL, "2025-12-31", {"r2"}),
    ("dt", Op.GREATER_THAN, "2026-01-15T09:00:00-02:00", {"r1"}),
    ("dt", Op.LESS_THAN_OR_EQUAL, "2026-01-15T11:00:00+01:00", {"r0", "r2"}),
    ("dt", Op.EQUALS, "2025-12-31T23:59:59.5Z", {"r2"}),
    ("dt", Op.BETWEEN, ["2026-01-01T00:00:00Z", "2026-12-31T00:00:00Z"], {"r0", "r1"}),
    ("dt", Op.IS_EMPTY, None, {"r3", "r4"}),
    ("dt", Op.NOT_EQUALS, "2026-03-01T00:00:00Z", {"r0", "r2", "r3", "r4"}),
]


async def _seed(resources: Resources) -> tuple[int, dict[str, int], list[Activity], int]:
    probe = await create_type(resources, "probe", T.STRING, FIELDS)
    other = await create_type(resources, "otherProbe", T.STRING, [("i", T.INTEGER)])
    person = await create_person(resources, "filters@example.com")
    tags = sorted(ROWS)
    rows = [Row(person, probe, T0 + minutes(n), primary=ROWS[t][0], fields=ROWS[t][1]) for n, t in enumerate(tags)]
    ids = await insert(resources, rows)
    # Same field values under another type: type filters must keep them out.
    await insert(resources, [Row(person, other, T0, primary="Main St", fields={"i": 10})])
    now = datetime.now(UTC)
    domain = [
        Activity(i, person, probe, 1, r.occurred_at, now, r.primary, r.fields) for i, r in zip(ids, rows, strict=True)
    ]
    return person, dict(zip(tags, ids, strict=True)), domain, other


async def test_every_operator_on_every_data_type(gql: GraphQL, resources: Resources) -> None:
    person, ids, domain, _ = await _seed(resources)
    definitions = await live_definitions(resources)
    by_id = {str(v): k for k, v in ids.items()}
    for field, op, value, expected in CASES:
        condition = {"field": field, "op": op.value, "value": value}
        body = await gql(
            TIMELINE, {"id": str(person), "first": 50, "filter": {"activityTypes": ["probe"], "where": [condition]}}
        )
        assert "errors" not in body, (condition, body)
        got = {by_id[e["node"]["id"]] for e in body["data"]["person"]["timeline"]["edges"]}
        assert got == expected, condition
        resolved = resolve(TimelineFilter(("probe",), where=(FieldCondition(field, op, value),)), definitions)
        assert {by_id[str(a.id)] for a in domain if resolved.matches(a)} == expected, ("matches()", condition)


async def test_conditions_combine_with_and(gql: GraphQL, resources: Resources) -> None:
    person, ids, _, _ = await _seed(resources)
    where = [
        {"field": "i", "op": "EQUALS", "value": 10},
        {"field": "b", "op": "EQUALS", "value": True},
    ]
    body = await gql(TIMELINE, {"id": str(person), "filter": {"activityTypes": ["PROBE"], "where": where}})
    assert [e["node"]["id"] for e in body["data"]["person"]["timeline"]["edges"]] == [str(ids["r4"])]


async def test_type_and_time_filters(gql: GraphQL, resources: Resources) -> None:
    person, ids, _, _ = await _seed(resources)

    async def run(flt: dict[str, Any]) -> list[str]:
        body = await gql(TIMELINE, {"id": str(person), "first": 50, "filter": flt})
        assert "errors" not in body, body
        return [e["node"]["id"] for e in body["data"]["person"]["timeline"]["edges"]]

    everything = await run({})
    assert len(everything) == 6
    assert len(await run({"activityTypes": ["otherProbe"]})) == 1
    assert len(await run({"activityTypes": ["probe", "otherProbe"]})) == 6
    # occurredAfter is inclusive, occurredBefore exclusive: [T0+1m, T0+3m) holds r1 and r2.
    window = {"occurredAfter": (T0 + minutes(1)).isoformat(), "occurredBefore": (T0 + minutes(3)).isoformat()}
    assert await run(window) == [str(ids["r2"]), str(ids["r1"])]
    assert await run({"occurredAfter": "2030-01-01T00:00:00Z"}) == []


@pytest.mark.parametrize(
    ("flt", "code", "field"),
    [
        ({"activityTypes": ["nope"]}, "UNKNOWN_ACTIVITY_TYPE", "filter.activityTypes.0"),
        ({"activityTypes": ["probe"], "where": [{"field": "zz", "op": "EQUALS", "value": 1}]}, "UNKNOWN_FIELD", None),
        (
            {"activityTypes": ["probe"], "where": [{"field": "i", "op": "CONTAINS", "value": "1"}]},
            "INVALID_OPERATOR",
            None,
        ),
        (
            {"activityTypes": ["probe"], "where": [{"field": "b", "op": "GREATER_THAN", "value": 1}]},
            "INVALID_OPERATOR",
            None,
        ),
        (
            {"activityTypes": ["probe"], "where": [{"field": "s", "op": "BETWEEN", "value": ["a", "b"]}]},
            "INVALID_OPERATOR",
            None,
        ),
        ({"activityTypes": ["probe"], "where": [{"field": "i", "op": "EQUALS", "value": "ten"}]}, "WRONG_TYPE", None),
        ({"activityTypes": ["probe"], "where": [{"field": "i", "op": "BETWEEN", "value": [1]}]}, "WRONG_TYPE", None),
        ({"activityTypes": ["probe"], "where": [{"field": "d", "op": "EQUALS", "value": "soon"}]}, "WRONG_TYPE", None),
        ({"activityTypes": ["probe"], "where": [{"field": "s", "op": "IS_EMPTY", "value": "x"}]}, "WRONG_TYPE", None),
        ({"where": [{"field": "primary", "op": "EQUALS", "value": "x"}]}, "INVALID_FILTER", "filter.where"),
    ],
)
async def test_bad_filters_are_typed_errors(
    gql: GraphQL, resources: Resources, flt: dict[str, Any], code: str, field: str | None
) -> None:
    person, _, _, _ = await _seed(resources)
    body = await gql(TIMELINE, {"id": str(person), "filter": flt})
    (error,) = body["errors"]
    ext = error["extensions"]
    assert ext["code"] == "INVALID_FILTER"
    assert ext["issues"][0]["code"] == code
    assert ext["field"] == (field or ext["issues"][0]["field"]) and ext["field"].startswith("filter.")
    assert error["path"] == ["person", "timeline"]
    assert body["data"] == {"person": None} or body["data"] is None


@pytest.mark.parametrize(
    ("flt", "field"),
    [
        ({"occurredAfter": "0001-01-01T00:00:00+01:00"}, "filter.occurredAfter"),
        ({"occurredBefore": "9999-12-31T23:59:59-01:00"}, "filter.occurredBefore"),
        ({"ingestedAfter": "0001-01-01T00:00:00+01:00"}, "filter.ingestedAfter"),
        ({"activityTypes": ["probe"], "where": [{"field": "dt", "op": "GREATER_THAN",
                                                 "value": "0001-01-01T00:00:00+01:00"}]}, None),
        ({"activityTypes": ["probe"], "where": [{"field": "dt", "op": "BETWEEN",
                                                 "value": ["2026-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00"]}]},
         None),
    ],
)
async def test_an_instant_outside_the_utc_range_is_a_typed_filter_error(
    gql: GraphQL, resources: Resources, flt: dict[str, Any], field: str | None
) -> None:
    person, _, _, _ = await _seed(resources)
    for query, variables in ((TIMELINE, {"id": str(person), "filter": flt}), (SEARCH, {"filter": flt})):
        body = await gql(query, variables)
        (error,) = body["errors"]
        ext = error["extensions"]
        assert ext["code"] == "INVALID_FILTER", body
        assert ext["issues"][0]["code"] == "OUT_OF_RANGE"
        assert ext["field"] == (field or ext["issues"][0]["field"]) and ext["field"].startswith("filter.")
