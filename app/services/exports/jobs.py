"""Export jobs for callers: create (checked, within quotas), read, page, cancel and delete; a key sees its own."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text

from app.db import export_repo
from app.domain.access import Principal
from app.domain.errors import DomainError, ErrorCode
from app.domain.exports import ExportJob, ExportSpec, ExportStatus, check_spec
from app.services import audit
from app.services.exports.store import file_store
from app.services.ingestion import progress
from app.services.queue import enqueue_export
from app.services.runtime import Resources
from app.services.timelines import live_definitions

NOT_FOUND = "No export job with this id."
FORBIDDEN = "Only the key that created an export (or an admin key) may change it."


def visible(principal: Principal, job: ExportJob) -> bool:
    """A key sees the exports it created; admin keys see every export."""
    return job.created_by == principal.id or principal.is_admin


async def create(resources: Resources, principal: Principal, spec: ExportSpec, *, queue: bool = True) -> ExportJob:
    """Check the request against the live types and the key's quotas, store the job and queue it (or, with
    `queue=False`, leave it CREATED until `enqueue`: Marketo's create-then-enqueue)."""
    needs_types = spec.search is not None and (spec.search.activity_types is not None or bool(spec.search.where))
    columns = check_spec(spec, await live_definitions(resources) if needs_types else {})
    limits = resources.settings.limits
    async with resources.db.raw() as conn, conn.transaction():
        # One key's submissions queue behind each other here, so two cannot both pass the quota check.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('export-quota:' || $1))", principal.id)
        running, stored = await export_repo.usage(conn, principal.id)
        if running >= limits.max_running_exports_per_key:
            raise DomainError.of(
                ErrorCode.LIMIT_EXCEEDED, f"This key already has {running} unfinished exports "
                f"(limits.maxRunningExportsPerKey = {limits.max_running_exports_per_key}); wait or cancel one.")
        if stored >= limits.max_export_bytes_per_key:
            raise DomainError.of(
                ErrorCode.LIMIT_EXCEEDED, f"This key keeps {stored} bytes of export files "
                f"(limits.maxExportBytesPerKey = {limits.max_export_bytes_per_key}); delete some (deleteExportJob).")
        status = ExportStatus.QUEUED if queue else ExportStatus.CREATED
        job = await export_repo.insert(conn, uuid.uuid4(), spec, columns, principal.id, status)
    if queue:
        await enqueue_export(resources.queue, resources.settings, str(job.id))
    return job


async def enqueue(resources: Resources, principal: Principal, job_id: uuid.UUID) -> ExportJob:
    """Queue a CREATED job for a worker; INVALID_STATE once it was queued (or has ended)."""
    async with resources.db.raw() as conn, conn.transaction():
        job = await _owned(conn, principal, job_id)
        if job.status is not ExportStatus.CREATED:
            raise DomainError.of(ErrorCode.INVALID_STATE, f"The export is already {job.status.value}.", "id")
        await export_repo.queue(conn, job_id)
        queued = await export_repo.fetch(conn, job_id)
    assert queued is not None
    await enqueue_export(resources.queue, resources.settings, str(job_id))
    await progress.publish_job(resources, job_id, kind="export")
    return queued


async def bytes_exported_since(resources: Resources, principal: Principal, since: datetime) -> int:
    """Bytes of the files this key's exports wrote since `since`."""
    async with resources.db.raw() as conn:
        return await export_repo.bytes_since(conn, principal.id, since)


async def get(resources: Resources, principal: Principal, job_id: uuid.UUID) -> ExportJob | None:
    """The job, or None if it does not exist or belongs to another key (unless the caller is an admin)."""
    job = await fetch_any(resources, job_id)
    return job if job is not None and visible(principal, job) else None


async def fetch_any(resources: Resources, job_id: uuid.UUID) -> ExportJob | None:
    """The job whoever created it (callers check `visible` and answer 403 themselves)."""
    async with resources.db.raw() as conn:
        return await export_repo.fetch(conn, job_id)


async def page(
    resources: Resources, principal: Principal, *, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> list[ExportJob]:
    async with resources.db.raw() as conn:
        return await export_repo.page(
            conn, created_by=None if principal.is_admin else principal.id, limit=limit, after=after)


async def _owned(conn: object, principal: Principal, job_id: uuid.UUID) -> ExportJob:
    job = await export_repo.fetch(conn, job_id, lock=True)
    if job is None:
        raise DomainError.of(ErrorCode.NOT_FOUND, NOT_FOUND, "id")
    if not visible(principal, job):
        raise DomainError.of(ErrorCode.FORBIDDEN, FORBIDDEN, "id")
    return job


async def cancel(resources: Resources, principal: Principal, job_id: uuid.UUID) -> ExportJob:
    """Stop a job: at once if queued, within a second or so if running (its partial file is discarded)."""
    async with resources.db.raw() as conn, conn.transaction():
        job = await _owned(conn, principal, job_id)
        if job.status.is_terminal:
            raise DomainError.of(ErrorCode.INVALID_STATE, f"The export has already ended ({job.status.value}).", "id")
        await export_repo.cancel(conn, job_id)
        changed = await export_repo.fetch(conn, job_id)
    assert changed is not None
    await progress.publish_job(resources, job_id, kind="export")
    return changed


async def delete(resources: Resources, principal: Principal, job_id: uuid.UUID) -> None:
    """Delete an ended job and its file, audited in the same transaction; cancel a queued or running job first."""
    async with resources.db.session() as session, session.begin():
        run: Any = session.exec  # Core text statements (SQLModel's overloads only type ORM selects)
        found = (await run(text(
            "SELECT status, created_by, rows, bytes FROM export_job WHERE id = :id FOR UPDATE").bindparams(id=job_id)
        )).first()
        if found is None:
            raise DomainError.of(ErrorCode.NOT_FOUND, NOT_FOUND, "id")
        if found.created_by != principal.id and not principal.is_admin:
            raise DomainError.of(ErrorCode.FORBIDDEN, FORBIDDEN, "id")
        status = ExportStatus(found.status)
        if not status.is_terminal:
            raise DomainError.of(ErrorCode.INVALID_STATE, f"The export is {status.value}: cancel it first "
                                 "(cancelExportJob) and delete it once it has ended.", "id")
        await run(text("DELETE FROM export_job WHERE id = :id").bindparams(id=job_id))
        await audit.record(session, principal, "exportJob.delete", f"exportJob:{job_id}",
                           {"status": status.value, "rows": found.rows, "bytes": found.bytes})
    await file_store(resources.settings).delete(part_key(job_id))


def part_key(job_id: uuid.UUID) -> str:
    """The store key of a job's file (its part while it is written)."""
    return f"export-{job_id}"


async def forget_files(resources: Resources, keys: list[str]) -> None:
    store = file_store(resources.settings)
    for key in keys:
        await store.delete(key)


async def remove_expired(resources: Resources) -> int:
    """Mark expired files gone and remove them; returns how many."""
    async with resources.db.raw() as conn:
        keys = await export_repo.expire_files(conn)
    await forget_files(resources, keys)
    return len(keys)
