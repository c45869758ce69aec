"""Process-wide resources (database, queue, Redis) opened once by the API lifespan or worker start-up."""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis

from app.db.engine import Database
from app.services.queue import open_queue
from app.settings import Settings


@dataclass
class Resources:
    """What a request or job needs to reach the outside world."""

    settings: Settings
    db: Database
    queue: ArqRedis

    @classmethod
    async def open(cls, settings: Settings) -> Resources:
        db = Database.from_settings(settings)
        queue = await open_queue(settings)
        return cls(settings=settings, db=db, queue=queue)

    async def close(self) -> None:
        await self.queue.aclose()
        await self.db.dispose()
