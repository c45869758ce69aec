"""Per-request DataLoaders; each feature adds its loaders here. Batch functions open their own sessions."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.services.runtime import Resources


class Loaders:
    """Built lazily per request so a query that needs no loader pays nothing."""

    def __init__(self, resources: Resources) -> None:
        self.resources = resources
