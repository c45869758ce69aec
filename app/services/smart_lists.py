"""Smart lists: previews, saved lists (audited changes), exact counts, member pages and memberships."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from app.db import registry_repo
from app.db import smart_list_queries as queries
from app.db import smart_list_repo as repo
from app.domain.access import Principal
from app.domain.activities import Person
from app.domain.cursors import decode_id_cursor
from app.domain.errors import DomainError, ErrorCode, Issue
from app.domain.smart_list_resolve import ResolvedSmartList, SmartListLimits, resolve_definition
from app.domain.smart_lists import (
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
    SavedSmartList,
    SmartListDefinition,
)
from app.services import audit
from app.services.runtime import Resources
from app.services.timelines import bounded, live_definitions

_HINT = "narrow the list with a time window or fewer broad filters"
MEMBERSHIP_BATCH = 100  # saved lists evaluated per statement when finding a person's lists

@dataclass(frozen=True, slots=True)
class ListChange:
    """What updateSmartList changes; None leaves a part as it is."""

    name: str | None = None
    description: str | None = None
    definition: SmartListDefinition | None = None

def limits_of(resources: Resources) -> SmartListLimits:
    limits = resources.settings.limits
    return SmartListLimits(
        max_filters=limits.max_smart_list_filters,
        max_conditions=limits.max_smart_list_conditions,
        max_logic_depth=limits.max_smart_list_logic_depth,
    )

async def resolve(
    resources: Resources, definition: SmartListDefinition, path: str = "definition", now: datetime | None = None
) -> ResolvedSmartList:
    """Check `definition` against the live types now (relative windows end now); DomainError with every issue."""
    types = await live_definitions(resources)
    return resolve_definition(definition, types, now or datetime.now(UTC), limits_of(resources), path)

async def count(resources: Resources, lst: ResolvedSmartList, field: str = "count") -> int:
    """The exact number of members, under the smart-list time budget."""
    async with resources.db.raw() as conn, bounded(conn, resources.settings.limits.smart_list_timeout_ms, _HINT, field):
        return await queries.count(conn, lst)

async def members(
    resources: Resources, lst: ResolvedSmartList, *, first: int, after: str | None
) -> tuple[list[Person], bool]:
    """Members by ascending id after the cursor `after` (keyset: nobody appears on two pages), and whether more
    exist."""
    after_id = decode_id_cursor(after, "after") if after is not None else None
    timeout = resources.settings.limits.smart_list_timeout_ms
    async with resources.db.raw() as conn, bounded(conn, timeout, _HINT, "members"):
        return await queries.members(conn, lst, limit=first, after=after_id)

def _check_texts(name: str | None, description: str | None) -> list[Issue]:
    issues: list[Issue] = []
    if name is not None and not name.strip():
        issues.append(Issue(ErrorCode.REQUIRED, "input.name", "A smart list needs a name."))
    elif name is not None and len(name) > MAX_NAME_LENGTH:
        issues.append(Issue(ErrorCode.TOO_LONG, "input.name", f"At most {MAX_NAME_LENGTH} characters."))
    if description is not None and len(description) > MAX_DESCRIPTION_LENGTH:
        issues.append(Issue(ErrorCode.TOO_LONG, "input.description", f"At most {MAX_DESCRIPTION_LENGTH} characters."))
    return issues

async def _checked(resources: Resources, name: str | None, description: str | None,
                   definition: SmartListDefinition | None) -> None:
    issues = _check_texts(name, description)
    if definition is not None:
        try:
            await resolve(resources, definition, "input.definition")
        except DomainError as error:
            issues.extend(error.issues)
    if issues:
        raise DomainError(issues)

async def create(
    resources: Resources, actor: Principal, name: str, description: str | None, definition: SmartListDefinition
) -> SavedSmartList:
    """Save a checked definition under a unique name (case-insensitive); audited as smartList.create."""
    await _checked(resources, name, description, definition)
    cap = resources.settings.limits.max_smart_lists
    async with resources.db.session() as session:
        await repo.lock_for_create(session)
        if await repo.count_all(session) >= cap:
            raise DomainError.of(ErrorCode.LIMIT_EXCEEDED, f"At most {cap} saved smart lists.", "input")
        if await repo.name_taken(session, name):
            raise DomainError.of(ErrorCode.DUPLICATE, f"A smart list named '{name}' exists.", "input.name")
        saved = await repo.insert_list(session, name.strip(), description, definition, actor.id)
        await audit.record(session, actor, "smartList.create", str(saved.id), {"name": saved.name})
        await session.commit()
    return saved

async def update(resources: Resources, actor: Principal, list_id: int, change: ListChange) -> SavedSmartList:
    """Change a saved list's name, description or definition (each checked as on create); audited."""
    await _checked(resources, change.name, change.description, change.definition)
    values: dict[str, object] = {}
    if change.name is not None:
        values["name"] = change.name.strip()
    if change.description is not None:
        values["description"] = change.description
    if change.definition is not None:
        values["definition"] = change.definition
    async with resources.db.session() as session:
        current = await repo.get(session, list_id, lock=True)
        if current is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No such smart list.", "id")
        if change.name is not None and await repo.name_taken(session, change.name, except_id=list_id):
            raise DomainError.of(ErrorCode.DUPLICATE, f"A smart list named '{change.name}' exists.", "input.name")
        saved = await repo.update_list(session, list_id, values) if values else current
        assert saved is not None  # locked above
        await audit.record(session, actor, "smartList.update", str(list_id), {"changed": sorted(values)})
        await session.commit()
    return saved

async def delete(resources: Resources, actor: Principal, list_id: int) -> SavedSmartList:
    """Delete a saved list; audited as smartList.delete."""
    async with resources.db.session() as session:
        deleted = await repo.delete_list(session, list_id)
        if deleted is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, "No such smart list.", "id")
        await audit.record(session, actor, "smartList.delete", str(list_id), {"name": deleted.name})
        await session.commit()
    return deleted

async def get(resources: Resources, list_id: int) -> SavedSmartList | None:
    async with resources.db.session() as session:
        return await repo.get(session, list_id)

async def page(resources: Resources, *, first: int, after: str | None) -> tuple[list[SavedSmartList], bool]:
    """Saved lists by ascending id after the cursor, and whether more exist."""
    after_id = decode_id_cursor(after, "after") if after is not None else None
    async with resources.db.session() as session:
        rows = await repo.page(session, after_id=after_id, limit=first + 1)
    return rows[:first], len(rows) > first

async def lists_of(
    resources: Resources, person_id: int, *, first: int, after: str | None
) -> tuple[list[SavedSmartList], bool]:
    """The saved lists `person_id` is in now, by ascending id after the cursor, and whether more exist.

    Lists are read in batches and each batch is one statement (one pass over this person's activities, however
    many lists). Types, lists and memberships are read on one raw connection: the session's round trips (ping,
    BEGIN, ROLLBACK) cost more than the statements for a person with few activities. A list whose definition no
    longer resolves (a field it names was removed) is left out: `smartList(id) { count }` reports why.
    """
    after_id = decode_id_cursor(after, "after") if after is not None else None
    now = datetime.now(UTC)
    found: list[SavedSmartList] = []
    async with resources.db.raw() as conn:
        types = await registry_repo.live_definitions(conn)
        while len(found) <= first:
            batch = await repo.page_raw(conn, after_id=after_id, limit=MEMBERSHIP_BATCH)
            usable: list[tuple[SavedSmartList, ResolvedSmartList]] = []
            for saved in batch:
                try:
                    usable.append((saved, resolve_definition(saved.definition, types, now, limits_of(resources))))
                except DomainError:
                    continue
            flags = await queries.memberships(conn, person_id, [lst for _, lst in usable])
            found.extend(saved for (saved, _), member in zip(usable, flags, strict=True) if member)
            if len(batch) < MEMBERSHIP_BATCH:
                break
            after_id = batch[-1].id
    return found[:first], len(found) > first
