"""Process-wide resources (database, queue, Redis): the one handle every service entry point takes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from arq.connections import ArqRedis

from app.db.engine import Database
from app.domain.sealing import SecretBox
from app.services.queue import open_queue
from app.services.secret_keys import load_box
from app.settings import Settings


@dataclass
class Resources:
    """What a request or job needs to reach the outside world.

    Services take this and open their own sessions, connections and transactions from it; callers (app/api,
    app/cli, workers) never reach into `db` themselves (tests/test_layers.py).
    """

    settings: Settings
    db: Database
    queue: ArqRedis

    @classmethod
    async def open(cls, settings: Settings, *, connect_queue: bool = True) -> Resources:
        """`connect_queue=False`: Redis is connected on first use only (commands that never enqueue)."""
        db = Database.from_settings(settings)
        queue = await open_queue(settings, connect=connect_queue)
        return cls(settings=settings, db=db, queue=queue)

    @cached_property
    def secret_box(self) -> SecretBox:
        """Seals and opens secrets at rest; its keys are read once, on first use (MissingSecretKey in prod)."""
        return load_box(self.settings)

    async def close(self) -> None:
        await self.queue.aclose()
        await self.db.dispose()
