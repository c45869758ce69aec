"""Per-process cache of activity-type snapshots, revalidated on every use by the rows' updated_at."""

from __future__ import annotations

import weakref
from collections.abc import Sequence

from app.db.engine import Database
from app.domain.registry_model import ActivityTypeSnapshot
from app.services import registry

MAX_ENTRIES = 10_000
"""Far more types than any tenant defines; past it the cache starts over rather than grow without bound."""

# xmin (the writing transaction's id) changes with every UPDATE of the row, even one that leaves updated_at alone
# (hand-written SQL, test fixtures); updated_at covers the rest. Both together are the row's version stamp. The
# stamps of all the wanted rows come back as one string ("id xmin epoch,..." by id): one value to decode and,
# for a set of types looked up before, one comparison.
_STAMPS = (
    "SELECT string_agg(id::text || ' ' || xmin::text || ' ' || coalesce(extract(epoch FROM updated_at)::text, '-'),"
    " ',' ORDER BY id) FROM activity_type WHERE id = ANY($1::int[])"
)


def _split(stamps: str | None) -> dict[int, str]:
    found: dict[int, str] = {}
    for part in stamps.split(",") if stamps else ():
        type_id, _, stamp = part.partition(" ")
        found[int(type_id)] = stamp
    return found


class SnapshotCache:
    """Snapshots by type id. Every lookup reads the rows' version stamps (one indexed query on a small table) and
    reloads the snapshots whose stamp changed, so a type approved, edited or deleted in any process is seen by
    the next lookup after that change commits: no TTL, no cross-process messages. Approval, edits and deletion
    update the type row in the transaction that also writes its versions, so an unchanged stamp means an
    unchanged snapshot."""

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[str, ActivityTypeSnapshot]] = {}
        self._by_set: dict[frozenset[int], tuple[str | None, dict[int, ActivityTypeSnapshot]]] = {}
        """The last answer for a set of ids (a timeline page's types), with the stamps it was checked against."""
        self.reloads = 0
        """How many snapshots were read in full (for tests and profiling)."""

    async def types_by_ids(self, db: Database, ids: Sequence[int]) -> dict[int, ActivityTypeSnapshot]:
        wanted = frozenset(ids)
        if not wanted:
            return {}
        async with db.raw() as conn:
            stamps = await conn.fetchval(_STAMPS, list(wanted))
        answered = self._by_set.get(wanted)
        if answered is not None and answered[0] == stamps:
            return dict(answered[1])
        found = await self._check(db, _split(stamps))
        if len(self._by_set) >= MAX_ENTRIES:
            self._by_set.clear()
        self._by_set[wanted] = (stamps, dict(found))
        return found

    async def _check(self, db: Database, stamps: dict[int, str]) -> dict[int, ActivityTypeSnapshot]:
        found: dict[int, ActivityTypeSnapshot] = {}
        stale: list[int] = []
        for type_id, stamp in stamps.items():
            cached = self._by_id.get(type_id)
            if cached is not None and cached[0] == stamp:
                found[type_id] = cached[1]
            else:
                stale.append(type_id)
        if stale:
            async with db.session() as session:
                loaded = await registry.types_by_ids(session, stale)
            self.reloads += len(loaded)
            if len(self._by_id) + len(loaded) > MAX_ENTRIES:
                self._by_id.clear()
            for type_id, snapshot in loaded.items():
                # The stamp read before loading: if the row changed in between, the next lookup reloads it again.
                self._by_id[type_id] = (stamps[type_id], snapshot)
            found.update(loaded)
        return found


_CACHES: weakref.WeakKeyDictionary[Database, SnapshotCache] = weakref.WeakKeyDictionary()


def snapshot_cache(db: Database) -> SnapshotCache:
    """The cache for this process's connection to one database (tests and benchmarks may open several)."""
    cache = _CACHES.get(db)
    if cache is None:
        cache = _CACHES[db] = SnapshotCache()
    return cache
