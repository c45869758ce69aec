"""The audit log of admin actions (type changes, key changes, person erasure): who, what, when."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.tables import AuditLogRow
from app.domain.access import Principal
from app.domain.audit import AuditEntry
from app.services.runtime import Resources


async def record(
    session: AsyncSession, actor: Principal, action: str, target: str | None, details: dict[str, Any] | None = None
) -> None:
    """Add an audit entry in the caller's transaction (it commits with the change it describes)."""
    session.add(AuditLogRow(actor=f"{actor.name} ({actor.id})", action=action, target=target, details=details or {}))


async def list_entries(
    resources: Resources, first: int, before_id: int | None = None, action: str | None = None
) -> list[AuditEntry]:
    """Newest first, keyset on id (ids grow with time); `action` filters by exact name or a `prefix.` match."""
    query = select(AuditLogRow).order_by(col(AuditLogRow.id).desc()).limit(first)
    if before_id is not None:
        query = query.where(col(AuditLogRow.id) < before_id)
    if action:
        query = query.where(
            col(AuditLogRow.action).startswith(action) if action.endswith(".") else col(AuditLogRow.action) == action
        )
    async with resources.db.session() as session:
        rows = (await session.exec(query)).all()
    return [
        AuditEntry(id=r.id or 0, at=r.at, actor=r.actor, action=r.action, target=r.target, details=r.details)  # type: ignore[arg-type]
        for r in rows
    ]
