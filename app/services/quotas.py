"""Per-key ingestion concurrency: how many QUEUED/RUNNING jobs one principal may have at once."""

from __future__ import annotations

from sqlalchemy import func, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.tables import IngestionJobRow
from app.domain.access import Principal
from app.domain.errors import DomainError, ErrorCode

ACTIVE_STATUSES = ("QUEUED", "RUNNING")


async def active_ingestions(session: AsyncSession, principal: Principal) -> int:
    query = select(func.count()).where(
        col(IngestionJobRow.created_by) == principal.id,
        col(IngestionJobRow.status).in_(ACTIVE_STATUSES),
    )
    return int((await session.exec(query)).one())


async def reserve_ingestion_slot(session: AsyncSession, principal: Principal, limit: int) -> None:
    """Raise LIMIT_EXCEEDED if `principal` already has `limit` active jobs; `limit <= 0` means no cap.

    Call it inside the transaction that inserts the job row (with created_by = principal.id): the advisory
    lock serialises concurrent submissions of one principal until that transaction ends, so two requests
    racing cannot both take the last slot.
    """
    if limit <= 0:
        return
    await session.exec(  # type: ignore[call-overload]
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))").bindparams(key=f"ingest:{principal.id}")
    )
    active = await active_ingestions(session, principal)
    if active >= limit:
        raise DomainError.of(
            ErrorCode.LIMIT_EXCEEDED,
            f"This API key already has {active} ingestion jobs queued or running (limit {limit}); "
            "wait for one to finish or cancel one.",
        )
