"""Per-request DataLoader of activity types by id (used by Activity.activityType), over a per-process cache."""

from __future__ import annotations

from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from app.api.registry.types import ActivityType
from app.domain.registry_model import ActivityTypeSnapshot
from app.services import registry_cache
from app.services.runtime import Resources

# GraphQL objects of cached snapshots, reused while the snapshot is: building one (fields, versions, pending
# changes) per type per request was a visible share of a timeline request. Keyed by type id, checked by identity.
_converted: dict[int, tuple[ActivityTypeSnapshot, ActivityType]] = {}


def _graphql_type(snapshot: ActivityTypeSnapshot) -> ActivityType:
    cached = _converted.get(snapshot.id)
    if cached is not None and cached[0] is snapshot:
        return cached[1]
    converted = ActivityType.from_domain(snapshot)
    if len(_converted) > 10_000:
        _converted.clear()
    _converted[snapshot.id] = (snapshot, converted)
    return converted


async def activity_types_by_ids(
    resources: Resources, ids: Sequence[int], *, stamps: str | None = None
) -> dict[int, ActivityType]:
    """GraphQL activity types by id from the per-process cache (missing ids are left out); `stamps`: a timeline
    page's type_stamps, when `ids` come from that page (spares the stamp query)."""
    found = await registry_cache.types_by_ids(resources, ids, stamps=stamps)
    return {type_id: _graphql_type(snapshot) for type_id, snapshot in found.items()}


def activity_type_loader(resources: Resources) -> DataLoader[int, ActivityType | None]:
    async def batch(ids: Sequence[int]) -> list[ActivityType | None]:
        found = await activity_types_by_ids(resources, ids)
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=batch)
