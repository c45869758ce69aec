"""Smart-list queries: preview a definition, list saved lists, read one (all need `read`)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.api.activities.errors import FIRST_DESCRIPTION, checked_first
from app.api.context import Info
from app.api.global_ids import parsed_id
from app.api.payloads import query_errors
from app.api.permissions import require
from app.api.smart_lists.inputs import SmartListInput
from app.api.smart_lists.types import SmartList, SmartListConnection, SmartListPreview
from app.domain.access import Scope
from app.domain.activities import parse_id
from app.domain.cursors import encode_id_cursor
from app.services import smart_lists


async def smart_list_node(info: Info, id: str) -> SmartList | None:
    """Query.smartList, and node(id:) for a SmartList id."""
    require(info, Scope.READ)
    list_id = parsed_id(id, "SmartList", parse_id)
    saved = await smart_lists.get(info.context.resources, list_id) if list_id is not None else None
    return SmartList.from_domain(saved) if saved is not None else None


@strawberry.type
class SmartListQueries:
    @strawberry.field(
        description=(
            "Who `definition` selects now, without saving it: `count` and `members`. A bad definition is a "
            "typed error naming the field path (e.g. `definition.filters.0.activity.where.1.op`)."
        )
    )
    @query_errors
    async def smart_list_preview(
        self,
        info: Info,
        definition: Annotated[SmartListInput, strawberry.argument(description="The definition to evaluate.")],
    ) -> SmartListPreview:
        require(info, Scope.READ)
        resolved = await smart_lists.resolve(info.context.resources, definition.to_domain())
        return SmartListPreview(resolved=resolved)

    @strawberry.field(description="Saved smart lists ordered by id.")
    @query_errors
    async def smart_lists(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor: start after this list.")] = None,
    ) -> SmartListConnection:
        require(info, Scope.READ)
        size = checked_first(first, info.context.settings.limits.max_page_size)
        rows, more = await smart_lists.page(info.context.resources, first=size, after=after)
        return SmartListConnection.page(
            rows, lambda s: encode_id_cursor(s.id), SmartList.from_domain, has_next=more, has_previous=after is not None
        )

    @strawberry.field(description="One saved smart list by id, or null.")
    async def smart_list(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The list's id.")]
    ) -> SmartList | None:
        return await smart_list_node(info, id)
