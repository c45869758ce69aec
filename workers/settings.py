"""Build the arq Worker from our Settings: functions, resources, msgpack serializer, queue name."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Sequence
from typing import Any

from arq.worker import Function, func

from app import tracing
from app.services.queue import JobName, deserialize, redis_settings, serialize
from app.services.runtime import Resources
from app.settings import Settings
from workers import jobs
from workers.queue_worker import QueueWorker

logger = logging.getLogger(__name__)

# Extra job registrations from features (name -> coroutine); appended by feature modules' `register`.
JobFunction = Any  # arq types coroutines loosely; names and tries are what we check


def job_functions(settings: Settings) -> list[Function]:
    """Every job the worker runs. arq re-runs a crashed job after max(timeout)+10 s, so timeouts stay uniform."""
    timeout = settings.job_timeout_seconds
    registered: list[tuple[JobName, JobFunction, int]] = [(JobName.PING, jobs.ping, 1)]
    registered += feature_jobs()
    return [func(fn, name=name.value, timeout=timeout, max_tries=tries) for name, fn, tries in registered]


def feature_jobs() -> list[tuple[JobName, JobFunction, int]]:
    """Jobs contributed by features (ingestion, ...): (name, coroutine, max tries)."""
    from workers import export, ingest

    return [(JobName.INGEST, ingest.ingest, ingest.MAX_TRIES),
            (JobName.INGEST_HELP, ingest.ingest_help, ingest.MAX_TRIES),
            (JobName.EXPORT, export.export, export.MAX_TRIES)]


def cron_jobs(settings: Settings) -> list[Any]:
    """Periodic jobs; the reconciler also runs at start-up so a restarted worker picks up orphans at once."""
    from arq.cron import cron

    from workers import export, ingest

    every = max(1, settings.reconcile_interval_seconds)
    reconcile: Any = ingest.reconcile  # arq types job coroutines as taking a plain dict
    reconcile_exports: Any = export.reconcile_exports
    return [cron(reconcile, name="reconcile-ingestion", second=set(range(0, 60, every)),
                 run_at_startup=True, timeout=settings.job_timeout_seconds),
            cron(reconcile_exports, name="reconcile-exports", second=set(range(0, 60, every)),
                 run_at_startup=True, timeout=settings.job_timeout_seconds)]


def build_worker(
    settings: Settings,
    *,
    burst: bool = False,
    handle_signals: bool = True,
    resources: Resources | None = None,
    extra_functions: Sequence[Function] = (),
) -> QueueWorker:
    """An arq Worker wired to our resources. `resources` may be shared with the caller (tests, dev)."""
    tracing.configure(settings, "worker")

    async def on_startup(ctx: dict[str, Any]) -> None:
        ctx["resources"] = resources or await Resources.open(settings)
        if resources is None:  # a worker process of its own, not a test sharing the caller's resources
            from workers.ingest import tune_gc

            tune_gc()
        if not burst:  # a burst run drains the queue and ends; the delivery loop runs as long as the worker
            from workers import triggers

            triggers.start(ctx)
        logger.info("worker started on queue %s", settings.arq_queue_name)

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        from workers import triggers

        await triggers.stop(ctx)
        if resources is None and "resources" in ctx:
            await ctx["resources"].close()

    from workers.ingest import helper_elsewhere

    return QueueWorker(
        leave=helper_elsewhere,
        functions=[*job_functions(settings), *extra_functions],
        cron_jobs=[] if burst else cron_jobs(settings),  # burst runs (tests, one-shot) only drain the queue
        queue_name=settings.arq_queue_name,
        redis_settings=redis_settings(settings),
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        job_serializer=serialize,
        job_deserializer=deserialize,
        max_jobs=settings.worker_max_jobs,
        poll_delay=settings.worker_poll_delay,
        keep_result=3600,
        burst=burst,
        handle_signals=handle_signals,
        # Jobs are cancelled through PostgreSQL (cancel_requested), never arq's abort, whose check costs a
        # Redis round trip per poll.
        allow_abort_jobs=False,
        health_check_key=health_key(settings),
        health_check_interval=HEALTH_INTERVAL_SECONDS,
    )


HEALTH_INTERVAL_SECONDS = 5  # arq rewrites the key this often, with a TTL one second longer


def health_key(settings: Settings) -> str:
    """One key per host: a container's healthcheck asks about the worker beside it, not any worker anywhere."""
    return f"{settings.redis_prefix}:worker-health:{socket.gethostname()}"


def worker_alive(settings: Settings) -> bool:
    """`activities worker --check`: did a worker on this host record its health in the last few seconds?"""
    from arq.connections import create_pool

    async def check() -> bool:
        pool = await create_pool(redis_settings(settings))
        try:
            return bool(await pool.exists(health_key(settings)))
        finally:
            await pool.aclose()

    return asyncio.run(check())
