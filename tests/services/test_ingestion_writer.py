"""The chunk writer: fast path (checked COPY), staged path (ON CONFLICT) and dry run classify alike."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from app.services.ingestion.writer import STAGE_DDL, StagedRow, write_rows
from app.services.runtime import Resources
from tests.ingestion_support import approved_type

AT = datetime(2026, 11, 2, 10, tzinfo=UTC)


def row(n: int, key: str | None, payload: bytes, person: int = 1, type_id: int = 1) -> StagedRow:
    return StagedRow(n, person, AT, type_id, 1, '"x"', "{}", key, payload)


CHUNK = [
    row(1, "a", b"h1"), row(2, "a", b"h1"),  # in-chunk duplicate
    row(3, "b", b"h1"), row(4, "b", b"h2"),  # in-chunk conflict
    row(5, "old", b"h1"), row(6, "old-x", b"h9"),  # against stored rows: duplicate, conflict
    row(7, None, b"h1"), row(8, None, b"h1"),  # no key: always new
    row(9, "a", b"h1", person=2),  # same key, other person: new
]


@pytest.mark.parametrize(("dry_run", "return_rows", "expect_new"),
                         [(False, False, False), (False, False, True), (False, True, False), (True, False, False)])
async def test_every_path_classifies_the_same(
    resources: Resources, dry_run: bool, return_rows: bool, expect_new: bool
) -> None:
    type_id = await approved_type(resources)
    chunk = [StagedRow(r.row_number, r.person_id, AT, type_id, 1, r.primary_value, r.fields, r.idempotency_key,
                       r.payload_hash) for r in CHUNK]
    async with resources.db.raw() as conn:
        await conn.execute(STAGE_DDL)
        async with conn.transaction():
            stored = [StagedRow(0, 1, AT, type_id, 1, None, "{}", "old", b"h1"),
                      StagedRow(0, 1, AT, type_id, 1, None, "{}", "old-x", b"h1")]
            await write_rows(conn, uuid.uuid4(), stored, dry_run=False, return_rows=False)
        async with conn.transaction():
            result = await write_rows(conn, uuid.uuid4(), chunk, dry_run=dry_run, return_rows=return_rows,
                                      expect_new=expect_new)
        total = await conn.fetchval("SELECT count(*) FROM activity")
    assert result.stored_keys is expect_new  # the optimistic COPY met "old" and "old-x"
    assert result.accepted == 5
    assert sorted(r.row_number for r in result.duplicates) == [2, 5]
    assert sorted(r.row_number for r in result.conflicts) == [4, 6]
    assert total == 2 + (0 if dry_run else 5)
    assert len(result.inserted) == (5 if return_rows else 0)


async def test_expecting_new_keys_skips_the_lookup_and_still_classifies_within_the_chunk(resources: Resources) -> None:
    type_id = await approved_type(resources)
    chunk = [StagedRow(r.row_number, r.person_id, AT, type_id, 1, r.primary_value, r.fields, r.idempotency_key,
                       r.payload_hash) for r in CHUNK if r.idempotency_key not in ("old", "old-x")]
    async with resources.db.raw() as conn:
        await conn.execute(STAGE_DDL)
        async with conn.transaction():
            result = await write_rows(conn, uuid.uuid4(), chunk, dry_run=False, return_rows=False, expect_new=True)
        stored = await conn.fetch("SELECT idempotency_key, person_id FROM activity ORDER BY id")
    assert not result.stored_keys and result.accepted == 5
    assert [r.row_number for r in result.duplicates] == [2] and [r.row_number for r in result.conflicts] == [4]
    assert sorted((r["idempotency_key"] or "", r["person_id"]) for r in stored) == [
        ("", 1), ("", 1), ("a", 1), ("a", 2), ("b", 1)]
