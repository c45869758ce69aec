"""Person rows and their identity tables: lookups by id, email (case-insensitive) or external id, keyset
listing, writes, erasure.

Emails (lower-cased) and external ids live in `person_email` and `person_external_id`, whose primary keys keep
them unique (on Citus they are distributed by the value, `person` by id: app/db/distribution.py). Every write
here changes a person and its identity rows in the caller's transaction; lookups go identity -> id -> person,
two single-row (single-shard) reads instead of one query joining tables that live on different shards.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, and_, delete, func, or_, select, text, union, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.ingestion_repo import in_session
from app.db.raw_pool import Connection
from app.db.tables import ActivityRow, PersonEmailRow, PersonExternalIdRow, PersonRow
from app.domain.activities import Person
from app.domain.erasure import ErasedIdentity

_PERSON: Table = PersonRow.__table__  # type: ignore[attr-defined]
_EMAIL: Table = PersonEmailRow.__table__  # type: ignore[attr-defined]
_EXT: Table = PersonExternalIdRow.__table__  # type: ignore[attr-defined]
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
    """Every person matching any of the identifiers (emails compared lower-cased); with `lock`, each person's
    lock taken exclusively (until the transaction ends) before reading them."""
    wanted = set(ids)
    if emails or external_ids:
        found = await _run(
            session,
            union(
                select(_EMAIL.c.person_id).where(_EMAIL.c.email.in_([e.lower() for e in emails])),
                select(_EXT.c.person_id).where(_EXT.c.external_id.in_(list(external_ids))),
            ),
        )
        wanted.update(r[0] for r in found.all())
    if not wanted:
        return []
    if lock:
        await _run(session, text(_LOCK.format(mode="")).bindparams(ids=sorted(wanted), ns=PERSON_LOCK))
    result = await _run(session, select(*_COLUMNS).where(_T.id.in_(sorted(wanted))).order_by(_T.id))
    return [_person(r) for r in result.all()]


# Person locks are transaction-level advisory locks (namespace, id), not row locks: Citus runs SELECT ... FOR
# UPDATE/SHARE only on one shard, and every session meets on the coordinator where these locks live. Sorted,
# so concurrent lockers never deadlock; ids beyond int4 share a key with another person (an extra wait at most).
PERSON_LOCK = 7_242_017
_LOCK = (
    "SELECT count(pg_advisory_xact_lock{mode}(CAST(:ns AS int), (id % 2147483647)::int)) "
    "FROM unnest(CAST(:ids AS bigint[])) AS id"
)
_LOCK_RAW = _LOCK.replace("CAST(:ns AS int)", "$1::int").replace("CAST(:ids AS bigint[])", "$2::bigint[]")


_SELECT = "SELECT id, email, external_id, first_name, last_name, created_at, updated_at FROM person WHERE id = $1"
_IDENTITY = {
    "email": "SELECT person_id FROM person_email WHERE email = lower($1::text)",
    "external_id": "SELECT person_id FROM person_external_id WHERE external_id = $1::text",
}


async def lookup(conn: Connection, key: str, value: int | str) -> Person | None:
    """One person by `key` ("id", "email" case-insensitively, "external_id") on a raw asyncpg connection.

    The `person(...)` field opens every timeline query, so it skips the ORM session (~1 ms per request).
    """
    person_id = value if key == "id" else await conn.fetchval(_IDENTITY[key], value)
    if person_id is None:
        return None
    row = await conn.fetchrow(_SELECT, int(person_id))
    return _person(row) if row is not None else None


_IDS_BY_IDENTITY = (
    "SELECT person_id FROM person_email WHERE email = ANY($1::text[]) "
    "UNION SELECT person_id FROM person_external_id WHERE external_id = ANY($2::text[])"
)
_MATCH = "SELECT id, lower(email) AS email, external_id FROM person WHERE id = ANY($1::bigint[]) ORDER BY id"


async def match_rows(
    conn: Any, ids: Sequence[int], emails: Sequence[str], external_ids: Sequence[str], *, lock: bool
) -> list[Any]:
    """(id, lower(email), external_id) of every person named by an id, email or external id, on a raw
    connection; with `lock`, each person's lock in shared mode (see the ingestion's person resolution)."""
    wanted = set(ids)
    if emails or external_ids:
        rows = await conn.fetch(_IDS_BY_IDENTITY, [e.lower() for e in emails], list(external_ids))
        wanted.update(r[0] for r in rows)
    if not wanted:
        return []
    if lock:
        await conn.fetchval(_LOCK_RAW.format(mode="_shared"), PERSON_LOCK, sorted(wanted))
    return list(await conn.fetch(_MATCH, sorted(wanted)))


PersonValues = tuple[str | None, str | None, str | None, str | None]  # email, external_id, first_name, last_name


async def create_missing(conn: Any, persons: Sequence[PersonValues]) -> list[int | None]:
    """Create persons on a raw connection inside the caller's transaction, skipping each one whose email or
    external id belongs to someone already (or to an earlier entry); the new id of each entry, None if skipped.

    Ids are drawn first, then each identity is claimed (ON CONFLICT DO NOTHING waits for a concurrent claim
    to commit); a person is written only when all its identities were claimed, the others give theirs back.
    """
    if not persons:
        return []
    ids: list[int] = [
        r[0]
        for r in await conn.fetch(
            "SELECT nextval(pg_get_serial_sequence('person', 'id')) FROM generate_series(1, $1::int)", len(persons)
        )
    ]
    emails = [p[0].lower() if p[0] else None for p in persons]
    exts = [p[1] or None for p in persons]
    identities = (("person_email", "email", emails), ("person_external_id", "external_id", exts))
    missing: set[int] = set()
    for table, column, values in identities:
        pairs = [(v, i) for v, i in zip(values, ids, strict=True) if v is not None]
        if pairs:
            rows = await conn.fetch(
                f"INSERT INTO {table} ({column}, person_id) SELECT * FROM unnest($1::text[], $2::bigint[]) "
                "ON CONFLICT DO NOTHING RETURNING person_id",
                [v for v, _ in pairs],
                [i for _, i in pairs],
            )
            missing |= {i for _, i in pairs} - {r[0] for r in rows}
    if missing:  # some identity of these was taken: give back the ones they did claim
        for table, column, values in identities:
            back = [v for v, i in zip(values, ids, strict=True) if v is not None and i in missing]
            if back:
                await conn.execute(
                    f"DELETE FROM {table} WHERE {column} = ANY($1::text[]) AND person_id = ANY($2::bigint[])",
                    back,
                    sorted(missing),
                )
    keep = [(i, p) for i, p in zip(ids, persons, strict=True) if i not in missing]
    if keep:
        await conn.execute(
            "INSERT INTO person (id, email, external_id, first_name, last_name) "
            "SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[])",
            [i for i, _ in keep],
            *([p[n] for _, p in keep] for n in range(4)),
        )
    return [None if i in missing else i for i in ids]


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
    """A new person and its identity rows; a taken email or external id raises IntegrityError."""
    result = await _run(session, _PERSON.insert().values(**values).returning(*_COLUMNS))
    person = _person(result.one())
    await _claim(session, person)
    return person


async def update_person(session: AsyncSession, old: Person, values: dict[str, Any]) -> Person:
    """Change a person; identity rows follow a changed email or external id (a taken one raises IntegrityError)."""
    result = await _run(
        session, update(_PERSON).where(_T.id == old.id).values(**values, updated_at=func.now()).returning(*_COLUMNS)
    )
    person = _person(result.one())
    await _release(session, old, keep=person)
    await _claim(session, person, old=old)
    return person


def _identities(person: Person | None) -> tuple[str | None, str | None]:
    if person is None:
        return None, None
    return (person.email.lower() if person.email else None), person.external_id


async def _claim(session: AsyncSession, person: Person, old: Person | None = None) -> None:
    email, ext = _identities(person)
    had_email, had_ext = _identities(old)
    if email is not None and email != had_email:
        await _run(session, _EMAIL.insert().values(email=email, person_id=person.id))
    if ext is not None and ext != had_ext:
        await _run(session, _EXT.insert().values(external_id=ext, person_id=person.id))


async def _release(session: AsyncSession, person: Person, keep: Person | None = None) -> None:
    """Delete the identity rows of `person` (each by its value: one shard), except those `keep` still has."""
    email, ext = _identities(person)
    kept_email, kept_ext = _identities(keep)
    if email is not None and email != kept_email:
        await _run(session, delete(_EMAIL).where(and_(_EMAIL.c.email == email, _EMAIL.c.person_id == person.id)))
    if ext is not None and ext != kept_ext:
        await _run(session, delete(_EXT).where(and_(_EXT.c.external_id == ext, _EXT.c.person_id == person.id)))


async def erase(session: AsyncSession, person: Person) -> tuple[int, int]:
    """Delete the person, their activities and rejected rows that name them; (activities, rejections) removed.

    The rejected rows are found on their decoded text (ingestion_repo.in_session.erase_rejections_naming).
    """
    activities = await _run(session, delete(_ACTIVITY).where(_ACTIVITY.c.person_id == person.id))
    rejections = await in_session.erase_rejections_naming(session, ErasedIdentity(person.email, person.external_id))
    await _release(session, person)
    await _run(session, delete(_PERSON).where(_T.id == person.id))
    return int(activities.rowcount), rejections
