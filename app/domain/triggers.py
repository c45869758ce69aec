"""Triggers: a type plus field conditions plus a webhook URL; their rules, deliveries and the payload shape."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from app.domain.activities import Activity
from app.domain.activity_types import ActivityTypeDefinition
from app.domain.errors import DomainError, ErrorCode, Issue
from app.domain.filters import FieldCondition, ResolvedFilter, TimelineFilter, resolve

MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 1000
BATCH_SIZE_RANGE = (1, 1000)
BATCH_WAIT_MS_RANGE = (0, 60_000)
ItemT = TypeVar("ItemT")


class TriggerStatus(StrEnum):
    """ACTIVE sends; PAUSED (by an admin) and CIRCUIT_OPEN (by the breaker) keep collecting, send nothing."""

    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    CIRCUIT_OPEN = "CIRCUIT_OPEN"


class DeliveryStatus(StrEnum):
    """PENDING (waiting, maybe for a retry), SENDING, DELIVERED, FAILED (dead-lettered, redeliverable)."""

    PENDING = "PENDING"
    SENDING = "SENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class Batch:
    """Up to `max_size` activities a request; a partial batch waits at most `max_wait_ms` for more."""

    max_size: int = 100
    max_wait_ms: int = 0


@dataclass(frozen=True, slots=True)
class TriggerSpec:
    """What an admin asks for; checked by `check_spec` against the live types before anything is saved."""

    name: str
    activity_type: str
    where: tuple[FieldCondition, ...]
    url: str
    description: str | None = None
    enabled: bool = True
    batch: Batch = Batch()


@dataclass(frozen=True, slots=True)
class Trigger:
    """A stored trigger (without its secrets)."""

    id: uuid.UUID
    name: str
    activity_type: str
    activity_type_id: int
    where: tuple[FieldCondition, ...]
    url: str
    description: str | None
    status: TriggerStatus
    batch: Batch
    consecutive_failures: int
    created_at: datetime
    updated_at: datetime
    secret_rotated_at: datetime | None = None

    @property
    def enabled(self) -> bool:
        return self.status is TriggerStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class Delivery:
    """One signed POST of a batch of a trigger's activities; `webhook_id` is the same on every attempt."""

    id: int
    trigger_id: uuid.UUID
    status: DeliveryStatus
    activity_ids: tuple[int, ...]
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    @property
    def webhook_id(self) -> str:
        return webhook_id(self.trigger_id, self.id)


@dataclass(frozen=True, slots=True)
class DeliveryStats:
    delivered: int
    failed: int
    pending: int
    last_success_at: datetime | None


def webhook_id(trigger_id: uuid.UUID, delivery_id: int) -> str:
    """The `webhook-id` header: stable for a delivery across retries, redeliveries and crashes."""
    return f"msg_{trigger_id.hex}_{delivery_id}"


def check_spec(spec: TriggerSpec, definitions: Mapping[int, ActivityTypeDefinition],
               path: str = "input") -> ResolvedFilter:
    """Every problem of `spec` at once (DomainError); the resolved filter of its type and conditions."""
    issues: list[Issue] = []
    name = spec.name.strip()
    if not name:
        issues.append(Issue(ErrorCode.REQUIRED, f"{path}.name", "A trigger needs a name."))
    elif len(name) > MAX_NAME_LENGTH:
        issues.append(Issue(ErrorCode.TOO_LONG, f"{path}.name", f"At most {MAX_NAME_LENGTH} characters."))
    if spec.description is not None and len(spec.description) > MAX_DESCRIPTION_LENGTH:
        issues.append(Issue(ErrorCode.TOO_LONG, f"{path}.description",
                            f"At most {MAX_DESCRIPTION_LENGTH} characters."))
    issues += _batch_issues(spec.batch, f"{path}.batch")
    flt = TimelineFilter(activity_types=(spec.activity_type,), where=spec.where)
    resolved: ResolvedFilter | None = None
    try:
        resolved = resolve(flt, definitions, path)
    except DomainError as error:
        issues += [_renamed(i, path) for i in error.issues]
    if issues or resolved is None:
        raise DomainError(issues)
    return resolved


def _batch_issues(batch: Batch, path: str) -> list[Issue]:
    issues = []
    low, high = BATCH_SIZE_RANGE
    if not low <= batch.max_size <= high:
        issues.append(Issue(ErrorCode.OUT_OF_RANGE, f"{path}.maxSize", f"Between {low} and {high}."))
    low, high = BATCH_WAIT_MS_RANGE
    if not low <= batch.max_wait_ms <= high:
        issues.append(Issue(ErrorCode.OUT_OF_RANGE, f"{path}.maxWaitMs", f"Between {low} and {high}."))
    return issues


def _renamed(issue: Issue, path: str) -> Issue:
    """The filter's `input.activityTypes.0` is the trigger's `input.activityType`."""
    field = issue.field
    if field is not None and field.startswith(f"{path}.activityTypes"):
        field = f"{path}.activityType"
    return Issue(issue.code, field, issue.message)


def batches(items: Sequence[ItemT], size: int) -> list[list[ItemT]]:
    """Consecutive slices of at most `size` items, in the given order."""
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def lane_batches(items: Sequence[ItemT], size: int, lanes: int, person: Callable[[ItemT], int]) -> list[list[ItemT]]:
    """Batches of at most `size` items, each in the given order. Items filling at least `lanes` batches are first
    split into `lanes` groups by person (`person % lanes`), and the groups' batches interleaved: batches of
    different lanes share no person, so the order-per-person rule lets up to `lanes` of them go at once (batches
    cut in plain order nearly always share a person, and then go one at a time). Fewer items are cut in plain
    order: small writes are not spread over more requests than they fill."""
    if lanes <= 1 or len(items) < size * lanes:
        return batches(items, size)
    groups: list[list[ItemT]] = [[] for _ in range(lanes)]
    for item in items:
        groups[person(item) % lanes].append(item)
    cut = [batches(group, size) for group in groups]
    return [b for turn in itertools.zip_longest(*cut) for b in turn if b is not None]


def activity_payload(activity: Activity, type_api_name: str) -> dict[str, Any]:
    """One activity as the GraphQL selection `{ id activityType { apiName } typeVersion person { id }
    occurredAt ingestedAt primaryValue fields idempotencyKey }` returns it."""
    return {
        "id": str(activity.id),
        "activityType": {"apiName": type_api_name},
        "typeVersion": activity.type_version,
        "person": {"id": str(activity.person_id)},
        "occurredAt": _instant(activity.occurred_at),
        "ingestedAt": _instant(activity.ingested_at),
        "primaryValue": activity.primary_value,
        "fields": activity.fields,
        "idempotencyKey": activity.idempotency_key,
    }


def message(trigger: Trigger, activities: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The JSON body of a delivery."""
    return {"trigger": {"id": str(trigger.id), "name": trigger.name}, "activities": list(activities)}


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()  # as Strawberry's DateTime serializes it
