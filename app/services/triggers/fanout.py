"""The fan-out: committed outbox rows become PENDING deliveries of every trigger they match, in one transaction.

The outbox row is deleted in the transaction that creates its deliveries, so a crash before the commit leaves
the row for the next fan-out (nothing lost) and one after it leaves nothing to redo (nothing doubled). One
fan-out runs at a time (an advisory lock), so deliveries are made in the order outbox rows became visible."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.db import trigger_repo
from app.db.trigger_repo import ActivityKey
from app.domain.activity_types import ActivityTypeDefinition
from app.domain.errors import DomainError
from app.domain.filters import FieldCondition, FieldOperator, ResolvedFilter, TimelineFilter, resolve
from app.services.runtime import Resources
from app.services.timelines import live_definitions

logger = logging.getLogger(__name__)

FANOUT_LOCK = 0x7472696767657273  # "triggers": one fan-out at a time across every worker
OUTBOX_ROWS = 20  # outbox rows (statements, up to a chunk of activities each) per fan-out transaction


def trigger_filter(
    type_id: int, conditions: list[dict[str, Any]], definitions: Mapping[int, ActivityTypeDefinition]
) -> ResolvedFilter | None:
    """The trigger's filter against the live types; None if its type is gone or a condition no longer applies."""
    definition = definitions.get(type_id)
    if definition is None:
        return None
    where = tuple(FieldCondition(c["field"], FieldOperator(c["op"]), c.get("value")) for c in conditions)
    try:
        return resolve(TimelineFilter(activity_types=(definition.api_name,), where=where), definitions)
    except DomainError as error:
        logger.warning("a trigger's conditions no longer fit type %s: %s", definition.api_name, error)
        return None


@dataclass(frozen=True, slots=True)
class FanOut:
    consumed: int  # outbox rows made into deliveries (0: none left, held, or another worker is fanning out)
    hold: float = 0.0  # seconds the rows taken are left for a partial batch to grow


def hold_seconds(rows: Sequence[Any], triggers: Sequence[Any]) -> float:
    """How long to leave a partial batch in the outbox for more activities to join it: the smallest
    `batch.maxWaitMs` of the triggers, minus the age of the oldest outbox row; 0 once that has passed or a
    batch is full (the fan-out is shared, so the most impatient trigger sets the pace)."""
    wait = min((t["batch_max_wait_ms"] for t in triggers), default=0)
    if wait <= 0 or sum(len(r["activity_ids"]) for r in rows) >= min(t["batch_max_size"] for t in triggers):
        return 0.0
    age_ms = (rows[0]["now"] - min(r["created_at"] for r in rows)).total_seconds() * 1000
    return float(max(wait - age_ms, 0.0)) / 1000


async def fan_out(resources: Resources, lanes: int = 1) -> FanOut:
    """Turn up to OUTBOX_ROWS outbox rows into deliveries (split into `lanes` groups of persons when there are
    many, see `lane_batches`), unless they are left to grow (`hold_seconds`, decided on the very rows taken, so
    rows committed meanwhile cannot slip past a hold)."""
    async with resources.db.raw() as conn, conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", FANOUT_LOCK):
            return FanOut(0)
        rows = await trigger_repo.take_outbox(conn, OUTBOX_ROWS)
        if not rows:
            return FanOut(0)
        triggers = await conn.fetch(trigger_repo.LIVE_TRIGGERS)
        hold = hold_seconds(rows, triggers)
        if hold:
            return FanOut(0, hold)
        definitions = await live_definitions(resources) if any(t["conditions"] for t in triggers) else {}
        made = 0
        for trigger in triggers:
            items = await _matching(conn, rows, trigger, definitions)
            made += await trigger_repo.insert_deliveries(conn, trigger["id"], items, trigger["batch_max_size"], lanes)
        await trigger_repo.delete_outbox(conn, [r["id"] for r in rows])
        if made:
            await conn.execute("SELECT pg_notify('trigger_delivery', '')")
    return FanOut(len(rows))


async def _matching(
    conn: Any, rows: list[Any], trigger: Any, definitions: Mapping[int, ActivityTypeDefinition]
) -> list[ActivityKey]:
    type_id = trigger["activity_type_id"]
    keys: list[ActivityKey] = []
    for row in rows:
        keys += [(i, p, o) for i, p, o, t in zip(row["activity_ids"], row["person_ids"], row["occurred_ats"],
                                                   row["type_ids"], strict=True) if t == type_id]
    keys.sort()  # by activity id: on Citus one statement's activities come in one outbox row per shard
    if not keys or not trigger["conditions"]:
        return keys
    flt = trigger_filter(type_id, trigger["conditions"], definitions)
    if flt is None:
        return []
    order = {k[0]: n for n, k in enumerate(keys)}
    matched = [a for a in await trigger_repo.fetch_activities(conn, keys) if flt.matches(a)]
    matched.sort(key=lambda a: order[a.id])
    return [(a.id, a.person_id, a.occurred_at) for a in matched]

