"""A waiter cancelled in the same instant its event fires still ends (Python 3.11's wait_for lost that cancel)."""

from __future__ import annotations

import asyncio
import contextlib

from app.services.wakeups import wait_woken


async def test_a_cancel_that_races_the_wakeup_still_ends_the_loop() -> None:
    event = asyncio.Event()
    rounds: list[bool] = []

    async def loop() -> None:  # the shape of the delivery loop: wait, clear, go round
        while True:
            rounds.append(await wait_woken(event, 30))
            event.clear()

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)  # the loop is now waiting
    event.set()
    task.cancel()  # lands while the wake-up is already scheduled
    done, _ = await asyncio.wait({task}, timeout=2)
    assert done and task.cancelled(), "the cancellation was swallowed: the loop runs on"


async def test_it_says_whether_the_event_fired() -> None:
    event = asyncio.Event()
    assert await wait_woken(event, 0.01) is False
    event.set()
    assert await wait_woken(event, 0.01) is True


async def test_a_plain_cancel_propagates() -> None:
    task = asyncio.create_task(wait_woken(asyncio.Event(), 30))
    await asyncio.sleep(0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert task.cancelled()
