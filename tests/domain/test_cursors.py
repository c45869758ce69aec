"""Keyset cursors round-trip exactly and refuse anything they did not produce."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.cursors import decode_activity_cursor, decode_id_cursor, encode_activity_cursor, encode_id_cursor
from app.domain.errors import DomainError, ErrorCode

instants = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))


@given(instants, st.integers(min_value=1, max_value=2**63 - 1))
def test_activity_cursor_round_trips_to_the_microsecond(at: datetime, activity_id: int) -> None:
    assert decode_activity_cursor(encode_activity_cursor(at, activity_id)) == (at, activity_id)


def test_activity_cursor_text_is_stable() -> None:
    """Clients keep cursors: the encoding is base64url of `a1:<microseconds since 1970>:<id>`, unpadded."""
    at = datetime(2026, 11, 2, 10, 0, 0, 123456, tzinfo=UTC)
    assert encode_activity_cursor(at, 42) == "YTE6MTc5MzYxMzYwMDEyMzQ1Njo0Mg"
    assert encode_activity_cursor(datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), 7) == "YTE6LTE6Nw"


def test_cursor_of_other_timezone_is_the_same_instant() -> None:
    at = datetime(2026, 11, 2, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    decoded, _ = decode_activity_cursor(encode_activity_cursor(at, 5))
    assert decoded == at and decoded.tzinfo is UTC


@given(st.integers(min_value=1, max_value=2**63 - 1))
def test_id_cursor_round_trips(row_id: int) -> None:
    assert decode_id_cursor(encode_id_cursor(row_id)) == row_id


@pytest.mark.parametrize(
    "cursor",
    ["", "!!!", "not-base64?", encode_id_cursor(5), "YTE6eDo1", "YTE6MTp4", "YTE6MTIzOjQ6NQ", "w6k"],
)
def test_malformed_activity_cursors_are_typed_errors(cursor: str) -> None:
    with pytest.raises(DomainError) as caught:
        decode_activity_cursor(cursor, "before")
    (issue,) = caught.value.issues
    assert issue.code is ErrorCode.INVALID_CURSOR and issue.field == "before"


def test_ids_outside_bigint_are_malformed() -> None:
    for bad in (0, -1, 2**63):
        with pytest.raises(DomainError):
            decode_activity_cursor(encode_activity_cursor(datetime.now(UTC), bad))
        with pytest.raises(DomainError):
            decode_id_cursor(encode_id_cursor(bad))


def test_activity_cursor_is_not_an_id_cursor() -> None:
    with pytest.raises(DomainError):
        decode_id_cursor(encode_activity_cursor(datetime.now(UTC), 1))
