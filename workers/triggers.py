"""The delivery loop of triggers, run beside the arq jobs by every long-running worker (not by burst runs)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from app.services.runtime import Resources
from app.services.triggers.engine import DeliveryLoop

logger = logging.getLogger(__name__)
TASK = "trigger_delivery_loop"


def start(ctx: dict[str, Any]) -> None:
    resources: Resources = ctx["resources"]
    ctx[TASK] = asyncio.create_task(DeliveryLoop(resources).run(), name=TASK)
    logger.info("trigger delivery loop started")


async def stop(ctx: dict[str, Any]) -> None:
    task: asyncio.Task[None] | None = ctx.pop(TASK, None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
