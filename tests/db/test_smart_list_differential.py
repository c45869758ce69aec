"""The SQL of smart lists against the pure evaluator, on real PostgreSQL, over generated data and definitions.

Hypothesis draws the field data types of a second activity type, persons (emails, external ids, creation times),
activities (every data type, missing/null/empty and wrongly typed values, two type versions, times around the
windows) and definitions (every operator each data type allows, did/did not, counts, absolute and relative
windows, person filters, ALL/ANY/nested advanced logic). Members (walked in pages of 2), the count, and each
person's membership (the correlated form) must equal the evaluator's, member for member.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.db import smart_list_queries as queries
from app.db.activity_queries import COLUMNS
from app.domain.activities import Activity, Person
from app.domain.activity_types import ActivityTypeDefinition, FieldDataType, FieldSpec
from app.domain.filters import KIND_OF, NO_VALUE, FieldCondition, FieldOperator, ValueKind, operators_for
from app.domain.smart_list_eval import is_member, members
from app.domain.smart_list_resolve import PERSON_ATTRIBUTES, resolve_definition
from app.domain.smart_lists import (
    ActivityFilter,
    Filter,
    Logic,
    PersonFilter,
    RelativeWindow,
    SmartListDefinition,
)
from app.services.runtime import Resources
from tests.smart_list_trees import text, trees

T = FieldDataType
Op = FieldOperator
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
ALL_TYPES = [("s", T.STRING), ("t", T.TEXT), ("e", T.EMAIL), ("ph", T.PHONE), ("l", T.LINK), ("i", T.INTEGER),
             ("f", T.FLOAT), ("c", T.CURRENCY), ("b", T.BOOLEAN), ("d", T.DATE), ("dt", T.DATETIME)]

STORED: dict[ValueKind, list[Any]] = {
    ValueKind.STRING: ["Main St", "main st", "Elm", "", None, "MAIN", "st. main", 5],
    ValueKind.NUMBER: [0, 1, 1.5, -2, 1000, 1000.5, None, "5"],
    ValueKind.BOOLEAN: [True, False, None, "true"],
    ValueKind.DATE: ["2026-01-15", "2026-03-01", "2025-12-31", None, "", "soon"],
    ValueKind.DATETIME: ["2026-01-15T10:00:00Z", "2026-01-15T11:00:00+01:00", "2026-03-01T00:00:00.5Z", None],
}
OPERANDS: dict[ValueKind, list[Any]] = {
    ValueKind.STRING: ["main st", "MAIN", "st", "elm", "m", "zz"],
    ValueKind.NUMBER: [0, 1, 1.5, 1000, -2, 3],
    ValueKind.BOOLEAN: [True, False],
    ValueKind.DATE: ["2026-01-15", "2026-03-01", "2025-12-31"],
    ValueKind.DATETIME: ["2026-01-15T10:00:00Z", "2026-01-15T09:00:00Z", "2026-03-01T00:00:00.5Z"],
}
EMAILS = [None, "", "Ann{n}@Bank.com", "bob{n}@other.org", "carol{n}@bank.com.au"]


def _definition(api_name: str, primary: FieldDataType, fields: list[tuple[str, FieldDataType]]) -> Any:
    return ActivityTypeDefinition(api_name, api_name, api_name, api_name, FieldSpec("main", "Main", primary),
                                  fields=tuple(FieldSpec(n, n, t) for n, t in fields))


def _email(template: str | None, n: int) -> str | None:
    if template == "":
        return "" if n == 0 else None  # emails are unique case-insensitively: one empty one at most
    return template.format(n=n) if template else None


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, Any]:
    second = draw(st.lists(st.sampled_from(ALL_TYPES), min_size=1, max_size=3, unique_by=lambda x: x[0]))
    types = {1: _definition("probe", T.STRING, ALL_TYPES),
             2: _definition("other", draw(st.sampled_from([t for _, t in ALL_TYPES])), second)}
    n_persons = draw(st.integers(0, 6))
    persons = [
        {
            "email": _email(draw(st.sampled_from(EMAILS)), n),
            "external_id": draw(st.sampled_from([None, f"x{n}", f"X-{n}"])),
            "first_name": draw(st.sampled_from([None, "Ann", "bob"])),
            "created_at": NOW - timedelta(hours=draw(st.integers(0, 24 * 60))),
        }
        for n in range(n_persons)
    ]
    activities = []
    for _ in range(draw(st.integers(0, 25 if persons else 0))):
        type_id = draw(st.sampled_from([1, 2]))
        definition = types[type_id]
        values = {
            spec.api_name: draw(st.sampled_from(STORED[KIND_OF[spec.data_type]]))
            for spec in definition.fields
            if draw(st.booleans())
        }
        activities.append({
            "person": draw(st.integers(0, len(persons) - 1)),
            "type_id": type_id,
            "version": draw(st.sampled_from([1, 1, 2])),
            "occurred_at": NOW - timedelta(hours=draw(st.integers(0, 24 * 60)), seconds=draw(st.integers(0, 1))),
            "primary": draw(st.sampled_from(STORED[KIND_OF[definition.primary_field.data_type]])),
            "fields": values,
        })
    return {"types": types, "persons": persons, "activities": activities}


def _condition(draw: st.DrawFn, spec: FieldSpec, name: str) -> FieldCondition:
    op = draw(st.sampled_from(sorted(operators_for(spec.data_type))))
    kind = KIND_OF[spec.data_type]
    pool = OPERANDS[kind] if spec.api_name != "createdAt" else [
        (NOW - timedelta(days=d)).isoformat() for d in (1, 10, 30)
    ]
    value: Any
    if op in NO_VALUE:
        value = None
    elif op in (Op.IN, Op.NOT_IN):
        value = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
    elif op is Op.BETWEEN:
        low, high = sorted(draw(st.lists(st.sampled_from(pool), min_size=2, max_size=2)),
                           key=lambda v: v if kind is not ValueKind.DATETIME else datetime.fromisoformat(v))
        value = [low, high]
    else:
        value = draw(st.sampled_from(pool))
    return FieldCondition(name, op, value)


@st.composite
def activity_filters(draw: st.DrawFn, types: dict[int, ActivityTypeDefinition]) -> ActivityFilter:
    definition = types[draw(st.sampled_from(sorted(types)))]
    specs = [definition.primary_field, *definition.fields]
    where = []
    for _ in range(draw(st.integers(0, 2))):
        spec = draw(st.sampled_from(specs))
        where.append(_condition(draw, spec, "primary" if spec is definition.primary_field else spec.api_name))
    window = draw(st.sampled_from(["none", "absolute", "after", "relative"]))
    after = before = within = None
    if window in ("absolute", "after"):
        after = NOW - timedelta(hours=draw(st.integers(0, 24 * 60)))
        before = after + timedelta(hours=draw(st.integers(0, 24 * 30))) if window == "absolute" else None
    elif window == "relative":
        within = RelativeWindow(days=draw(st.integers(0, 40)), hours=draw(st.integers(1, 30)))
    min_times = draw(st.none() | st.integers(0, 3))
    max_times = draw(st.none() | st.integers(min_times or 0, 4))
    return ActivityFilter(
        activity_type=definition.api_name.upper() if draw(st.booleans()) else definition.api_name,
        did=draw(st.booleans()),
        where=tuple(where),
        occurred_after=after,
        occurred_before=before,
        within_last=within,
        min_times=min_times,
        max_times=max_times,
        type_versions=draw(st.none() | st.just((2,)) | st.just((1, 2))),
    )


@st.composite
def person_filters(draw: st.DrawFn) -> PersonFilter:
    specs = [f for f in PERSON_ATTRIBUTES.fields if f.api_name != "lastName"]
    where = tuple(_condition(draw, s, s.api_name) for s in draw(st.lists(st.sampled_from(specs), max_size=2)))
    within = draw(st.none() | st.builds(RelativeWindow, days=st.integers(1, 60)))
    if not where and within is None:
        within = RelativeWindow(days=30)
    return PersonFilter(where=where, created_within_last=within)


@st.composite
def definitions(draw: st.DrawFn, types: dict[int, ActivityTypeDefinition]) -> SmartListDefinition:
    filters: list[Filter] = draw(
        st.lists(activity_filters(types) | person_filters(), min_size=1, max_size=4)  # type: ignore[operator]
    )
    logic_kind = draw(st.sampled_from(list(Logic)))
    if logic_kind is not Logic.ADVANCED:
        return SmartListDefinition(tuple(filters), logic_kind)
    tree = draw(trees(len(filters), max_leaves=6))
    return SmartListDefinition(tuple(filters), Logic.ADVANCED, text(tree, bare_not=True))


async def _store(resources: Resources, world: dict[str, Any]) -> tuple[list[Person], list[Activity], dict[int, Any]]:
    async with resources.db.raw() as conn:
        await conn.execute("TRUNCATE activity, person RESTART IDENTITY")
        await conn.execute("DELETE FROM activity_type WHERE NOT is_system")
        ids = {}
        for key, definition in world["types"].items():
            ids[key] = await conn.fetchval(
                "INSERT INTO activity_type (api_name, name, trigger_name, filter_name, status, current_version) "
                "VALUES ($1, $1, $1, $1, 'APPROVED', 1) RETURNING id", definition.api_name
            )
            await conn.execute(
                "INSERT INTO activity_type_version (activity_type_id, version, definition) "
                "VALUES ($1, 1, $2::text::jsonb)", ids[key], json.dumps(definition.to_json())
            )
        person_ids = [
            await conn.fetchval(
                "INSERT INTO person (email, external_id, first_name, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                p["email"], p["external_id"], p["first_name"], p["created_at"],
            )
            for p in world["persons"]
        ]
        for a in world["activities"]:
            await conn.execute(
                "INSERT INTO activity (person_id, activity_type_id, type_version, occurred_at, primary_value, fields) "
                "VALUES ($1, $2, $3, $4, $5::text::jsonb, $6::text::jsonb)",
                person_ids[a["person"]], ids[a["type_id"]], a["version"], a["occurred_at"], json.dumps(a["primary"]),
                json.dumps(a["fields"]),
            )
        persons = [Person(*r) for r in await conn.fetch(f"SELECT {queries.PERSON_COLUMNS} FROM person p")]
        activities = [Activity(*r) for r in await conn.fetch(f"SELECT {COLUMNS} FROM activity")]
    live = {ids[key]: d for key, d in world["types"].items()}
    return persons, activities, live


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(data=st.data())
async def test_sql_equals_the_evaluator(resources: Resources, data: st.DataObject) -> None:
    world = data.draw(worlds())
    persons, activities, live = await _store(resources, world)
    lists = data.draw(st.lists(definitions(world["types"]), min_size=1, max_size=3))
    resolved = [resolve_definition(d, live, NOW) for d in lists]
    async with resources.db.raw() as conn:
        for definition, lst in zip(lists, resolved, strict=True):
            expected = members(lst, persons, activities)
            got: list[int] = []
            after = None
            while True:
                page, more = await queries.members(conn, lst, limit=2, after=after)
                got.extend(p.id for p in page)
                if not more:
                    break
                after = page[-1].id
            assert got == expected, definition
            assert await queries.count(conn, lst) == len(expected), definition
        for person in persons:
            flags = await queries.memberships(conn, person.id, resolved)
            assert flags == [is_member(lst, person, activities) for lst in resolved], (person, lists)
        assert await queries.memberships(conn, 10**12, resolved) == [False] * len(resolved)


async def test_missing_person_attributes_under_not(resources: Resources) -> None:
    """A condition on a NULL attribute is NULL in SQL; under `not` it must still act as false (as in the domain)."""
    world = {"types": {1: _definition("probe", T.STRING, [])}, "activities": [], "persons": [
        {"email": "a0@x.com", "external_id": None, "first_name": None, "created_at": NOW},
        {"email": None, "external_id": "x1", "first_name": "Ann", "created_at": NOW},
    ]}
    persons, activities, live = await _store(resources, world)
    for field, op, value in (("email", Op.EQUALS, "a0@x.com"), ("externalId", Op.IN, ["x1"]),
                             ("firstName", Op.CONTAINS, "a")):
        definition = SmartListDefinition((PersonFilter(where=(FieldCondition(field, op, value),)),), Logic.ADVANCED,
                                         "not 1")
        lst = resolve_definition(definition, live, NOW)
        expected = members(lst, persons, activities)
        assert len(expected) == 1
        async with resources.db.raw() as conn:
            assert [p.id for p in (await queries.members(conn, lst, limit=10, after=None))[0]] == expected
            assert await queries.memberships(conn, expected[0], [lst]) == [True]
