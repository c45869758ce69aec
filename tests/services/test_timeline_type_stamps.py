"""Timeline pages read their activity types' version stamps with their rows; the type cache uses them instead of
a query of its own, and still sees every change."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.db import type_stamps
from app.domain.activities import ActivityScope
from app.services import timelines
from app.services.registry_cache import SnapshotCache
from app.services.runtime import Resources
from tests.api.timeline_support import T0, Row, create_person, create_type, insert, minutes


async def no_definitions() -> timelines.Definitions:
    return {}


async def read(resources: Resources, person: int, **page: Any) -> timelines.ActivityPage:
    return await timelines.read_page(
        resources, ActivityScope(person_id=person), None, timelines.PageArgs(**page), definitions=no_definitions
    )


@pytest.fixture
def raw_calls(resources: Resources, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts raw connection checkouts made after the test starts counting (it clears the list)."""
    calls: list[int] = []
    raw = resources.db.raw

    @contextlib.asynccontextmanager
    async def counted() -> AsyncIterator[Any]:
        calls.append(1)
        async with raw() as conn:
            yield conn

    monkeypatch.setattr(resources.db, "raw", counted)
    return calls


async def test_page_stamps_spare_the_stamp_query_and_changes_still_show(
    resources: Resources, raw_calls: list[int]
) -> None:
    a, b, c = [await create_type(resources, name) for name in ("stampa", "stampb", "stampc")]
    person = await create_person(resources, "stamps@example.com")
    await insert(resources, [Row(person, t, T0 + minutes(n)) for n, t in enumerate([a, b, a, c])])
    cache = SnapshotCache()

    page = await read(resources, person, first=2)  # the two newest: c and a; the look-ahead row is b's
    ids = [x.activity_type_id for x in page.items]
    assert ids == [c, a] and page.has_next_page
    async with resources.db.raw() as conn:
        assert page.type_stamps == await conn.fetchval(type_stamps.BY_IDS, [a, b, c])
    raw_calls.clear()
    found = await cache.types_by_ids(resources, ids, stamps=page.type_stamps)
    assert sorted(found) == sorted(ids) and cache.reloads == 3 and raw_calls == []
    again = await cache.types_by_ids(resources, [a], stamps=page.type_stamps)
    assert again[a] is found[a] and cache.reloads == 3 and raw_calls == []

    async with resources.db.raw() as conn:  # another process deletes type a
        await conn.execute("UPDATE activity_type SET deleted_at = now(), status = 'DELETED' WHERE id = $1", a)
    newer = await read(resources, person, first=2)
    assert newer.type_stamps != page.type_stamps
    changed = await cache.types_by_ids(resources, ids, stamps=newer.type_stamps)
    assert changed[a].deleted_at is not None and changed[c] is found[c] and cache.reloads == 4


async def test_stamps_that_do_not_cover_the_ids_are_not_trusted(resources: Resources, raw_calls: list[int]) -> None:
    a, b = await create_type(resources, "covera"), await create_type(resources, "coverb")
    person = await create_person(resources, "cover@example.com")
    await insert(resources, [Row(person, a, T0)])
    page = await read(resources, person)
    raw_calls.clear()
    cache = SnapshotCache()
    found = await cache.types_by_ids(resources, [a, b], stamps=page.type_stamps)
    assert sorted(found) == [a, b] and len(raw_calls) == 1  # b's stamp was read by a query


async def test_backward_and_empty_pages(resources: Resources) -> None:
    a, b = await create_type(resources, "backa"), await create_type(resources, "backb")
    person = await create_person(resources, "back@example.com")
    ids = await insert(resources, [Row(person, t, T0 + minutes(n)) for n, t in enumerate([a, b, b])])
    oldest_first = await read(resources, person, last=2)
    assert [x.id for x in oldest_first.items] == [ids[1], ids[0]]  # the oldest two, newest first
    assert set(type_stamps.split(oldest_first.type_stamps)) == {a, b}
    nobody = await create_person(resources, "empty@example.com")
    empty = await read(resources, nobody)
    assert empty.items == [] and empty.type_stamps is None
