"""SQL of the delivery path on raw asyncpg: the outbox, deliveries (insert, claim, outcome) and their activities."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.db.activity_queries import COLUMNS
from app.domain.activities import Activity
from app.domain.triggers import lane_batches

ActivityKey = tuple[int, int, datetime]  # (id, person_id, occurred_at): the primary key, id first for ordering

# No row locks: only the fan-out deletes outbox rows and it runs under an advisory lock (and Citus locks rows
# only in single-shard queries). On Citus ids come from each node's own range: in order per node, so per person.
TAKE_OUTBOX = (
    "SELECT id, activity_ids, person_ids, occurred_ats, type_ids, created_at, clock_timestamp() AS now "
    "FROM trigger_outbox ORDER BY id LIMIT $1"
)
LIVE_TRIGGERS = (
    "SELECT id, activity_type_id, conditions, batch_max_size, batch_max_wait_ms FROM webhook_trigger "
    "WHERE deleted_at IS NULL"
)
INSERT_DELIVERY = (
    "INSERT INTO trigger_delivery (trigger_id, status, activity_ids, person_ids, occurred_ats) "
    "VALUES ($1, 'PENDING', $2, $3, $4)"
)
KEYS_JOIN = (
    "JOIN unnest($1::bigint[], $2::bigint[], $3::timestamptz[]) AS k(i, p, o) "
    "ON a.person_id = k.p AND a.occurred_at = k.o AND a.id = k.i"
)
FETCH_ACTIVITIES = (
    f"SELECT {', '.join('a.' + c.strip() for c in COLUMNS.split(','))} FROM activity a {KEYS_JOIN} ORDER BY a.id"
)


def _instant(column: str) -> str:
    """An instant as Python's `isoformat()` of a UTC datetime writes it (so as the GraphQL DateTime does):
    microseconds only when there are some."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN date_part('microseconds', {column})::bigint "
            f"% 1000000 = 0 THEN '' ELSE to_char({utc}, '.US') END || '+00:00'")


# The payload of each activity (`activity_payload`'s shape, key for key) built by PostgreSQL: the worker passes
# the text through instead of decoding rows, building dicts and encoding them (~60 us an activity in Python).
# $4: the batch of each key (several deliveries' activities in one round trip).
FETCH_PAYLOADS = (
    "SELECT k.b, json_build_object('id', a.id::text, 'activityType', json_build_object('apiName', t.api_name), "
    "'typeVersion', a.type_version, 'person', json_build_object('id', a.person_id::text), "
    f"'occurredAt', {_instant('a.occurred_at')}, 'ingestedAt', {_instant('a.ingested_at')}, "
    "'primaryValue', a.primary_value, 'fields', a.fields, 'idempotencyKey', a.idempotency_key)::text "
    "FROM activity a JOIN unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::int[]) AS k(i, p, o, b) "
    "ON a.person_id = k.p AND a.occurred_at = k.o AND a.id = k.i "
    "JOIN activity_type t ON t.id = a.activity_type_id ORDER BY k.b, a.id"
)


async def take_outbox(conn: Any, limit: int) -> list[Any]:
    """The oldest committed outbox rows (the caller holds the fan-out lock and deletes them)."""
    return list(await conn.fetch(TAKE_OUTBOX, limit))


async def delete_outbox(conn: Any, ids: Sequence[int]) -> None:
    await conn.execute("DELETE FROM trigger_outbox WHERE id = ANY($1::bigint[])", list(ids))


async def insert_deliveries(
    conn: Any, trigger_id: uuid.UUID, items: Sequence[ActivityKey], size: int, lanes: int = 1
) -> int:
    """PENDING deliveries of `items` (in the given order) in batches of `size` (`lane_batches`); returns how many
    were made."""
    if not items:
        return 0
    made = lane_batches(items, size, lanes, lambda k: k[1])
    rows = [(trigger_id, [k[0] for k in b], [k[1] for k in b], [k[2] for k in b]) for b in made]
    await conn.executemany(INSERT_DELIVERY, rows)
    return len(rows)


async def fetch_activities(conn: Any, keys: Sequence[ActivityKey]) -> list[Activity]:
    """The activities still stored among `keys` (an erased person's are gone), by id."""
    rows = await conn.fetch(FETCH_ACTIVITIES, [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys])
    return [Activity(*r) for r in rows]


async def fetch_payloads(conn: Any, batches: Sequence[Sequence[ActivityKey]]) -> list[list[str]]:
    """For each batch of keys, the JSON text of each of its activities still stored (an erased person's are
    gone), by id; one round trip for them all."""
    keys = [k for b in batches for k in b]
    which = [n for n, b in enumerate(batches) for _ in b]
    found: list[list[str]] = [[] for _ in batches]
    for n, payload in await conn.fetch(FETCH_PAYLOADS, [k[0] for k in keys], [k[1] for k in keys],
                                       [k[2] for k in keys], which):
        found[n].append(payload)
    return found


# Outcomes are recorded in bulk by the loop, in the transaction of its next claim: a delivery costs no round trip
# of its own to finish. The outcomes, then each trigger's failure count; no row: the lease expired and another worker
# took the delivery over. (Two statements: Citus does not run a modifying CTE across a local and a reference table.)
CLOCK = "(SELECT now() AS now) clock"
FINISH = (
    "UPDATE trigger_delivery d SET status = o.status, lease_until = NULL, "
    "next_attempt_at = coalesce(o.next_at, d.next_attempt_at), last_status_code = o.code, last_error = o.error, "
    "delivered_at = CASE WHEN o.status = 'DELIVERED' THEN clock.now END "
    "FROM unnest($1::bigint[], $2::int[], $3::text[], $4::timestamptz[], $5::int[], $6::text[]) "
    f"AS o(id, attempts, status, next_at, code, error), {CLOCK} "
    "WHERE d.id = o.id AND d.attempts = o.attempts AND d.status = 'SENDING' RETURNING d.id"
)
# $2: a delivery succeeded; $3: the failures after the last success (or all of them, with none).
COUNT_OUTCOMES = (
    "UPDATE webhook_trigger SET consecutive_failures = CASE WHEN $2 THEN $3 ELSE consecutive_failures + $3 END, "
    f"last_success_at = CASE WHEN $2 THEN clock.now ELSE last_success_at END FROM {CLOCK} WHERE id = $1 "
    "RETURNING consecutive_failures, status"
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The end of one attempt, waiting to be recorded."""

    delivery_id: int
    attempts: int
    trigger_id: uuid.UUID
    state: str  # DELIVERED, PENDING (a retry) or FAILED
    next_attempt_at: datetime | None
    status_code: int | None
    detail: str | None


async def record_outcomes(conn: Any, outcomes: list[Outcome]) -> list[tuple[uuid.UUID, Any]]:
    """Record `outcomes` (in the caller's transaction), then count each trigger's failures in a row, in the
    order the attempts ended; returns each counted trigger's failures and status."""
    if not outcomes:
        return []
    finished = {r[0] for r in await conn.fetch(
        FINISH, [o.delivery_id for o in outcomes], [o.attempts for o in outcomes], [o.state for o in outcomes],
        [o.next_attempt_at for o in outcomes], [o.status_code for o in outcomes], [o.detail for o in outcomes])}
    runs: dict[uuid.UUID, tuple[bool, int]] = {}  # trigger: (a success among them, failures since the last one)
    for o in outcomes:
        if o.delivery_id in finished:
            succeeded, failures = runs.get(o.trigger_id, (False, 0))
            runs[o.trigger_id] = (True, 0) if o.state == "DELIVERED" else (succeeded, failures + 1)
    return [(t, await conn.fetchrow(COUNT_OUTCOMES, t, succeeded, failures))
            for t, (succeeded, failures) in runs.items()]
