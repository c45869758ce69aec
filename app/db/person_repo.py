"""Person rows: lookups by id, email (case-insensitive) or external id, keyset listing, writes, erasure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, delete, func, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.ingestion_repo import in_session
from app.db.raw_pool import Connection
from app.db.tables import ActivityRow, PersonRow
from app.domain.activities import Person
from app.domain.erasure import ErasedIdentity

_PERSON: Table = PersonRow.__table__  # type: ignore[attr-defined]
_ACTIVITY: Table = ActivityRow.__table__  # type: ignore[attr-defined]
_T = _PERSON.c
_COLUMNS = (_T.id, _T.email, _T.external_id, _T.first_name, _T.last_name, _T.created_at, _T.updated_at)


async def _run(session: AsyncSession, statement: Any) -> Any:
    """Core statements through SQLModel's session (its overloads only type ORM selects)."""
    return await session.exec(statement)


def _person(row: Any) -> Person:
    return Person(
        id=row[0],
        email=row[1],
        external_id=row[2],
        first_name=row[3],
        last_name=row[4],
        created_at=row[5],
        updated_at=row[6],
    )


async def by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Person]:
    if not ids:
        return {}
    result = await _run(session, select(*_COLUMNS).where(_T.id.in_(list(ids))))
    return {p.id: p for p in map(_person, result.all())}


async def find(
    session: AsyncSession,
    ids: Sequence[int] = (),
    emails: Sequence[str] = (),
    external_ids: Sequence[str] = (),
    *,
    lock: bool = False,
) -> list[Person]:
    """Every person matching any of the identifiers (emails compared lower-cased)."""
    conditions = []
    if ids:
        conditions.append(_T.id.in_(list(ids)))
    if emails:
        conditions.append(func.lower(_T.email).in_([e.lower() for e in emails]))
    if external_ids:
        conditions.append(_T.external_id.in_(list(external_ids)))
    if not conditions:
        return []
    query = select(*_COLUMNS).where(or_(*conditions)).order_by(_T.id)
    if lock:
        query = query.with_for_update()
    result = await _run(session, query)
    return [_person(r) for r in result.all()]


_LOOKUP = {
    "id": "id = $1::bigint",
    "email": "lower(email) = lower($1::text)",
    "external_id": "external_id = $1::text",
}


async def lookup(conn: Connection, key: str, value: int | str) -> Person | None:
    """One person by `key` ("id", "email" case-insensitively, "external_id") on a raw asyncpg connection.

    The `person(...)` field opens every timeline query, so it skips the ORM session (~1 ms per request).
    """
    row = await conn.fetchrow(
        "SELECT id, email, external_id, first_name, last_name, created_at, updated_at FROM person "
        f"WHERE {_LOOKUP[key]}",
        value,
    )
    return _person(row) if row is not None else None


async def page(session: AsyncSession, *, after_id: int | None, limit: int, search: str | None) -> list[Person]:
    """Persons by ascending id after `after_id`; `search` is a case-insensitive substring of email/ids/names."""
    query = select(*_COLUMNS).order_by(_T.id).limit(limit)
    if after_id is not None:
        query = query.where(_T.id > after_id)
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                _T.email.ilike(pattern),
                _T.external_id.ilike(pattern),
                _T.first_name.ilike(pattern),
                _T.last_name.ilike(pattern),
            )
        )
    result = await _run(session, query)
    return [_person(r) for r in result.all()]


async def insert(session: AsyncSession, values: dict[str, Any]) -> Person:
    result = await _run(session, _PERSON.insert().values(**values).returning(*_COLUMNS))
    return _person(result.one())


async def update_person(session: AsyncSession, person_id: int, values: dict[str, Any]) -> Person:
    result = await _run(
        session, update(_PERSON).where(_T.id == person_id).values(**values, updated_at=func.now()).returning(*_COLUMNS)
    )
    return _person(result.one())


async def erase(session: AsyncSession, person: Person) -> tuple[int, int]:
    """Delete the person, their activities and rejected rows that name them; (activities, rejections) removed.

    The rejected rows are found on their decoded text (ingestion_repo.in_session.erase_rejections_naming).
    """
    activities = await _run(session, delete(_ACTIVITY).where(_ACTIVITY.c.person_id == person.id))
    rejections = await in_session.erase_rejections_naming(session, ErasedIdentity(person.email, person.external_id))
    await _run(session, delete(_PERSON).where(_T.id == person.id))
    return int(activities.rowcount), rejections
