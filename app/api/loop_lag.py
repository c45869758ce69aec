"""Event-loop lag: how late a short timer fires is how long the API's event loop was kept from running callbacks
(CPU-bound work, a GC pass, a blocking call): every request in flight waits that long too."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from prometheus_client import Histogram

INTERVAL_SECONDS = 0.05  # 20 wake-ups a second: microseconds of CPU, and stalls of a few ms still show
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0)


async def _probe(histogram: Histogram, interval: float) -> None:
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(interval)
        histogram.observe(max(0.0, loop.time() - started - interval))


@contextlib.asynccontextmanager
async def probing(histogram: Histogram, interval: float = INTERVAL_SECONDS) -> AsyncIterator[None]:
    """Observe the loop's lag into `histogram` for as long as the context is open (the API's lifespan)."""
    task = asyncio.create_task(_probe(histogram, interval), name="event-loop lag probe")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
