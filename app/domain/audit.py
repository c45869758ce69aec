"""Audit log entries as the API shows them: who did what to which object, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One admin action; `actor` is "<key name> (<key id>)"."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    details: dict[str, Any]
