"""Activity-type mutations: each returns ActivityTypePayload with the type as it is now, or typed errors."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.api.context import Info
from app.api.payloads import payload
from app.api.permissions import require
from app.api.registry.inputs import CreateActivityTypeInput, FieldInput, FieldUpdateInput, UpdateActivityTypeInput
from app.api.registry.types import ActivityType, ActivityTypePayload
from app.domain.access import Scope
from app.domain.registry_model import ActivityTypeSnapshot
from app.services import registry_admin as admin

ApiName = Annotated[str, strawberry.argument(description="apiName of the activity type.")]


def _payload(snapshot: ActivityTypeSnapshot) -> ActivityTypePayload:
    return ActivityTypePayload(activity_type=ActivityType.from_domain(snapshot))


@strawberry.type
class RegistryMutations:
    @strawberry.mutation(description="Define a new activity type (status DRAFT); approve it to accept activities.")
    @payload(ActivityTypePayload, prefix="input")
    async def create_activity_type(
        self, info: Info, input: Annotated[CreateActivityTypeInput, strawberry.argument(description="The type.")]
    ) -> ActivityTypePayload:
        principal = require(info, Scope.TYPES_ADMIN)
        definition = input.to_domain()
        return _payload(await admin.create(info.context.resources, principal, definition))

    @strawberry.mutation(description="Change names, description or primary field; goes to the draft.")
    @payload(ActivityTypePayload, prefix="input")
    async def update_activity_type(
        self,
        info: Info,
        api_name: ApiName,
        input: Annotated[UpdateActivityTypeInput, strawberry.argument(description="The changes.")],
    ) -> ActivityTypePayload:
        principal = require(info, Scope.TYPES_ADMIN)
        changes = input.to_changes()
        return _payload(await admin.update(info.context.resources, principal, api_name, changes))

    @strawberry.mutation(description="Add fields to the draft (additive when optional).")
    @payload(ActivityTypePayload)
    async def add_activity_type_fields(
        self,
        info: Info,
        api_name: ApiName,
        fields: Annotated[list[FieldInput], strawberry.argument(description="The new fields.")],
    ) -> ActivityTypePayload:
        principal = require(info, Scope.TYPES_ADMIN)
        specs = [f.to_domain() for f in fields]
        return _payload(await admin.add_fields(info.context.resources, principal, api_name, specs))

    @strawberry.mutation(description="Change one field (the primary one too) in the draft.")
    @payload(ActivityTypePayload)
    async def update_activity_type_field(
        self,
        info: Info,
        api_name: ApiName,
        field: Annotated[str, strawberry.argument(description="apiName of the field, or `primary`.")],
        input: Annotated[FieldUpdateInput, strawberry.argument(description="The changes.")],
    ) -> ActivityTypePayload:
        principal = require(info, Scope.TYPES_ADMIN)
        changes = input.to_changes()
        return _payload(await admin.update_field(info.context.resources, principal, api_name, field, changes))

    @strawberry.mutation(description="Remove an additional field from the draft (breaking once activities exist).")
    @payload(ActivityTypePayload)
    async def remove_activity_type_field(
        self,
        info: Info,
        api_name: ApiName,
        field: Annotated[str, strawberry.argument(description="apiName of the field.")],
    ) -> ActivityTypePayload:
        principal = require(info, Scope.TYPES_ADMIN)
        return _payload(await admin.remove_field(info.context.resources, principal, api_name, field))

    @strawberry.mutation(
        description="Approve the draft as the next live version; breaking changes are refused once activities exist."
    )
    @payload(ActivityTypePayload)
    async def approve_activity_type(self, info: Info, api_name: ApiName) -> ActivityTypePayload:
        principal = require(info, Scope.TYPES_ADMIN)
        return _payload(await admin.approve(info.context.resources, principal, api_name))

    @strawberry.mutation(description="Drop the pending draft; the live version stays as it is.")
    @payload(ActivityTypePayload)
    async def discard_activity_type_draft(self, info: Info, api_name: ApiName) -> ActivityTypePayload:
        principal = require(info, Scope.TYPES_ADMIN)
        return _payload(await admin.discard_draft(info.context.resources, principal, api_name))

    @strawberry.mutation(description="Soft-delete a type; refused while activities or running imports use it.")
    @payload(ActivityTypePayload)
    async def delete_activity_type(self, info: Info, api_name: ApiName) -> ActivityTypePayload:
        principal = require(info, Scope.TYPES_ADMIN)
        return _payload(await admin.delete(info.context.resources, principal, api_name))
