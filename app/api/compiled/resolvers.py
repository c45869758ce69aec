"""The compiled resolvers: person lookup, a person's timeline, its totalCount and each activity's type.

Each makes the same service calls as its Strawberry resolver (app/api/persons, app/api/activities) and returns
the same objects, so everything below it completes the same way; every refusal (bad id, DomainError, missing
scope) raises, which sends the request down the normal path to produce the error.
"""

from __future__ import annotations

from typing import Any

from app.api.activities.paging import activity_connection
from app.api.activities.types import Activity, ActivityConnection
from app.api.compiled.registry import FALLBACK, Call, Selection, compiled
from app.api.persons.types import Person
from app.api.registry.loaders import activity_types_by_ids
from app.db.activity_queries import ActivityScope
from app.domain.access import Scope
from app.domain.activities import parse_id
from app.services import persons, timelines

TYPES = "types"
"""Call.extra key: the activity types of the pages read in this request, by id."""


def _require_read(call: Call) -> None:
    """permissions.require(info, Scope.READ), minus the error: the normal path reports it."""
    if call.principal is None or not call.principal.allows(Scope.READ):
        raise FALLBACK


@compiled("Query", "person")
async def person(_root: Any, args: dict[str, Any], call: Call, _selection: Selection) -> Person | None:
    _require_read(call)
    raw_id = args.get("id")
    found = await persons.get(
        call.resources,
        person_id=parse_id(raw_id) if raw_id is not None else None,
        email=args.get("email"),
        external_id=args.get("external_id"),
    )
    return Person.from_domain(found) if found is not None else None


@compiled("Person", "timeline")
async def timeline(source: Person, args: dict[str, Any], call: Call, selection: Selection) -> ActivityConnection:
    flt = args.get("filter")
    page = await timelines.read_page(
        call.resources,
        ActivityScope(person_id=int(source.id)),
        flt.to_domain() if flt is not None else None,
        timelines.PageArgs(
            first=args.get("first"), after=args.get("after"), last=args.get("last"), before=args.get("before")
        ),
        definitions=lambda: _live_definitions(call),
        watermark="syncWatermark" in selection.fields,
    )
    if page.items and ("Activity", "activityType") in selection.below:
        types: dict[int, Any] = call.extra.setdefault(TYPES, {})
        missing = list({a.activity_type_id for a in page.items if a.activity_type_id not in types})
        if missing:
            types.update(await activity_types_by_ids(call.resources, missing, stamps=page.type_stamps))
    return activity_connection(page)


async def _live_definitions(call: Call) -> timelines.Definitions:
    """paging.cached_definitions: read at most once per request."""
    extra = call.extra
    if "live_definitions" not in extra:
        extra["live_definitions"] = await timelines.live_definitions(call.resources)
    found: timelines.Definitions = extra["live_definitions"]
    return found


@compiled("ActivityConnection", "totalCount")
async def total_count(source: ActivityConnection, _args: dict[str, Any], _call: Call, _selection: Selection) -> int:
    return await source.counter()


@compiled("Activity", "activityType", is_async=False)
def activity_type(source: Activity, _args: dict[str, Any], call: Call, _selection: Selection) -> Any:
    # Types are soft-deleted, so every activity's type is found; if not, the normal path reports it.
    found = call.extra[TYPES].get(source.activity_type_id)
    if found is None:
        raise FALLBACK
    return found
