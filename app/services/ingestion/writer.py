"""Write one chunk's accepted rows: COPY into a temp staging table, INSERT ... ON CONFLICT DO NOTHING,
then tell duplicates (same idempotency key, same payload) from conflicts (same key, other payload)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any, NamedTuple

import asyncpg

from app.db.raw_pool import Connection
from app.db.registry_repo import TYPE_LOCK

STAGE_COLUMNS = ("row_number", "person_id", "occurred_at", "activity_type_id", "type_version", "primary_value",
                 "fields", "idempotency_key", "payload_hash")
STAGE_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS ingest_stage (row_number bigint, person_id bigint, occurred_at timestamptz, "
    "activity_type_id integer, type_version integer, primary_value jsonb, fields jsonb, idempotency_key text, "
    "payload_hash bytea) ON COMMIT DELETE ROWS"
)
INSERT_SQL = (
    "WITH ins AS (INSERT INTO activity (person_id, occurred_at, activity_type_id, type_version, primary_value, "
    "fields, idempotency_key, payload_hash, job_id) "
    "SELECT person_id, occurred_at, activity_type_id, type_version, primary_value, fields, idempotency_key, "
    "payload_hash, $1 FROM ingest_stage ORDER BY row_number ON CONFLICT DO NOTHING "
    "RETURNING id, person_id, occurred_at, activity_type_id, type_version, primary_value, fields, "
    "idempotency_key, payload_hash, ingested_at) "
)
INSERT_KEYED = INSERT_SQL + "SELECT person_id, activity_type_id, idempotency_key, payload_hash FROM ins " \
    "WHERE idempotency_key IS NOT NULL"
INSERT_ALL = INSERT_SQL + "SELECT * FROM ins"
EXISTING_SQL = (
    "SELECT a.person_id, a.activity_type_id, a.idempotency_key, a.payload_hash FROM activity a "
    "JOIN unnest($1::bigint[], $2::int[], $3::text[]) AS k(p, t, key) "
    "ON a.person_id = k.p AND a.activity_type_id = k.t AND a.idempotency_key = k.key"
)

# The registry approves a breaking change (or deletes a type) only while no activity of the type exists, holding
# the type's lock (registry_repo.TYPE_LOCK) exclusively. A chunk shares the lock of each of its types from before
# it writes until it commits, so the two serialise: an approval waits for the chunk and then sees its activities,
# or the chunk waits for the approval and then sees the new version (read by a second statement, whose snapshot
# is taken after the wait). Sorted, so chunks and registry changes never deadlock over them.
LOCK_TYPES_SQL = "SELECT count(pg_advisory_xact_lock_shared($1::int, id)) FROM unnest($2::int[]) AS id"
READ_TYPES_SQL = "SELECT id, current_version, deleted_at IS NULL AS live FROM activity_type WHERE id = ANY($1::int[])"

ACTIVITY_COLUMNS = ("person_id", "occurred_at", "activity_type_id", "type_version", "primary_value", "fields",
                    "idempotency_key", "payload_hash", "job_id")
Key = tuple[int, int, str | None]  # (person, type, idempotency key): what the unique index compares
logger = logging.getLogger(__name__)


class StagedRow(NamedTuple):
    """A validated row with its person resolved; JSON values are pre-serialised text. Laid out as the staging
    table's columns; the bulk path passes plain tuples of this layout (`Staged`), not instances."""

    row_number: int
    person_id: int
    occurred_at: datetime
    activity_type_id: int
    type_version: int
    primary_value: str | None
    fields: str
    idempotency_key: str | None
    payload_hash: bytes | None  # set when idempotency_key is


Staged = tuple[int, int, datetime, int, int, str | None, str, str | None, bytes | None]
_ROW_NUMBER = itemgetter(0)


class TypesChanged(Exception):
    """A type of the chunk got a new live version (or was deleted) after the rows were validated against it."""


async def lock_types(conn: Connection, rows: Sequence[Staged]) -> None:
    """Lock the chunk's types until commit (see LOCK_TYPES_SQL); TypesChanged if a row's version is not live."""
    used = {(r[3], r[4]) for r in rows}
    if not used:
        return
    ids = sorted({type_id for type_id, _ in used})
    await conn.fetchval(LOCK_TYPES_SQL, TYPE_LOCK, ids)
    found = await conn.fetch(READ_TYPES_SQL, ids)
    live = {r["id"]: r["current_version"] for r in found if r["live"]}
    stale = sorted({type_id for type_id, version in used if live.get(type_id) != version})
    if stale:
        raise TypesChanged(f"activity types {stale} changed since the chunk was validated")


@dataclass(slots=True)
class WriteResult:
    accepted: int
    duplicates: list[Staged]
    conflicts: list[Staged]
    inserted: list[Any]  # full activity records, only when asked for (live timelines)
    stored_keys: bool = False  # some idempotency keys of the chunk were stored already


def unique_violation(exc: asyncpg.PostgresError) -> bool:
    """A duplicate key: PostgreSQL's 23505, or Citus' report of one from a shard during COPY (which arrives as
    XX000 with PostgreSQL's message)."""
    return isinstance(exc, asyncpg.UniqueViolationError) or (
        exc.sqlstate == "XX000" and str(exc).startswith("duplicate key value violates unique constraint")
    )


async def write_rows(
    conn: Connection, job_id: uuid.UUID, rows: Sequence[Staged], *, dry_run: bool, return_rows: bool,
    expect_new: bool = False,
) -> WriteResult:
    """Insert `rows` (or, for a dry run, only classify them) inside the caller's transaction.

    Large jobs take the fast path: look up which idempotency keys exist, then COPY the new rows straight
    into `activity`. With `expect_new` (the job has met no stored key so far) the lookup is skipped and the
    unique index checks the keys during the COPY: if one is stored already, the COPY fails in its savepoint
    and the chunk takes the lookup path (`stored_keys` tells the caller to expect that from then on). If
    another job inserts one of the keys in between, the unique index refuses the COPY and the chunk falls
    back to staging + INSERT ... ON CONFLICT DO NOTHING, which is also the path for small jobs whose
    inserted rows are published to live timelines."""
    if dry_run:
        return await _checked_copy(conn, job_id, rows, write=False)
    await lock_types(conn, rows)
    if not return_rows:
        if expect_new:
            # The savepoint stays open when the COPY succeeds: the chunk's commit ends it, one round trip
            # fewer than RELEASE.
            await conn.execute("SAVEPOINT ingest_copy")
            try:
                return await _checked_copy(conn, job_id, rows, write=True, lookup=False)
            except asyncpg.PostgresError as exc:
                if not unique_violation(exc):
                    raise
                await conn.execute("ROLLBACK TO SAVEPOINT ingest_copy")
                logger.debug("idempotency keys of the chunk are stored already; looking them up")
        try:
            async with conn.transaction():
                result = await _checked_copy(conn, job_id, rows, write=True)
                result.stored_keys = expect_new
                return result
        except asyncpg.PostgresError as exc:
            if not unique_violation(exc):
                raise
            logger.info("concurrent insert of the same idempotency key; using ON CONFLICT for this chunk")
    result = await _staged(conn, job_id, rows, return_rows=return_rows)
    result.stored_keys = expect_new
    return result


async def _checked_copy(
    conn: Connection, job_id: uuid.UUID, rows: Sequence[Staged], *, write: bool, lookup: bool = True
) -> WriteResult:
    first: dict[Key, Staged] = {}
    new: list[Staged] = []
    repeats: list[Staged] = []
    for row in sorted(rows, key=_ROW_NUMBER):
        key = row[7]
        if key is None:
            new.append(row)
            continue
        index_key: Key = (row[1], row[3], key)
        if index_key in first:
            repeats.append(row)
        else:
            first[index_key] = row
    known = await _existing(conn, list(first.values())) if lookup else {}
    for index_key, row in first.items():
        (repeats if index_key in known else new).append(row)
    if write and new:
        tail = (job_id,)  # a slice plus one concatenation: ~40 ns a row less than (*r[1:], job_id)
        await conn.copy_records_to_table("activity", records=[r[1:] + tail for r in new], columns=ACTIVITY_COLUMNS)
    duplicates: list[Staged] = []
    conflicts: list[Staged] = []
    for row in repeats:
        index_key = (row[1], row[3], row[7])
        stored = known[index_key] if index_key in known else first[index_key][8]
        (duplicates if stored == row[8] else conflicts).append(row)
    return WriteResult(len(new), duplicates, conflicts, [])


async def _staged(conn: Connection, job_id: uuid.UUID, rows: Sequence[Staged], *, return_rows: bool) -> WriteResult:
    keyed = [r for r in rows if r[7] is not None]
    inserted_records: list[Any] = []
    returned: list[Any] = []
    if rows:
        await conn.copy_records_to_table("ingest_stage", records=rows, columns=STAGE_COLUMNS)
        if return_rows:
            inserted_records = await conn.fetch(INSERT_ALL, job_id)
            returned = [r for r in inserted_records if r["idempotency_key"] is not None]
        else:
            returned = await conn.fetch(INSERT_KEYED, job_id)
    claimed = {(r["person_id"], r["activity_type_id"], r["idempotency_key"]): r["payload_hash"] for r in returned}
    accepted = len(rows) - len(keyed)
    pending: list[Staged] = []
    for row in sorted(keyed, key=_ROW_NUMBER):
        key = (row[1], row[3], row[7])
        if claimed.get(key) == row[8]:
            del claimed[key]  # the row our INSERT stored
            accepted += 1
        else:
            pending.append(row)
    known = await _existing(conn, pending)
    duplicates: list[Staged] = []
    conflicts: list[Staged] = []
    for row in pending:
        (duplicates if known.get((row[1], row[3], row[7])) == row[8] else conflicts).append(row)
    return WriteResult(accepted, duplicates, conflicts, inserted_records)


async def _existing(conn: Connection, rows: Sequence[Staged]) -> dict[Key, bytes]:
    if not rows:
        return {}
    found = await conn.fetch(EXISTING_SQL, [r[1] for r in rows], [r[3] for r in rows], [r[7] for r in rows])
    return {(r["person_id"], r["activity_type_id"], r["idempotency_key"]): r["payload_hash"] for r in found}
