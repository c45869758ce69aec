"""The delivery loop a worker runs: fan out the outbox, claim what each trigger may send, send, record outcomes.

Claims are leases in PostgreSQL (status SENDING until `lease_until`), taken under a per-trigger advisory lock, so
any number of workers share the work, the per-trigger concurrency limit holds across them, and the deliveries of
a worker that dies are sent again by another once their lease expires (same `webhook-id`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from app.db import trigger_repo
from app.domain.access import Principal, Scope
from app.domain.delivery_order import Queued, eligible
from app.domain.delivery_policy import Decision, RetryPolicy, Verdict, breaker_opens, decide
from app.domain.triggers import activity_payload, webhook_id
from app.domain.webhook_signing import headers as signed_headers
from app.services import audit
from app.services.runtime import Resources
from app.services.triggers.fanout import fan_out, hold_seconds
from app.services.triggers.sender import Sender
from app.services.wakeups import wait_woken

logger = logging.getLogger(__name__)

QUEUE_WINDOW = 200  # oldest unfinished deliveries of a trigger considered per claim
LEASE_MARGIN_SECONDS = 5.0  # beyond the longest attempt (2 x the timeout), before another worker takes over
MAX_TASKS = 64  # sends in flight in one process, all triggers together
SYSTEM = Principal(id="system", name="delivery worker", scopes=frozenset({Scope.TRIGGERS_ADMIN}))

OPEN_TRIGGERS = (
    "SELECT DISTINCT d.trigger_id FROM trigger_delivery d JOIN webhook_trigger t ON t.id = d.trigger_id "
    "WHERE d.status IN ('PENDING', 'SENDING') AND t.status = 'ACTIVE' AND t.deleted_at IS NULL"
)
QUEUE = (
    "SELECT id, person_ids, status = 'SENDING' AND lease_until > now() AS flying, "
    "CASE WHEN status = 'SENDING' THEN now() ELSE next_attempt_at END AS due, now() AS now "
    "FROM trigger_delivery WHERE trigger_id = $1 AND status IN ('PENDING', 'SENDING') ORDER BY id LIMIT $2"
)
# The updates read now() through `clock`: Citus refuses non-immutable functions inside CASE or COALESCE of an
# UPDATE on its tables (trigger_delivery is one, being linked to the reference table webhook_trigger).
CLOCK = "(SELECT now() AS now) clock"
CLAIM = (
    "UPDATE trigger_delivery SET status = 'SENDING', attempts = attempts + 1, lease_until = now() + $2 * interval "
    f"'1 second', first_attempt_at = coalesce(first_attempt_at, clock.now) FROM {CLOCK} WHERE id = ANY($1::bigint[]) "
    "RETURNING id, trigger_id, attempts, first_attempt_at, activity_ids, person_ids, occurred_ats"
)
TRIGGER = (
    "SELECT id, name, url, secret, CASE WHEN previous_secret_until > now() THEN previous_secret END AS previous, "
    "status FROM webhook_trigger WHERE id = $1 AND deleted_at IS NULL"
)
FINISH = (
    "UPDATE trigger_delivery SET status = $3, lease_until = NULL, next_attempt_at = coalesce($4, next_attempt_at), "
    "last_status_code = $5, last_error = $6, delivered_at = CASE WHEN $3 = 'DELIVERED' THEN clock.now END "
    f"FROM {CLOCK} WHERE id = $1 AND attempts = $2 AND status = 'SENDING' RETURNING 1"
)
COUNT_OUTCOME = (
    "UPDATE webhook_trigger SET consecutive_failures = CASE WHEN $2 THEN 0 ELSE consecutive_failures + 1 END, "
    f"last_success_at = CASE WHEN $2 THEN clock.now ELSE last_success_at END FROM {CLOCK} WHERE id = $1 "
    "RETURNING consecutive_failures, status"
)


class DeliveryLoop:
    """Runs until cancelled; woken by NOTIFY from the outbox trigger and from fan-outs, and at least every
    `triggers.poll_seconds`."""

    def __init__(self, resources: Resources, rng: random.Random | None = None) -> None:
        self.resources = resources
        self.settings = resources.settings.triggers
        self.policy = RetryPolicy(self.settings.retry_base_seconds, self.settings.retry_max_delay_seconds,
                                  self.settings.max_retry_hours * 3600)
        self.rng = rng or random.Random()
        self.sender = Sender(resources.settings)
        self.wake = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()
        self.type_names: dict[int, str] = {}
        self.hold = 0.0  # seconds the outbox is left to fill a partial batch

    async def run(self) -> None:
        if self.resources.settings.environment == "prod" and self.settings.allow_loopback:
            logger.warning("ACTIVITIES_TRIGGERS__ALLOW_LOOPBACK=true in prod: webhooks may call this machine's "
                           "loopback services")
        listener = await self._listen()
        try:
            while True:
                self.wake.clear()
                if listener is None or listener.is_closed():  # PostgreSQL restarted: listen again (or poll)
                    listener = await self._listen()
                try:
                    await self.tick()
                except Exception:  # a database restart or a bug in one round must not end the loop
                    logger.exception("delivery round failed; retrying")
                    await asyncio.sleep(self.settings.poll_seconds)
                await wait_woken(self.wake, min(self.settings.poll_seconds, self.hold or 1e9))
        finally:
            for task in list(self.tasks):
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            await self.sender.close()
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.close()

    async def tick(self) -> None:
        """One round: fan out everything committed (unless a partial batch may still grow), then claim and start
        what each trigger may send."""
        self.hold = await hold_seconds(self.resources)
        while not self.hold and await fan_out(self.resources):
            pass
        if len(self.tasks) >= MAX_TASKS:
            return
        async with self.resources.db.raw() as conn:
            trigger_ids = [r[0] for r in await conn.fetch(OPEN_TRIGGERS)]
        for trigger_id in trigger_ids:
            for claimed in await self._claim(trigger_id):
                task = asyncio.create_task(self._deliver(claimed))
                self.tasks.add(task)
                task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("delivery task failed", exc_info=task.exception())
        self.wake.set()

    async def _listen(self) -> Any:
        import asyncpg

        from app.settings import to_asyncpg_dsn

        try:
            conn = await asyncpg.connect(to_asyncpg_dsn(self.resources.settings.database_url or ""))
            for channel in ("trigger_outbox", "trigger_delivery"):
                await conn.add_listener(channel, lambda *_: self.wake.set())
            return conn
        except Exception:
            logger.warning("cannot LISTEN for trigger notifications; polling", exc_info=True)
            return None

    async def _claim(self, trigger_id: uuid.UUID) -> list[Any]:
        lease = self.settings.delivery_timeout_seconds * 3 + LEASE_MARGIN_SECONDS
        room = MAX_TASKS - len(self.tasks)
        async with self.resources.db.raw() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _lock_of(trigger_id))
            rows = await conn.fetch(QUEUE, trigger_id, QUEUE_WINDOW)
            if not rows:
                return []
            now = rows[0]["now"]
            queue = [Queued(r["id"], frozenset(r["person_ids"]), r["flying"], r["due"]) for r in rows]
            ids = eligible(queue, min(self.settings.concurrency_per_trigger, room + sum(q.in_flight for q in queue)),
                           now)
            if not ids:
                return []
            return list(await conn.fetch(CLAIM, ids, lease))

    async def _deliver(self, claimed: Any) -> None:
        async with self.resources.db.raw() as conn:
            trigger = await conn.fetchrow(TRIGGER, claimed["trigger_id"])
            keys = list(zip(claimed["activity_ids"], claimed["person_ids"], claimed["occurred_ats"], strict=True))
            activities = await trigger_repo.fetch_activities(conn, keys)
            await self._learn_types(conn, {a.activity_type_id for a in activities})
        if trigger is None:
            return  # deleted meanwhile: its deliveries go with it
        msg_id = webhook_id(trigger["id"], claimed["id"])
        if not activities:  # every activity was erased since: nothing left to say
            await self._finish(claimed, Decision(Verdict.DELIVERED, reason="activities erased; nothing sent"), None)
            return
        body = orjson.dumps({
            "trigger": {"id": str(trigger["id"]), "name": trigger["name"]},
            "activities": [activity_payload(a, self.type_names.get(a.activity_type_id, "")) for a in activities],
        })
        secrets = [trigger["secret"]] + ([trigger["previous"]] if trigger["previous"] else [])
        attempt = await self.sender.post(trigger["url"], body, signed_headers(secrets, msg_id, int(time.time()), body))
        decision = decide(attempt, claimed["attempts"], claimed["first_attempt_at"], datetime.now(UTC), self.policy,
                          self.rng)
        await self._finish(claimed, decision, attempt.status, attempt.error)

    async def _finish(self, claimed: Any, decision: Decision, status: int | None, error: str | None = None) -> None:
        state = {Verdict.DELIVERED: "DELIVERED", Verdict.RETRY: "PENDING", Verdict.FAILED: "FAILED"}[decision.verdict]
        reason = decision.reason
        detail = (f"{reason}: {error}" if reason and error else reason or error or None)
        detail = detail[:1000] if detail else None
        async with self.resources.db.raw() as conn, conn.transaction():
            mine = await conn.fetchval(FINISH, claimed["id"], claimed["attempts"], state, decision.next_attempt_at,
                                       status, detail)
            if mine is None:
                return  # the lease expired and another worker took the delivery over
            counted = await conn.fetchrow(COUNT_OUTCOME, claimed["trigger_id"],
                                          decision.verdict is Verdict.DELIVERED)
        if counted is not None and counted["status"] == "ACTIVE" and breaker_opens(
                counted["consecutive_failures"], self.settings.circuit_breaker_failures):
            await self._open_circuit(claimed["trigger_id"], counted["consecutive_failures"])

    async def _open_circuit(self, trigger_id: uuid.UUID, failures: int) -> None:
        from sqlalchemy import text

        async with self.resources.db.session() as session, session.begin():
            opened = await (await session.connection()).execute(
                text("UPDATE webhook_trigger SET status = 'CIRCUIT_OPEN', updated_at = now() "
                     "WHERE id = :id AND status = 'ACTIVE' RETURNING 1"), {"id": trigger_id})
            if opened.first() is not None:
                await audit.record(session, SYSTEM, "trigger.circuitOpen", str(trigger_id),
                                   {"consecutiveFailures": failures})
                logger.warning("trigger %s paused after %d failed attempts in a row", trigger_id, failures)

    async def _learn_types(self, conn: Any, type_ids: set[int]) -> None:
        missing = [t for t in type_ids if t not in self.type_names]
        if missing:
            rows = await conn.fetch("SELECT id, api_name FROM activity_type WHERE id = ANY($1::int[])", missing)
            self.type_names.update({r["id"]: r["api_name"] for r in rows})


def _lock_of(trigger_id: uuid.UUID) -> int:
    """The advisory-lock key that serialises the scheduling of one trigger's deliveries."""
    return int.from_bytes(trigger_id.bytes[:8], "big", signed=True)

