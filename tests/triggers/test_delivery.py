"""Delivery to a real HTTP receiver on 127.0.0.1: signatures, retries, Retry-After, timeouts, 4xx, dead letters,
redelivery, order per person, the concurrency limit and the circuit breaker."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

from app.domain.triggers import Batch
from app.domain.webhook_signing import verify
from app.services.runtime import Resources
from app.services.triggers import admin
from app.services.triggers.engine import DeliveryLoop
from app.services.triggers.sender import Sender
from tests.ingestion_support import approved_type
from tests.triggers.support import (
    ADMIN,
    delivery_loop,
    delivery_rows,
    insert_activities,
    make_trigger,
    only_delivery_when,
    settled,
    tuned,
)
from tests.webhook_receiver import Answer, Receiver

FAST = {"retry_base_seconds": 0.05, "retry_max_delay_seconds": 2.0, "delivery_timeout_seconds": 0.5}


async def test_activities_arrive_signed_in_the_graphql_shape(resources: Resources) -> None:
    type_id = await approved_type(resources)
    async with Receiver() as receiver:
        trigger, secret = await make_trigger(resources, receiver.url, max_size=2)
        async with delivery_loop(tuned(resources, **FAST)):
            ids = await insert_activities(resources, type_id, [1, 2, 3])
            await receiver.wait_for(lambda: len(receiver.received) == 2)
            await settled(resources)
    # Two batches of different persons may be sent in parallel: arrival order between them is not fixed. Nor, on
    # Citus, is which persons share a batch: each worker node commits its shards' part of the statement (and so
    # of the outbox) on its own, so a fan-out may see one node's part before the other's.
    first, second = sorted(receiver.received, key=lambda r: r.activity_ids)
    assert sorted(first.activity_ids + second.activity_ids) == ids
    assert first.json["trigger"] == {"id": str(trigger.id), "name": "deposits"}
    activity = first.json["activities"][0]
    assert activity["activityType"] == {"apiName": "depositCheck"} and activity["person"] == {"id": "1"}
    assert set(activity) == {"id", "activityType", "typeVersion", "person", "occurredAt", "ingestedAt",
                             "primaryValue", "fields", "idempotencyKey"}
    for r in receiver.received:
        assert verify(secret, r.headers, r.body, now=int(time.time())).startswith("msg_")
        assert r.headers["content-type"] == "application/json"
    assert first.headers["webhook-id"] != second.headers["webhook-id"]
    assert {d["status"] for d in await delivery_rows(resources)} == {"DELIVERED"}


async def test_failures_429_and_a_hang_are_retried_with_the_same_webhook_id(resources: Resources) -> None:
    type_id = await approved_type(resources)
    hang = Answer(200, delay=2.0, hang=True)
    script = [Answer(500), Answer(503), Answer(429, {"retry-after": "1"}), hang, Answer(200)]
    async with Receiver(script) as receiver:
        _, secret = await make_trigger(resources, receiver.url)
        async with delivery_loop(tuned(resources, **FAST)):
            ids = await insert_activities(resources, type_id, [1])
            await receiver.wait_for(lambda: len(receiver.delivered()) == 1)
            await settled(resources)
    assert [r.answer.status for r in receiver.received] == [500, 503, 429, 200, 200]
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    after_429 = receiver.received[3].at - receiver.received[2].at
    assert after_429 >= 0.95  # Retry-After: 1 was honoured (the backoff alone would be ~0.2 s)
    receiver.check_signatures(secret)
    assert receiver.delivered()[0].activity_ids == ids
    (row,) = await delivery_rows(resources)
    assert row["status"] == "DELIVERED" and row["attempts"] == 5


async def test_a_4xx_is_dead_lettered_at_once_and_redeliverable(resources: Resources) -> None:
    type_id = await approved_type(resources)
    async with Receiver([Answer(410)]) as receiver:
        await make_trigger(resources, receiver.url)
        async with delivery_loop(tuned(resources, **FAST)):
            await insert_activities(resources, type_id, [1])
            row = await only_delivery_when(resources, "FAILED")
            assert row["attempts"] == 1 and row["last_status_code"] == 410 and len(receiver.received) == 1
            delivery = await admin.redeliver(resources, ADMIN, row["id"])
            assert delivery.status.value == "PENDING"
            await receiver.wait_for(lambda: len(receiver.received) == 2)
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]


async def test_retries_end_in_the_dead_letter_after_the_maximum_age(resources: Resources) -> None:
    type_id = await approved_type(resources)
    async with Receiver([Answer(500)] * 100) as receiver:
        await make_trigger(resources, receiver.url)
        async with delivery_loop(tuned(resources, **FAST, max_retry_hours=0.5 / 3600)):
            await insert_activities(resources, type_id, [1])
            # How many attempts fit in half a second depends on the machine (a loaded one may spend it on the
            # first); what must hold is that the retries stop at the age limit with the reason said.
            await only_delivery_when(resources, "FAILED")
            attempts = len(receiver.received)
            await asyncio.sleep(0.3)  # a FAILED delivery is not tried again
            assert len(receiver.received) == attempts >= 1
    (row,) = await delivery_rows(resources)
    assert "retries exhausted" in row["last_error"] and row["attempts"] == attempts


async def test_order_per_person_and_the_concurrency_limit(resources: Resources) -> None:
    type_id = await approved_type(resources)
    # Every third request fails once; the receiver is slow enough for sends to overlap.
    script = [Answer(500 if i % 3 == 0 else 200, delay=0.0) for i in range(30)]
    async with Receiver(script) as receiver:
        await make_trigger(resources, receiver.url, max_size=3)
        async with delivery_loop(tuned(resources, **FAST, concurrency_per_trigger=3)):
            ids = await insert_activities(resources, type_id, list(range(1, 9)), per_person=6)
            await receiver.wait_for(lambda: sum(len(r.activity_ids) for r in receiver.delivered()) == len(ids))
            await settled(resources)
    assert receiver.max_in_flight <= 3
    seen: dict[str, list[int]] = defaultdict(list)
    for r in receiver.delivered():
        for a in r.json["activities"]:
            seen[a["person"]["id"]].append(int(a["id"]))
    assert sorted(i for person in seen.values() for i in person) == sorted(ids)
    for person, order in seen.items():
        assert order == sorted(order), f"person {person} got {order}"


async def test_the_breaker_pauses_a_failing_trigger(resources: Resources) -> None:
    type_id = await approved_type(resources)
    async with Receiver([Answer(500)] * 100) as receiver:
        trigger, _ = await make_trigger(resources, receiver.url)
        async with delivery_loop(tuned(resources, **FAST, circuit_breaker_failures=3)):
            await insert_activities(resources, type_id, [1])
            await receiver.wait_for(lambda: len(receiver.received) >= 3)
            deadline = time.monotonic() + 30
            while True:
                async with resources.db.raw() as conn:
                    status = await conn.fetchval("SELECT status FROM webhook_trigger WHERE id = $1", trigger.id)
                if status == "CIRCUIT_OPEN" or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
            sent = len(receiver.received)
            assert status == "CIRCUIT_OPEN"
            async with resources.db.raw() as conn:
                action = await conn.fetchval("SELECT action FROM audit_log WHERE target = $1 ORDER BY id DESC LIMIT 1",
                                             str(trigger.id))
            assert action == "trigger.circuitOpen"
            receiver.script.clear()  # the receiver recovers; nothing is sent until an admin resumes
            await insert_activities(resources, type_id, [2])
            await asyncio.sleep(0.6)  # several poll rounds of the loop
            assert len(receiver.received) == sent
            await admin.set_enabled(resources, ADMIN, trigger.id, True)
            await receiver.wait_for(lambda: len(receiver.delivered()) >= 2)
            await settled(resources)
    assert {d["status"] for d in await delivery_rows(resources)} == {"DELIVERED"}


async def test_a_partial_batch_waits_for_more_up_to_max_wait(resources: Resources) -> None:
    type_id = await approved_type(resources)
    async with Receiver() as receiver:
        trigger, _ = await make_trigger(resources, receiver.url, max_size=10)
        # long enough for three statements on a busy machine (on Citus each is a distributed transaction)
        await admin.update(resources, ADMIN, trigger.id, admin.TriggerPatch(batch=Batch(max_size=10, max_wait_ms=2000)))
        async with delivery_loop(tuned(resources, **FAST)):
            ids = [i for p in (1, 2, 3) for i in await insert_activities(resources, type_id, [p])]  # 3 statements
            await receiver.wait_for(lambda: len(receiver.received) >= 1)
            await settled(resources)
    (only,) = receiver.received
    assert only.activity_ids == ids


async def test_redirects_are_not_followed_and_names_connect_to_their_checked_address(resources: Resources) -> None:
    type_id = await approved_type(resources)
    async with Receiver() as elsewhere, Receiver([Answer(302, {"location": "http://127.0.0.1:1/x"})]) as receiver:
        receiver.script[0] = Answer(302, {"location": elsewhere.url})
        by_name = receiver.url.replace("127.0.0.1", "localhost")
        await make_trigger(resources, by_name)
        async with delivery_loop(tuned(resources, **FAST)):
            await insert_activities(resources, type_id, [1])
            (row,) = await settled(resources)
    assert row["status"] == "FAILED" and row["last_status_code"] == 302 and row["attempts"] == 1
    assert elsewhere.received == []
    (request,) = receiver.received
    assert request.headers["host"] == f"localhost:{receiver.port}"  # the name, sent to the address it resolved to


async def test_cookies_a_receiver_sets_are_not_sent_back(resources: Resources) -> None:
    sender = Sender(tuned(resources, **FAST).settings)
    try:
        async with Receiver([Answer(200, {"set-cookie": "session=abc; Path=/"})]) as receiver:
            for _ in range(2):
                assert (await sender.post(receiver.url, b"{}", {})).status == 200
    finally:
        await sender.close()
    assert [r.headers.get("cookie") for r in receiver.received] == [None, None]


async def test_the_loop_yields_to_an_import_in_its_process_and_catches_up_after(resources: Resources) -> None:
    type_id = await approved_type(resources)
    async with Receiver() as receiver:
        await make_trigger(resources, receiver.url)
        busy = tuned(resources, **FAST, import_round_seconds=10.0)
        loop = DeliveryLoop(busy, importing=lambda: True)  # an ingestion job runs in this process throughout
        task = asyncio.create_task(loop.run())
        try:
            ids = await insert_activities(resources, type_id, [1, 2])
            await asyncio.sleep(1.5)  # a loop that did not yield would have fanned out and delivered by now
            assert receiver.received == []
            async with resources.db.raw() as conn:
                assert await conn.fetchval("SELECT count(*) FROM trigger_outbox") > 0
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        async with delivery_loop(tuned(resources, **FAST)):  # the import ended: what waited goes out
            await settled(resources)
        assert sorted(i for r in receiver.received for i in r.activity_ids) == ids
