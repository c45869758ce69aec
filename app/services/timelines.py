"""Timelines and cross-person search: page arguments checked, filters resolved, keyset pages read."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from app.db import activity_queries as queries
from app.db import registry_repo
from app.db.raw_pool import Connection
from app.domain.activities import Activity, ActivityScope
from app.domain.activity_types import ActivityTypeDefinition
from app.domain.cursors import decode_activity_cursor
from app.domain.errors import DomainError, ErrorCode, Issue
from app.domain.filters import ActivitySearch, ResolvedFilter, TimelineFilter, resolve
from app.services.runtime import Resources

DEFAULT_PAGE_SIZE = 50
Definitions = Mapping[int, ActivityTypeDefinition]


@dataclass(frozen=True, slots=True)
class PageArgs:
    """Relay arguments as the client sent them."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None


@dataclass(frozen=True, slots=True)
class ActivityPage:
    """Activities newest first, Relay page flags, and the sync watermark when asked for."""

    items: list[Activity]
    has_next_page: bool
    has_previous_page: bool
    sync_watermark: datetime | None
    count: Callable[[], Awaitable[int]]
    type_stamps: str | None = None
    """Version stamps of the items' activity types, read with them: pass to registry_cache types_by_ids(stamps=)
    (or activity_types_by_ids) to spare its stamp query."""
    json_as_text: bool = False
    """The items' primary_value and fields are their stored JSON text (read_page(json_as_text=True))."""


async def live_definitions(resources: Resources) -> dict[int, ActivityTypeDefinition]:
    """Current definition of every live type by id (what filters are checked against)."""
    async with resources.db.session() as session:
        rows = await registry_repo.live_rows(session)
    return {type_id: ActivityTypeDefinition.from_json(data) for type_id, _, _, _, data in rows}


async def activity(resources: Resources, person_id: int, activity_id: int) -> Activity | None:
    """One activity (what node(id:) refetches), or None once it is gone."""
    async with resources.db.raw() as conn:
        return await queries.one(conn, person_id, activity_id)


def _check_page(args: PageArgs, max_page_size: int) -> list[Issue]:
    issues: list[Issue] = []
    if args.first is not None and args.last is not None:
        issues.append(Issue(ErrorCode.INVALID, "last", "Give first or last, not both."))
    for name, value in (("first", args.first), ("last", args.last)):
        if value is None:
            continue
        if value < 0:
            issues.append(Issue(ErrorCode.OUT_OF_RANGE, name, f"{name} must not be negative."))
        elif value > max_page_size:
            issues.append(Issue(ErrorCode.LIMIT_EXCEEDED, name, f"{name} must be at most {max_page_size}."))
    return issues


async def read_page(
    resources: Resources,
    scope: ActivityScope,
    flt: TimelineFilter | None,
    args: PageArgs,
    *,
    definitions: Callable[[], Awaitable[Definitions]],
    watermark: bool = False,
    json_as_text: bool = False,
) -> ActivityPage:
    """One page of `scope`'s activities matching `flt`; every input problem is one DomainError.

    `json_as_text`: the items' JSON values come as their stored text, for callers that write it into a response
    undecoded (decoding two values per item was ~10% of a timeline request's CPU)."""
    issues = _check_page(args, resources.settings.limits.max_page_size)
    after = before = None
    for name, raw in (("after", args.after), ("before", args.before)):
        if raw is None:
            continue
        try:
            if name == "after":
                after = decode_activity_cursor(raw, name)
            else:
                before = decode_activity_cursor(raw, name)
        except DomainError as error:
            issues.extend(error.issues)
    resolved = ResolvedFilter(None, None, None, None, ())
    if flt is not None:
        needs_types = flt.activity_types is not None or bool(flt.where)
        try:
            resolved = resolve(flt, await definitions() if needs_types else {}, "filter")
        except DomainError as error:
            issues.extend(error.issues)
    if issues:
        raise DomainError(issues)
    backward = args.last is not None
    limit = args.last if backward else args.first
    if limit is None:
        limit = min(DEFAULT_PAGE_SIZE, resources.settings.limits.max_page_size)
    timeout_ms = None if scope.person_id is not None else resources.settings.limits.activity_search_timeout_ms
    distributed = await resources.db.distributed()
    async with resources.db.raw() as conn, bounded(conn, timeout_ms):
        # The watermark is read before the page: see activity_queries.sync_watermark.
        mark = await queries.sync_watermark(conn) if watermark else None
        items, more, stamps = await queries.page(
            conn, scope, resolved, limit=limit, backward=backward, after=after, before=before, with_type_stamps=True,
            distributed=distributed, json_as_text=json_as_text,
        )

    async def count() -> int:
        async with resources.db.raw() as conn, bounded(conn, timeout_ms):
            return await queries.count(conn, scope, resolved)

    if backward:
        return ActivityPage(items, before is not None, more, mark, count, stamps, json_as_text)
    return ActivityPage(items, more, after is not None, mark, count, stamps, json_as_text)


@contextlib.asynccontextmanager
async def bounded(
    conn: Connection,
    timeout_ms: int | None,
    hint: str = "narrow it with activityTypes, persons or a time window",
    field: str = "filter",
) -> AsyncIterator[None]:
    """Reads across persons run under a statement timeout (0: none; None: no transaction either); running out is a
    typed error
    (QUERY_TOO_COMPLEX at `field`, with `hint`), not a 500."""
    if timeout_ms is None:
        yield
        return
    try:
        async with conn.transaction(readonly=True):
            await conn.execute(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
            yield
    except asyncpg.QueryCanceledError:
        raise DomainError.of(
            ErrorCode.QUERY_TOO_COMPLEX,
            f"The search ran longer than {timeout_ms} ms: {hint}.",
            field,
        ) from None


def search_scope(search: ActivitySearch) -> ActivityScope:
    return ActivityScope(
        person_ids=search.person_ids,
        person_emails=search.person_emails,
        person_external_ids=search.person_external_ids,
        min_per_person=search.min_activities_per_person,
    )
