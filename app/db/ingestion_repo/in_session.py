"""Statements on ingestion_job and ingestion_rejection in a SQLAlchemy transaction: the audited delete, erasure,
the registry's in-use check, the metrics."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Row, Table, func, or_, select, text, tuple_
from sqlalchemy import delete as delete_from
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.tables import IngestionRejectionRow
from app.domain.erasure import ErasedIdentity


async def _run(session: AsyncSession, query: str, **params: Any) -> Any:
    connection = await session.connection()  # Core text (SQLModel's session.exec types only ORM selects)
    return await connection.execute(text(query), params)


async def lock_for_delete(session: AsyncSession, job_id: uuid.UUID) -> Row[Any] | None:
    """status, source, created_by, total_rows and rejected_rows, the row locked until the transaction ends."""
    result = await _run(session, "SELECT status, source, created_by, total_rows, rejected_rows FROM ingestion_job "
                                 "WHERE id = :id FOR UPDATE", id=job_id)
    found: Row[Any] | None = result.first()
    return found


async def delete(session: AsyncSession, job_id: uuid.UUID) -> None:
    """The job with its chunks and rejections (the foreign keys cascade)."""
    await _run(session, "DELETE FROM ingestion_job WHERE id = :id", id=job_id)


async def active_naming_type(session: AsyncSession, api_name: str) -> list[str]:
    """Ids of queued or running jobs that name this activity type (at most 5, oldest first)."""
    result = await _run(
        session, "SELECT id::text FROM ingestion_job WHERE lower(activity_type) = lower(:name) "
                 "AND status IN ('QUEUED', 'RUNNING') ORDER BY created_at LIMIT 5", name=api_name)
    return [str(r) for r in result.scalars()]


async def status_counts(conn: AsyncConnection) -> dict[str, int]:
    by_status = await conn.execute(text("SELECT status, count(*) FROM ingestion_job GROUP BY status"))
    return {str(status): int(count) for status, count in by_status.all()}


async def running_rows_per_second(conn: AsyncConnection) -> float:
    """Summed over running jobs: rows processed since each started."""
    rate = (await conn.execute(text(
        "SELECT coalesce(sum(processed_rows / greatest(extract(epoch FROM now() - started_at), 0.001)), 0) "
        "FROM ingestion_job WHERE status = 'RUNNING' AND started_at IS NOT NULL"
    ))).scalar_one()
    return float(rate)


_REJECTION: Table = IngestionRejectionRow.__table__  # type: ignore[attr-defined]


async def erase_rejections_naming(session: AsyncSession, identity: ErasedIdentity) -> int:
    """Delete the rejected rows that name an erased person; how many.

    Rejected rows are raw text (a JSONL line or CSV record): the database picks the candidates (holding the
    email or external id as spelled, or any backslash escape) and ErasedIdentity judges each on its decoded
    text, so `erase1\\u0040example.com` is found as well as `erase1@example.com`.
    """
    if not identity.needles:
        return 0
    record = _REJECTION.c.record
    like = [record.ilike("%" + _like_escape(n) + "%", escape="\\") for n in identity.needles]
    candidates = await session.stream(
        select(_REJECTION.c.job_id, _REJECTION.c.row_number, record)
        .where(or_(*like, func.strpos(record, "\\") > 0)).execution_options(yield_per=1000))
    named = [(r[0], r[1]) async for r in candidates if identity.named_in(r[2])]
    for start in range(0, len(named), 1000):
        keys = named[start : start + 1000]
        rows = tuple_(_REJECTION.c.job_id, _REJECTION.c.row_number)
        await (await session.connection()).execute(delete_from(_REJECTION).where(rows.in_(keys)))
    return len(named)


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
