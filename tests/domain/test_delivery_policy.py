"""After an attempt: delivered, retried (backoff with jitter, Retry-After, up to the maximum age) or failed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.delivery_policy import (
    Attempt,
    RetryPolicy,
    Verdict,
    breaker_opens,
    decide,
    retry_after_seconds,
)

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(base_seconds=1.0, max_delay_seconds=600.0, max_age_seconds=3600.0)


def verdict(status: int | None, retry_after: str | None = None, first: datetime = NOW) -> Verdict:
    return decide(Attempt(status, retry_after), 1, first, NOW, POLICY, random.Random(1)).verdict


@pytest.mark.parametrize(
    ("status", "expected"),
    [(200, Verdict.DELIVERED), (204, Verdict.DELIVERED), (400, Verdict.FAILED), (401, Verdict.FAILED),
     (404, Verdict.FAILED), (410, Verdict.FAILED), (301, Verdict.FAILED), (408, Verdict.RETRY),
     (429, Verdict.RETRY), (500, Verdict.RETRY), (503, Verdict.RETRY), (599, Verdict.RETRY), (None, Verdict.RETRY)],
)
def test_verdict_by_status(status: int | None, expected: Verdict) -> None:
    assert verdict(status) == expected


@given(st.integers(min_value=1, max_value=60), st.integers(min_value=0, max_value=2**32))
def test_backoff_doubles_within_equal_jitter_and_respects_the_cap(attempt: int, seed: int) -> None:
    delay = POLICY.backoff(attempt, random.Random(seed))
    ceiling = min(600.0, 2.0 ** (attempt - 1))
    assert ceiling / 2 <= delay <= ceiling


def test_jitter_spreads_retries() -> None:
    delays = {round(POLICY.backoff(8, random.Random(seed)), 6) for seed in range(20)}
    assert len(delays) == 20


def test_retry_after_is_honoured_on_429_and_503_only() -> None:
    rng = random.Random(0)
    on_429 = decide(Attempt(429, "120"), 1, NOW, NOW, POLICY, rng)
    assert on_429.next_attempt_at == NOW + timedelta(seconds=120)
    on_500 = decide(Attempt(500, "120"), 1, NOW, NOW, POLICY, rng)
    assert on_500.next_attempt_at is not None and on_500.next_attempt_at <= NOW + timedelta(seconds=1)
    http_date = decide(Attempt(503, "Wed, 02 Dec 2026 12:00:30 GMT"), 1, NOW, NOW, POLICY, rng)
    assert http_date.next_attempt_at == NOW + timedelta(seconds=30)
    capped = decide(Attempt(429, "999999"), 1, NOW, NOW, POLICY, rng)
    assert capped.next_attempt_at == NOW + timedelta(seconds=600)


def test_retries_stop_at_the_maximum_age() -> None:
    assert verdict(503, first=NOW - timedelta(seconds=3599.9)) == Verdict.FAILED
    assert verdict(503, first=NOW - timedelta(seconds=3000)) == Verdict.RETRY


def test_retry_after_parsing() -> None:
    assert retry_after_seconds(" 7 ", NOW) == 7.0
    assert retry_after_seconds("soon", NOW) is None
    assert retry_after_seconds("Wed, 02 Dec 2026 11:59:00 GMT", NOW) == -60.0


def test_breaker() -> None:
    assert not breaker_opens(4, 5)
    assert breaker_opens(5, 5)
    assert not breaker_opens(1000, 0)
