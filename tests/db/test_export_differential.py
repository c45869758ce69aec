"""Differential: the rows an export reads (its SQL) are exactly those the pure filter evaluator accepts."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.db.activity_queries import COLUMNS
from app.db.export_queries import export_query
from app.domain.activities import Activity
from app.domain.activity_types import FieldDataType as D
from app.domain.exports import ExportFormat, ExportKind
from app.domain.filters import ActivitySearch, FieldCondition, FieldOperator, resolve
from app.services.runtime import Resources
from app.services.timelines import live_definitions, search_scope
from tests.api.timeline_support import T0, Row, create_person, create_type, insert, minutes

Op = FieldOperator
FIELDS = {"amount": D.CURRENCY, "note": D.STRING, "on": D.DATE, "live": D.BOOLEAN, "at": D.DATETIME}
VALUES: dict[str, list[Any]] = {
    "amount": [0, 1.5, 10, 99.99, -3],
    "note": ["alpha", "Beta", "alphabet", ""],
    "on": ["2026-01-01", "2026-06-30", "2025-12-31"],
    "live": [True, False],
    "at": ["2026-01-01T00:00:00+00:00", "2026-03-01T12:30:00.5+00:00"],
}
OPS: dict[str, list[FieldOperator]] = {
    "amount": [Op.EQUALS, Op.NOT_EQUALS, Op.GREATER_THAN, Op.LESS_THAN_OR_EQUAL, Op.BETWEEN, Op.IN, Op.IS_EMPTY],
    "note": [Op.EQUALS, Op.NOT_EQUALS, Op.CONTAINS, Op.STARTS_WITH, Op.IN, Op.IS_EMPTY, Op.IS_NOT_EMPTY],
    "on": [Op.EQUALS, Op.GREATER_THAN_OR_EQUAL, Op.LESS_THAN, Op.BETWEEN],
    "live": [Op.EQUALS, Op.NOT_EQUALS, Op.IS_EMPTY],
    "at": [Op.EQUALS, Op.GREATER_THAN, Op.BETWEEN],
}
EMAILS = ["a@example.com", "b@example.com", "c@example.com"]


async def _seed(resources: Resources) -> None:
    rng = random.Random(7)
    typed = await create_type(resources, "measured", fields=list(FIELDS.items()))
    other = await create_type(resources, "other", fields=[("amount", D.CURRENCY)])
    persons = [await create_person(resources, email, f"x{i}") for i, email in enumerate(EMAILS)]
    rows = []
    for i in range(150):
        fields = {name: rng.choice(values) for name, values in VALUES.items() if rng.random() < 0.8}
        rows.append(Row(rng.choice(persons), typed if i % 4 else other, T0 + minutes(rng.randint(0, 600)),
                        rng.choice(["p", "q", ""]), fields if i % 4 else {"amount": rng.choice([1, 5])},
                        ingested_at=T0 + minutes(rng.randint(0, 600))))
    await insert(resources, rows)


def _value(field: str, op: FieldOperator, draw: Any) -> Any:
    pool = sorted(VALUES[field], key=str) if field != "live" else VALUES[field]
    if op in (Op.IS_EMPTY, Op.IS_NOT_EMPTY):
        return None
    if op is Op.IN:
        return draw(st.lists(st.sampled_from([v for v in pool if v != ""] or pool), min_size=1, max_size=3))
    if op is Op.BETWEEN:
        low, high = sorted(draw(st.lists(st.sampled_from(pool), min_size=2, max_size=2)))
        return [low, high]
    if op in (Op.CONTAINS, Op.STARTS_WITH):
        return draw(st.sampled_from(["al", "bet", "A"]))
    return draw(st.sampled_from(pool))


@st.composite
def searches(draw: Any) -> ActivitySearch:
    typed = draw(st.sampled_from([None, ("measured",), ("measured", "other")]))
    where: list[FieldCondition] = []
    if typed == ("measured",):
        for field in draw(st.lists(st.sampled_from(sorted(FIELDS)), max_size=2, unique=True)):
            op = draw(st.sampled_from(OPS[field]))
            where.append(FieldCondition(field, op, _value(field, op, draw)))
    instant = st.one_of(st.none(), st.integers(0, 600).map(lambda m: T0 + timedelta(minutes=m)))
    return ActivitySearch(
        activity_types=typed, occurred_after=draw(instant), occurred_before=draw(instant),
        ingested_after=draw(instant), where=tuple(where),
        person_emails=tuple(draw(st.lists(st.sampled_from(EMAILS), max_size=2))),
        min_activities_per_person=draw(st.one_of(st.none(), st.integers(1, 40))),
    )


async def test_export_rows_are_the_rows_the_evaluator_accepts(resources: Resources) -> None:
    await _seed(resources)
    definitions = await live_definitions(resources)
    async with resources.db.raw() as conn:
        stored = [Activity(*r) for r in await conn.fetch(f"SELECT {COLUMNS} FROM activity")]
        emails = {r["id"]: r["email"] for r in await conn.fetch("SELECT id, email FROM person")}
    cases: list[ActivitySearch] = []

    @settings(max_examples=80, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(searches())
    def collect(search: ActivitySearch) -> None:
        cases.append(search)

    collect()
    partial = 0  # searches that keep some rows and drop others: the comparison is not vacuous
    for search in cases:
        flt = resolve(search, definitions)
        query = export_query(ExportKind.ACTIVITIES, ExportFormat.JSONL, ("id",), search_scope(search), flt)
        async with resources.db.raw() as conn:
            got = {int(orjson.loads(r[0])["id"]) for r in await conn.fetch(query.select, *query.params)}
            counted = await conn.fetchval(query.count, *query.count_params)
        expected = _expected(search, flt, stored, emails)
        assert got == expected, search
        assert counted == len(expected)
        partial += 0 < len(expected) < len(stored)
    assert partial >= len(cases) // 4, (partial, len(cases))


def _expected(search: ActivitySearch, flt: Any, stored: list[Activity], emails: dict[int, str]) -> set[int]:
    chosen = {e.lower() for e in search.person_emails}
    matching = [a for a in stored if flt.matches(a) and (not chosen or emails[a.person_id] in chosen)]
    if search.min_activities_per_person is not None:
        per_person: dict[int, int] = {}
        for a in matching:
            per_person[a.person_id] = per_person.get(a.person_id, 0) + 1
        matching = [a for a in matching if per_person[a.person_id] >= search.min_activities_per_person]
    return {a.id for a in matching}
