"""app/db/ingestion_repo owns the ingestion tables: every statement on them, and guarded status transitions."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from app.db.ingestion_repo import chunks, jobs, rejections
from app.domain.ingestion import ChunkTally, JobSource, JobStatus, SourceFormat
from app.services.runtime import Resources

ROOT = Path(__file__).resolve().parents[2]
TABLES = re.compile(r"\bingestion_(job|chunk|rejection)\b(?!_)")
# app/bench observes the database from outside (as the tests do), to time what the service stored;
# app/db/distribution.py: its Citus placement plan names every table (no statement on them).
OWNERS = {"app/db/ingestion_repo", "app/db/tables.py", "app/db/migrations", "app/bench", "app/db/distribution.py"}


def test_no_statement_on_the_ingestion_tables_outside_the_repository() -> None:
    found = []
    for path in sorted([*(ROOT / "app").rglob("*.py"), *(ROOT / "workers").rglob("*.py")]):
        where = path.relative_to(ROOT).as_posix()
        if any(where.startswith(owner) for owner in OWNERS):
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            code = line.split("#", 1)[0]
            if TABLES.search(code) and ('"' in code or "'" in code):  # inside a string: SQL text
                found.append(f"{where}:{number}")
    assert found == []


async def _queued(resources: Resources) -> uuid.UUID:
    job_id = uuid.uuid4()
    async with resources.db.raw() as conn:
        assert await jobs.insert(
            conn, job_id, source=JobSource.INLINE, format=SourceFormat.JSONL, activity_type=None, dry_run=False,
            create_missing_persons=False, idempotency_key=None, created_by="tester", filename=None, replay_of=None,
            resume_from=None, receiving=False,
        )
        await chunks.insert(conn, job_id, 0, 1, 2, b"two rows")
        await jobs.set_payload(conn, job_id, header=None, rows=2, total_bytes=8, chunks=1, sha256="x")
    return job_id


async def test_a_run_moves_through_the_guarded_transitions(resources: Resources) -> None:
    job_id = await _queued(resources)
    async with resources.db.raw() as conn:
        started = await jobs.start_run(conn, job_id)
        assert started is not None and started["status"] == "RUNNING" and started["attempts"] == 1
        assert await chunks.data(conn, job_id, 0) == b"two rows"
        async with conn.transaction(), resources.db.raw() as other:
            claimed = await chunks.claim(conn, job_id, wait=False)
            assert claimed is not None and (claimed["seq"], claimed["data"]) == (0, b"two rows")
            assert await chunks.claim(other, job_id, wait=False) is None  # held by this transaction
            assert await chunks.any_left(other, job_id)  # held, not done
            await chunks.delete(conn, job_id, 0)
            assert await jobs.add_chunk(conn, job_id, ChunkTally(processed=2, accepted=1, rejected=1))
        assert await chunks.claim(conn, job_id, wait=True) is None and not await chunks.any_left(conn, job_id)
        assert await chunks.data(conn, job_id, 0) is None
        await jobs.finish(conn, job_id, JobStatus.COMPLETED_WITH_ERRORS)
        await jobs.fail(conn, job_id, "too late")  # an ended job stays as it ended
        assert await jobs.start_run(conn, job_id) is None
        job = await jobs.fetch(conn, job_id)
    assert job is not None and job.status is JobStatus.COMPLETED_WITH_ERRORS and job.error is None
    assert (job.counts.processed, job.counts.accepted, job.counts.rejected) == (2, 1, 1)


async def test_cancelling_a_queued_job_ends_it_and_later_transitions_change_nothing(resources: Resources) -> None:
    job_id = await _queued(resources)
    async with resources.db.raw() as conn:
        locked = await jobs.lock_for_change(conn, job_id)
        assert locked is not None and (locked["status"], locked["created_by"]) == ("QUEUED", "tester")
        await jobs.cancel_queued(conn, job_id)
        await chunks.delete_all(conn, job_id)
        await jobs.finish(conn, job_id, JobStatus.SUCCEEDED)  # only a RUNNING job finishes
        assert not await jobs.add_chunk(conn, job_id, ChunkTally(processed=2))
        job = await jobs.fetch(conn, job_id)
        assert await chunks.data(conn, job_id, 0) is None
    assert job is not None and job.status is JobStatus.CANCELLED and job.cancel_requested


async def test_rejections_are_counted_as_stored_and_replayed_once(resources: Resources) -> None:
    job_id, replay_id = await _queued(resources), await _queued(resources)
    records = [(job_id, n, "INVALID", None, "m", '[{"code": "INVALID", "field": null, "message": "m"}]', f"row {n}")
               for n in (1, 2, 3)]
    records.append((job_id, 4, "ROW_TOO_LARGE", None, "m", '[{"code": "ROW_TOO_LARGE", "field": null, "message": "m"}]',
                    "cut"))
    async with resources.db.raw() as conn:
        await rejections.insert(conn, records)
        assert await rejections.count(conn, job_id) == 4
        assert [r["row_number"] for r in await rejections.page(conn, job_id, limit=2, after_row=1)] == [2, 3]
        async with conn.transaction():
            assert [r["row_number"] async for r in rejections.pending(conn, job_id)] == [1, 2, 3]
            await rejections.mark_replayed(conn, job_id, replay_id)
            assert [r["row_number"] async for r in rejections.pending(conn, job_id)] == []
