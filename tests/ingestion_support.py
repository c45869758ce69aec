"""Helpers for ingestion tests: approved activity types written straight to the registry tables."""

from __future__ import annotations

import json
from typing import Any

from app.domain.activity_types import ActivityTypeDefinition, FieldDataType, FieldSpec
from app.services.runtime import Resources


def deposit_definition(*, amount_max: float | None = None, extra: tuple[FieldSpec, ...] = ()) -> ActivityTypeDefinition:
    return ActivityTypeDefinition(
        api_name="depositCheck",
        name="Deposit Check",
        trigger_name="Deposits a check",
        filter_name="Deposited a check",
        primary_field=FieldSpec("branch", "Branch", FieldDataType.STRING, required=True),
        fields=(
            FieldSpec("amount", "Amount", FieldDataType.CURRENCY, required=True, max_value=amount_max),
            FieldSpec("currency", "Currency", FieldDataType.STRING),
            *extra,
        ),
    )


async def put_type(conn: Any, definition: ActivityTypeDefinition, *, approved: bool = True) -> int:
    """Create the type, or add an approved version to it; returns its id."""
    type_id = await conn.fetchval("SELECT id FROM activity_type WHERE lower(api_name) = lower($1)",
                                  definition.api_name)
    if type_id is None:
        type_id = await conn.fetchval(
            "INSERT INTO activity_type (api_name, name, trigger_name, filter_name, status, current_version, draft) "
            "VALUES ($1, $2, $3, $4, $5, NULL, $6) RETURNING id",
            definition.api_name, definition.name, definition.trigger_name, definition.filter_name,
            "APPROVED" if approved else "DRAFT", None if approved else json.dumps(definition.to_json()))
    if not approved:
        return int(type_id)
    version = await conn.fetchval(
        "SELECT coalesce(max(version), 0) + 1 FROM activity_type_version WHERE activity_type_id = $1", type_id)
    await conn.execute(
        "INSERT INTO activity_type_version (activity_type_id, version, definition, approved_by) "
        "VALUES ($1, $2, $3::jsonb, 'test')", type_id, version, json.dumps(definition.to_json()))
    await conn.execute("UPDATE activity_type SET current_version = $2, status = 'APPROVED' WHERE id = $1",
                       type_id, version)
    return int(type_id)


async def approved_type(resources: Resources, definition: ActivityTypeDefinition | None = None) -> int:
    async with resources.db.raw() as conn:
        return await put_type(conn, definition or deposit_definition())


def deposit(
    email: str = "ann@example.com", amount: Any = 120.5, key: str | None = "chk-1", **extra: Any
) -> dict[str, Any]:
    activity: dict[str, Any] = {
        "activityType": "depositCheck",
        "person": {"email": email},
        "occurredAt": "2026-11-02T10:00:00Z",
        "primaryValue": "Main St branch",
        "fields": {"amount": amount, "currency": "USD"},
    }
    if key is not None:
        activity["idempotencyKey"] = key
    activity.update(extra)
    return activity
