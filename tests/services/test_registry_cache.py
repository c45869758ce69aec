"""The per-process snapshot cache: reuses unchanged types, sees changes made by another process at once."""

from __future__ import annotations

from app.db.engine import Database
from app.domain.access import Principal
from app.domain.activity_types import FieldDataType, FieldSpec, TypeStatus
from app.services import registry_admin
from app.services.registry_cache import SnapshotCache, snapshot_cache
from app.services.runtime import Resources
from tests.services.test_registry_admin import definition

ADMIN = Principal.local_admin()


def _another_process(resources: Resources) -> Resources:
    """The same stores through a database handle (pools) of its own, as another API process would have."""
    assert resources.settings.database_url
    other = Database(resources.settings.database_url, pool_size=1, max_overflow=0)
    return Resources(settings=resources.settings, db=other, queue=resources.queue)


async def test_unchanged_types_are_reused_and_changes_elsewhere_show_at_once(resources: Resources) -> None:
    other = _another_process(resources)
    try:
        created = await registry_admin.create(other, ADMIN, definition("cached"))
        cache = SnapshotCache()
        first = await cache.types_by_ids(resources, [created.id, created.id, 999_999])
        assert list(first) == [created.id] and first[created.id].status is TypeStatus.DRAFT
        assert cache.reloads == 1
        again = await cache.types_by_ids(resources, [created.id])
        assert again[created.id] is first[created.id] and cache.reloads == 1

        await registry_admin.approve(other, ADMIN, "cached")
        approved = (await cache.types_by_ids(resources, [created.id]))[created.id]
        assert approved.version == 1 and approved.status is TypeStatus.APPROVED and cache.reloads == 2

        await registry_admin.add_fields(other, ADMIN, "cached", [FieldSpec("host", "Host", FieldDataType.EMAIL)])
        await registry_admin.approve(other, ADMIN, "cached")
        v2 = (await cache.types_by_ids(resources, [created.id]))[created.id]
        assert v2.version == 2 and [v.number for v in v2.versions] == [1, 2]

        await registry_admin.delete(other, ADMIN, "cached")
        deleted = (await cache.types_by_ids(resources, [created.id]))[created.id]
        assert deleted.deleted_at is not None and deleted.status is TypeStatus.DELETED
    finally:
        await other.db.dispose()


async def test_one_cache_per_database(resources: Resources) -> None:
    assert snapshot_cache(resources) is snapshot_cache(resources)
    other = _another_process(resources)
    try:
        assert snapshot_cache(other) is not snapshot_cache(resources)
        assert await snapshot_cache(other).types_by_ids(other, []) == {}
    finally:
        await other.db.dispose()


async def test_a_direct_update_that_keeps_updated_at_is_seen(resources: Resources) -> None:
    created = await registry_admin.create(resources, ADMIN, definition("handwritten"))
    cache = SnapshotCache()
    assert (await cache.types_by_ids(resources, [created.id]))[created.id].deleted_at is None
    async with resources.db.raw() as conn:
        await conn.execute("UPDATE activity_type SET deleted_at = now(), status = 'DELETED' WHERE id = $1", created.id)
    again = (await cache.types_by_ids(resources, [created.id]))[created.id]
    assert again.deleted_at is not None and again.updated_at == created.updated_at and cache.reloads == 2


async def test_a_set_of_types_is_rechecked_as_a_whole_and_each_type_reloads_alone(resources: Resources) -> None:
    a = await registry_admin.create(resources, ADMIN, definition("seta"))
    b = await registry_admin.create(resources, ADMIN, definition("setb"))
    cache = SnapshotCache()
    only_a = await cache.types_by_ids(resources, [a.id])
    both = await cache.types_by_ids(resources, [b.id, a.id, b.id])
    assert both[a.id] is only_a[a.id] and cache.reloads == 2  # a known type is not read again in a new set
    again = await cache.types_by_ids(resources, [a.id, b.id])
    assert again == both and again is not both and cache.reloads == 2
    async with resources.db.raw() as conn:
        await conn.execute("UPDATE activity_type SET deleted_at = now(), status = 'DELETED' WHERE id = $1", b.id)
    changed = await cache.types_by_ids(resources, [a.id, b.id])
    assert changed[a.id] is only_a[a.id] and changed[b.id].deleted_at is not None and cache.reloads == 3
    assert (await cache.types_by_ids(resources, [b.id]))[b.id] is changed[b.id]
