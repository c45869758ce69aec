"""Per-request DataLoaders; each feature adds its loaders here. Batch functions open their own sessions."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from strawberry.dataloader import DataLoader

    from app.api.registry.types import ActivityType
    from app.domain.activities import Person
    from app.services.runtime import Resources


class Loaders:
    """Built lazily per request so a query that needs no loader pays nothing."""

    def __init__(self, resources: Resources) -> None:
        self.resources = resources

    @cached_property
    def activity_type_by_id(self) -> DataLoader[int, ActivityType | None]:
        """Activity types by internal id (deleted ones included: old activities still point at them)."""
        from app.api.registry.loaders import activity_type_loader

        return activity_type_loader(self.resources)

    @cached_property
    def person_by_id(self) -> DataLoader[int, Person | None]:
        """Persons by id (domain objects), for Activity.person."""
        from strawberry.dataloader import DataLoader

        from app.services.persons import load_by_ids

        async def batch(ids: list[int]) -> list[Person | None]:
            return await load_by_ids(self.resources, ids)

        return DataLoader(load_fn=batch)
