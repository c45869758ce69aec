"""The compiled fields: Query.person, Person.timeline, Query.activities and ActivityConnection.totalCount.

Each calls the same read function as its Strawberry resolver (app/api/persons/reads.py, app/api/activities/paging.py,
ActivityConnection.count) with the arguments it declares; every refusal (a missing scope, a bad id, a DomainError)
raises, which sends the request down the normal path to report it. Activity.activityType needs no entry: its
resolver is a fast resolver (prefetched_type), which plans call directly.
"""

from __future__ import annotations

from typing import Any

from app.api.activities import paging
from app.api.activities.rows import ROWS, RowConnection, row_connection
from app.api.execution.compiled.registry import Call, Selection, compiled
from app.api.permissions import require_principal
from app.api.persons import reads
from app.api.persons.types import Person
from app.domain.access import Scope


@compiled("Query", "person", arguments=("id", "email", "externalId"))
async def person(_root: Any, args: dict[str, Any], call: Call, _selection: Selection) -> Person | None:
    require_principal(call.context.principal, Scope.READ)
    return await reads.person(call.context.resources, **args)


@compiled("Person", "timeline", arguments=("first", "after", "last", "before", "filter"), rows=ROWS)
async def timeline(source: Person, args: dict[str, Any], call: Call, selection: Selection) -> RowConnection:
    page = await paging.timeline(
        call.context,
        int(source.row_id),
        **args,
        watermark="syncWatermark" in selection.fields,
        with_types=("Activity", "activityType") in selection.below,
    )
    return row_connection(page)  # no Strawberry object per activity: the plan reads the rows (rows.py)


@compiled("Query", "activities", arguments=("filter", "first", "after"), rows=ROWS)
async def activities(_root: Any, args: dict[str, Any], call: Call, selection: Selection) -> RowConnection:
    require_principal(call.context.principal, Scope.READ)
    page = await paging.search(
        call.context,
        **args,
        watermark="syncWatermark" in selection.fields,
        with_types=("Activity", "activityType") in selection.below,
    )
    return row_connection(page)


@compiled("ActivityConnection", "totalCount")
async def total_count(source: RowConnection, _args: dict[str, Any], _call: Call, _selection: Selection) -> int:
    return await source.count()
