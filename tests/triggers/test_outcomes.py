"""Outcomes recorded in bulk: each delivery's state, and each trigger's failures in a row in the order they ended."""

from __future__ import annotations

from app.db.trigger_repo import Outcome, record_outcomes
from app.services.runtime import Resources
from tests.ingestion_support import approved_type
from tests.triggers.support import make_trigger


async def test_outcomes_count_the_failures_after_the_last_success_and_skip_a_taken_over_lease(
    resources: Resources,
) -> None:
    await approved_type(resources)
    first, _ = await make_trigger(resources, "http://127.0.0.1:9/", name="first")
    second, _ = await make_trigger(resources, "http://127.0.0.1:9/", name="second")
    async with resources.db.raw() as conn:
        await conn.execute("UPDATE webhook_trigger SET consecutive_failures = 5")
        ids: list[int] = []
        for trigger_id in [first.id] * 4 + [second.id] * 2:
            ids.append(await conn.fetchval(
                "INSERT INTO trigger_delivery (trigger_id, status, activity_ids, person_ids, occurred_ats, attempts) "
                "VALUES ($1, 'SENDING', '{1}', '{1}', ARRAY[now()], 1) RETURNING id", trigger_id))
        outcomes = [
            Outcome(ids[0], 1, first.id, "PENDING", None, 500, "boom"),
            Outcome(ids[1], 1, first.id, "DELIVERED", None, 200, None),
            Outcome(ids[2], 1, first.id, "PENDING", None, 503, None),
            Outcome(ids[3], 1, first.id, "FAILED", None, 400, "bad"),
            Outcome(ids[4], 1, second.id, "PENDING", None, 500, None),
            Outcome(ids[5], 2, second.id, "PENDING", None, 500, None),  # another worker's attempt 2 now
        ]
        async with conn.transaction():
            counted = dict(await record_outcomes(conn, outcomes))
        rows = {r["id"]: r for r in await conn.fetch("SELECT * FROM trigger_delivery")}
        triggers = {r["id"]: r for r in await conn.fetch("SELECT * FROM webhook_trigger")}
    assert [rows[i]["status"] for i in ids] == ["PENDING", "DELIVERED", "PENDING", "FAILED", "PENDING", "SENDING"]
    assert rows[ids[1]]["delivered_at"] is not None and rows[ids[0]]["delivered_at"] is None
    assert (rows[ids[3]]["last_status_code"], rows[ids[3]]["last_error"]) == (400, "bad")
    assert counted[first.id]["consecutive_failures"] == 2  # the two after the success
    assert counted[second.id]["consecutive_failures"] == 6  # 5 before, plus the one its own lease ended
    assert triggers[first.id]["last_success_at"] is not None and triggers[second.id]["last_success_at"] is None
