"""Saved smart-list rows: insert, update, delete, lookups and keyset listing by id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, delete, func, insert, select, text, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.raw_pool import Connection
from app.db.tables import SmartListRow
from app.domain.smart_lists import SavedSmartList, SmartListDefinition

_TABLE: Table = SmartListRow.__table__  # type: ignore[attr-defined]
_T = _TABLE.c
_COLUMNS = (_T.id, _T.name, _T.description, _T.definition, _T.created_at, _T.updated_at)


def _saved(row: Any) -> SavedSmartList:
    return SavedSmartList(
        id=row[0],
        name=row[1],
        description=row[2],
        definition=SmartListDefinition.from_json(row[3]),
        created_at=row[4],
        updated_at=row[5],
    )


async def _run(session: AsyncSession, statement: Any) -> Any:
    return await session.exec(statement)


async def lock_for_create(session: AsyncSession) -> None:
    """Serialize creations (in the caller's transaction) so the deployment-wide count limit holds under races."""
    await _run(session, text("SELECT pg_advisory_xact_lock(hashtext('smart_list.create'))"))


async def count_all(session: AsyncSession) -> int:
    return int((await _run(session, select(func.count()).select_from(_TABLE))).scalar_one())


async def name_taken(session: AsyncSession, name: str, except_id: int | None = None) -> bool:
    query = select(_T.id).where(func.lower(_T.name) == name.lower())
    if except_id is not None:
        query = query.where(_T.id != except_id)
    return (await _run(session, query)).first() is not None


async def insert_list(
    session: AsyncSession, name: str, description: str | None, definition: SmartListDefinition, created_by: str
) -> SavedSmartList:
    statement = (
        insert(_TABLE)
        .values(name=name, description=description, definition=definition.to_json(), created_by=created_by)
        .returning(*_COLUMNS)
    )
    return _saved((await _run(session, statement)).one())


async def update_list(session: AsyncSession, list_id: int, values: dict[str, Any]) -> SavedSmartList | None:
    if "definition" in values:
        values = {**values, "definition": values["definition"].to_json()}
    statement = (
        update(_TABLE).where(_T.id == list_id).values(**values, updated_at=func.now()).returning(*_COLUMNS)
    )
    row = (await _run(session, statement)).first()
    return _saved(row) if row is not None else None


async def delete_list(session: AsyncSession, list_id: int) -> SavedSmartList | None:
    row = (await _run(session, delete(_TABLE).where(_T.id == list_id).returning(*_COLUMNS))).first()
    return _saved(row) if row is not None else None


async def get(session: AsyncSession, list_id: int, *, lock: bool = False) -> SavedSmartList | None:
    query = select(*_COLUMNS).where(_T.id == list_id)
    if lock:
        query = query.with_for_update()
    row = (await _run(session, query)).first()
    return _saved(row) if row is not None else None


async def page_raw(conn: Connection, *, after_id: int | None, limit: int) -> list[SavedSmartList]:
    """`page` on a raw connection (a person's memberships read lists, types and members on one connection)."""
    rows = await conn.fetch(
        "SELECT id, name, description, definition, created_at, updated_at FROM smart_list "
        "WHERE id > $1 ORDER BY id LIMIT $2", after_id if after_id is not None else 0, limit)
    return [_saved(r) for r in rows]


async def page(session: AsyncSession, *, after_id: int | None, limit: int) -> list[SavedSmartList]:
    """Saved lists by ascending id after `after_id`."""
    query = select(*_COLUMNS).order_by(_T.id).limit(limit)
    if after_id is not None:
        query = query.where(_T.id > after_id)
    return [_saved(r) for r in (await _run(session, query)).all()]
