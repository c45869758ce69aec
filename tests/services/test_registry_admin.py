"""Registry services on the database: live types follow approvals, versions stay readable, races are safe."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from app.domain.access import Principal
from app.domain.activity_types import ActivityTypeDefinition, FieldDataType, FieldSpec, TypeStatus
from app.domain.errors import DomainError, ErrorCode
from app.domain.validation import ValidatedRecord
from app.services import registry, registry_admin
from app.services.runtime import Resources

ADMIN = Principal.local_admin()


def definition(api_name: str = "webinar", name: str | None = None) -> ActivityTypeDefinition:
    return ActivityTypeDefinition(
        api_name=api_name,
        name=name or f"Attend {api_name}",
        trigger_name=f"Attends {api_name}",
        filter_name=f"Attended {api_name}",
        primary_field=FieldSpec("title", "Title", FieldDataType.STRING, required=True),
        fields=(FieldSpec("minutes", "Minutes", FieldDataType.INTEGER, min_value=0),),
    )


async def test_live_types_follow_approvals(resources: Resources) -> None:
    created = await registry_admin.create(resources, ADMIN, definition())
    assert created.status is TypeStatus.DRAFT
    assert "webinar" not in await registry.load_live_types(resources)
    await registry_admin.approve(resources, ADMIN, "webinar")
    live = (await registry.load_live_types(resources))["webinar"]
    assert live.version == 1 and not live.is_system
    assert live.validator.validate("Intro", {"minutes": "5"}, from_text=True) == ValidatedRecord(
        "Intro", {"minutes": 5}
    )
    await registry_admin.add_fields(resources, ADMIN, "WEBINAR", [FieldSpec("host", "Host", FieldDataType.EMAIL)])
    # The draft does not serve until approved.
    still = (await registry.load_live_types(resources))["webinar"]
    assert still.version == 1 and isinstance(still.validator.validate("x", {"host": "a@b.co"}), list)
    await registry_admin.approve(resources, ADMIN, "webinar")
    v2 = (await registry.load_live_types(resources))["webinar"]
    assert v2.version == 2 and v2.validator.validate("x", {"host": "a@b.co"}) == ValidatedRecord(
        "x", {"host": "a@b.co"}
    )
    # Old versions stay readable for activities recorded against them.
    assert await registry.get_definition(resources, created.id, 1) == definition()
    await registry_admin.delete(resources, ADMIN, "webinar")
    assert "webinar" not in await registry.load_live_types(resources)
    assert (await registry.get_type(resources, "webinar")) is not None


async def test_concurrent_creates_respect_the_type_limit(resources: Resources) -> None:
    limits = resources.settings.limits.model_copy(update={"max_activity_types": 3})
    three = Resources(settings=resources.settings.model_copy(update={"limits": limits}), db=resources.db,
                      queue=resources.queue)

    async def attempt(i: int) -> ErrorCode | None:
        try:
            await registry_admin.create(three, ADMIN, definition(f"t{i}"))
        except DomainError as error:
            return error.issues[0].code
        return None

    results = await asyncio.gather(*(attempt(i) for i in range(8)))
    assert results.count(None) == 3 and set(results) == {None, ErrorCode.LIMIT_EXCEEDED}


async def test_concurrent_duplicate_names_store_one(resources: Resources) -> None:
    async def attempt(i: int) -> ErrorCode | None:
        try:
            await registry_admin.create(resources, ADMIN, replace(definition(f"d{i}"), name="Same Name"))
        except DomainError as error:
            return error.issues[0].code
        return None

    results = await asyncio.gather(*(attempt(i) for i in range(5)))
    assert results.count(None) == 1 and set(results) == {None, ErrorCode.DUPLICATE}


async def test_audit_records_the_actor(resources: Resources) -> None:
    await registry_admin.create(resources, ADMIN, definition())
    async with resources.db.raw() as conn:
        row = await conn.fetchrow("SELECT actor, action, target, details FROM audit_log")
    assert row["actor"] == "local developer (local)" and row["action"] == "activityType.create"
    assert row["target"] == "webinar" and row["details"]["definition"]["apiName"] == "webinar"
