"""GraphQL inputs of trigger mutations; `to_domain()` parses them."""

from __future__ import annotations

import strawberry

from app.api.activities.inputs import FieldCondition
from app.domain.triggers import Batch, TriggerSpec
from app.services.triggers.admin import TriggerPatch


@strawberry.input(description="How activities are grouped into requests.")
class TriggerBatchInput:
    max_size: int = strawberry.field(default=100, description="At most this many activities a request (1..1000).")
    max_wait_ms: int = strawberry.field(
        default=0, description="How long a partial batch may wait for more activities, in ms (0..60000).")

    def to_domain(self) -> Batch:
        return Batch(max_size=self.max_size, max_wait_ms=self.max_wait_ms)


@strawberry.input(description="A new trigger.")
class CreateTriggerInput:
    name: str = strawberry.field(description="Unique name, 1..100 characters.")
    activity_type: str = strawberry.field(description="API name of the activity type to watch.")
    url: str = strawberry.field(description="Where to POST (https in production; public addresses only).")
    where: list[FieldCondition] | None = strawberry.field(
        default=None, description="Field conditions on that type (all must hold), as in timeline filters.")
    description: str | None = strawberry.field(default=None, description="Free text, up to 1000 characters.")
    enabled: bool = strawberry.field(default=True, description="False creates it PAUSED.")
    batch: TriggerBatchInput | None = strawberry.field(default=None, description="Batching (default 100, 0 ms).")

    def to_domain(self) -> TriggerSpec:
        return TriggerSpec(
            name=self.name, activity_type=self.activity_type, where=tuple(c.to_domain() for c in self.where or ()),
            url=self.url, description=self.description, enabled=self.enabled,
            batch=self.batch.to_domain() if self.batch else Batch(),
        )


@strawberry.input(description="Changes to a trigger; fields left out stay as they are.")
class UpdateTriggerInput:
    name: str | None = strawberry.field(default=None, description="New name.")
    activity_type: str | None = strawberry.field(default=None, description="Another activity type.")
    url: str | None = strawberry.field(default=None, description="New URL.")
    where: list[FieldCondition] | None = strawberry.field(
        default=None, description="New conditions (replace the old ones; [] removes them).")
    description: str | None = strawberry.field(default=None, description="New description.")
    enabled: bool | None = strawberry.field(default=None, description="Pause (false) or resume (true).")
    batch: TriggerBatchInput | None = strawberry.field(default=None, description="New batching.")

    def to_domain(self) -> TriggerPatch:
        return TriggerPatch(
            name=self.name, activity_type=self.activity_type, url=self.url,
            where=tuple(c.to_domain() for c in self.where) if self.where is not None else None,
            description=self.description, enabled=self.enabled,
            batch=self.batch.to_domain() if self.batch else None,
        )
