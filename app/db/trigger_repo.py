"""SQL of the delivery path on raw asyncpg: the outbox, deliveries (insert, claim, outcome) and their activities."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from app.db.activity_queries import COLUMNS
from app.domain.activities import Activity
from app.domain.triggers import batches

ActivityKey = tuple[int, int, datetime]  # (id, person_id, occurred_at): the primary key, id first for ordering

# No row locks: only the fan-out deletes outbox rows and it runs under an advisory lock (and Citus locks rows
# only in single-shard queries). On Citus ids come from each node's own range: in order per node, so per person.
TAKE_OUTBOX = "SELECT id, activity_ids, person_ids, occurred_ats, type_ids FROM trigger_outbox ORDER BY id LIMIT $1"
LIVE_TRIGGERS = (
    "SELECT id, activity_type_id, conditions, batch_max_size FROM webhook_trigger WHERE deleted_at IS NULL"
)
INSERT_DELIVERY = (
    "INSERT INTO trigger_delivery (trigger_id, status, activity_ids, person_ids, occurred_ats) "
    "VALUES ($1, 'PENDING', $2, $3, $4)"
)
FETCH_ACTIVITIES = (
    f"SELECT {', '.join('a.' + c.strip() for c in COLUMNS.split(','))} FROM activity a "
    "JOIN unnest($1::bigint[], $2::bigint[], $3::timestamptz[]) AS k(i, p, o) "
    "ON a.person_id = k.p AND a.occurred_at = k.o AND a.id = k.i ORDER BY a.id"
)


async def take_outbox(conn: Any, limit: int) -> list[Any]:
    """The oldest committed outbox rows (the caller holds the fan-out lock and deletes them)."""
    return list(await conn.fetch(TAKE_OUTBOX, limit))


async def delete_outbox(conn: Any, ids: Sequence[int]) -> None:
    await conn.execute("DELETE FROM trigger_outbox WHERE id = ANY($1::bigint[])", list(ids))


async def insert_deliveries(conn: Any, trigger_id: uuid.UUID, items: Sequence[ActivityKey], size: int) -> int:
    """PENDING deliveries of `items` (in the given order) in batches of `size`; returns how many were made."""
    if not items:
        return 0
    rows = [(trigger_id, [k[0] for k in b], [k[1] for k in b], [k[2] for k in b]) for b in batches(items, size)]
    await conn.executemany(INSERT_DELIVERY, rows)
    return len(rows)


async def fetch_activities(conn: Any, keys: Sequence[ActivityKey]) -> list[Activity]:
    """The activities still stored among `keys` (an erased person's are gone), by id."""
    rows = await conn.fetch(FETCH_ACTIVITIES, [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys])
    return [Activity(*r) for r in rows]
