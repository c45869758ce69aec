"""A job's end on Citus: first every worker node must hold the job's rows (commits a node missed, finished)."""

from __future__ import annotations

import asyncio
import logging
import uuid

import asyncpg

from app.db.raw_pool import Connection
from app.db.two_phase import recover_commits
from app.services.transient import is_transient

logger = logging.getLogger(__name__)

# How long a run waits for an unreachable node before its arq job retries (with backoff, from the same point).
SETTLE_SECONDS = 30.0
MAX_DELAY_SECONDS = 5.0


async def settle_commits(conn: Connection, job_id: uuid.UUID, *, timeout: float = SETTLE_SECONDS,
                         first_delay: float = 0.25) -> None:
    """Finish the commits of the job a worker node missed (app/db/two_phase.py), trying again with backoff
    while a node is unreachable, for up to `timeout` seconds; then the last (transient) error is raised."""
    loop = asyncio.get_running_loop()
    deadline, delay = loop.time() + timeout, first_delay
    while True:
        try:
            recovered = await recover_commits(conn)
            break
        except asyncpg.InsufficientPrivilegeError:
            logger.warning("ingestion job %s: this database role may not run recover_prepared_transactions() "
                           "(docs/scaling.md): rows a worker node missed appear when Citus recovers them", job_id)
            return
        except Exception as exc:
            if not is_transient(exc) or loop.time() + delay > deadline:
                raise
            logger.info("ingestion job %s: waiting for a worker node to finish its commits (%s)", job_id, exc)
            await asyncio.sleep(delay)
            delay = min(MAX_DELAY_SECONDS, delay * 2)
    if recovered:
        logger.warning("ingestion job %s: finished %d commits a worker node had missed", job_id, recovered)
