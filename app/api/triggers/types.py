"""GraphQL Trigger, TriggerDelivery, their connections, stats and the mutation payloads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from app.api.activities.errors import FIRST_DESCRIPTION, checked_first
from app.api.activities.inputs import FieldOperator
from app.api.connections import KEYSET_CURSOR, Connection, connection
from app.api.context import Info
from app.api.enums import described_enum
from app.api.errors import UserError
from app.api.global_ids import ROW_ID, Node, to_global_id
from app.api.payloads import query_errors
from app.domain import triggers as domain
from app.domain.cursors import decode_id_cursor, encode_id_cursor
from app.services.triggers import reads

TriggerStatusEnum = described_enum(
    domain.TriggerStatus, name="TriggerStatus",
    description="ACTIVE sends; PAUSED (by an admin) and CIRCUIT_OPEN (after too many failures in a row) keep "
    "collecting deliveries and send none until `resumeTrigger`.",
    values={
        "ACTIVE": "Sends deliveries.",
        "PAUSED": "Paused by an admin: collects deliveries, sends none.",
        "CIRCUIT_OPEN": "Paused after too many failures in a row: collects deliveries, sends none.",
    },
)
DeliveryStatusEnum = described_enum(
    domain.DeliveryStatus, name="TriggerDeliveryStatus",
    description="PENDING (waiting, maybe for a retry), SENDING, DELIVERED (2xx), FAILED (dead-lettered: a 4xx, a "
    "refused address, or retries exhausted; `redeliver` sends it again).",
    values={
        "PENDING": "Waiting to be sent, maybe for a retry.",
        "SENDING": "Being sent now.",
        "DELIVERED": "The receiver answered 2xx.",
        "FAILED": "Dead-lettered: a 4xx, a refused address, or retries exhausted.",
    },
)


@strawberry.type(description="A field condition of a trigger, as it was given.")
class TriggerCondition:
    field: str = strawberry.field(description='API name of an additional field, or "primary".')
    op: FieldOperator = strawberry.field(description="Operator.")  # type: ignore[valid-type]
    value: JSON | None = strawberry.field(description="Operand.")


@strawberry.type(description="How activities are grouped into requests.")
class TriggerBatch:
    max_size: int = strawberry.field(description="At most this many activities a request.")
    max_wait_ms: int = strawberry.field(description="A partial batch waits at most this long for more activities.")


@strawberry.type(description="Activities (not requests) of a trigger by delivery state, and the last success.")
class TriggerStats:
    delivered: int = strawberry.field(description="Activities in delivered requests.")
    failed: int = strawberry.field(description="Activities in dead-lettered requests.")
    pending: int = strawberry.field(description="Activities waiting to be sent (or being sent).")
    last_success_at: datetime | None = strawberry.field(description="When a request last succeeded.")


@strawberry.type(description="One signed POST of a batch of activities; retried until delivered or dead-lettered.")
class TriggerDelivery(Node):
    row_id: strawberry.ID = strawberry.field(description=ROW_ID)
    webhook_id: str = strawberry.field(description="The `webhook-id` header: the same on every attempt.")
    status: DeliveryStatusEnum = strawberry.field(description="Where it stands.")  # type: ignore[valid-type]
    activity_ids: list[strawberry.ID] = strawberry.field(
        description="The activities it carries, in order: their `rowId`s, as in the webhook payload."
    )
    attempts: int = strawberry.field(description="Attempts made so far.")
    next_attempt_at: datetime | None = strawberry.field(description="When it is tried next (while PENDING).")
    last_status_code: int | None = strawberry.field(description="HTTP status of the last attempt, if any.")
    last_error: str | None = strawberry.field(description="Why the last attempt failed (start of the answer).")
    created_at: datetime = strawberry.field(description="When it was made.")
    delivered_at: datetime | None = strawberry.field(description="When the receiver accepted it.")

    @classmethod
    def from_domain(cls, d: domain.Delivery) -> TriggerDelivery:
        return cls(
            id=to_global_id("TriggerDelivery", d.id), row_id=strawberry.ID(str(d.id)),
            webhook_id=d.webhook_id, status=d.status,
            activity_ids=[strawberry.ID(str(i)) for i in d.activity_ids], attempts=d.attempts,
            next_attempt_at=d.next_attempt_at if d.status is domain.DeliveryStatus.PENDING else None,
            last_status_code=d.last_status_code, last_error=d.last_error, created_at=d.created_at,
            delivered_at=d.delivered_at,
        )


@connection("A page of a trigger's deliveries, newest first.", edges="The deliveries on this page.",
            edge="A delivery and the opaque cursor that points at it.", node="The delivery.", cursor=KEYSET_CURSOR)
class TriggerDeliveryConnection(Connection[TriggerDelivery]):
    pass


@strawberry.type(description="Pushes matching activities of one type to a webhook URL as they are stored.")
class Trigger(Node):
    row_id: strawberry.ID = strawberry.field(description=ROW_ID)
    name: str = strawberry.field(description="Unique name (case-insensitive).")
    activity_type: str = strawberry.field(description="API name of the activity type it watches.")
    where: list[TriggerCondition] = strawberry.field(description="Field conditions; all must hold.")
    url: str = strawberry.field(description="Where deliveries are POSTed.")
    description: str | None = strawberry.field(description="Free text.")
    enabled: bool = strawberry.field(description="True when ACTIVE.")
    status: TriggerStatusEnum = strawberry.field(description="ACTIVE, PAUSED or CIRCUIT_OPEN.")  # type: ignore[valid-type]
    batch: TriggerBatch = strawberry.field(description="Batching of activities into requests.")
    consecutive_failures: int = strawberry.field(description="Failed attempts in a row (the breaker counts these).")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    secret_rotated_at: datetime | None = strawberry.field(description="When its signing secret was last rotated.")
    trigger_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_domain(cls, t: domain.Trigger) -> Trigger:
        return cls(
            id=to_global_id("Trigger", t.id), row_id=strawberry.ID(str(t.id)),
            name=t.name, activity_type=t.activity_type,
            where=[TriggerCondition(field=c.field, op=c.op, value=c.value) for c in t.where], url=t.url,
            description=t.description, enabled=t.enabled, status=t.status,
            batch=TriggerBatch(max_size=t.batch.max_size, max_wait_ms=t.batch.max_wait_ms),
            consecutive_failures=t.consecutive_failures, created_at=t.created_at, updated_at=t.updated_at,
            secret_rotated_at=t.secret_rotated_at, trigger_id=t.id,
        )

    @strawberry.field(description="Its deliveries, newest first, optionally of one status.")
    @query_errors
    async def deliveries(
        self, info: Info,
        first: Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor from a previous page.")] = None,
        status: Annotated[DeliveryStatusEnum | None,  # type: ignore[valid-type]
                          strawberry.argument(description="Only deliveries in this state.")] = None,
    ) -> TriggerDeliveryConnection:
        size = checked_first(first, info.context.settings.limits.max_page_size)
        before = decode_id_cursor(after) if after is not None else None
        items, more = await reads.deliveries(info.context.resources, self.trigger_id, size, before,
                                             domain.DeliveryStatus(status) if status else None)
        return TriggerDeliveryConnection.page(items, lambda d: encode_id_cursor(d.id), TriggerDelivery.from_domain,
                                              has_next=more, has_previous=after is not None)

    @strawberry.field(description="Counts of its activities by delivery state.")
    async def stats(self, info: Info) -> TriggerStats:
        s = await reads.stats(info.context.resources, self.trigger_id)
        return TriggerStats(delivered=s.delivered, failed=s.failed, pending=s.pending,
                            last_success_at=s.last_success_at)


@connection("A page of triggers.", edges="The triggers on this page.",
            edge="A trigger and the opaque cursor that points at it.", node="The trigger.", cursor=KEYSET_CURSOR)
class TriggerConnection(Connection[Trigger]):
    pass


@strawberry.type(description="Result of createTrigger: the trigger and its signing secret (shown only here).")
class CreateTriggerPayload:
    trigger: Trigger | None = strawberry.field(default=None, description="The new trigger; null if errors.")
    secret: str | None = strawberry.field(default=None,
        description="The signing secret (`whsec_...`); shown once, keep it where the receiver can read it.")
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why nothing was saved; empty on success."
    )


@strawberry.type(description="Result of a change to a trigger.")
class TriggerPayload:
    trigger: Trigger | None = strawberry.field(
        default=None, description="The trigger after the change; null if errors."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why nothing changed; empty on success."
    )


@strawberry.type(description="Result of rotateTriggerSecret: the new secret, shown only here.")
class RotateTriggerSecretPayload:
    trigger: Trigger | None = strawberry.field(default=None, description="The trigger; null if errors.")
    secret: str | None = strawberry.field(default=None,
        description="The new signing secret; the previous one also signs during the grace period.")
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why nothing changed; empty on success."
    )


@strawberry.type(description="Result of redeliver.")
class RedeliverPayload:
    delivery: TriggerDelivery | None = strawberry.field(
        default=None, description="The delivery, PENDING again; null if errors."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why nothing changed; empty on success."
    )


@strawberry.type(description="Result of replayTrigger.")
class ReplayTriggerPayload:
    trigger: Trigger | None = strawberry.field(default=None, description="The trigger; null if errors.")
    queued_activities: int = strawberry.field(default=0, description="Matching activities queued for delivery again.")
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why nothing was queued; empty on success."
    )
