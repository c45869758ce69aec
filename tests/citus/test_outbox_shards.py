"""On Citus the outbox trigger fires per shard: each outbox row lists one shard's activities and is stored in the
co-located outbox shard, on the same node, in the same transaction as they are."""

from __future__ import annotations

import pytest

from app.services.runtime import Resources
from tests.ingestion_support import approved_type
from tests.triggers.support import insert_activities, make_trigger

pytestmark = pytest.mark.usefixtures("on_citus")

# the node group holding the shard of `table` a distribution value hashes to
GROUP = ("SELECT p.groupid FROM pg_dist_placement p WHERE p.shardid = "
         "get_shard_id_for_distribution_column($1::regclass, $2::bigint)")


async def test_each_outbox_row_is_one_shards_activities_on_their_node(resources: Resources) -> None:
    type_id = await approved_type(resources)
    await make_trigger(resources, "http://127.0.0.1:9/hook")
    ids = await insert_activities(resources, type_id, list(range(1, 21)))  # one statement, every shard
    async with resources.db.raw() as conn:
        rows = await conn.fetch("SELECT person_id, person_ids, activity_ids FROM trigger_outbox")
        shard = "SELECT get_shard_id_for_distribution_column('activity', $1::bigint)"
        touched = {await conn.fetchval(shard, p) for p in range(1, 21)}
        assert len(rows) == len(touched) > 1
        for row in rows:
            assert {await conn.fetchval(shard, p) for p in row["person_ids"]} == {
                await conn.fetchval(shard, row["person_id"])}
            assert await conn.fetchval(GROUP, "trigger_outbox", row["person_id"]) == await conn.fetchval(
                GROUP, "activity", row["person_id"])
    assert sorted(i for r in rows for i in r["activity_ids"]) == ids


async def test_activities_rolled_back_leave_no_outbox_row(resources: Resources) -> None:
    type_id = await approved_type(resources)
    await make_trigger(resources, "http://127.0.0.1:9/hook")
    async with resources.db.raw() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("INSERT INTO person (id) OVERRIDING SYSTEM VALUE SELECT generate_series(1, 20)")
        await conn.execute(
            "INSERT INTO activity (person_id, occurred_at, activity_type_id, type_version, primary_value, fields) "
            "SELECT p, now(), $1, 1, '\"Main\"'::jsonb, '{\"amount\": 1, \"currency\": \"USD\"}'::jsonb "
            "FROM generate_series(1, 20) AS p", type_id)
        assert await conn.fetchval("SELECT count(*) FROM trigger_outbox") > 1  # seen inside the transaction
        await transaction.rollback()
        assert await conn.fetchval("SELECT count(*) FROM trigger_outbox") == 0
