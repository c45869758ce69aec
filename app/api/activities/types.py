"""GraphQL Activity and its Relay connection; items are plain objects, related ones come from DataLoaders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, cast

import orjson
import strawberry
from strawberry.scalars import JSON

from app.api.connections import Connection, connection
from app.api.context import Context, Info
from app.api.execution.field_kinds import MISSING, fast_resolver
from app.api.global_ids import ROW_ID, Node, to_global_id
from app.api.payloads import query_errors
from app.domain.activities import Activity as DomainActivity

if TYPE_CHECKING:
    from app.api.persons.types import Person
    from app.api.registry.types import ActivityType


PREFETCHED_TYPES = "prefetched_activity_types"
"""Key in Context.extra of the types pages loaded before their items resolve (paging.prefetch_types)."""


def prefetched_type(activity: Activity | DomainActivity, context: Context) -> object:
    """The activity's already loaded type (never None: types are soft-deleted), or MISSING. Compiled plans pass the
    domain activity itself (app/api/activities/rows.py)."""
    prefetched = context.extra.get(PREFETCHED_TYPES)
    if prefetched is not None:
        found = prefetched.get(activity.activity_type_id)
        if found is not None:
            return found
    loaded = context.loaders.activity_type_by_id.cache_map.get(activity.activity_type_id)
    if loaded is None or not loaded.done() or loaded.cancelled() or loaded.exception() is not None:
        return MISSING
    return Activity._checked_type(loaded.result())


def activity_global_id(a: DomainActivity) -> strawberry.ID:
    return to_global_id("Activity", f"{a.person_id}:{a.id}")  # the shard key: node(id:) reads one person


def activity_row_id(a: DomainActivity) -> strawberry.ID:
    return strawberry.ID(str(a.id))


# JSON values kept as the text PostgreSQL stored (timelines.read_page(json_as_text=True)), for orjson to embed.
def stored_primary_value(a: DomainActivity) -> orjson.Fragment | None:
    text = a.primary_value
    return None if text is None else orjson.Fragment(text)  # SQL NULL: no primary value


def stored_fields(a: DomainActivity) -> orjson.Fragment:
    return orjson.Fragment(a.fields)


@strawberry.type(description="Something that happened to a person, validated against one version of its type.")
class Activity(Node):
    row_id: strawberry.ID = strawberry.field(description=ROW_ID)
    type_version: int = strawberry.field(description="Version of the activity type it was validated against.")
    occurred_at: datetime = strawberry.field(description="When it happened (the timeline is ordered by this).")
    ingested_at: datetime = strawberry.field(
        description="When it was stored; filter with `ingestedAfter` to sync incrementally."
    )
    primary_value: JSON | None = strawberry.field(description="Value of the type's primary field.")
    fields: JSON = strawberry.field(description="Additional field values by API name, typed as JSON.")
    idempotency_key: str | None = strawberry.field(
        description="The key the producer gave to make re-sending harmless, if any."
    )
    person_id: strawberry.Private[int]
    activity_type_id: strawberry.Private[int]

    @classmethod
    def from_domain(cls, a: DomainActivity, json_as_text: bool = False) -> Activity:
        """`json_as_text`: `a` holds its JSON values as stored text (timelines.read_page(json_as_text=True)); they
        go into the response as they are (orjson.Fragment: every GraphQL response is encoded with orjson)."""
        primary: Any = a.primary_value
        fields: Any = a.fields
        if json_as_text:
            primary, fields = stored_primary_value(a), stored_fields(a)
        return cls(
            id=activity_global_id(a),
            row_id=activity_row_id(a),
            type_version=a.type_version,
            occurred_at=a.occurred_at,
            ingested_at=a.ingested_at,
            primary_value=primary,
            fields=fields,
            idempotency_key=a.idempotency_key,
            person_id=a.person_id,
            activity_type_id=a.activity_type_id,
        )

    @strawberry.field(description="The activity type (standard or custom); batched per request.")
    @fast_resolver(prefetched_type)
    def activity_type(self, info: Info) -> Annotated[ActivityType, strawberry.lazy("app.api.registry.types")]:
        # Pages prefetch their types (paging.prefetch_types), so this usually returns a loaded value without an
        # awaitable: one awaitable per item was ~25% of a 50-item timeline request's CPU (BENCHMARKS.md). With a
        # loaded value both fast paths (app/api/execution/) call prefetched_type instead of this resolver and
        # complete the type's selection directly; MISSING sends them back here.
        loaded = prefetched_type(self, info.context)
        if loaded is not MISSING:
            return cast("ActivityType", loaded)
        return cast("ActivityType", self._load_type(info))  # graphql-core awaits it

    async def _load_type(self, info: Info) -> ActivityType:
        return self._checked_type(await info.context.loaders.activity_type_by_id.load(self.activity_type_id))

    @staticmethod
    def _checked_type(found: ActivityType | None) -> ActivityType:
        assert found is not None, "types are soft-deleted, so every activity's type exists"
        return found

    @strawberry.field(description="The person it happened to; batched per request.")
    async def person(self, info: Info) -> Annotated[Person, strawberry.lazy("app.api.persons.types")]:
        from app.api.persons.types import Person

        found = await info.context.loaders.person_by_id.load(self.person_id)
        assert found is not None, "activities are deleted with their person"
        return Person.from_domain(found)


@connection(
    "A page of activities, newest first (by occurredAt, then id).", edges="The activities on this page, newest first.",
    edge="An activity and the opaque cursor that points at it.", node="The activity.",
    cursor="Opaque keyset cursor for `after`/`before`.",
)
class ActivityConnection(Connection[Activity]):
    sync_watermark: datetime | None = strawberry.field(
        description=(
            "Pass this as `ingestedAfter` on your next sync: every activity stored later, or still being "
            "stored when this page was read, has ingestedAt at or after it. Keep the value from the first page."
        )
    )
    counter: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many activities match the filter in total (one extra COUNT query).")
    @query_errors
    async def total_count(self) -> int:
        return await self.count()

    async def count(self) -> int:
        """totalCount's read, also called by the compiled plans (app/api/execution/compiled/fields.py)."""
        return await self.counter()
