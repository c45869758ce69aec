"""Per-process cache of activity-type snapshots, revalidated on every use by the rows' updated_at."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from datetime import datetime

from app.db.engine import Database
from app.domain.registry_model import ActivityTypeSnapshot
from app.services import registry

MAX_ENTRIES = 10_000
"""Far more types than any tenant defines; past it the cache starts over rather than grow without bound."""

_STAMPS = "SELECT id, updated_at FROM activity_type WHERE id = ANY($1::int[])"


class SnapshotCache:
    """Snapshots by type id. Every lookup reads the rows' `updated_at` (one indexed query on a small table) and
    reloads the snapshots whose stamp changed, so a type approved, edited or deleted in any process is seen by
    the next lookup after that change commits: no TTL, no cross-process messages. Every registry mutation sets
    updated_at = now() in the transaction that also writes its versions, so an unchanged stamp means an
    unchanged snapshot."""

    def __init__(self) -> None:
        self._by_id: dict[int, ActivityTypeSnapshot] = {}
        self.reloads = 0
        """How many snapshots were read in full (for tests and profiling)."""

    async def types_by_ids(self, db: Database, ids: Sequence[int]) -> dict[int, ActivityTypeSnapshot]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        async with db.raw() as conn:
            stamps: list[tuple[int, datetime | None]] = [tuple(r) for r in await conn.fetch(_STAMPS, wanted)]
        found: dict[int, ActivityTypeSnapshot] = {}
        stale: list[int] = []
        for type_id, updated_at in stamps:
            cached = self._by_id.get(type_id)
            if cached is not None and cached.updated_at == updated_at:
                found[type_id] = cached
            else:
                stale.append(type_id)
        if stale:
            async with db.session() as session:
                loaded = await registry.types_by_ids(session, stale)
            self.reloads += len(loaded)
            if len(self._by_id) + len(loaded) > MAX_ENTRIES:
                self._by_id.clear()
            self._by_id.update(loaded)
            found.update(loaded)
        return found


_CACHES: weakref.WeakKeyDictionary[Database, SnapshotCache] = weakref.WeakKeyDictionary()


def snapshot_cache(db: Database) -> SnapshotCache:
    """The cache for this process's connection to one database (tests and benchmarks may open several)."""
    cache = _CACHES.get(db)
    if cache is None:
        cache = _CACHES[db] = SnapshotCache()
    return cache
