"""Smart lists without a database: logic parsing, checks with field paths, and the evaluator's semantics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import smart_list_logic as logic
from app.domain.activities import Activity, Person
from app.domain.activity_types import ActivityTypeDefinition, FieldDataType, FieldSpec
from app.domain.errors import DomainError, ErrorCode
from app.domain.filters import FieldCondition, FieldOperator
from app.domain.smart_list_eval import is_member, members
from app.domain.smart_list_resolve import SmartListLimits, resolve_definition
from app.domain.smart_lists import (
    ActivityFilter,
    Logic,
    PersonFilter,
    RelativeWindow,
    SmartListDefinition,
)
from tests.smart_list_trees import text, trees

Op = FieldOperator
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
DEPOSIT = ActivityTypeDefinition(
    api_name="depositCheck",
    name="Deposit Check",
    trigger_name="Deposits a Check",
    filter_name="Deposited a Check",
    primary_field=FieldSpec("branch", "Branch", FieldDataType.STRING),
    fields=(FieldSpec("amount", "Amount", FieldDataType.CURRENCY),),
)
WEBINAR = ActivityTypeDefinition(
    api_name="attendWebinar",
    name="Attend Webinar",
    trigger_name="Attends a Webinar",
    filter_name="Attended a Webinar",
    primary_field=FieldSpec("title", "Title", FieldDataType.STRING),
)
DEFS = {1: DEPOSIT, 2: WEBINAR}


def person(pid: int, email: str | None = None, created: datetime = NOW - timedelta(days=400)) -> Person:
    return Person(pid, email, None, None, None, created, created)


def deposit(pid: int, days_ago: float, branch: str = "Main St", amount: float = 1500, version: int = 1) -> Activity:
    at = NOW - timedelta(days=days_ago)
    return Activity(0, pid, 1, version, at, at, branch, {"amount": amount})


def webinar(pid: int, days_ago: float) -> Activity:
    at = NOW - timedelta(days=days_ago)
    return Activity(0, pid, 2, 1, at, at, "Intro", {})


MARKETO = SmartListDefinition(
    filters=(
        ActivityFilter(
            "depositCheck",
            where=(FieldCondition("primary", Op.EQUALS, "main st"), FieldCondition("amount", Op.GREATER_THAN, 1000)),
            within_last=RelativeWindow(days=30),
            min_times=3,
        ),
        ActivityFilter("attendWebinar", did=False),
    ),
)


def resolved(definition: SmartListDefinition, **limits: int) -> object:
    return resolve_definition(definition, DEFS, NOW, SmartListLimits(**limits))


def issues(definition: SmartListDefinition, **limits: int) -> list[tuple[ErrorCode, str | None]]:
    with pytest.raises(DomainError) as caught:
        resolve_definition(definition, DEFS, NOW, SmartListLimits(**limits))
    return [(i.code, i.field) for i in caught.value.issues]


def test_the_marketo_example() -> None:
    lst = resolve_definition(MARKETO, DEFS, NOW)
    three = [deposit(1, 1), deposit(1, 2), deposit(1, 29)]
    assert is_member(lst, person(1), three)
    assert not is_member(lst, person(1), [*three, webinar(1, 400)])  # attended a webinar, ever
    assert not is_member(lst, person(1), three[:2])  # twice only
    assert not is_member(lst, person(1), [*three[:2], deposit(1, 31)])  # the third is outside the window
    assert not is_member(lst, person(1), [*three[:2], deposit(1, 3, amount=1000)])  # not more than 1,000
    assert not is_member(lst, person(1), [*three[:2], deposit(1, 3, branch="Elm")])
    assert is_member(lst, person(1), [*three[:2], deposit(1, 3, branch="MAIN ST")])  # case-insensitive
    acts = [*three, deposit(2, 1), deposit(2, 2), deposit(2, 3), webinar(2, 5)]
    assert members(lst, [person(2), person(1), person(3)], acts) == [1]


def test_counts_min_max_and_negation() -> None:
    acts = [deposit(1, d) for d in range(4)]
    at_most_two = SmartListDefinition((ActivityFilter("depositCheck", min_times=0, max_times=2),))
    assert members(resolve_definition(at_most_two, DEFS, NOW), [person(1), person(2)], acts) == [2]
    between = SmartListDefinition((ActivityFilter("depositCheck", min_times=2, max_times=4),))
    assert members(resolve_definition(between, DEFS, NOW), [person(1), person(2)], acts) == [1]
    did_not = SmartListDefinition((ActivityFilter("depositCheck", did=False, min_times=5),))
    assert members(resolve_definition(did_not, DEFS, NOW), [person(1), person(2)], acts) == [1, 2]
    max_only = SmartListDefinition((ActivityFilter("depositCheck", max_times=4),))  # minTimes defaults to 1
    assert members(resolve_definition(max_only, DEFS, NOW), [person(1), person(2)], acts) == [1]


def test_windows_versions_and_person_filters() -> None:
    acts = [deposit(1, 10, version=1), deposit(2, 10, version=2), deposit(3, 100)]
    window = SmartListDefinition(
        (ActivityFilter("depositCheck", occurred_after=NOW - timedelta(days=20), occurred_before=NOW),)
    )
    persons = [person(1), person(2), person(3)]
    assert members(resolve_definition(window, DEFS, NOW), persons, acts) == [1, 2]
    v2 = SmartListDefinition((ActivityFilter("depositCheck", type_versions=(2,)),))
    assert members(resolve_definition(v2, DEFS, NOW), persons, acts) == [2]
    hours = SmartListDefinition((ActivityFilter("depositCheck", within_last=RelativeWindow(hours=24 * 10 + 1)),))
    assert members(resolve_definition(hours, DEFS, NOW), persons, acts) == [1, 2]
    people = [person(1, "a@bank.com"), person(2, "b@OTHER.com"), person(3, None, created=NOW - timedelta(days=2))]
    domain = SmartListDefinition((PersonFilter(where=(FieldCondition("email", Op.ENDS_WITH, "@bank.com"),)),))
    assert members(resolve_definition(domain, DEFS, NOW), people, []) == [1]
    not_domain = SmartListDefinition((PersonFilter(where=(FieldCondition("email", Op.NOT_CONTAINS, "bank"),)),))
    assert members(resolve_definition(not_domain, DEFS, NOW), people, []) == [2, 3]
    recent = SmartListDefinition((PersonFilter(created_within_last=RelativeWindow(days=7)),))
    assert members(resolve_definition(recent, DEFS, NOW), people, []) == [3]
    no_external = SmartListDefinition((PersonFilter(where=(FieldCondition("externalId", Op.IS_EMPTY),)),))
    assert members(resolve_definition(no_external, DEFS, NOW), people, []) == [1, 2, 3]


def test_logic_all_any_and_advanced() -> None:
    acts = [deposit(1, 1), webinar(2, 1), deposit(3, 1), webinar(3, 1)]
    persons = [person(n) for n in (1, 2, 3, 4)]
    both = (ActivityFilter("depositCheck"), ActivityFilter("attendWebinar"))
    assert members(resolve_definition(SmartListDefinition(both), DEFS, NOW), persons, acts) == [3]
    assert members(resolve_definition(SmartListDefinition(both, Logic.ANY), DEFS, NOW), persons, acts) == [1, 2, 3]
    advanced = SmartListDefinition(both, Logic.ADVANCED, "not (1 or 2) or 1 and not 2")
    assert members(resolve_definition(advanced, DEFS, NOW), persons, acts) == [1, 4]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 and (2 or 3) and not 4", logic.And((logic.Ref(1), logic.Or((logic.Ref(2), logic.Ref(3))),
                                                logic.Not(logic.Ref(4))))),
        ("1 OR 2 AND 3", logic.Or((logic.Ref(1), logic.And((logic.Ref(2), logic.Ref(3)))))),
        ("not not 2", logic.Not(logic.Not(logic.Ref(2)))),
        ("((4))", logic.Ref(4)),
    ],
)
def test_parse(text: str, expected: logic.Node) -> None:
    assert logic.parse(text, 4) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 and", "found the end of the expression"),
        ("1 and x", "found 'x' at position 7"),
        ("1 & 2", "found '&' at position 3"),
        ("(1 or 2", "Expected ')', found the end"),
        ("1 2", "found '2' at position 3"),
        ("1 and 5", "Filter 5 at position 7 does not exist"),
        ("0", "Filter 0 at position 1 does not exist"),
        (")", "found ')' at position 1"),
    ],
)
def test_parse_errors_point_at_the_token(text: str, message: str) -> None:
    with pytest.raises(DomainError) as caught:
        logic.parse(text, 4, "definition.expression")
    (issue,) = caught.value.issues
    assert issue.code is ErrorCode.INVALID_LOGIC and issue.field == "definition.expression"
    assert message in issue.message


def test_deep_logic_is_refused_without_deep_recursion() -> None:
    with pytest.raises(DomainError) as caught:
        logic.parse("(" * 100_000 + "1" + ")" * 100_000, 1, max_depth=10)
    assert caught.value.issues[0].code is ErrorCode.LIMIT_EXCEEDED
    nested = SmartListDefinition((ActivityFilter("depositCheck"),) * 2, Logic.ADVANCED, "1 and (2 or (1 and 2))")
    assert issues(nested, max_logic_depth=3) == [(ErrorCode.LIMIT_EXCEEDED, "definition.expression")]
    resolved(nested, max_logic_depth=4)


@given(trees(5), st.lists(st.booleans(), min_size=5, max_size=5))
def test_printed_trees_parse_to_the_same_truth(node: logic.Node, results: list[bool]) -> None:
    parsed = logic.parse(text(node), 5, max_depth=100)
    assert logic.holds(parsed, results) == logic.holds(node, results)


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        (SmartListDefinition(()), [(ErrorCode.REQUIRED, "definition.filters")]),
        (
            SmartListDefinition((ActivityFilter("nope"),)),
            [(ErrorCode.UNKNOWN_ACTIVITY_TYPE, "definition.filters.0.activity.activityType")],
        ),
        (
            SmartListDefinition((ActivityFilter("depositCheck", where=(FieldCondition("zz", Op.EQUALS, 1),)),)),
            [(ErrorCode.UNKNOWN_FIELD, "definition.filters.0.activity.where.0.field")],
        ),
        (
            SmartListDefinition(
                (ActivityFilter("depositCheck", where=(FieldCondition("amount", Op.ENDS_WITH, "1"),)),)
            ),
            [(ErrorCode.INVALID_OPERATOR, "definition.filters.0.activity.where.0.op")],
        ),
        (
            SmartListDefinition((ActivityFilter("depositCheck", where=(FieldCondition("amount", Op.EQUALS, "x"),)),)),
            [(ErrorCode.WRONG_TYPE, "definition.filters.0.activity.where.0.value")],
        ),
        (
            SmartListDefinition((ActivityFilter("depositCheck", within_last=RelativeWindow(days=-1)),)),
            [(ErrorCode.OUT_OF_RANGE, "definition.filters.0.activity.withinLast")],
        ),
        (
            SmartListDefinition((ActivityFilter("depositCheck", within_last=RelativeWindow(),
                                                occurred_after=NOW),)),
            [(ErrorCode.INVALID, "definition.filters.0.activity.withinLast")],
        ),
        (
            SmartListDefinition((ActivityFilter("depositCheck", min_times=3, max_times=2),)),
            [(ErrorCode.INVALID, "definition.filters.0.activity.maxTimes")],
        ),
        (
            SmartListDefinition((ActivityFilter("depositCheck", min_times=-1),)),
            [(ErrorCode.OUT_OF_RANGE, "definition.filters.0.activity.minTimes")],
        ),
        (
            SmartListDefinition((ActivityFilter("depositCheck", type_versions=(0,)),)),
            [(ErrorCode.OUT_OF_RANGE, "definition.filters.0.activity.typeVersions.0")],
        ),
        (
            SmartListDefinition((ActivityFilter("depositCheck"),), Logic.ADVANCED, "1 or 2"),
            [(ErrorCode.INVALID_LOGIC, "definition.expression")],
        ),
        (
            SmartListDefinition((ActivityFilter("depositCheck"),), Logic.ADVANCED),
            [(ErrorCode.REQUIRED, "definition.expression")],
        ),
        (
            SmartListDefinition((ActivityFilter("depositCheck"),), Logic.ALL, "1"),
            [(ErrorCode.INVALID, "definition.expression")],
        ),
        (SmartListDefinition((PersonFilter(),)), [(ErrorCode.REQUIRED, "definition.filters.0.person.where")]),
        (
            SmartListDefinition((PersonFilter(where=(FieldCondition("primary", Op.IS_EMPTY),)),)),
            [(ErrorCode.UNKNOWN_FIELD, "definition.filters.0.person.where.0.field")],
        ),
        (
            SmartListDefinition((PersonFilter(where=(FieldCondition("phone", Op.IS_EMPTY),)),)),
            [(ErrorCode.UNKNOWN_FIELD, "definition.filters.0.person.where.0.field")],
        ),
    ],
)
def test_bad_definitions_are_typed_errors_with_paths(
    definition: SmartListDefinition, expected: list[tuple[ErrorCode, str]]
) -> None:
    assert issues(definition) == expected


def test_limits() -> None:
    many = SmartListDefinition((ActivityFilter("depositCheck"),) * 4)
    assert issues(many, max_filters=3) == [(ErrorCode.LIMIT_EXCEEDED, "definition.filters")]
    resolved(many, max_filters=4)
    conditions = tuple(FieldCondition("amount", Op.IS_NOT_EMPTY) for _ in range(3))
    wide = SmartListDefinition((ActivityFilter("depositCheck", where=conditions),))
    assert issues(wide, max_conditions=2) == [(ErrorCode.LIMIT_EXCEEDED, "definition.filters.0.activity.where")]
    resolved(wide, max_conditions=3)


def test_every_issue_is_reported_at_once() -> None:
    definition = SmartListDefinition(
        (ActivityFilter("nope"), ActivityFilter("depositCheck", min_times=-2)), Logic.ADVANCED, "1 and 3"
    )
    assert [code for code, _ in issues(definition)] == [
        ErrorCode.UNKNOWN_ACTIVITY_TYPE,
        ErrorCode.OUT_OF_RANGE,
        ErrorCode.INVALID_LOGIC,
    ]


def test_json_round_trip() -> None:
    definition = SmartListDefinition(
        (
            *MARKETO.filters,
            ActivityFilter("depositCheck", occurred_after=NOW, occurred_before=NOW + timedelta(days=1),
                           type_versions=(1, 2), max_times=9, where=(FieldCondition("amount", Op.NOT_IN, [1, 2]),)),
            PersonFilter(where=(FieldCondition("email", Op.ENDS_WITH, "@x.com"),), created_after=NOW),
        ),
        Logic.ADVANCED,
        "1 and not 2 or 3 and 4",
    )
    assert SmartListDefinition.from_json(definition.to_json()) == definition
