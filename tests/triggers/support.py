"""Helpers for trigger tests: a trigger on the deposit type, the delivery loop as a task, delivered ids."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from app.domain.access import Principal
from app.domain.filters import FieldCondition
from app.domain.triggers import Batch, Trigger, TriggerSpec
from app.services.runtime import Resources
from app.services.triggers import admin
from app.services.triggers.engine import DeliveryLoop

ADMIN = Principal.local_admin()


def tuned(resources: Resources, **triggers: Any) -> Resources:
    """The same stores with other `triggers` settings (short timeouts and retries for tests)."""
    settings = resources.settings.model_copy(
        update={"triggers": resources.settings.triggers.model_copy(update=triggers)})
    return Resources(settings=settings, db=resources.db, queue=resources.queue)


async def make_trigger(
    resources: Resources, url: str, *, name: str = "deposits", where: tuple[FieldCondition, ...] = (),
    max_size: int = 100, activity_type: str = "depositCheck",
) -> tuple[Trigger, str]:
    spec = TriggerSpec(name=name, activity_type=activity_type, where=where, url=url, batch=Batch(max_size=max_size))
    return await admin.create(resources, ADMIN, spec)


@contextlib.asynccontextmanager
async def delivery_loop(resources: Resources) -> AsyncIterator[DeliveryLoop]:
    """The loop a worker runs, as a task of the test's event loop."""
    loop = DeliveryLoop(resources)
    task = asyncio.create_task(loop.run())
    try:
        yield loop
    finally:
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=15)  # a loop that ignores its cancel fails here, not later
        assert done, "the delivery loop did not stop when cancelled"
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def insert_activities(resources: Resources, type_id: int, persons: list[int], per_person: int = 1) -> list[int]:
    """Activities written straight into the table (the outbox trigger sees any INSERT); returns their ids."""
    async with resources.db.raw() as conn:
        await conn.executemany("INSERT INTO person (id, email) OVERRIDING SYSTEM VALUE VALUES ($1, $2) "
                               "ON CONFLICT DO NOTHING", [(p, f"p{p}@example.com") for p in persons])
        rows = await conn.fetch(
            "INSERT INTO activity (person_id, occurred_at, activity_type_id, type_version, primary_value, fields) "
            "SELECT p, now() - (n || ' seconds')::interval, $2, 1, '\"Main\"'::jsonb, "
            "jsonb_build_object('amount', n * 10, 'currency', 'USD') "
            "FROM unnest($1::bigint[]) AS p, generate_series(1, $3) AS n ORDER BY p, n RETURNING id",
            persons, type_id, per_person)
    return sorted(r["id"] for r in rows)  # ids follow (person, n); RETURNING's order does not on Citus (per shard)


async def settled(resources: Resources, timeout: float = 30.0) -> list[Any]:
    """Wait until the outbox is fanned out and no delivery is PENDING or SENDING; returns every delivery row."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = await delivery_rows(resources)
        async with resources.db.raw() as conn:
            waiting = await conn.fetchval("SELECT count(*) FROM trigger_outbox")
        if rows and not waiting and all(r["status"] in ("DELIVERED", "FAILED") for r in rows):
            return rows
        assert asyncio.get_running_loop().time() < deadline, [(r["id"], r["status"]) for r in rows]
        await asyncio.sleep(0.05)


async def delivery_rows(resources: Resources) -> list[Any]:
    async with resources.db.raw() as conn:
        return list(await conn.fetch("SELECT * FROM trigger_delivery ORDER BY id"))


async def only_delivery_when(resources: Resources, status: str, seconds: float = 30) -> Any:
    """The one delivery row once it has `status` (the loop records an outcome after the answer arrives)."""
    deadline = time.monotonic() + seconds
    while not (rows := await delivery_rows(resources)) or rows[0]["status"] != status:
        assert time.monotonic() < deadline, f"no delivery reached {status} in {seconds} s: {rows}"
        await asyncio.sleep(0.05)
    (row,) = rows
    return row
