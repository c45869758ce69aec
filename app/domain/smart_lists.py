"""Smart-list definitions: numbered filters on what persons did and who they are, combined by logic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from app.domain.filters import FieldCondition, FieldOperator


class Logic(StrEnum):
    """How the filters combine: all must hold, any may, or an expression over filter numbers."""

    ALL = "ALL"
    ANY = "ANY"
    ADVANCED = "ADVANCED"


@dataclass(frozen=True, slots=True)
class RelativeWindow:
    """"In the past N days/hours", measured back from the moment the list is evaluated."""

    days: int = 0
    hours: int = 0

    def length(self) -> timedelta:
        return timedelta(days=self.days, hours=self.hours)


@dataclass(frozen=True, slots=True)
class ActivityFilter:
    """Did (or did not) the person do `activity_type` (an apiName), with field constraints, in a window,
    between min_times and max_times times (counted over the activities that pass the rest)."""

    activity_type: str
    did: bool = True
    where: tuple[FieldCondition, ...] = ()
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
    within_last: RelativeWindow | None = None
    min_times: int | None = None
    max_times: int | None = None
    type_versions: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class PersonFilter:
    """Conditions on the person row (email, externalId, firstName, lastName, createdAt) and a creation window."""

    where: tuple[FieldCondition, ...] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None
    created_within_last: RelativeWindow | None = None


Filter = ActivityFilter | PersonFilter


@dataclass(frozen=True, slots=True)
class SmartListDefinition:
    """Filters numbered from 1 in order, and how they combine (`expression` only with ADVANCED)."""

    filters: tuple[Filter, ...]
    logic: Logic = Logic.ALL
    expression: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The stored form, shaped as the GraphQL input (SmartListInput), so it round-trips."""
        return {
            "logic": self.logic.value,
            "expression": self.expression,
            "filters": [_filter_json(f) for f in self.filters],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SmartListDefinition:
        return cls(
            filters=tuple(_filter_from_json(f) for f in data["filters"]),
            logic=Logic(data.get("logic", "ALL")),
            expression=data.get("expression"),
        )


def _conditions_json(where: tuple[FieldCondition, ...]) -> list[dict[str, Any]]:
    return [{"field": c.field, "op": c.op.value, "value": c.value} for c in where]


def _window_json(window: RelativeWindow | None) -> dict[str, int] | None:
    return None if window is None else {"days": window.days, "hours": window.hours}


def _time_json(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _filter_json(f: Filter) -> dict[str, Any]:
    if isinstance(f, PersonFilter):
        return {
            "person": {
                "where": _conditions_json(f.where),
                "createdAfter": _time_json(f.created_after),
                "createdBefore": _time_json(f.created_before),
                "createdWithinLast": _window_json(f.created_within_last),
            }
        }
    return {
        "activity": {
            "activityType": f.activity_type,
            "did": f.did,
            "where": _conditions_json(f.where),
            "occurredAfter": _time_json(f.occurred_after),
            "occurredBefore": _time_json(f.occurred_before),
            "withinLast": _window_json(f.within_last),
            "minTimes": f.min_times,
            "maxTimes": f.max_times,
            "typeVersions": list(f.type_versions) if f.type_versions is not None else None,
        }
    }


def _conditions(data: list[dict[str, Any]] | None) -> tuple[FieldCondition, ...]:
    return tuple(FieldCondition(c["field"], FieldOperator(c["op"]), c.get("value")) for c in data or ())


def _window(data: dict[str, int] | None) -> RelativeWindow | None:
    return None if data is None else RelativeWindow(days=data.get("days", 0), hours=data.get("hours", 0))


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _filter_from_json(data: dict[str, Any]) -> Filter:
    if "person" in data:
        p = data["person"]
        return PersonFilter(
            where=_conditions(p.get("where")),
            created_after=_time(p.get("createdAfter")),
            created_before=_time(p.get("createdBefore")),
            created_within_last=_window(p.get("createdWithinLast")),
        )
    a = data["activity"]
    versions = a.get("typeVersions")
    return ActivityFilter(
        activity_type=a["activityType"],
        did=bool(a.get("did", True)),
        where=_conditions(a.get("where")),
        occurred_after=_time(a.get("occurredAfter")),
        occurred_before=_time(a.get("occurredBefore")),
        within_last=_window(a.get("withinLast")),
        min_times=a.get("minTimes"),
        max_times=a.get("maxTimes"),
        type_versions=tuple(versions) if versions is not None else None,
    )


MAX_NAME_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class SavedSmartList:
    """A named, stored definition; membership is computed when asked, never stored."""

    id: int
    name: str
    description: str | None
    definition: SmartListDefinition
    created_at: datetime
    updated_at: datetime
