"""Filter rules without a database: operators per data type, validation issues, matching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain.activities import Activity
from app.domain.activity_types import ActivityTypeDefinition, FieldDataType, FieldSpec
from app.domain.errors import DomainError, ErrorCode
from app.domain.filters import (
    ActivitySearch,
    FieldCondition,
    FieldOperator,
    TimelineFilter,
    matches,
    operators_for,
    resolve,
    validate,
)

Op = FieldOperator
T0 = datetime(2026, 11, 2, 10, tzinfo=UTC)
DEPOSIT = ActivityTypeDefinition(
    api_name="depositCheck",
    name="Deposit",
    trigger_name="Deposits",
    filter_name="Deposited",
    primary_field=FieldSpec("branch", "Branch", FieldDataType.STRING),
    fields=(
        FieldSpec("amount", "Amount", FieldDataType.CURRENCY),
        FieldSpec("cleared", "Cleared", FieldDataType.BOOLEAN),
        FieldSpec("on", "On", FieldDataType.DATE),
    ),
)
VISIT = ActivityTypeDefinition(
    api_name="visit",
    name="Visit",
    trigger_name="Visits",
    filter_name="Visited",
    primary_field=FieldSpec("url", "URL", FieldDataType.LINK),
    fields=(FieldSpec("amount", "Amount", FieldDataType.STRING),),
)
DEFS = {1: DEPOSIT, 2: VISIT}


def _activity(type_id: int = 1, primary: object = "Main St", **fields: object) -> Activity:
    return Activity(7, 3, type_id, 1, T0, T0 + timedelta(days=1), primary, dict(fields))


def test_operator_table() -> None:
    text = {Op.EQUALS, Op.NOT_EQUALS, Op.CONTAINS, Op.STARTS_WITH, Op.IN, Op.IS_EMPTY, Op.IS_NOT_EMPTY} | {
        Op.NOT_CONTAINS,
        Op.NOT_STARTS_WITH,
        Op.ENDS_WITH,
        Op.NOT_IN,
    }
    ordered = {Op.EQUALS, Op.NOT_EQUALS, Op.IN, Op.NOT_IN, Op.IS_EMPTY, Op.IS_NOT_EMPTY} | {
        Op.GREATER_THAN,
        Op.GREATER_THAN_OR_EQUAL,
        Op.LESS_THAN,
        Op.LESS_THAN_OR_EQUAL,
        Op.BETWEEN,
    }
    for t in (FieldDataType.STRING, FieldDataType.TEXT, FieldDataType.EMAIL, FieldDataType.PHONE, FieldDataType.LINK):
        assert operators_for(t) == text
    for t in (FieldDataType.INTEGER, FieldDataType.FLOAT, FieldDataType.CURRENCY, FieldDataType.DATE):
        assert operators_for(t) == ordered
    assert operators_for(FieldDataType.DATETIME) == ordered
    assert operators_for(FieldDataType.BOOLEAN) == {Op.EQUALS, Op.NOT_EQUALS, Op.IS_EMPTY, Op.IS_NOT_EMPTY}
    assert set().union(*(operators_for(t) for t in FieldDataType)) == set(FieldOperator)


def test_type_names_are_case_insensitive_and_resolve_to_ids() -> None:
    resolved = resolve(TimelineFilter(activity_types=("DEPOSITCHECK", "visit", "depositCheck")), DEFS)
    assert resolved.type_ids == (1, 2)


@pytest.mark.parametrize(
    ("flt", "code", "field"),
    [
        (TimelineFilter(activity_types=("nope",)), ErrorCode.UNKNOWN_ACTIVITY_TYPE, "filter.activityTypes.0"),
        (
            TimelineFilter(("depositCheck",), where=(FieldCondition("zz", Op.EQUALS, 1),)),
            ErrorCode.UNKNOWN_FIELD,
            "filter.where.0.field",
        ),
        (
            TimelineFilter(("depositCheck",), where=(FieldCondition("amount", Op.STARTS_WITH, "1"),)),
            ErrorCode.INVALID_OPERATOR,
            "filter.where.0.op",
        ),
        (
            TimelineFilter(("depositCheck", "visit"), where=(FieldCondition("amount", Op.EQUALS, 1),)),
            ErrorCode.INVALID_FILTER,
            "filter.where.0.field",
        ),
        (
            TimelineFilter(("depositCheck",), where=(FieldCondition("amount", Op.EQUALS, True),)),
            ErrorCode.WRONG_TYPE,
            "filter.where.0.value",
        ),
        (
            TimelineFilter(("depositCheck",), where=(FieldCondition("amount", Op.BETWEEN, [5, 1]),)),
            ErrorCode.WRONG_TYPE,
            "filter.where.0.value",
        ),
        (
            TimelineFilter(("depositCheck",), where=(FieldCondition("amount", Op.IN, []),)),
            ErrorCode.WRONG_TYPE,
            "filter.where.0.value",
        ),
        (
            TimelineFilter(("depositCheck",), where=(FieldCondition("primary", Op.CONTAINS, ""),)),
            ErrorCode.WRONG_TYPE,
            "filter.where.0.value",
        ),
        (TimelineFilter(where=(FieldCondition("primary", Op.IS_EMPTY),)), ErrorCode.INVALID_FILTER, "filter.where"),
        (
            TimelineFilter(("depositCheck",), where=tuple(FieldCondition("amount", Op.IS_EMPTY) for _ in range(21))),
            ErrorCode.LIMIT_EXCEEDED,
            "filter.where",
        ),
        (ActivitySearch(min_activities_per_person=0), ErrorCode.OUT_OF_RANGE, "filter.minActivitiesPerPerson"),
    ],
)
def test_invalid_filters(flt: TimelineFilter, code: ErrorCode, field: str) -> None:
    issues = validate(flt, DEFS)
    assert [(i.code, i.field) for i in issues][:1] == [(code, field)]
    with pytest.raises(DomainError):
        matches(_activity(), flt, DEFS)


@pytest.mark.parametrize(
    ("lists", "fields"),
    [
        ({"person_ids": tuple(range(1, 1002))}, ["filter.personIds"]),
        ({"person_emails": tuple(f"p{i}@x.io" for i in range(1001))}, ["filter.personEmails"]),
        ({"person_external_ids": tuple(f"e{i}" for i in range(1001)), "person_ids": (1,)},
         ["filter.personExternalIds"]),
        ({"person_ids": tuple(range(1, 1002)), "person_emails": tuple(f"p{i}@x.io" for i in range(1001))},
         ["filter.personIds", "filter.personEmails"]),
        ({"person_ids": tuple(range(1, 601)), "person_emails": tuple(f"p{i}@x.io" for i in range(401))}, ["filter"]),
    ],
    ids=["ids", "emails", "external-ids", "two-lists", "together"],
)
def test_too_many_persons_names_the_list_to_shorten(lists: dict[str, tuple[object, ...]], fields: list[str]) -> None:
    issues = validate(ActivitySearch(**lists), DEFS)
    assert [(i.code, i.field) for i in issues] == [(ErrorCode.LIMIT_EXCEEDED, f) for f in fields]


def test_a_thousand_persons_in_all_are_allowed() -> None:
    search = ActivitySearch(person_ids=tuple(range(1, 501)), person_emails=tuple(f"p{i}@x.io" for i in range(500)))
    assert validate(search, DEFS) == []


def test_every_issue_is_reported() -> None:
    flt = TimelineFilter(
        ("nope", "depositCheck"),
        where=(FieldCondition("zz", Op.EQUALS, 1), FieldCondition("cleared", Op.LESS_THAN, True)),
    )
    assert [i.code for i in validate(flt, DEFS)] == [
        ErrorCode.UNKNOWN_ACTIVITY_TYPE,
        ErrorCode.UNKNOWN_FIELD,
        ErrorCode.INVALID_OPERATOR,
    ]


def test_matches_types_times_and_conditions() -> None:
    flt = TimelineFilter(
        ("depositCheck",),
        occurred_after=T0,
        occurred_before=T0 + timedelta(seconds=1),
        ingested_after=T0,
        where=(
            FieldCondition("primary", Op.STARTS_WITH, "MAIN"),
            FieldCondition("amount", Op.BETWEEN, [100, 200]),
            FieldCondition("on", Op.GREATER_THAN, "2026-01-01"),
        ),
    )
    good = _activity(amount=150.5, on="2026-02-01")
    assert matches(good, flt, DEFS)
    assert not matches(_activity(type_id=2, amount=150.5, on="2026-02-01"), flt, DEFS)
    assert not matches(_activity(amount=99, on="2026-02-01"), flt, DEFS)
    assert not matches(_activity(amount=150, on="2025-02-01"), flt, DEFS)
    assert not matches(_activity(amount=150), flt, DEFS)  # missing field fails a comparison
    late = TimelineFilter(occurred_after=T0 + timedelta(microseconds=1))
    assert not matches(good, late, DEFS)
    assert matches(good, TimelineFilter(occurred_before=T0 + timedelta(microseconds=1)), DEFS)
    assert not matches(good, TimelineFilter(ingested_after=T0 + timedelta(days=2)), DEFS)


def test_empty_and_not_equals_semantics() -> None:
    flt = TimelineFilter(("depositCheck",), where=(FieldCondition("cleared", Op.NOT_EQUALS, True),))
    assert matches(_activity(cleared=False), flt, DEFS)
    assert matches(_activity(), flt, DEFS)  # empty counts as "not equal"
    assert not matches(_activity(cleared=True), flt, DEFS)
    empty = TimelineFilter(("depositCheck",), where=(FieldCondition("primary", Op.IS_EMPTY),))
    assert matches(_activity(primary=""), empty, DEFS) and matches(_activity(primary=None), empty, DEFS)
    assert not matches(_activity(primary="x"), empty, DEFS)


@pytest.mark.parametrize(
    ("op", "value", "primary", "expected"),
    [
        (Op.NOT_CONTAINS, "MAIN", "Main St", False),
        (Op.NOT_CONTAINS, "elm", "Main St", True),
        (Op.NOT_CONTAINS, "elm", None, True),
        (Op.NOT_STARTS_WITH, "main", "Main St", False),
        (Op.NOT_STARTS_WITH, "st", "Main St", True),
        (Op.NOT_STARTS_WITH, "st", "", True),
        (Op.ENDS_WITH, " ST", "Main St", True),
        (Op.ENDS_WITH, "main", "Main St", False),
        (Op.ENDS_WITH, "st", None, False),
        (Op.NOT_IN, ["main st", "elm"], "MAIN ST", False),
        (Op.NOT_IN, ["elm"], "Main St", True),
        (Op.NOT_IN, ["elm"], None, True),
    ],
)
def test_negations_and_ends_with(op: FieldOperator, value: object, primary: object, expected: bool) -> None:
    flt = TimelineFilter(("depositCheck",), where=(FieldCondition("primary", op, value),))
    assert matches(_activity(primary=primary), flt, DEFS) is expected


@pytest.mark.parametrize("op", [Op.NOT_CONTAINS, Op.NOT_STARTS_WITH, Op.ENDS_WITH])
def test_substring_operators_need_a_non_empty_string(op: FieldOperator) -> None:
    for value in ("", 3, None):
        flt = TimelineFilter(("depositCheck",), where=(FieldCondition("primary", op, value),))
        assert [(i.code, i.field) for i in validate(flt, DEFS)] == [(ErrorCode.WRONG_TYPE, "filter.where.0.value")]


def test_not_in_needs_a_list_of_values_of_the_field_kind() -> None:
    for value in ([], "5", [True], [1] * 1001):
        flt = TimelineFilter(("depositCheck",), where=(FieldCondition("amount", Op.NOT_IN, value),))
        assert [i.code for i in validate(flt, DEFS)] == [ErrorCode.WRONG_TYPE]
