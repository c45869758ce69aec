"""Per-process cache of activity-type snapshots, revalidated on every use by the rows' version stamps."""

from __future__ import annotations

import weakref
from collections.abc import Sequence

from app.db import type_stamps
from app.db.engine import Database
from app.domain.registry_model import ActivityTypeSnapshot
from app.services import registry
from app.services.runtime import Resources

MAX_ENTRIES = 10_000
"""Far more types than any tenant defines; past it the cache starts over rather than grow without bound."""



class SnapshotCache:
    """Snapshots by type id. Every lookup reads the rows' version stamps (app/db/type_stamps.py: one query on a
    small table, or the stamps a timeline page read with its rows) and reloads the snapshots whose stamp changed,
    so a type approved, edited or deleted in any process is seen by the next lookup after that change commits: no
    TTL, no cross-process messages. Approval, edits and deletion update the type row in the transaction that also
    writes its versions, so an unchanged stamp means an unchanged snapshot."""

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[str, ActivityTypeSnapshot]] = {}
        self._by_stamps: dict[str | None, dict[int, ActivityTypeSnapshot]] = {}
        """Answers by the stamps string they were checked against (it names the ids too): a set of types seen
        before is one dict lookup."""
        self.reloads = 0
        """How many snapshots were read in full (for tests and profiling)."""

    async def types_by_ids(
        self, resources: Resources, ids: Sequence[int], *, stamps: str | None = None
    ) -> dict[int, ActivityTypeSnapshot]:
        """Snapshots of `ids` (missing ones left out). `stamps`: those of (at least) these ids, read by the caller
        in the statement that found the ids (ActivityPage.type_stamps), which spares the stamp query."""
        wanted = frozenset(ids)
        if not wanted:
            return {}
        if stamps is not None:
            answer = self._by_stamps.get(stamps)
            if answer is None:
                answer = await self._answer(resources, stamps)
            if wanted <= answer.keys():
                return {type_id: answer[type_id] for type_id in wanted}
        async with resources.db.raw() as conn:
            stamps = await conn.fetchval(type_stamps.BY_IDS, list(wanted))
        answer = self._by_stamps.get(stamps)
        if answer is None:
            answer = await self._answer(resources, stamps)
        return {type_id: answer[type_id] for type_id in wanted if type_id in answer}

    async def _answer(self, resources: Resources, stamps: str | None) -> dict[int, ActivityTypeSnapshot]:
        answer = await self._check(resources, type_stamps.split(stamps))
        if len(self._by_stamps) >= MAX_ENTRIES:
            self._by_stamps.clear()
        self._by_stamps[stamps] = answer
        return answer

    async def _check(self, resources: Resources, stamps: dict[int, str]) -> dict[int, ActivityTypeSnapshot]:
        found: dict[int, ActivityTypeSnapshot] = {}
        stale: list[int] = []
        for type_id, stamp in stamps.items():
            cached = self._by_id.get(type_id)
            if cached is not None and cached[0] == stamp:
                found[type_id] = cached[1]
            else:
                stale.append(type_id)
        if stale:
            loaded = await registry.types_by_ids(resources, stale)
            self.reloads += len(loaded)
            if len(self._by_id) + len(loaded) > MAX_ENTRIES:
                self._by_id.clear()
            for type_id, snapshot in loaded.items():
                # The stamp read before loading: if the row changed in between, the next lookup reloads it again.
                self._by_id[type_id] = (stamps[type_id], snapshot)
            found.update(loaded)
        return found


_CACHES: weakref.WeakKeyDictionary[Database, SnapshotCache] = weakref.WeakKeyDictionary()


def snapshot_cache(resources: Resources) -> SnapshotCache:
    """The cache for this process's connection to one database (tests and benchmarks may open several)."""
    cache = _CACHES.get(resources.db)
    if cache is None:
        cache = _CACHES[resources.db] = SnapshotCache()
    return cache


async def types_by_ids(
    resources: Resources, ids: Sequence[int], *, stamps: str | None = None
) -> dict[int, ActivityTypeSnapshot]:
    """Snapshots of `ids` from this process's cache (SnapshotCache.types_by_ids)."""
    return await snapshot_cache(resources).types_by_ids(resources, ids, stamps=stamps)
