"""The cross-person activity search (`activities`), a smart-list-like query over all timelines."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.api.activities.errors import FIRST_DESCRIPTION
from app.api.activities.inputs import ActivitySearch
from app.api.activities.paging import activity_connection, search, selects, wants
from app.api.activities.types import Activity, ActivityConnection
from app.api.context import Info
from app.api.global_ids import raw_id
from app.api.payloads import query_errors
from app.api.permissions import require
from app.domain.access import Scope
from app.domain.activities import parse_id
from app.services import timelines


async def activity_node(info: Info, id: str) -> Activity | None:
    """node(id:) for an Activity id ("<personId>:<rowId>" inside); the same scope as timelines."""
    require(info, Scope.READ)
    try:
        person, _, row = raw_id(id, "Activity").partition(":")
        person_id, activity_id = parse_id(person), parse_id(row)
    except ValueError:
        return None
    found = await timelines.activity(info.context.resources, person_id, activity_id)
    return Activity.from_domain(found) if found else None


@strawberry.type
class ActivityQueries:
    @strawberry.field(
        description=(
            "Activities of all (or some) persons matching `filter`, newest first, keyset-paginated "
            "forward (first/after). `totalCount` counts all matches."
        )
    )
    @query_errors
    async def activities(
        self,
        info: Info,
        filter: Annotated[ActivitySearch, strawberry.argument(description="Which activities (and persons).")],
        first: Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)] = None,
        after: Annotated[str | None, strawberry.argument(description="Cursor: start after this activity.")] = None,
    ) -> ActivityConnection:
        # A new argument must be declared on the compiled field too (app/api/execution/compiled/fields.py), or
        # documents that pass it are answered here only.
        require(info, Scope.READ)
        page = await search(
            info.context,
            filter,
            first=first,
            after=after,
            watermark=wants(info, "syncWatermark"),
            with_types=selects(info, "activityType"),
        )
        return activity_connection(page)
