"""Relay's root fields `node(id:)` and `nodes(ids:)`: each id goes to its type's fetcher, which checks the same scope
as the field that reaches that type directly (a key without it gets null and a FORBIDDEN error, as there)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry

from app.api.access.queries import api_key_node
from app.api.activities.queries import activity_node
from app.api.context import Info
from app.api.exports.resolvers import export_job_node
from app.api.global_ids import Node, from_global_id
from app.api.ingestion.resolvers import ingestion_job_node
from app.api.payloads import query_errors
from app.api.persons.queries import person_node
from app.api.registry.queries import activity_type_node
from app.api.smart_lists.queries import smart_list_node
from app.api.triggers.resolvers import delivery_node, trigger_node
from app.domain.errors import DomainError, ErrorCode

FETCHERS: dict[str, Callable[[Info, str], Awaitable[Any]]] = {
    "Person": person_node,
    "Activity": activity_node,
    "ActivityType": activity_type_node,
    "IngestionJob": ingestion_job_node,
    "ApiKey": api_key_node,
    "ExportJob": export_job_node,
    "SmartList": smart_list_node,
    "Trigger": trigger_node,
    "TriggerDelivery": delivery_node,
}


async def _fetch(info: Info, id: str) -> Node | None:
    decoded = from_global_id(str(id))
    if decoded is None:
        return None  # a raw id or garbage: no node, like an unknown id on the direct fields
    found: Node | None = await FETCHERS[decoded[0]](info, id)
    return found


@strawberry.type
class NodeQueries:
    @strawberry.field(
        description="The object with this global id (any type implementing Node), or null when there is none or "
        "the key may not see it. Needs the scope of the field that reaches the type directly."
    )
    async def node(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="A global id (`id` field).")]
    ) -> Node | None:
        return await _fetch(info, id)

    @strawberry.field(
        description="The objects with these global ids, in the same order, null where `node(id:)` would be null; "
        "a refusal (scope) is an error at that position only. At most limits.maxPageSize ids."
    )
    @query_errors
    async def nodes(
        self, info: Info,
        ids: Annotated[list[strawberry.ID], strawberry.argument(description="Global ids (`id` fields).")],
    ) -> list[Node | None]:
        limit = info.context.settings.limits.max_page_size
        if len(ids) > limit:
            raise DomainError.of(ErrorCode.OUT_OF_RANGE, f"{len(ids)} ids; at most {limit} allowed.", "ids")
        # One awaitable per id: graphql-core completes each on its own, so one refused id nulls only its slot.
        return [_fetch(info, id) for id in ids]  # type: ignore[misc]
