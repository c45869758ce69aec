"""Activity-type persistence: rows <-> domain snapshots, lookups, usage checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import CursorResult, func, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.raw_pool import Connection
from app.db.tables import ActivityTypeRow, ActivityTypeVersionRow
from app.domain.activity_types import ActivityTypeDefinition, TypeStatus
from app.domain.registry_model import ActivityTypeSnapshot, ApprovedVersion


async def _sql(session: AsyncSession, query: str, **params: Any) -> CursorResult[Any]:
    """Hand-written SQL in the session's transaction (SQLModel's session.execute warns; the connection does not)."""
    connection = await session.connection()
    return await connection.execute(text(query), params)


def to_snapshot(row: ActivityTypeRow, versions: Sequence[ActivityTypeVersionRow]) -> ActivityTypeSnapshot:
    assert row.id is not None
    history = tuple(
        ApprovedVersion(v.version, ActivityTypeDefinition.from_json(v.definition), v.approved_at, v.approved_by)
        for v in sorted(versions, key=lambda v: v.version)
    )
    live = next((v.definition for v in history if v.number == row.current_version), None)
    return ActivityTypeSnapshot(
        id=row.id,
        api_name=row.api_name,
        status=TypeStatus(row.status),
        is_system=row.is_system,
        version=row.current_version,
        live=live,
        draft=ActivityTypeDefinition.from_json(row.draft) if row.draft is not None else None,
        versions=history,
        created_at=row.created_at,
        updated_at=row.updated_at,
        deleted_at=row.deleted_at,
    )


async def _versions_of(session: AsyncSession, ids: Sequence[int]) -> dict[int, list[ActivityTypeVersionRow]]:
    by_type: dict[int, list[ActivityTypeVersionRow]] = {i: [] for i in ids}
    if ids:
        stmt = select(ActivityTypeVersionRow).where(col(ActivityTypeVersionRow.activity_type_id).in_(ids))
        for version in (await session.exec(stmt)):
            by_type[version.activity_type_id].append(version)
    return by_type


async def snapshots(session: AsyncSession, rows: Sequence[ActivityTypeRow]) -> list[ActivityTypeSnapshot]:
    """Snapshots of `rows` (in order), with their versions loaded in one query."""
    versions = await _versions_of(session, [r.id for r in rows if r.id is not None])
    return [to_snapshot(r, versions[r.id]) for r in rows if r.id is not None]


# A type is locked against ingestion with a transaction-level advisory lock (TYPE_LOCK, id): a registry change
# takes it exclusively, a chunk being written shares it (app/services/ingestion/writer.py). Not a row lock: on
# Citus, SELECT ... FOR SHARE on a reference table takes a ShareLock and then a RowExclusiveLock on the table's
# shard, so two chunks sharing it at once wait for each other's ShareLock (a deadlock, cancelled after a second).
# Every session meets on the coordinator, where these locks live.
TYPE_LOCK = 7_242_018


async def row_by_api_name(session: AsyncSession, api_name: str, *, for_update: bool = False) -> ActivityTypeRow | None:
    """The type with this apiName (case-insensitive), deleted ones included; `for_update`: locked for this
    transaction, against other registry changes (FOR UPDATE) and ingestion chunks (TYPE_LOCK, taken first)."""
    stmt = select(ActivityTypeRow).where(func.lower(col(ActivityTypeRow.api_name)) == api_name.lower())
    if for_update:
        found = await _sql(session, "SELECT id FROM activity_type WHERE lower(api_name) = lower(:name)", name=api_name)
        for type_id in found.scalars().all():
            await _sql(session, "SELECT pg_advisory_xact_lock(:ns, :id)", ns=TYPE_LOCK, id=type_id)
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def rows_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[ActivityTypeRow]:
    stmt = select(ActivityTypeRow).where(col(ActivityTypeRow.id).in_(ids))
    return list(await session.exec(stmt))


async def page_rows(
    session: AsyncSession, *, after_id: int | None, limit: int, status: TypeStatus | None, include_system: bool
) -> list[ActivityTypeRow]:
    """One keyset page ordered by id; deleted types only when asked for by status."""
    stmt = select(ActivityTypeRow).order_by(col(ActivityTypeRow.id)).limit(limit)
    if status is not None:
        stmt = stmt.where(col(ActivityTypeRow.status) == status.value)
    else:
        stmt = stmt.where(col(ActivityTypeRow.deleted_at).is_(None))
    if not include_system:
        stmt = stmt.where(col(ActivityTypeRow.is_system).is_(False))
    if after_id is not None:
        stmt = stmt.where(col(ActivityTypeRow.id) > after_id)
    return list(await session.exec(stmt))


async def count_custom_types(session: AsyncSession) -> int:
    stmt = select(func.count()).select_from(ActivityTypeRow).where(
        col(ActivityTypeRow.deleted_at).is_(None),
        col(ActivityTypeRow.is_system).is_(False),
    )
    return int((await session.exec(stmt)).one())


async def conflicts(
    session: AsyncSession, *, exclude_id: int | None, name: str, trigger_name: str, filter_name: str
) -> dict[str, str]:
    """Which of name/triggerName/filterName another live type already uses (case-insensitive) -> its apiName."""
    found: dict[str, str] = {}
    for attr, column, value in (
        ("name", ActivityTypeRow.name, name),
        ("triggerName", ActivityTypeRow.trigger_name, trigger_name),
        ("filterName", ActivityTypeRow.filter_name, filter_name),
    ):
        stmt = select(col(ActivityTypeRow.api_name)).where(
            func.lower(col(column)) == value.lower(),
            col(ActivityTypeRow.deleted_at).is_(None),
        )
        if exclude_id is not None:
            stmt = stmt.where(col(ActivityTypeRow.id) != exclude_id)
        other = (await session.exec(stmt)).first()
        if other is not None:
            found[attr] = other
    return found


async def is_used(session: AsyncSession, type_id: int) -> bool:
    """Whether any activity was recorded with this type (any version)."""
    result = await _sql(session, "SELECT EXISTS (SELECT 1 FROM activity WHERE activity_type_id = :id)", id=type_id)
    return bool(result.scalar_one())




_LIVE_ROWS = (
    "SELECT t.id, t.api_name, t.is_system, v.version, v.definition FROM activity_type t "
    "JOIN activity_type_version v ON v.activity_type_id = t.id AND v.version = t.current_version "
    "WHERE t.deleted_at IS NULL"
)


async def live_rows(session: AsyncSession) -> list[tuple[int, str, bool, int, dict[str, Any]]]:
    """(id, apiName, isSystem, version, definition JSON) of every non-deleted type's current version."""
    rows: list[Any] = list((await _sql(session, _LIVE_ROWS)).all())
    return [(int(r[0]), str(r[1]), bool(r[2]), int(r[3]), dict(r[4])) for r in rows]


async def live_definitions(conn: Connection) -> dict[int, ActivityTypeDefinition]:
    """The current definition of every live type by id, on a raw connection (no session round trips)."""
    return {r[0]: ActivityTypeDefinition.from_json(r[4]) for r in await conn.fetch(_LIVE_ROWS)}


async def version_definition(session: AsyncSession, type_id: int, version: int) -> dict[str, Any] | None:
    row = await session.get(ActivityTypeVersionRow, (type_id, version))
    return row.definition if row is not None else None


def new_version(type_id: int, number: int, definition: ActivityTypeDefinition, actor: str) -> ActivityTypeVersionRow:
    return ActivityTypeVersionRow(
        activity_type_id=type_id, version=number, definition=definition.to_json(), approved_by=actor
    )
