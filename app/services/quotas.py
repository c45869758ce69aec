"""Per-key ingestion concurrency: how many QUEUED/RUNNING jobs one principal may have at once."""

from __future__ import annotations

from app.db.ingestion_repo import jobs as jobs_repo
from app.db.raw_pool import Connection
from app.domain.errors import DomainError, ErrorCode


async def active_ingestions(conn: Connection, principal_id: str) -> int:
    """Unfinished jobs created by `principal_id`."""
    return await jobs_repo.count_active(conn, principal_id)


async def reserve_ingestion_slot(
    conn: Connection, principal_id: str | None, limit: int, idempotency_key: str | None = None
) -> None:
    """Raise LIMIT_EXCEEDED if the principal already has `limit` unfinished jobs; `limit <= 0` means no cap.

    Call it inside the transaction that inserts the job row (created_by = principal id): the advisory lock
    serialises one principal's submissions until that transaction ends, so two racing requests cannot both
    take the last slot. Re-submitting one of its used idempotency keys is always allowed (existing job, or CONFLICT).
    """
    if limit <= 0 or principal_id is None:
        return
    await jobs_repo.lock_creator(conn, principal_id)
    if idempotency_key is not None and await jobs_repo.key_used(conn, principal_id, idempotency_key):
        return  # job keys are scoped per principal (0006)
    active = await active_ingestions(conn, principal_id)
    if active >= limit:
        raise ingestion_limit_exceeded(limit, active)


def ingestion_limit_exceeded(limit: int, active: int | None = None) -> DomainError:
    """The refusal of a job over the principal's cap (`active`: its unfinished jobs, when counted)."""
    return DomainError.of(
        ErrorCode.LIMIT_EXCEEDED,
        f"This API key already has {limit if active is None else active} ingestion jobs queued or running "
        f"(limit {limit}); wait for one to finish or cancel one.",
    )
