"""Trigger queries and mutations; each root field needs triggers:admin, every change is audited."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

import strawberry

from app.api.activities.errors import FIRST_DESCRIPTION, checked_first
from app.api.context import Info
from app.api.global_ids import parsed_id, raw_id
from app.api.payloads import payload, query_errors
from app.api.permissions import require
from app.api.triggers.inputs import CreateTriggerInput, UpdateTriggerInput
from app.api.triggers.types import (
    CreateTriggerPayload,
    RedeliverPayload,
    ReplayTriggerPayload,
    RotateTriggerSecretPayload,
    Trigger,
    TriggerConnection,
    TriggerDelivery,
    TriggerPayload,
)
from app.domain.access import Scope
from app.domain.activities import parse_id
from app.domain.cursors import decode_uuid_cursor, encode_uuid_cursor
from app.domain.errors import DomainError, ErrorCode
from app.domain.triggers import Trigger as DomainTrigger
from app.services.triggers import admin, reads

ID_ARG = strawberry.argument(description="The trigger's id.")


def _trigger_id(raw: strawberry.ID, field: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(raw_id(raw, "Trigger"))
    except ValueError:
        raise DomainError.of(ErrorCode.NOT_FOUND, f"No trigger {str(raw)[:64]!r}.", field) from None


async def _change(change: Callable[[], Awaitable[DomainTrigger]]) -> TriggerPayload:
    return TriggerPayload(trigger=Trigger.from_domain(await change()), errors=[])


async def trigger_node(info: Info, id: str) -> Trigger | None:
    """Query.trigger, and node(id:) for a Trigger id."""
    require(info, Scope.TRIGGERS_ADMIN)
    trigger_id = parsed_id(id, "Trigger", uuid.UUID)
    found = await reads.get(info.context.resources, trigger_id) if trigger_id is not None else None
    return Trigger.from_domain(found) if found else None


async def delivery_node(info: Info, id: str) -> TriggerDelivery | None:
    """node(id:) for a TriggerDelivery id; the same scope as Trigger.deliveries."""
    require(info, Scope.TRIGGERS_ADMIN)
    number = parsed_id(id, "TriggerDelivery", parse_id)
    found = await reads.delivery(info.context.resources, number) if number is not None else None
    return TriggerDelivery.from_domain(found) if found else None


@strawberry.type
class TriggerQueries:
    @strawberry.field(description="Triggers (stable order by id). Needs triggers:admin.")
    @query_errors
    async def triggers(
        self, info: Info,
        first: Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor from a previous page.")] = None,
    ) -> TriggerConnection:
        require(info, Scope.TRIGGERS_ADMIN)
        size = checked_first(first, info.context.settings.limits.max_page_size)
        position = decode_uuid_cursor(after) if after is not None else None
        items, more = await reads.page(info.context.resources, size, position)
        return TriggerConnection.page(items, lambda t: encode_uuid_cursor(t.id), Trigger.from_domain,
                                      has_next=more, has_previous=after is not None)

    @strawberry.field(description="One trigger, or null. Needs triggers:admin.")
    async def trigger(self, info: Info, id: Annotated[strawberry.ID, ID_ARG]) -> Trigger | None:
        return await trigger_node(info, id)


@strawberry.type
class TriggerMutations:
    @strawberry.mutation(description="Create a trigger; its signing secret is in this response only. Needs "
                         "triggers:admin.")
    @payload(CreateTriggerPayload)
    async def create_trigger(
        self, info: Info, input: Annotated[CreateTriggerInput, strawberry.argument(description="The trigger.")]
    ) -> CreateTriggerPayload:
        actor = require(info, Scope.TRIGGERS_ADMIN)
        trigger, secret = await admin.create(info.context.resources, actor, input.to_domain())
        return CreateTriggerPayload(trigger=Trigger.from_domain(trigger), secret=secret, errors=[])

    @strawberry.mutation(description="Change a trigger (checked like a new one). Needs triggers:admin.")
    @payload(TriggerPayload)
    async def update_trigger(
        self, info: Info, id: Annotated[strawberry.ID, ID_ARG],
        input: Annotated[UpdateTriggerInput, strawberry.argument(description="The changes.")],
    ) -> TriggerPayload:
        actor = require(info, Scope.TRIGGERS_ADMIN)
        return await _change(lambda: admin.update(info.context.resources, actor, _trigger_id(id), input.to_domain()))

    @strawberry.mutation(description="Stop sending (deliveries keep being collected). Needs triggers:admin.")
    @payload(TriggerPayload)
    async def pause_trigger(self, info: Info, id: Annotated[strawberry.ID, ID_ARG]) -> TriggerPayload:
        actor = require(info, Scope.TRIGGERS_ADMIN)
        return await _change(lambda: admin.set_enabled(info.context.resources, actor, _trigger_id(id), False))

    @strawberry.mutation(description="Send again after a pause or an open circuit, oldest first. Needs "
                         "triggers:admin.")
    @payload(TriggerPayload)
    async def resume_trigger(self, info: Info, id: Annotated[strawberry.ID, ID_ARG]) -> TriggerPayload:
        actor = require(info, Scope.TRIGGERS_ADMIN)
        return await _change(lambda: admin.set_enabled(info.context.resources, actor, _trigger_id(id), True))

    @strawberry.mutation(description="Delete a trigger; what it has not sent is dropped. Needs triggers:admin.")
    @payload(TriggerPayload)
    async def delete_trigger(self, info: Info, id: Annotated[strawberry.ID, ID_ARG]) -> TriggerPayload:
        actor = require(info, Scope.TRIGGERS_ADMIN)
        return await _change(lambda: admin.delete(info.context.resources, actor, _trigger_id(id)))

    @strawberry.mutation(description="A new signing secret, in this response only; the old one keeps signing "
                         "too for a grace period. Needs triggers:admin.")
    @payload(RotateTriggerSecretPayload)
    async def rotate_trigger_secret(
        self, info: Info, id: Annotated[strawberry.ID, ID_ARG]
    ) -> RotateTriggerSecretPayload:
        actor = require(info, Scope.TRIGGERS_ADMIN)
        trigger, secret = await admin.rotate_secret(info.context.resources, actor, _trigger_id(id))
        return RotateTriggerSecretPayload(trigger=Trigger.from_domain(trigger), secret=secret, errors=[])

    @strawberry.mutation(description="Send a dead-lettered (or delivered) delivery again, with the same "
                         "webhook-id. Needs triggers:admin.")
    @payload(RedeliverPayload)
    async def redeliver(
        self, info: Info, delivery_id: Annotated[strawberry.ID, strawberry.argument(description="Delivery id.")]
    ) -> RedeliverPayload:
        actor = require(info, Scope.TRIGGERS_ADMIN)
        try:
            number = parse_id(raw_id(delivery_id, "TriggerDelivery"))
        except ValueError:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No such delivery.", "deliveryId") from None
        delivery = await admin.redeliver(info.context.resources, actor, number)
        return RedeliverPayload(delivery=TriggerDelivery.from_domain(delivery), errors=[])

    @strawberry.mutation(description="Queue again every stored activity the trigger matches that was ingested "
                         "at or after an instant (new deliveries). Needs triggers:admin.")
    @payload(ReplayTriggerPayload)
    async def replay_trigger(
        self, info: Info, id: Annotated[strawberry.ID, ID_ARG],
        ingested_after: Annotated[datetime, strawberry.argument(description="From this instant on.")],
    ) -> ReplayTriggerPayload:
        actor = require(info, Scope.TRIGGERS_ADMIN)
        if ingested_after.tzinfo is None:
            ingested_after = ingested_after.replace(tzinfo=UTC)
        trigger_id = _trigger_id(id)
        queued = await admin.replay(info.context.resources, actor, trigger_id, ingested_after)
        trigger = await reads.get(info.context.resources, trigger_id)
        return ReplayTriggerPayload(trigger=Trigger.from_domain(trigger) if trigger else None,
                                    queued_activities=queued, errors=[])
