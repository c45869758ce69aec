"""Reading activity connections: one page, its edges and cursors, its types prefetched, per-request definitions.

`timeline` and `search` are the reads behind Person.timeline and Query.activities on both execution paths (their
Strawberry resolvers and the compiled plans, app/api/execution/compiled/fields.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from app.api.activities.inputs import ActivitySearch, TimelineFilter
from app.api.activities.rows import activity_cursor
from app.api.activities.types import PREFETCHED_TYPES, Activity, ActivityConnection
from app.api.connections import page_info
from app.api.context import Context, Info
from app.api.registry.loaders import activity_types_by_ids
from app.domain import filters
from app.domain.activities import ActivityScope
from app.services import timelines


async def timeline(
    context: Context,
    person_id: int,
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: TimelineFilter | None = None,
    watermark: bool,
    with_types: bool,
) -> timelines.ActivityPage:
    """One page of a person's timeline; `watermark`: syncWatermark is selected; `with_types`: activityType is.

    Person.timeline's Strawberry resolver makes it an activity_connection, its compiled resolver a row_connection."""
    return await read_page(
        context,
        ActivityScope(person_id=person_id),
        filter.to_domain() if filter is not None else None,
        timelines.PageArgs(first=first, after=after, last=last, before=before),
        watermark=watermark,
        with_types=with_types,
    )


async def search(
    context: Context,
    filter: ActivitySearch,
    *,
    first: int | None = None,
    after: str | None = None,
    watermark: bool,
    with_types: bool,
) -> timelines.ActivityPage:
    """One page of the activities `filter` selects, across persons: Query.activities on both execution paths."""
    found = filter.to_domain()
    return await read_page(
        context,
        timelines.search_scope(found),
        found,
        timelines.PageArgs(first=first, after=after),
        watermark=watermark,
        with_types=with_types,
    )


async def read_page(
    context: Context,
    scope: ActivityScope,
    flt: filters.TimelineFilter | None,
    args: timelines.PageArgs,
    *,
    watermark: bool,
    with_types: bool,
) -> timelines.ActivityPage:
    """A page of `scope`'s activities, their types prefetched if selected; every input problem is one DomainError.

    JSON values stay the text PostgreSQL stored: every GraphQL response is written by orjson, which embeds them."""
    page = await timelines.read_page(
        context.resources, scope, flt, args, definitions=cached_definitions(context), watermark=watermark,
        json_as_text=True,
    )
    if with_types:
        await prefetch_types(context, page)
    return page


def activity_connection(page: timelines.ActivityPage) -> ActivityConnection:
    text = page.json_as_text
    edges = ActivityConnection.edges_of(page.items, activity_cursor, lambda a: Activity.from_domain(a, text))
    return ActivityConnection(
        edges=edges,
        page_info=page_info(edges, page.has_next_page, page.has_previous_page),
        sync_watermark=page.sync_watermark,
        counter=page.count,
    )


def selects(info: Info, name: str) -> bool:
    """Whether a field called `name` is selected anywhere below the current field."""

    def walk(selections: list[Any]) -> bool:
        return any((isinstance(s, SelectedField) and s.name == name) or walk(s.selections) for s in selections)

    return any(walk(field.selections) for field in info.selected_fields)


async def prefetch_types(context: Context, page: timelines.ActivityPage) -> None:
    """Load the page's activity types in one batch before its items resolve (see Activity.activity_type)."""
    if page.items:
        ids = list({a.activity_type_id for a in page.items})
        # The page's own type stamps spare the type cache its stamp query.
        found = await activity_types_by_ids(context.resources, ids, stamps=page.type_stamps)
        context.extra.setdefault(PREFETCHED_TYPES, {}).update(found)


def cached_definitions(context: Context) -> Callable[[], Awaitable[timelines.Definitions]]:
    """Live type definitions, read at most once per request (many timelines may share them)."""

    async def load() -> timelines.Definitions:
        extra = context.extra
        if "live_definitions" not in extra:
            extra["live_definitions"] = await timelines.live_definitions(context.resources)
        found: timelines.Definitions = extra["live_definitions"]
        return found

    return load


def wants(info: Info, name: str) -> bool:
    """Whether the current field's selection asks for `name` (directly or through fragments)."""

    def walk(selections: list[Any]) -> bool:
        for s in selections:
            if isinstance(s, SelectedField) and s.name == name:
                return True
            if isinstance(s, FragmentSpread | InlineFragment) and walk(s.selections):
                return True
        return False

    return any(walk(field.selections) for field in info.selected_fields)
