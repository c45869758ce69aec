"""Erasure reaches exports: files that may hold an erased person are removed, running exports start over."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import export_repo
from app.domain.activities import Person


async def mark_for_erasure(session: AsyncSession, person: Person) -> list[str]:
    """In the erasure's transaction: mark the files ERASED (downloads answer 410) and flag running exports to
    restart; returns the store keys to remove once the erasure has committed."""
    params = {"person_id": person.id, "email": person.email, "external_id": person.external_id}
    run: Any = session.exec  # Core text statements (SQLModel's overloads only type ORM selects)
    await run(text(export_repo.RESTART_RUNNING).bindparams(**params))
    rows = (await run(text(export_repo.ERASE_FILES).bindparams(**params))).all()
    return [r.file_key for r in rows if r.file_key]
