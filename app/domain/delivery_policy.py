"""What happens after a delivery attempt: delivered, retried later (backoff with jitter, Retry-After) or failed."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})  # besides every other 5xx
RETRY_AFTER_STATUSES = frozenset({429, 503})


class Verdict(StrEnum):
    """The outcome of one attempt."""

    DELIVERED = "DELIVERED"
    RETRY = "RETRY"
    FAILED = "FAILED"  # dead-lettered: a 4xx other than 408/425/429, or retries exhausted


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff from `base_seconds`, capped at `max_delay_seconds`, for at most `max_age_seconds`."""

    base_seconds: float = 1.0
    max_delay_seconds: float = 3600.0
    max_age_seconds: float = 24 * 3600.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """The pause after failed attempt number `attempt` (1-based): half fixed, half random ("equal jitter"),
        so retries of a receiver's many deliveries spread out instead of arriving together."""
        ceiling = min(self.max_delay_seconds, self.base_seconds * 2.0 ** min(attempt - 1, 40))
        return float(ceiling / 2 + rng.uniform(0, ceiling / 2))


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt produced: an HTTP status with its Retry-After header, or a transport error (no status)."""

    status: int | None
    retry_after: str | None = None
    error: str | None = None
    refused: bool = False  # the URL or its address broke the safety rules at send time: never retried
    connect_failed: bool = False  # no connection was made (the sender tries the host's next checked address)


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    next_attempt_at: datetime | None = None
    reason: str = ""


def decide(attempt: Attempt, number: int, first_attempt_at: datetime, now: datetime, policy: RetryPolicy,
           rng: random.Random) -> Decision:
    """The verdict on attempt `number` of a delivery first tried at `first_attempt_at`."""
    status = attempt.status
    if attempt.refused:
        return Decision(Verdict.FAILED, reason=attempt.error or "refused by the URL rules")
    if status is not None and 200 <= status < 300:
        return Decision(Verdict.DELIVERED)
    if status is not None and status < 500 and status not in RETRY_STATUSES:
        return Decision(Verdict.FAILED, reason=f"HTTP {status}: not retried")
    reason = f"HTTP {status}" if status is not None else (attempt.error or "connection failed")
    delay = policy.backoff(number, rng)
    if status in RETRY_AFTER_STATUSES and attempt.retry_after is not None:
        asked = retry_after_seconds(attempt.retry_after, now)
        if asked is not None:
            delay = min(max(asked, 0.0), policy.max_delay_seconds)
    when = now + timedelta(seconds=delay)
    if (when - first_attempt_at).total_seconds() > policy.max_age_seconds:
        return Decision(Verdict.FAILED, reason=f"{reason}; retries exhausted")
    return Decision(Verdict.RETRY, when, reason)


def retry_after_seconds(value: str, now: datetime) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date; None if unreadable."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return (when - now).total_seconds()


def breaker_opens(consecutive_failures: int, threshold: int) -> bool:
    """Whether a trigger pauses itself: `threshold` failed attempts in a row (0 disables the breaker)."""
    return threshold > 0 and consecutive_failures >= threshold
