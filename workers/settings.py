"""Build the arq Worker from our Settings: functions, resources, msgpack serializer, queue name."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from arq import Worker
from arq.worker import Function, func

from app.services.queue import JobName, deserialize, redis_settings, serialize
from app.services.runtime import Resources
from app.settings import Settings
from workers import jobs

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
    from workers import ingest

    return [(JobName.INGEST, ingest.ingest, ingest.MAX_TRIES)]


def cron_jobs(settings: Settings) -> list[Any]:
    """Periodic jobs; the reconciler also runs at start-up so a restarted worker picks up orphans at once."""
    from arq.cron import cron

    from workers import ingest

    every = max(1, settings.reconcile_interval_seconds)
    reconcile: Any = ingest.reconcile  # arq types job coroutines as taking a plain dict
    return [cron(reconcile, name="reconcile-ingestion", second=set(range(0, 60, every)),
                 run_at_startup=True, timeout=settings.job_timeout_seconds)]


def build_worker(
    settings: Settings,
    *,
    burst: bool = False,
    handle_signals: bool = True,
    resources: Resources | None = None,
    extra_functions: Sequence[Function] = (),
) -> Worker:
    """An arq Worker wired to our resources. `resources` may be shared with the caller (tests, dev)."""

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

    return Worker(
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
        allow_abort_jobs=True,
        health_check_key=f"{settings.redis_prefix}:worker-health",
    )
