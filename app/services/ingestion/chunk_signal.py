"""Wakes a worker waiting for an upload's next chunk: a Postgres LISTEN on the job's channel."""

from __future__ import annotations

import asyncio
import logging
import uuid

from app.db.raw_pool import Connection
from app.services.ingestion.jobs import chunk_channel
from app.services.wakeups import wait_woken

logger = logging.getLogger(__name__)


class ChunkSignal:
    """Wakes a worker that caught up with an upload still being received: the uploader NOTIFYs the job's
    channel with every chunk it commits and when it ends (so do cancelIngestionJob and the reconciler);
    the poll is only a safety net."""

    def __init__(self, conn: Connection, job_id: uuid.UUID) -> None:
        self.conn, self.channel = conn, chunk_channel(job_id)
        self.event = asyncio.Event()

    @classmethod
    async def listen(cls, conn: Connection, job_id: uuid.UUID) -> ChunkSignal:
        signal = cls(conn, job_id)
        await conn.add_listener(signal.channel, signal._notified)
        return signal

    def _notified(self, *_: object) -> None:
        self.event.set()

    def reset(self) -> None:
        self.event.clear()

    async def wait(self, timeout: float) -> None:
        await wait_woken(self.event, timeout)

    async def close(self) -> None:
        try:
            await self.conn.remove_listener(self.channel, self._notified)
        except Exception:  # a broken connection listens to nothing; run_job terminates it
            logger.debug("could not stop listening on %s", self.channel, exc_info=True)
