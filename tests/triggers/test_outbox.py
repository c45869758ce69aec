"""Nothing lost by construction: every path that stores activities feeds the outbox in its own transaction, and
the fan-out turns each outbox row into deliveries exactly once."""

from __future__ import annotations

import json
from collections import Counter

import httpx

from app.db import trigger_repo
from app.db.activity_queries import COLUMNS
from app.domain.activities import Activity
from app.domain.filters import FieldCondition, FieldOperator
from app.domain.triggers import activity_payload
from app.services.runtime import Resources
from app.services.triggers.fanout import fan_out
from tests.api.test_ingestion_api import RECORD, Worker, job_after_worker, upload
from tests.conftest import GraphQL
from tests.ingestion_support import approved_type, deposit, deposit_definition, put_type
from tests.triggers.support import delivery_rows, insert_activities, make_trigger


async def outbox_count(resources: Resources) -> int:
    async with resources.db.raw() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM trigger_outbox"))


async def test_no_outbox_rows_while_no_trigger_exists(resources: Resources) -> None:
    type_id = await approved_type(resources)
    await insert_activities(resources, type_id, [1, 2])
    assert await outbox_count(resources) == 0


async def test_every_ingestion_path_reaches_the_deliveries_once(
    client: httpx.AsyncClient, gql: GraphQL, resources: Resources, run_worker: Worker
) -> None:
    await approved_type(resources, deposit_definition(amount_max=1000))
    await make_trigger(resources, "http://127.0.0.1:9/hook", max_size=100)
    big = await make_trigger(resources, "http://127.0.0.1:9/big", name="big",
                             where=(FieldCondition("amount", FieldOperator.GREATER_THAN, 500),))
    # 1. inline (a small job: INSERT ... ON CONFLICT, live publishing), one rejected row kept for replay
    body = await gql(RECORD, {"input": {"activities": [deposit(key="s", amount=50), deposit(key="b", amount=5000)],
                                        "createMissingPersons": True}})
    inline = await job_after_worker(gql, run_worker, body["data"]["recordActivities"]["job"]["id"])
    assert inline["counts"]["accepted"] == 1 and inline["counts"]["rejected"] == 1
    # 2. a file import large enough for the COPY path (more than the live-publishing size)
    lines = [json.dumps(deposit(email=f"u{i % 50}@example.com", key=f"f{i}", amount=i % 1000)) for i in range(1500)]
    imported = await upload(client, "rows.jsonl", "\n".join(lines).encode(), createMissingPersons=True)
    job = await job_after_worker(gql, run_worker, imported["data"]["importActivities"]["job"]["id"])
    assert job["counts"]["accepted"] == 1500
    # 3. replay of the rejected row once the type allows it
    async with resources.db.raw() as conn:
        await put_type(conn, deposit_definition(amount_max=10_000))
    replay = await gql("mutation($id: ID!) { replayRejections(jobId: $id) { job { id } errors { code } } }",
                       {"id": inline["id"]})
    replayed = await job_after_worker(gql, run_worker, replay["data"]["replayRejections"]["job"]["id"])
    assert replayed["counts"]["accepted"] == 1

    assert await outbox_count(resources) >= 3
    while (await fan_out(resources)).consumed:
        pass
    assert await outbox_count(resources) == 0
    async with resources.db.raw() as conn:
        stored = {r["id"]: r["amount"] for r in await conn.fetch(
            "SELECT id, (fields->>'amount')::numeric AS amount FROM activity")}
    deliveries = await delivery_rows(resources)
    per_trigger: dict[str, Counter[int]] = {}
    for d in deliveries:
        per_trigger.setdefault(str(d["trigger_id"]), Counter()).update(d["activity_ids"])
        assert len(d["activity_ids"]) <= 100 and d["status"] == "PENDING"
    everything = per_trigger.pop(str(big[0].id))
    (all_of_them,) = per_trigger.values()
    assert all_of_them == Counter(stored.keys())  # every stored activity, exactly once
    assert everything == Counter(i for i, amount in stored.items() if amount > 500)
    assert 5000 in stored.values()  # the replayed row is among them


async def test_a_fan_out_that_fails_leaves_its_outbox_rows(resources: Resources) -> None:
    type_id = await approved_type(resources)
    await make_trigger(resources, "http://127.0.0.1:9/hook")
    await insert_activities(resources, type_id, [1, 2, 3])
    captured = await outbox_count(resources)  # 1 statement: 1 row (on Citus: 1 per shard it wrote to)
    assert captured >= 1
    async with resources.db.raw() as conn:  # a broken delivery table makes the fan-out's transaction fail
        await conn.execute("ALTER TABLE trigger_delivery ADD CONSTRAINT no_rows CHECK (false) NOT VALID")
    try:
        try:
            await fan_out(resources)
        except Exception:
            pass
        else:
            raise AssertionError("the fan-out should have failed")
        assert await outbox_count(resources) == captured
    finally:
        async with resources.db.raw() as conn:
            await conn.execute("ALTER TABLE trigger_delivery DROP CONSTRAINT no_rows")
    assert (await fan_out(resources)).consumed == captured
    assert len([i for d in await delivery_rows(resources) for i in d["activity_ids"]]) == 3


async def test_payloads_built_by_postgresql_equal_the_domain_shape(resources: Resources) -> None:
    """The delivery body's activities come from SQL (trigger_repo.FETCH_PAYLOADS); `activity_payload` says what
    they must be, for instants with and without microseconds, a missing key, text that needs escaping."""
    type_id = await approved_type(resources)
    async with resources.db.raw() as conn:
        await conn.execute("INSERT INTO person (id, email) OVERRIDING SYSTEM VALUE VALUES (7, 'p7@example.com')")
        await conn.execute(
            "INSERT INTO activity (person_id, occurred_at, ingested_at, activity_type_id, type_version, primary_value, "
            "fields, idempotency_key) VALUES "
            "(7, '2026-11-02T10:00:00Z', '2026-11-02T10:00:00.000001Z', $1, 1, '\"Main \\\"St\\\" é\"', "
            "'{\"amount\": 120.5, \"currency\": \"USD\"}', NULL), "
            "(7, '1999-01-02T03:04:05.678+05:00', now(), $1, 2, '\"x\"', "
            "'{\"amount\": 1e3, \"note\": \"a\\nb\"}', 'k2')",
            type_id)
        rows = await conn.fetch(f"SELECT {COLUMNS} FROM activity ORDER BY id")
        activities = [Activity(*r) for r in rows]
        keys = [(a.id, a.person_id, a.occurred_at) for a in activities]
        payloads = await trigger_repo.fetch_payloads(conn, [keys[1:], [], keys[:1]])
    expected = [activity_payload(a, "depositCheck") for a in activities]
    assert [[json.loads(p) for p in batch] for batch in payloads] == [expected[1:], [], expected[:1]]


async def test_outbox_arrays_are_stored_uncompressed(resources: Resources) -> None:
    """Compressing them was most of what the statement trigger cost an import (migration 0017)."""
    async with resources.db.raw() as conn:
        storage = dict(await conn.fetch(
            "SELECT attname, attstorage::text FROM pg_attribute WHERE attrelid = 'trigger_outbox'::regclass "
            "AND attname IN ('activity_ids', 'person_ids', 'occurred_ats', 'type_ids')"))
    assert storage == dict.fromkeys(("activity_ids", "person_ids", "occurred_ats", "type_ids"), "e")
