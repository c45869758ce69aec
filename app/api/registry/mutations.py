"""Activity-type mutations: each returns ActivityTypePayload with the type as it is now, or typed errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry
from sqlmodel.ext.asyncio.session import AsyncSession

from app.api.context import Info
from app.api.payloads import payload
from app.api.permissions import require
from app.api.registry.inputs import CreateActivityTypeInput, FieldInput, FieldUpdateInput, UpdateActivityTypeInput
from app.api.registry.types import ActivityType, ActivityTypePayload
from app.domain.access import Principal, Scope
from app.domain.registry_model import ActivityTypeSnapshot
from app.services import registry_admin as admin
from app.settings import Limits

ApiName = Annotated[str, strawberry.argument(description="apiName of the activity type.")]
Change = Callable[[AsyncSession, Principal, Limits], Awaitable[ActivityTypeSnapshot]]


async def _run(info: Info, change: Change) -> ActivityTypePayload:
    principal = require(info, Scope.TYPES_ADMIN)
    async with info.context.resources.db.session() as session:
        snapshot = await change(session, principal, info.context.settings.limits)
    return ActivityTypePayload(activity_type=ActivityType.from_domain(snapshot))


@strawberry.type
class RegistryMutations:
    @strawberry.mutation(description="Define a new activity type (status DRAFT); approve it to accept activities.")
    @payload(ActivityTypePayload, prefix="input")
    async def create_activity_type(
        self, info: Info, input: Annotated[CreateActivityTypeInput, strawberry.argument(description="The type.")]
    ) -> ActivityTypePayload:
        definition = input.to_domain()
        return await _run(info, lambda s, p, lim: admin.create(s, p, lim, definition))

    @strawberry.mutation(description="Change names, description or primary field; goes to the draft.")
    @payload(ActivityTypePayload, prefix="input")
    async def update_activity_type(
        self,
        info: Info,
        api_name: ApiName,
        input: Annotated[UpdateActivityTypeInput, strawberry.argument(description="The changes.")],
    ) -> ActivityTypePayload:
        changes = input.to_changes()
        return await _run(info, lambda s, p, lim: admin.update(s, p, lim, api_name, changes))

    @strawberry.mutation(description="Add fields to the draft (additive when optional).")
    @payload(ActivityTypePayload)
    async def add_activity_type_fields(
        self,
        info: Info,
        api_name: ApiName,
        fields: Annotated[list[FieldInput], strawberry.argument(description="The new fields.")],
    ) -> ActivityTypePayload:
        specs = [f.to_domain() for f in fields]
        return await _run(info, lambda s, p, lim: admin.add_fields(s, p, lim, api_name, specs))

    @strawberry.mutation(description="Change one field (the primary one too) in the draft.")
    @payload(ActivityTypePayload)
    async def update_activity_type_field(
        self,
        info: Info,
        api_name: ApiName,
        field: Annotated[str, strawberry.argument(description="apiName of the field, or `primary`.")],
        input: Annotated[FieldUpdateInput, strawberry.argument(description="The changes.")],
    ) -> ActivityTypePayload:
        changes = input.to_changes()
        return await _run(info, lambda s, p, lim: admin.update_field(s, p, lim, api_name, field, changes))

    @strawberry.mutation(description="Remove an additional field from the draft (breaking once activities exist).")
    @payload(ActivityTypePayload)
    async def remove_activity_type_field(
        self,
        info: Info,
        api_name: ApiName,
        field: Annotated[str, strawberry.argument(description="apiName of the field.")],
    ) -> ActivityTypePayload:
        return await _run(info, lambda s, p, lim: admin.remove_field(s, p, lim, api_name, field))

    @strawberry.mutation(
        description="Approve the draft as the next live version; breaking changes are refused once activities exist."
    )
    @payload(ActivityTypePayload)
    async def approve_activity_type(self, info: Info, api_name: ApiName) -> ActivityTypePayload:
        return await _run(info, lambda s, p, lim: admin.approve(s, p, lim, api_name))

    @strawberry.mutation(description="Drop the pending draft; the live version stays as it is.")
    @payload(ActivityTypePayload)
    async def discard_activity_type_draft(self, info: Info, api_name: ApiName) -> ActivityTypePayload:
        return await _run(info, lambda s, p, lim: admin.discard_draft(s, p, api_name))

    @strawberry.mutation(description="Soft-delete a type; refused while activities or running imports use it.")
    @payload(ActivityTypePayload)
    async def delete_activity_type(self, info: Info, api_name: ApiName) -> ActivityTypePayload:
        return await _run(info, lambda s, p, lim: admin.delete(s, p, api_name))
