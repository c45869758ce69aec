"""Per-request DataLoader of activity types by id (used by Activity.activityType)."""

from __future__ import annotations

from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from app.api.registry.types import ActivityType
from app.services import registry
from app.services.runtime import Resources


def activity_type_loader(resources: Resources) -> DataLoader[int, ActivityType | None]:
    async def batch(ids: Sequence[int]) -> list[ActivityType | None]:
        async with resources.db.session() as session:
            found = await registry.types_by_ids(session, ids)
        return [ActivityType.from_domain(found[i]) if i in found else None for i in ids]

    return DataLoader(load_fn=batch)
