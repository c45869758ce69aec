"""Per-key ingestion concurrency: how many QUEUED/RUNNING jobs one principal may have at once."""

from __future__ import annotations

from typing import Any

from app.domain.errors import DomainError, ErrorCode

ACTIVE_STATUSES = ["QUEUED", "RUNNING"]


async def active_ingestions(conn: Any, principal_id: str) -> int:
    """Unfinished jobs created by `principal_id` (asyncpg connection; uses ix on created_by via the filter)."""
    count = await conn.fetchval(
        "SELECT count(*) FROM ingestion_job WHERE created_by = $1 AND status = ANY($2::text[])",
        principal_id,
        ACTIVE_STATUSES,
    )
    return int(count)


async def reserve_ingestion_slot(
    conn: Any, principal_id: str | None, limit: int, idempotency_key: str | None = None
) -> None:
    """Raise LIMIT_EXCEEDED if the principal already has `limit` unfinished jobs; `limit <= 0` means no cap.

    Call it inside the transaction that inserts the job row (created_by = principal id): the advisory lock
    serialises one principal's submissions until that transaction ends, so two racing requests cannot both
    take the last slot. Re-submitting one of its used idempotency keys is always allowed (existing job, or CONFLICT).
    """
    if limit <= 0 or principal_id is None:
        return
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"ingest:{principal_id}")
    if idempotency_key is not None and await conn.fetchval(
        "SELECT 1 FROM ingestion_job WHERE created_by = $1 AND idempotency_key = $2", principal_id, idempotency_key
    ):  # job keys are scoped per principal (0006)
        return
    active = await active_ingestions(conn, principal_id)
    if active >= limit:
        raise DomainError.of(
            ErrorCode.LIMIT_EXCEEDED,
            f"This API key already has {active} ingestion jobs queued or running (limit {limit}); "
            "wait for one to finish or cancel one.",
        )
