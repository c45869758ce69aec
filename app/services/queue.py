"""The arq queue: job names, a msgpack (never pickle) serializer and typed enqueue helpers."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgpack
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

from app import tracing
from app.settings import Settings


class JobName(StrEnum):
    """Every job the worker runs; the worker registers functions under exactly these names."""

    PING = "ping"
    INGEST = "ingest"
    INGEST_HELP = "ingest-help"  # a helper run: more chunks of a large job, beside its lead run
    EXPORT = "export"


def serialize(payload: dict[str, Any]) -> bytes:
    packed: bytes = msgpack.packb(payload, use_bin_type=True, datetime=True)
    return packed


def deserialize(data: bytes) -> dict[str, Any]:
    unpacked: dict[str, Any] = msgpack.unpackb(data, raw=False, timestamp=3)
    return unpacked


def redis_settings(settings: Settings) -> RedisSettings:
    assert settings.redis_url, "resolve the Redis URL first (embedded or configured)"
    return RedisSettings.from_dsn(settings.redis_url)


async def open_queue(settings: Settings, *, connect: bool = True) -> ArqRedis:
    """An arq Redis pool using the msgpack serializer and this deployment's queue name.

    `connect=False` skips arq's connection check (with its retries): the pool connects on first use, so commands
    that never enqueue (`activities keys`, seeding) do not wait for or need Redis.
    """
    if not connect:
        assert settings.redis_url, "resolve the Redis URL first (embedded or configured)"
        lazy: ArqRedis = ArqRedis.from_url(settings.redis_url)
        lazy.job_serializer, lazy.job_deserializer = serialize, deserialize
        lazy.default_queue_name = settings.arq_queue_name
        return lazy
    pool: ArqRedis = await create_pool(
        redis_settings(settings),
        job_serializer=serialize,
        job_deserializer=deserialize,
        default_queue_name=settings.arq_queue_name,
    )
    return pool


async def enqueue_ping(queue: ArqRedis, settings: Settings, token: str) -> Any:
    return await queue.enqueue_job(JobName.PING, token, _queue_name=settings.arq_queue_name)


def _traced() -> dict[str, Any]:
    """The caller's trace context as a job argument when tracing is on (the job's span continues that trace)."""
    carrier = tracing.carrier()
    return {} if carrier is None else {"trace": carrier}


async def enqueue_ingestion(queue: ArqRedis, settings: Settings, job_id: str) -> Any:
    """Enqueue one ingestion job; the arq job id is the ingestion id, so a duplicate enqueue is a no-op."""
    return await queue.enqueue_job(
        JobName.INGEST, job_id, _job_id=f"ingest:{job_id}", _queue_name=settings.arq_queue_name, **_traced()
    )


async def enqueue_export(queue: ArqRedis, settings: Settings, job_id: str) -> Any:
    """Enqueue one export job under its own id (a duplicate enqueue is a no-op)."""
    return await queue.enqueue_job(
        JobName.EXPORT, job_id, _job_id=f"export:{job_id}", _queue_name=settings.arq_queue_name, **_traced()
    )


async def job_result(queue: ArqRedis, settings: Settings, job_id: str, timeout: float = 30) -> Any:
    """Wait for a job's stored result (jobs keep results for an hour)."""
    from arq.jobs import Job

    job = Job(job_id, queue, _queue_name=settings.arq_queue_name, _deserializer=deserialize)
    return await job.result(timeout=timeout, poll_delay=0.05)
