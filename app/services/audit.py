"""The audit log of admin actions (type changes, key changes, person erasure): who, what, when."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.tables import AuditLogRow
from app.domain.access import Principal


async def record(
    session: AsyncSession, actor: Principal, action: str, target: str | None, details: dict[str, Any] | None = None
) -> None:
    """Add an audit entry in the caller's transaction (it commits with the change it describes)."""
    session.add(AuditLogRow(actor=f"{actor.name} ({actor.id})", action=action, target=target, details=details or {}))
