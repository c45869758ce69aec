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
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from app.db import trigger_repo
from app.domain.access import Principal, Scope
from app.domain.delivery_order import Queued, eligible
from app.domain.delivery_policy import Attempt, Decision, RetryPolicy, Verdict, breaker_opens, decide
from app.domain.sealing import SealError
from app.domain.triggers import webhook_id
from app.domain.webhook_signing import headers as signed_headers
from app.services import audit
from app.services.ingestion.process import bulk_running_here
from app.services.runtime import Resources
from app.services.triggers.fanout import fan_out
from app.services.triggers.secrets import reseal, signing_secrets
from app.services.triggers.sender import Sender
from app.services.wakeups import wait_woken

logger = logging.getLogger(__name__)

# Oldest unfinished deliveries of a trigger considered per claim, per delivery it may have in flight: lanes
# interleave, so a few suffice (decoding and comparing their persons was ~3% of the worker's CPU at 64).
QUEUE_WINDOW_PER_SLOT = 4
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
# The claim also reads what sending needs of the trigger (one round trip); a deleted or paused trigger's deliveries
# are not claimed (the loop's list of triggers with work may be a little old). `now` ($3) is the transaction's
# now() read by QUEUE: Citus refuses STABLE functions next to column references in an UPDATE joined with a reference
# table, and non-immutable ones in CASE or COALESCE of an UPDATE on its tables (trigger_delivery is Citus-local).
CLAIM = (
    "UPDATE trigger_delivery d SET status = 'SENDING', attempts = d.attempts + 1, lease_until = $3::timestamptz + "
    "$2 * interval '1 second', first_attempt_at = coalesce(d.first_attempt_at, $3::timestamptz) "
    "FROM webhook_trigger t "
    "WHERE d.id = ANY($1::bigint[]) AND t.id = d.trigger_id AND t.deleted_at IS NULL AND t.status = 'ACTIVE' "
    "RETURNING d.id, d.trigger_id, d.attempts, d.first_attempt_at, d.activity_ids, d.person_ids, d.occurred_ats, "
    "t.name, t.url, t.secret, CASE WHEN t.previous_secret_until > $3::timestamptz THEN t.previous_secret END "
    "AS previous"
)
class DeliveryLoop:
    """Runs until cancelled; woken by NOTIFY from the outbox trigger and from fan-outs, and at least every
    `triggers.poll_seconds`."""

    def __init__(self, resources: Resources, rng: random.Random | None = None,
                 importing: Callable[[], bool] = bulk_running_here) -> None:
        self.resources = resources
        self.importing = importing  # whether a bulk ingestion job runs in this process
        self.settings = resources.settings.triggers
        self.policy = RetryPolicy(self.settings.retry_base_seconds, self.settings.retry_max_delay_seconds,
                                  self.settings.max_retry_hours * 3600)
        self.rng = rng or random.Random()
        self.sender = Sender(resources.settings)
        self.wake = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()
        self.outcomes: list[trigger_repo.Outcome] = []  # attempts ended, in the order they ended, not yet recorded
        self.hold = 0.0  # seconds the outbox is left to fill a partial batch
        self.outbox = True  # the outbox may hold rows: set by its NOTIFY and by every poll timeout
        self.rescan = True  # new deliveries may exist (NOTIFY, poll, own fan-out): list the triggers with work again
        self.busy: list[uuid.UUID] = []  # triggers with unfinished deliveries, as last listed
        self.resealed = False  # secrets sealed with the first key (once per process, after a key rotation)

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
                pause = self.settings.import_round_seconds
                if pause and self.importing():
                    # One process runs both: a round's fan-out and deliveries took ~25% of an import's CPU.
                    await asyncio.sleep(pause)
                try:
                    await self.tick()
                except Exception:  # a database restart or a bug in one round must not end the loop
                    logger.exception("delivery round failed; retrying")
                    await asyncio.sleep(self.settings.poll_seconds)
                if not await wait_woken(self.wake, min(self.settings.poll_seconds, self.hold or 1e9)):
                    self.outbox = self.rescan = True  # a poll: also the fallback for a missed notification
        finally:
            for task in list(self.tasks):
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            with contextlib.suppress(Exception):  # else their leases expire and they are sent again
                await self._record_alone()
            await self.sender.close()
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.close()

    async def tick(self) -> None:
        """One round: fan out everything committed (unless a partial batch may still grow), then claim and start
        what each trigger may send."""
        if not self.resealed:
            await reseal(self.resources)
            self.resealed = True
        if self.outbox:  # a delivery that ends wakes the loop too: it need not look at the outbox then
            self.outbox = False  # before reading it: a row committed meanwhile sets it again
            while True:
                step = await fan_out(self.resources, self.settings.concurrency_per_trigger)
                self.hold = step.hold
                if not step.consumed:
                    break
                self.rescan = True
            self.outbox = self.outbox or bool(self.hold)
        if len(self.tasks) >= MAX_TASKS:
            await self._record_alone()
            return
        if self.rescan:  # else only deliveries ended: the triggers with work are those listed, less any drained
            self.rescan = False
            async with self.resources.db.raw() as conn:
                self.busy = [r[0] for r in await conn.fetch(OPEN_TRIGGERS)]
        for trigger_id in list(self.busy):
            for claimed, activities in await self._claim(trigger_id):
                task = asyncio.create_task(self._deliver(claimed, activities))
                self.tasks.add(task)
                task.add_done_callback(self._done)
        await self._record_alone()  # no trigger was left to claim for

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
            await conn.add_listener("trigger_outbox", lambda *_: self._outbox_filled())
            await conn.add_listener("trigger_delivery", lambda *_: self._deliveries_made())
            return conn
        except Exception:
            logger.warning("cannot LISTEN for trigger notifications; polling", exc_info=True)
            return None

    def _outbox_filled(self) -> None:
        self.outbox = True
        self.wake.set()

    def _deliveries_made(self) -> None:
        self.rescan = True
        self.wake.set()

    async def _claim(self, trigger_id: uuid.UUID) -> list[tuple[Any, list[str]]]:
        """The deliveries of `trigger_id` this worker may send now, leased, each with its activities' JSON (one
        round trip for them all); records the outcomes waiting, first, in the same transaction."""
        lease = self.settings.delivery_timeout_seconds * 3 + LEASE_MARGIN_SECONDS
        room = MAX_TASKS - len(self.tasks)
        outcomes, self.outcomes = self.outcomes, []
        async with self.resources.db.raw() as conn:
            try:
                # BEGIN and the lock in one round trip (a literal: simple protocol); a failure leaves the
                # connection in its transaction, and the pool closes it (app/db/raw_pool.py).
                await conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({_lock_of(trigger_id):d})")
                # Before the queue is read: what ended no longer blocks its persons.
                counted = await trigger_repo.record_outcomes(conn, outcomes)
                claimed = await self._lease(conn, trigger_id, room, lease)
                await conn.execute("COMMIT")
            except BaseException:
                self.outcomes[:0] = outcomes  # recorded with the next claim (leases outlast a restart's pause)
                raise
            payloads = await trigger_repo.fetch_payloads(conn, [
                list(zip(c["activity_ids"], c["person_ids"], c["occurred_ats"], strict=True)) for c in claimed
            ]) if claimed else []
        await self._open_circuits(counted)
        return list(zip(claimed, payloads, strict=True))

    async def _lease(self, conn: Any, trigger_id: uuid.UUID, room: int, lease: float) -> list[Any]:
        """Lease what the trigger may send now (the caller holds its lock, in a transaction)."""
        limit = self.settings.concurrency_per_trigger
        rows = await conn.fetch(QUEUE, trigger_id, QUEUE_WINDOW_PER_SLOT * limit)
        if not rows:
            if trigger_id in self.busy:
                self.busy.remove(trigger_id)
            return []
        now = rows[0]["now"]
        queue = [Queued(r["id"], frozenset(r["person_ids"]), r["flying"], r["due"]) for r in rows]
        ids = eligible(queue, min(limit, room + sum(q.in_flight for q in queue)), now)
        return list(await conn.fetch(CLAIM, ids, lease, now)) if ids else []

    async def _deliver(self, claimed: Any, activities: list[str]) -> None:
        trigger_id = claimed["trigger_id"]
        msg_id = webhook_id(trigger_id, claimed["id"])
        if not activities:  # every activity was erased since: nothing left to say
            self._finish(claimed, Decision(Verdict.DELIVERED, reason="activities erased; nothing sent"), None)
            return
        head = orjson.dumps({"id": str(trigger_id), "name": claimed["name"]})
        body = b'{"trigger":%b,"activities":[%b]}' % (head, ",".join(activities).encode())
        try:
            secrets = signing_secrets(self.resources.secret_box, trigger_id, claimed["secret"], claimed["previous"])
        except SealError as error:  # its key left ACTIVITIES_SECRET_KEYS too early: retried, the breaker counts it
            logger.error("cannot open the signing secret of trigger %s: %s", trigger_id, error)
            attempt = Attempt(None, error=f"the signing secret does not open: {error}")
        else:
            attempt = await self.sender.post(claimed["url"], body,
                                             signed_headers(secrets, msg_id, int(time.time()), body))
        decision = decide(attempt, claimed["attempts"], claimed["first_attempt_at"], datetime.now(UTC), self.policy,
                          self.rng)
        self._finish(claimed, decision, attempt.status, attempt.error)

    def _finish(self, claimed: Any, decision: Decision, status: int | None, error: str | None = None) -> None:
        """Keep the outcome for the loop to record (and wake it): a crash before that sends the delivery again."""
        state = {Verdict.DELIVERED: "DELIVERED", Verdict.RETRY: "PENDING", Verdict.FAILED: "FAILED"}[decision.verdict]
        reason = decision.reason
        detail = (f"{reason}: {error}" if reason and error else reason or error or None)
        self.outcomes.append(trigger_repo.Outcome(claimed["id"], claimed["attempts"], claimed["trigger_id"], state,
                                     decision.next_attempt_at, status, detail[:1000] if detail else None))
        self.wake.set()

    async def _record_alone(self) -> None:
        """Record the outcomes no claim took along."""
        if not self.outcomes:
            return
        outcomes, self.outcomes = self.outcomes, []
        try:
            async with self.resources.db.raw() as conn, conn.transaction():
                counted = await trigger_repo.record_outcomes(conn, outcomes)
        except BaseException:
            self.outcomes[:0] = outcomes
            raise
        await self._open_circuits(counted)

    async def _open_circuits(self, counted: list[tuple[uuid.UUID, Any]]) -> None:
        for trigger_id, row in counted:
            if row is not None and row["status"] == "ACTIVE" and breaker_opens(
                    row["consecutive_failures"], self.settings.circuit_breaker_failures):
                await self._open_circuit(trigger_id, row["consecutive_failures"])

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


def _lock_of(trigger_id: uuid.UUID) -> int:
    """The advisory-lock key that serialises the scheduling of one trigger's deliveries."""
    return int.from_bytes(trigger_id.bytes[:8], "big", signed=True)
