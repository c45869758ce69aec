"""Which pending deliveries of a trigger may be sent now: the concurrency limit and order per person."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Queued:
    """An unfinished delivery of one trigger as the scheduler sees it (oldest first by id)."""

    id: int
    persons: frozenset[int]
    in_flight: bool  # being sent (its lease has not expired)
    due_at: datetime


def eligible(queue: Sequence[Queued], limit: int, now: datetime) -> list[int]:
    """Ids to send now, oldest first: at most `limit` in flight in all, and never a delivery while an older
    unfinished one (sending, waiting for a retry, or not yet sent) shares a person with it, so each person's
    activities arrive in order. `queue` must hold every unfinished delivery older than the ones it returns."""
    room = limit - sum(1 for q in queue if q.in_flight)
    chosen: list[int] = []
    blocked: set[int] = set()
    for q in sorted(queue, key=lambda q: q.id):
        if room <= 0:
            break
        if not q.in_flight and q.due_at <= now and blocked.isdisjoint(q.persons):
            chosen.append(q.id)
            room -= 1
        blocked |= q.persons
    return chosen
