"""Trigger admin use cases (create, update, pause, resume, delete, rotate, redeliver, replay); all audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import trigger_repo
from app.db.activity_queries import COLUMNS
from app.db.trigger_tables import TriggerDeliveryRow, WebhookTriggerRow
from app.domain.access import Principal
from app.domain.activities import Activity
from app.domain.errors import DomainError, ErrorCode, Issue
from app.domain.filters import FieldCondition
from app.domain.triggers import Batch, Delivery, DeliveryStatus, Trigger, TriggerSpec, TriggerStatus, check_spec
from app.domain.webhook_signing import new_secret
from app.domain.webhook_urls import check_url
from app.services import audit
from app.services.runtime import Resources
from app.services.timelines import live_definitions
from app.services.triggers import store
from app.services.triggers.addresses import policy, resolve

REPLAY_PAGE = 10_000  # activities read per step of a replay
MAX_REPLAY = 1_000_000  # activities one replayTrigger may queue


@dataclass(frozen=True, slots=True)
class TriggerPatch:
    """The fields an update changes; None leaves a field as it is."""

    name: str | None = None
    activity_type: str | None = None
    where: tuple[FieldCondition, ...] | None = None
    url: str | None = None
    description: str | None = None
    enabled: bool | None = None
    batch: Batch | None = None


async def create(resources: Resources, actor: Principal, spec: TriggerSpec) -> tuple[Trigger, str]:
    """Store a trigger; returns it with its signing secret, which is shown this once."""
    type_id = await _checked(resources, spec)
    secret, trigger_id = new_secret(), uuid.uuid4()
    row = WebhookTriggerRow(
        id=trigger_id, name=spec.name.strip(), activity_type_id=type_id, conditions=store.conditions_json(spec.where),
        url=spec.url, description=spec.description, batch_max_size=spec.batch.max_size,
        batch_max_wait_ms=spec.batch.max_wait_ms, secret=resources.secret_box.seal(secret, str(trigger_id)),
        created_by=actor.id,
        status=(TriggerStatus.ACTIVE if spec.enabled else TriggerStatus.PAUSED).value,
    )
    async with resources.db.session() as session, session.begin():
        session.add(row)
        await audit.record(session, actor, "trigger.create", str(row.id), _details(spec))
        await _flush_named(session, spec.name)
        await session.refresh(row)
    return store.to_trigger(row, spec.activity_type), secret


async def update(resources: Resources, actor: Principal, trigger_id: uuid.UUID, patch: TriggerPatch) -> Trigger:
    async with resources.db.session() as session, session.begin():
        row = await _row(session, trigger_id)
        current = store.to_trigger(row, await store.type_name(session, row.activity_type_id))
        spec = TriggerSpec(
            name=patch.name if patch.name is not None else current.name,
            activity_type=patch.activity_type or current.activity_type,
            where=patch.where if patch.where is not None else current.where,
            url=patch.url or current.url,
            description=patch.description if patch.description is not None else current.description,
            enabled=patch.enabled if patch.enabled is not None else current.enabled,
            batch=patch.batch or current.batch,
        )
        row.activity_type_id = await _checked(resources, spec)
        row.name, row.url, row.description = spec.name.strip(), spec.url, spec.description
        row.conditions = store.conditions_json(spec.where)
        row.batch_max_size, row.batch_max_wait_ms = spec.batch.max_size, spec.batch.max_wait_ms
        if patch.enabled is not None:
            row.status = _enabled_status(row, patch.enabled)
        row.updated_at = datetime.now(UTC)
        await audit.record(session, actor, "trigger.update", str(trigger_id), _details(spec))
        await _flush_named(session, spec.name)
        return store.to_trigger(row, spec.activity_type)


async def set_enabled(resources: Resources, actor: Principal, trigger_id: uuid.UUID, enabled: bool) -> Trigger:
    """Pause (keeps collecting deliveries, sends none) or resume (also closes an open circuit)."""
    async with resources.db.session() as session, session.begin():
        row = await _row(session, trigger_id)
        before = row.status
        row.status = _enabled_status(row, enabled)
        row.updated_at = datetime.now(UTC)
        action = "trigger.resume" if enabled else "trigger.pause"
        await audit.record(session, actor, action, str(trigger_id), {"from": before, "to": row.status})
        return store.to_trigger(row, await store.type_name(session, row.activity_type_id))


async def delete(resources: Resources, actor: Principal, trigger_id: uuid.UUID) -> Trigger:
    """Soft-delete; its unsent deliveries are never sent."""
    async with resources.db.session() as session, session.begin():
        row = await _row(session, trigger_id)
        row.deleted_at = row.updated_at = datetime.now(UTC)
        await audit.record(session, actor, "trigger.delete", str(trigger_id), {"name": row.name})
        return store.to_trigger(row, await store.type_name(session, row.activity_type_id))


async def rotate_secret(resources: Resources, actor: Principal, trigger_id: uuid.UUID) -> tuple[Trigger, str]:
    """A new secret, shown once; the old one keeps signing too for `triggers.secret_grace_hours`."""
    grace = timedelta(hours=resources.settings.triggers.secret_grace_hours)
    async with resources.db.session() as session, session.begin():
        row = await _row(session, trigger_id)
        now = datetime.now(UTC)
        secret = new_secret()
        row.previous_secret, row.previous_secret_until = row.secret, now + grace
        row.secret, row.secret_rotated_at, row.updated_at = resources.secret_box.seal(secret, str(row.id)), now, now
        await audit.record(session, actor, "trigger.rotateSecret", str(trigger_id),
                           {"previousValidUntil": row.previous_secret_until.isoformat()})
        return store.to_trigger(row, await store.type_name(session, row.activity_type_id)), secret


async def redeliver(resources: Resources, actor: Principal, delivery_id: int) -> Delivery:
    """Send a dead-lettered (or delivered) delivery again, with the same webhook-id and a fresh retry window."""
    async with resources.db.session() as session, session.begin():
        row = await session.get(TriggerDeliveryRow, delivery_id, with_for_update=True)
        if row is None or await store.live_row(session, row.trigger_id) is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, f"No delivery {delivery_id}.", "deliveryId")
        if row.status not in (DeliveryStatus.FAILED.value, DeliveryStatus.DELIVERED.value):
            raise DomainError.of(ErrorCode.INVALID_STATE, f"The delivery is {row.status}; it will be sent anyway.",
                                 "deliveryId")
        row.status, row.next_attempt_at, row.first_attempt_at = DeliveryStatus.PENDING.value, datetime.now(UTC), None
        await audit.record(session, actor, "trigger.redeliver", str(row.trigger_id), {"deliveryId": delivery_id})
        await (await session.connection()).execute(text("SELECT pg_notify('trigger_delivery', '')"))
        return store.to_delivery(row)


async def replay(resources: Resources, actor: Principal, trigger_id: uuid.UUID, ingested_after: datetime) -> int:
    """Queue again every stored activity the trigger matches that was ingested at or after `ingested_after`
    (new deliveries, sent after those already waiting); returns how many activities were queued."""
    async with resources.db.session() as session:
        trigger = await store.get(session, trigger_id)
    if trigger is None:
        raise DomainError.of(ErrorCode.NOT_FOUND, f"No trigger {trigger_id}.", "id")
    flt = check_spec(TriggerSpec(trigger.name, trigger.activity_type, trigger.where, trigger.url),
                     await live_definitions(resources))
    queued, after = 0, (ingested_after, 0)
    sql = (f"SELECT {COLUMNS} FROM activity WHERE activity_type_id = $1 AND (ingested_at, id) > ($2, $3) "
           "ORDER BY ingested_at, id LIMIT $4")
    async with resources.db.raw() as conn:
        while queued < MAX_REPLAY:
            rows = await conn.fetch(sql, trigger.activity_type_id, after[0], after[1], REPLAY_PAGE)
            if not rows:
                break
            found = [Activity(*r) for r in rows]
            after = (found[-1].ingested_at, found[-1].id)
            keys = [(a.id, a.person_id, a.occurred_at) for a in found if flt.matches(a)][:MAX_REPLAY - queued]
            async with conn.transaction():
                await trigger_repo.insert_deliveries(conn, trigger_id, keys, trigger.batch.max_size,
                                                   resources.settings.triggers.concurrency_per_trigger)
                await conn.execute("SELECT pg_notify('trigger_delivery', '')")
            queued += len(keys)
    async with resources.db.session() as session, session.begin():
        await audit.record(session, actor, "trigger.replay", str(trigger_id),
                           {"ingestedAfter": ingested_after.isoformat(), "activities": queued})
    return queued


async def _checked(resources: Resources, spec: TriggerSpec) -> int:
    """Every issue of the spec and its URL at once; the id of its activity type."""
    issues: list[Issue] = []
    type_id = 0
    try:
        resolved = check_spec(spec, await live_definitions(resources))
        type_id = (resolved.type_ids or (0,))[0]
    except DomainError as error:
        issues += error.issues
    rules = policy(resources.settings)
    try:
        parts = check_url(spec.url, rules, "input.url")
        await resolve(parts.hostname or "", parts.port or 443, rules, "input.url")
    except DomainError as error:
        issues += error.issues
    if issues:
        raise DomainError(issues)
    return type_id


async def _row(session: AsyncSession, trigger_id: uuid.UUID) -> WebhookTriggerRow:
    row = await store.live_row(session, trigger_id, lock=True)
    if row is None:
        raise DomainError.of(ErrorCode.NOT_FOUND, f"No trigger {trigger_id}.", "id")
    return row


async def _flush_named(session: AsyncSession, name: str) -> None:
    try:
        await session.flush()
    except IntegrityError as error:
        raise DomainError.of(ErrorCode.DUPLICATE, f"A trigger named {name.strip()!r} exists.", "input.name") from error


def _enabled_status(row: WebhookTriggerRow, enabled: bool) -> str:
    if enabled:
        row.consecutive_failures = 0
        return TriggerStatus.ACTIVE.value
    return TriggerStatus.PAUSED.value


def _without_query(url: str) -> str:
    """A URL as the audit log keeps it: receivers often put a token in the query, and secrets are not logged."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")) if parts.query or parts.fragment else url


def _details(spec: TriggerSpec) -> dict[str, object]:
    """What the audit log keeps of a spec (never the secret)."""
    return {"name": spec.name, "activityType": spec.activity_type, "url": _without_query(spec.url),
            "where": store.conditions_json(spec.where), "enabled": spec.enabled,
            "batch": {"maxSize": spec.batch.max_size, "maxWaitMs": spec.batch.max_wait_ms}}



