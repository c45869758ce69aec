"""Waiting for an asyncio.Event with a timeout without ever swallowing the waiter's own cancellation."""

from __future__ import annotations

import asyncio


async def wait_woken(event: asyncio.Event, seconds: float) -> bool:
    """True if `event` was set within `seconds`, False on timeout; a cancellation always propagates.

    Python 3.11's `asyncio.wait_for` can lose a `cancel()` that arrives while the inner wait completes (the
    caller then runs on and its task never ends: a worker's delivery loop did not stop at shutdown);
    `asyncio.timeout` has no such window.
    """
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
