"""Reading the activity-type registry: live types with compiled validators, snapshots for the API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.db import registry_repo as repo
from app.db.raw_pool import Connection
from app.domain.activity_types import ActivityTypeDefinition, TypeStatus
from app.domain.errors import DomainError, ErrorCode, Issue
from app.domain.registry_model import ActivityTypeSnapshot
from app.domain.validation import RecordValidator, ValidatedRecord, compile_validator
from app.services.runtime import Resources


@dataclass(frozen=True)
class LiveType:
    """A type that accepts activities: its current approved version and that version's compiled validator."""

    id: int
    api_name: str
    version: int
    definition: ActivityTypeDefinition
    is_system: bool
    validator: RecordValidator


async def load_live_types(resources: Resources) -> dict[str, LiveType]:
    """Every non-deleted type with an approved version, keyed by apiName lower-cased."""
    limits = resources.settings.limits
    async with resources.db.session() as session:
        rows = await repo.live_rows(session)
    live: dict[str, LiveType] = {}
    for type_id, api_name, is_system, version, data in rows:
        definition = ActivityTypeDefinition.from_json(data)
        validator = compile_validator(
            definition, max_string_length=limits.max_string_length, max_text_length=limits.max_text_length
        )
        live[api_name.lower()] = LiveType(type_id, api_name, version, definition, is_system, validator)
    return live


# Compiled validators of the live types, reused while the registry is unchanged (per process).
_CACHE: dict[str, tuple[dict[str, LiveType], set[str]]] = {}
REGISTRY_FINGERPRINT = (
    "SELECT count(*)::text || ':' || coalesce(md5(string_agg(id::text || ':' || coalesce(current_version, 0)::text "
    "|| ':' || (deleted_at IS NULL)::text || ':' || lower(api_name), ',' ORDER BY id)), '') FROM activity_type"
)


async def cached_live_types(
    resources: Resources, conn: Connection | None = None
) -> tuple[dict[str, LiveType], set[str]]:
    """`load_live_types` and every known (not deleted) name, compiled once per registry state rather than per job
    or per REST call (one fingerprint query on `conn`, or a pooled connection, instead; reloading cost the REST
    facade ~3.5 ms a call). The result is shared: callers must not change it."""
    if conn is None:
        async with resources.db.raw() as pooled:
            return await cached_live_types(resources, pooled)
    limits = resources.settings.limits
    key = (f"{resources.settings.database_url}|{await conn.fetchval(REGISTRY_FINGERPRINT)}|"
           f"{limits.max_string_length}|{limits.max_text_length}")
    cached = _CACHE.get(key)
    if cached is None:
        types = await load_live_types(resources)
        names = {r[0] for r in await conn.fetch("SELECT lower(api_name) FROM activity_type WHERE deleted_at IS NULL")}
        _CACHE.clear()
        cached = _CACHE[key] = (types, names)
    return cached


async def get_definition(resources: Resources, type_id: int, version: int) -> ActivityTypeDefinition | None:
    """The definition of one approved version (for re-validating or displaying old activities)."""
    async with resources.db.session() as session:
        data = await repo.version_definition(session, type_id, version)
    return ActivityTypeDefinition.from_json(data) if data is not None else None


async def get_type(resources: Resources, api_name: str) -> ActivityTypeSnapshot | None:
    """The type with this apiName (case-insensitive), including deleted ones."""
    async with resources.db.session() as session:
        row = await repo.row_by_api_name(session, api_name)
        if row is None:
            return None
        return (await repo.snapshots(session, [row]))[0]


async def types_by_ids(resources: Resources, ids: Sequence[int]) -> dict[int, ActivityTypeSnapshot]:
    async with resources.db.session() as session:
        rows = await repo.rows_by_ids(session, list(ids))
        return {s.id: s for s in await repo.snapshots(session, rows)}


async def list_types(
    resources: Resources, *, after_id: int | None, limit: int, status: TypeStatus | None, include_system: bool
) -> list[ActivityTypeSnapshot]:
    """One page ordered by id (keyset): non-deleted types, or exactly those with `status`."""
    async with resources.db.session() as session:
        rows = await repo.page_rows(
            session, after_id=after_id, limit=limit, status=status, include_system=include_system
        )
        return await repo.snapshots(session, rows)


async def check_record(
    resources: Resources,
    api_name: str,
    primary_value: object,
    fields: object,
    *,
    use_draft: bool = False,
    from_text: bool = False,
) -> tuple[int | None, ValidatedRecord | list[Issue]]:
    """Validate one record against the live version (or the draft) without storing it: (version, result)."""
    limits = resources.settings.limits
    found = await get_type(resources, api_name)
    if found is None or found.deleted_at is not None:
        raise DomainError.of(ErrorCode.NOT_FOUND, f"Activity type '{api_name}' does not exist.", "apiName")
    definition = found.draft if use_draft else found.live
    if definition is None:
        if use_draft:
            raise DomainError.of(ErrorCode.NO_DRAFT, f"'{api_name}' has no draft.", "useDraft")
        message = f"'{api_name}' has never been approved; pass useDraft: true to try its draft."
        raise DomainError.of(ErrorCode.TYPE_NOT_APPROVED, message, "apiName")
    validator = compile_validator(
        definition, max_string_length=limits.max_string_length, max_text_length=limits.max_text_length
    )
    version = None if use_draft else found.version
    if fields is not None and not isinstance(fields, Mapping):
        return version, [Issue(ErrorCode.WRONG_TYPE, "fields", "Expected an object of field values.")]
    return version, validator.validate(primary_value, fields, from_text=from_text)
