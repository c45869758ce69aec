"""A breaking approval or a delete racing an ingestion chunk: the type's lock (registry_repo.TYPE_LOCK) orders them.

The registry allows a breaking change (or a delete) only while no activity of the type is stored; the chunk
writer shares its types' locks until commit, the registry takes the type's exclusively. Blocking is observed in
pg_blocking_pids on real connections (on Citus in citus_lock_waits: the rows locked are the reference table's
copies on the workers), never inferred from timing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import registry_repo
from app.domain.access import Principal
from app.domain.activity_types import ActivityTypeDefinition, FieldDataType, FieldSpec
from app.domain.errors import DomainError, ErrorCode
from app.domain.ingestion import JobSource, JobStatus, SourceFormat
from app.services import registry_admin
from app.services.ingestion import process
from app.services.ingestion.jobs import get_job, list_rejections
from app.services.ingestion.submit import JobSpec, submit_objects
from app.services.ingestion.writer import STAGE_DDL, StagedRow, TypesChanged, write_rows
from app.services.runtime import Resources
from tests.conftest import eventually

ADMIN = Principal.local_admin()
AT = datetime(2026, 11, 2, 10, tzinfo=UTC)
WEBINAR = ActivityTypeDefinition(
    api_name="webinar",
    name="Attend webinar",
    trigger_name="Attends webinar",
    filter_name="Attended webinar",
    primary_field=FieldSpec("title", "Title", FieldDataType.STRING, required=True),
    fields=(FieldSpec("minutes", "Minutes", FieldDataType.INTEGER, min_value=0),),
)
HOST = FieldSpec("host", "Host", FieldDataType.EMAIL, required=True)  # required and new: a breaking change


async def _live_type_with_breaking_draft(resources: Resources) -> int:
    """`webinar` v1 approved and unused, with a draft that adds a required field."""
    created = await registry_admin.create(resources, ADMIN, WEBINAR)
    await registry_admin.approve(resources, ADMIN, "webinar")
    await registry_admin.add_fields(resources, ADMIN, "webinar", [HOST])
    assert created.id is not None
    return created.id


async def _backend(resources: Resources, conn: Any) -> int:
    """`conn`'s backend as the lock views name it: its pid, or on Citus its cluster-wide (global) pid."""
    return int(await conn.fetchval("SELECT citus_backend_gpid()" if await resources.db.distributed()
                                   else "SELECT pg_backend_pid()"))


async def _blocked(resources: Resources, *, by: int | None = None, waiting: int | None = None) -> bool:
    """Whether some backend waits for a lock `by` holds, or `waiting` waits for some lock (see _backend)."""
    if await resources.db.distributed():
        query = ("SELECT count(*) FROM citus_lock_waits WHERE blocking_gpid = coalesce($1, blocking_gpid) "
                 "AND waiting_gpid = coalesce($2, waiting_gpid)")
    else:
        query = ("SELECT count(*) FROM pg_stat_activity WHERE coalesce($1::int = ANY(pg_blocking_pids(pid)), true) "
                 "AND pid = coalesce($2, pid) AND cardinality(pg_blocking_pids(pid)) > 0")
    async with resources.db.raw() as conn:
        return bool(await conn.fetchval(query, by, waiting))


async def _waits_for(resources: Resources, holder: int) -> None:
    """Until some backend waits for a lock that backend `holder` holds."""
    await eventually(lambda: _blocked(resources, by=holder), timeout=30, interval=0.02)


def _approve(resources: Resources) -> Callable[[], Awaitable[Any]]:
    return lambda: registry_admin.approve(resources, ADMIN, "webinar")


def _delete(resources: Resources) -> Callable[[], Awaitable[Any]]:
    return lambda: registry_admin.delete(resources, ADMIN, "webinar")


@pytest.mark.parametrize(
    ("action", "refusal"),
    [(_approve, ErrorCode.BREAKING_CHANGE), (_delete, ErrorCode.IN_USE)],
    ids=["approve", "delete"],
)
async def test_a_chunk_holding_its_types_makes_approval_wait_then_see_its_activities(
    resources: Resources,
    action: Callable[[Resources], Callable[[], Awaitable[Any]]],
    refusal: ErrorCode,
) -> None:
    type_id = await _live_type_with_breaking_draft(resources)
    row = StagedRow(1, 1, AT, type_id, 1, '"Intro"', '{"minutes": 5}', None, None)
    async with resources.db.raw() as chunk:
        await chunk.execute(STAGE_DDL)
        chunk_pid = await _backend(resources, chunk)
        async with chunk.transaction():
            result = await write_rows(chunk, uuid.uuid4(), [row], dry_run=False, return_rows=False)
            assert result.accepted == 1
            registry = asyncio.create_task(action(resources)())
            await _waits_for(resources, chunk_pid)  # nothing else runs: the registry change waits
            assert not registry.done()
        with pytest.raises(DomainError) as refused:
            await registry
    assert refused.value.issues[0].code is refusal
    async with resources.db.raw() as conn:
        live = await conn.fetchrow("SELECT current_version, deleted_at FROM activity_type WHERE id = $1", type_id)
    assert (live["current_version"], live["deleted_at"]) == (1, None)


async def test_two_chunks_of_one_type_write_at_once(resources: Resources) -> None:
    """Chunks share their types' locks, so neither waits for the other. (With FOR SHARE on the activity_type row
    instead, Citus made the second wait for the first's commit, or cancelled one of two as a deadlock: see
    TYPE_LOCK.)"""
    type_id = await _live_type_with_breaking_draft(resources)
    rows = [StagedRow(n, 1, AT, type_id, 1, '"Intro"', '{"minutes": 5}', None, None) for n in (1, 2)]
    async with resources.db.raw() as first, resources.db.raw() as second:
        for conn in (first, second):
            await conn.execute(STAGE_DDL)
        async with first.transaction(), second.transaction():  # both stay open: each chunk holds its locks
            for conn, row in zip((first, second), rows, strict=True):
                written = write_rows(conn, uuid.uuid4(), [row], dry_run=False, return_rows=False)
                assert (await asyncio.wait_for(written, timeout=20)).accepted == 1
    async with resources.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM activity") == 2


async def test_a_chunk_waiting_for_an_approval_sees_the_new_version_and_writes_nothing(
    resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    type_id = await _live_type_with_breaking_draft(resources)
    row = StagedRow(1, 1, AT, type_id, 1, '"Intro"', '{"minutes": 5}', None, None)
    locked, proceed = asyncio.Event(), asyncio.Event()
    is_used = registry_repo.is_used

    async def holding_the_lock(session: AsyncSession, used_type_id: int) -> bool:
        locked.set()  # approve has locked the type FOR UPDATE and checks for activities: pause it here
        await proceed.wait()
        return await is_used(session, used_type_id)

    monkeypatch.setattr(registry_repo, "is_used", holding_the_lock)
    approving = asyncio.create_task(registry_admin.approve(resources, ADMIN, "webinar"))
    await asyncio.wait([asyncio.ensure_future(locked.wait()), approving], return_when=asyncio.FIRST_COMPLETED)
    assert not approving.done(), approving.result()
    async with resources.db.raw() as chunk:
        await chunk.execute(STAGE_DDL)
        chunk_pid = await _backend(resources, chunk)

        async def write() -> None:
            async with chunk.transaction():
                await write_rows(chunk, uuid.uuid4(), [row], dry_run=False, return_rows=False)

        writing = asyncio.create_task(write())

        await eventually(lambda: _blocked(resources, waiting=chunk_pid), timeout=30, interval=0.02)
        proceed.set()
        assert (await approving).version == 2
        with pytest.raises(TypesChanged):
            await writing
    async with resources.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM activity") == 0
        assert await conn.fetchval("SELECT current_version FROM activity_type WHERE id = $1", type_id) == 2


async def test_a_job_validated_before_a_breaking_approval_is_validated_again(
    resources: Resources, run_worker: Callable[[], Awaitable[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker read v1 when the job started; v2 (host required) was approved before its chunk was written."""
    await _live_type_with_breaking_draft(resources)
    spec = JobSpec(source=JobSource.INLINE, format=SourceFormat.JSONL, create_missing_persons=True)
    activity = {
        "activityType": "webinar",
        "person": {"email": "ann@example.com"},
        "occurredAt": "2026-11-02T10:00:00Z",
        "primaryValue": "Intro",
        "fields": {"minutes": 5},
    }
    job = await submit_objects(resources, spec, [activity])
    read_registry = process._context
    approved: list[int] = []

    async def context_then_approval(*args: Any) -> Any:
        ctx = await read_registry(*args)
        if not approved:
            approved.append((await registry_admin.approve(resources, ADMIN, "webinar")).version)
        return ctx

    monkeypatch.setattr(process, "_context", context_then_approval)
    await run_worker()
    done = await get_job(resources, job.id)
    assert approved == [2]
    assert done is not None and done.status is JobStatus.COMPLETED_WITH_ERRORS
    [rejection] = await list_rejections(resources, job.id, limit=10, after_row=None)
    assert (rejection.first.code, rejection.first.field) == (ErrorCode.REQUIRED, "fields.host")
    async with resources.db.raw() as conn:
        assert await conn.fetchval("SELECT count(*) FROM activity") == 0
