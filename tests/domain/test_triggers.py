"""Trigger rules without a database: every issue of a spec at once, the payload shape, batches, webhook ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from app.domain.activities import Activity
from app.domain.errors import DomainError, ErrorCode
from app.domain.filters import FieldCondition, FieldOperator
from app.domain.triggers import (
    Batch,
    TriggerSpec,
    activity_payload,
    batches,
    check_spec,
    lane_batches,
    webhook_id,
)
from tests.domain.test_filters import DEFS

Op = FieldOperator


def spec(**changes: object) -> TriggerSpec:
    base: dict[str, object] = {"name": "big deposits", "activity_type": "depositCheck",
                               "where": (FieldCondition("amount", Op.GREATER_THAN, 1000),), "url": "https://x.io/h"}
    return TriggerSpec(**{**base, **changes})  # type: ignore[arg-type]


def issues_of(s: TriggerSpec) -> list[tuple[ErrorCode, str | None]]:
    try:
        check_spec(s, DEFS)
    except DomainError as error:
        return [(i.code, i.field) for i in error.issues]
    return []


def test_a_good_spec_resolves_to_its_type_and_condition() -> None:
    resolved = check_spec(spec(), DEFS)
    assert resolved.type_ids == (1,)
    big = Activity(1, 7, 1, 1, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC), "Main",
                   {"amount": 1500})
    small = Activity(2, 7, 1, 1, big.occurred_at, big.ingested_at, "Main", {"amount": 10})
    assert resolved.matches(big) and not resolved.matches(small)


def test_every_issue_at_once_with_its_path() -> None:
    bad = spec(name=" ", activity_type="nope", batch=Batch(max_size=0, max_wait_ms=70_000), description="d" * 1001)
    assert issues_of(bad) == [
        (ErrorCode.REQUIRED, "input.name"), (ErrorCode.TOO_LONG, "input.description"),
        (ErrorCode.OUT_OF_RANGE, "input.batch.maxSize"), (ErrorCode.OUT_OF_RANGE, "input.batch.maxWaitMs"),
        (ErrorCode.UNKNOWN_ACTIVITY_TYPE, "input.activityType"),
    ]


def test_conditions_are_checked_against_the_type() -> None:
    assert issues_of(spec(where=(FieldCondition("missing", Op.EQUALS, 1),))) == [
        (ErrorCode.UNKNOWN_FIELD, "input.where.0.field")]
    assert issues_of(spec(where=(FieldCondition("cleared", Op.GREATER_THAN, 1),)))[0][0] == ErrorCode.INVALID_OPERATOR


def test_payload_has_the_graphql_activity_shape() -> None:
    at = datetime(2026, 11, 2, 10, tzinfo=UTC)
    payload = activity_payload(Activity(5, 9, 1, 2, at, at, "Main", {"amount": 3}, "k1"), "depositCheck")
    assert payload == {
        "id": "5", "activityType": {"apiName": "depositCheck"}, "typeVersion": 2, "person": {"id": "9"},
        "occurredAt": "2026-11-02T10:00:00+00:00", "ingestedAt": "2026-11-02T10:00:00+00:00",
        "primaryValue": "Main", "fields": {"amount": 3}, "idempotencyKey": "k1",
    }


def test_batches_and_webhook_ids() -> None:
    assert batches(list(range(5)), 2) == [[0, 1], [2, 3], [4]]
    trigger = uuid.UUID(int=1)
    assert webhook_id(trigger, 7) == webhook_id(trigger, 7) == f"msg_{trigger.hex}_7"


def test_many_items_are_cut_into_lanes_of_persons_and_few_in_plain_order() -> None:
    items = [(i, i * 7 % 10) for i in range(1, 41)]  # (activity id, person): ten persons, ids ascending
    laned = lane_batches(items, 5, 2, lambda item: item[1])
    assert sorted(i for b in laned for i in b) == items and all(len(b) <= 5 for b in laned)
    for batch in laned:
        assert batch == sorted(batch) and len({p % 2 for _, p in batch}) == 1  # id order, one lane
    assert [b[0][1] % 2 for b in laned] == [0, 1] * 4  # lanes take turns, so each window of the queue has both
    persons = [{p for _, p in b} for b in laned]
    assert all(persons[n].isdisjoint(persons[n + 1]) for n in range(len(laned) - 1))
    assert lane_batches(items[:9], 5, 2, lambda item: item[1]) == batches(items[:9], 5)  # under 2 batches' worth
    assert lane_batches(items, 5, 1, lambda item: item[1]) == batches(items, 5)
