"""Trigger rows to domain objects, and the reads admins make (one trigger, a page, deliveries, stats)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.tables import ActivityTypeRow
from app.db.trigger_tables import TriggerDeliveryRow, WebhookTriggerRow
from app.domain.filters import FieldCondition, FieldOperator
from app.domain.triggers import Batch, Delivery, DeliveryStats, DeliveryStatus, Trigger, TriggerStatus


def conditions_json(where: tuple[FieldCondition, ...]) -> list[dict[str, Any]]:
    return [{"field": c.field, "op": c.op.value, "value": c.value} for c in where]


def to_trigger(row: WebhookTriggerRow, type_api_name: str) -> Trigger:
    where = tuple(FieldCondition(c["field"], FieldOperator(c["op"]), c.get("value")) for c in row.conditions)
    assert row.created_at is not None and row.updated_at is not None
    return Trigger(
        id=row.id, name=row.name, activity_type=type_api_name, activity_type_id=row.activity_type_id, where=where,
        url=row.url, description=row.description, status=TriggerStatus(row.status),
        batch=Batch(row.batch_max_size, row.batch_max_wait_ms), consecutive_failures=row.consecutive_failures,
        created_at=row.created_at, updated_at=row.updated_at, secret_rotated_at=row.secret_rotated_at,
    )


def to_delivery(row: TriggerDeliveryRow) -> Delivery:
    assert row.id is not None and row.created_at is not None
    return Delivery(
        id=row.id, trigger_id=row.trigger_id, status=DeliveryStatus(row.status), activity_ids=tuple(row.activity_ids),
        attempts=row.attempts, next_attempt_at=row.next_attempt_at, last_status_code=row.last_status_code,
        last_error=row.last_error, created_at=row.created_at, delivered_at=row.delivered_at,
    )


async def live_row(session: AsyncSession, trigger_id: uuid.UUID, *, lock: bool = False) -> WebhookTriggerRow | None:
    query = select(WebhookTriggerRow).where(
        col(WebhookTriggerRow.id) == trigger_id, col(WebhookTriggerRow.deleted_at).is_(None))
    if lock:
        query = query.with_for_update()
    return (await session.exec(query)).first()


async def type_name(session: AsyncSession, type_id: int) -> str:
    row = (await session.exec(select(ActivityTypeRow.api_name).where(col(ActivityTypeRow.id) == type_id))).first()
    return row or f"#{type_id}"


async def get(session: AsyncSession, trigger_id: uuid.UUID) -> Trigger | None:
    row = await live_row(session, trigger_id)
    return None if row is None else to_trigger(row, await type_name(session, row.activity_type_id))


async def delivery(session: AsyncSession, delivery_id: int) -> Delivery | None:
    """A delivery of a live trigger (a deleted trigger's deliveries are gone for readers, as for `redeliver`)."""
    row = await session.get(TriggerDeliveryRow, delivery_id)
    return None if row is None or await live_row(session, row.trigger_id) is None else to_delivery(row)


async def page(session: AsyncSession, first: int, after: uuid.UUID | None) -> tuple[list[Trigger], bool]:
    """Live triggers by id (uuid order: stable, not creation order), one more read to tell if a next page exists."""
    query = (select(WebhookTriggerRow, ActivityTypeRow.api_name)
             .join(ActivityTypeRow, col(ActivityTypeRow.id) == col(WebhookTriggerRow.activity_type_id))
             .where(col(WebhookTriggerRow.deleted_at).is_(None)).order_by(col(WebhookTriggerRow.id)).limit(first + 1))
    if after is not None:
        query = query.where(col(WebhookTriggerRow.id) > after)
    rows = (await session.exec(query)).all()
    return [to_trigger(r, name) for r, name in rows[:first]], len(rows) > first


async def deliveries(
    session: AsyncSession, trigger_id: uuid.UUID, first: int, before: int | None, status: DeliveryStatus | None
) -> tuple[list[Delivery], bool]:
    """Newest first (keyset on id)."""
    query = (select(TriggerDeliveryRow).where(col(TriggerDeliveryRow.trigger_id) == trigger_id)
             .order_by(col(TriggerDeliveryRow.id).desc()).limit(first + 1))
    if before is not None:
        query = query.where(col(TriggerDeliveryRow.id) < before)
    if status is not None:
        query = query.where(col(TriggerDeliveryRow.status) == status.value)
    rows = (await session.exec(query)).all()
    return [to_delivery(r) for r in rows[:first]], len(rows) > first


STATS_SQL = text(
    "SELECT coalesce(sum(cardinality(activity_ids)) FILTER (WHERE status = 'DELIVERED'), 0), "
    "coalesce(sum(cardinality(activity_ids)) FILTER (WHERE status = 'FAILED'), 0), "
    "coalesce(sum(cardinality(activity_ids)) FILTER (WHERE status IN ('PENDING', 'SENDING')), 0), "
    "(SELECT last_success_at FROM webhook_trigger WHERE id = :id) "
    "FROM trigger_delivery WHERE trigger_id = :id"
)


async def stats(session: AsyncSession, trigger_id: uuid.UUID) -> DeliveryStats:
    """Activities (not requests) delivered, dead-lettered and waiting; the last successful delivery."""
    delivered, failed, pending, last = (await (await session.connection()).execute(STATS_SQL, {"id": trigger_id})).one()
    return DeliveryStats(int(delivered), int(failed), int(pending), last)
