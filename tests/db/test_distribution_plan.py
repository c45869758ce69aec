"""Where each table lives on Citus (app/db/distribution.py): every table has a place, documented, and migrate
puts it there."""

from __future__ import annotations

from app.db.distribution import DISTRIBUTED, LOCAL, REFERENCE, citus_present, distribute, placements
from app.services.runtime import Resources
from tests.stores import PROJECT_ROOT

PLAN = {t: "distributed" for t, _, _ in DISTRIBUTED} | dict.fromkeys(REFERENCE, "reference") | dict.fromkeys(
    LOCAL, "local")


def test_the_plan_names_each_table_once() -> None:
    names = [t for t, _, _ in DISTRIBUTED] + list(REFERENCE) + list(LOCAL)
    assert len(names) == len(set(names)) == len(PLAN)


async def test_every_table_has_a_place_in_the_plan_and_the_docs(resources: Resources) -> None:
    async with resources.db.raw() as conn:
        tables = {p.table for p in await placements(conn)}
    assert tables == set(PLAN), "place new tables in app/db/distribution.py (and docs/scaling.md)"
    scaling = (PROJECT_ROOT / "docs" / "scaling.md").read_text()
    assert [t for t in sorted(tables - {"alembic_version"}) if f"`{t}`" not in scaling] == []


async def test_placement_is_done_by_migrate_and_idempotent(resources: Resources) -> None:
    async with resources.db.raw() as conn:
        assert await distribute(conn, 4) == []  # the session's migrate placed everything (or nothing to place)
        placed = {p.table: (p.kind, p.column) for p in await placements(conn)}
        if not await citus_present(conn):  # plain PostgreSQL: nothing changes
            assert {kind for kind, _ in placed.values()} == {"local"}
            return
        colocated = {r[0] for r in await conn.fetch(
            "SELECT logicalrelid::regclass::text FROM pg_dist_partition WHERE colocationid = "
            "(SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = 'person'::regclass)")}
    assert placed == {t: (kind, None) for t, kind in PLAN.items() if kind != "distributed"} | {
        t: ("distributed", column) for t, column, _ in DISTRIBUTED}
    assert colocated == {"person", "activity", "trigger_outbox"}  # a person's rows share one shard group
