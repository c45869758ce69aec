"""Scheduling: the per-trigger concurrency limit, and never overtaking an older delivery of the same person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.domain.delivery_order import Queued, eligible

NOW = datetime(2026, 12, 2, tzinfo=UTC)
LATER = NOW + timedelta(seconds=5)


def q(id: int, persons: set[int], in_flight: bool = False, due: datetime = NOW) -> Queued:
    return Queued(id, frozenset(persons), in_flight, due)


def test_disjoint_deliveries_go_in_parallel_up_to_the_limit() -> None:
    queue = [q(1, {1}), q(2, {2}), q(3, {3}), q(4, {4})]
    assert eligible(queue, 3, NOW) == [1, 2, 3]
    assert eligible([q(1, {1}, in_flight=True), *queue[1:]], 3, NOW) == [2, 3]


def test_a_person_waits_for_its_older_delivery_in_flight_or_retrying() -> None:
    assert eligible([q(1, {1, 2}, in_flight=True), q(2, {2}), q(3, {3})], 4, NOW) == [3]
    assert eligible([q(1, {1}, due=LATER), q(2, {1, 5}), q(3, {5}), q(4, {6})], 4, NOW) == [4]


@given(st.lists(st.tuples(st.frozensets(st.integers(0, 6), min_size=1, max_size=3), st.booleans(), st.booleans()),
                max_size=12), st.integers(1, 5))
def test_never_over_the_limit_and_never_before_an_older_shared_person(
    specs: list[tuple[frozenset[int], bool, bool]], limit: int
) -> None:
    queue = [Queued(i, persons, flying, LATER if late else NOW) for i, (persons, flying, late) in enumerate(specs)]
    chosen = eligible(queue, limit, NOW)
    assert len(chosen) + sum(x.in_flight for x in queue) <= max(limit, sum(x.in_flight for x in queue))
    for i in chosen:
        item = queue[i]
        assert not item.in_flight and item.due_at <= NOW
        assert all(older.persons.isdisjoint(item.persons) for older in queue[:i])
