"""Job progress and recorded activities on Redis pub/sub (fan-out to every API replica's subscriptions)."""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import orjson

from app.domain.activities import Activity
from app.services.runtime import Resources

logger = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.25  # seconds between progress messages of one job (the final one is always sent)
FALLBACK_POLL = 1.0  # subscribers re-read the job at least this often, in case a message was lost


class Throttle:
    """True at most once per interval."""

    def __init__(self, interval: float = PROGRESS_INTERVAL) -> None:
        self.interval = interval
        self._last = 0.0

    def due(self) -> bool:
        now = time.monotonic()
        if now - self._last < self.interval:
            return False
        self._last = now
        return True


def job_channel(resources: Resources, job_id: uuid.UUID, kind: str = "ingestion") -> str:
    """The channel of one job; `kind` is "ingestion" or "export" (both kinds of job share this machinery)."""
    return f"{resources.settings.redis_prefix}:{kind}:{job_id}"


def activity_channel(resources: Resources) -> str:
    return f"{resources.settings.redis_prefix}:activities"


async def publish_job(
    resources: Resources, job_id: uuid.UUID, *, force: bool = False, kind: str = "ingestion"
) -> None:
    """Tell subscribers the job changed; they read it from Postgres (the source of truth)."""
    try:
        await resources.queue.publish(job_channel(resources, job_id, kind), b"1")
    except Exception:  # progress is best effort; the job must not fail on Redis
        logger.warning("could not publish progress of job %s", job_id, exc_info=True)


def _activity_json(r: Any) -> dict[str, Any]:
    # jsonb columns arrive decoded: the engine registers JSON codecs on every pooled connection.
    return {
        "id": r["id"], "personId": r["person_id"], "activityTypeId": r["activity_type_id"],
        "typeVersion": r["type_version"], "occurredAt": r["occurred_at"].isoformat(),
        "ingestedAt": r["ingested_at"].isoformat(), "primaryValue": r["primary_value"],
        "fields": r["fields"], "idempotencyKey": r["idempotency_key"],
    }


async def has_listeners(resources: Resources) -> bool:
    """Whether any `activityRecorded` subscription (of any API replica) listens now. Asked before a job writes, so
    a job nobody watches skips returning, encoding and publishing its rows (~3 ms of CPU per 300); a subscription
    that starts later sees the activities of jobs that start after it. True when Redis does not answer: the
    publish then tries, as it would have."""
    try:
        found = await resources.queue.pubsub_numsub(activity_channel(resources))
    except Exception:
        logger.debug("could not count activityRecorded subscribers", exc_info=True)
        return True
    return any(count for _, count in found)


async def publish_activities(resources: Resources, records: list[Any]) -> None:
    """Publish freshly committed activities for `activityRecorded` subscriptions."""
    try:
        await resources.queue.publish(activity_channel(resources), orjson.dumps([_activity_json(r) for r in records]))
    except Exception:  # live timelines are best effort; the activities are committed
        logger.warning("could not publish recorded activities", exc_info=True)


def activity_from_json(d: dict[str, Any]) -> Activity:
    return Activity(
        id=d["id"], person_id=d["personId"], activity_type_id=d["activityTypeId"], type_version=d["typeVersion"],
        occurred_at=datetime.fromisoformat(d["occurredAt"]), ingested_at=datetime.fromisoformat(d["ingestedAt"]),
        primary_value=d["primaryValue"], fields=d["fields"], idempotency_key=d["idempotencyKey"],
    )


@contextlib.asynccontextmanager
async def _subscribed(resources: Resources, channel: str) -> AsyncIterator[Any]:
    pubsub = resources.queue.pubsub()
    await pubsub.subscribe(channel)
    try:
        yield pubsub
    finally:
        with contextlib.suppress(Exception):
            await pubsub.unsubscribe(channel)
        await pubsub.aclose()  # type: ignore[no-untyped-call]


async def job_signals(
    resources: Resources, job_id: uuid.UUID, kind: str = "ingestion"
) -> AsyncIterator[None]:
    """Yields once right away, then whenever the job may have changed (message or fallback poll)."""
    async with _subscribed(resources, job_channel(resources, job_id, kind)) as pubsub:
        yield None
        while True:
            await pubsub.get_message(ignore_subscribe_messages=True, timeout=FALLBACK_POLL)
            yield None


async def activity_batches(resources: Resources) -> AsyncIterator[list[Activity]]:
    """Every batch of activities the workers publish, as domain objects."""
    async with _subscribed(resources, activity_channel(resources)) as pubsub:
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=FALLBACK_POLL)
            if message is None or message.get("type") != "message":
                continue
            yield [activity_from_json(d) for d in orjson.loads(message["data"])]
