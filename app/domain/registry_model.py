"""Plain snapshots of an activity type (live version, draft, history) handed from services to the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain.activity_types import ActivityTypeDefinition, TypeStatus


@dataclass(frozen=True, slots=True)
class ApprovedVersion:
    """One immutable approved version of a type."""

    number: int
    definition: ActivityTypeDefinition
    approved_at: datetime | None
    approved_by: str | None


@dataclass(frozen=True, slots=True)
class ActivityTypeSnapshot:
    """An activity type as stored: its live definition (if ever approved), pending draft and all versions."""

    id: int
    api_name: str
    status: TypeStatus
    is_system: bool
    version: int | None
    live: ActivityTypeDefinition | None
    draft: ActivityTypeDefinition | None
    versions: tuple[ApprovedVersion, ...]
    created_at: datetime | None
    updated_at: datetime | None
    deleted_at: datetime | None = None

    @property
    def latest(self) -> ActivityTypeDefinition:
        """The draft if there is one, else the live definition: what the next change applies to."""
        definition = self.draft or self.live
        assert definition is not None, "a type always has a draft or a live version"
        return definition

    @property
    def shown(self) -> ActivityTypeDefinition:
        """What readers see as the type: the live definition once approved, else the draft."""
        definition = self.live or self.draft
        assert definition is not None, "a type always has a draft or a live version"
        return definition
