"""The Redis token bucket: per-key budgets, typed retry-after, and the off switch."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from app.services.rate_limit import LEASE_TOKENS, MAX_LEASE_TOKENS, RateLimiter
from app.services.runtime import Resources
from tests.conftest import eventually


async def test_bucket_allows_the_budget_then_refuses_with_retry_after(resources: Resources) -> None:
    limiter = RateLimiter(resources.queue, resources.settings.redis_prefix, per_minute=3)
    decisions = [await limiter.hit("key-a") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    # One token comes back every 20 s at 3/minute, so the wait is between 1 and 20 s.
    assert 1 <= decisions[3].retry_after_seconds <= 20
    assert decisions[0].retry_after_seconds == 0


async def test_keys_have_separate_buckets(resources: Resources) -> None:
    limiter = RateLimiter(resources.queue, resources.settings.redis_prefix, per_minute=1)
    assert (await limiter.hit("key-a")).allowed
    assert not (await limiter.hit("key-a")).allowed
    assert (await limiter.hit("key-b")).allowed


async def test_buckets_are_shared_between_limiters_through_redis(resources: Resources) -> None:
    # Two API replicas = two limiter objects on the same Redis: one budget.
    first = RateLimiter(resources.queue, resources.settings.redis_prefix, per_minute=2)
    second = RateLimiter(resources.queue, resources.settings.redis_prefix, per_minute=2)
    assert (await first.hit("shared")).allowed
    assert (await second.hit("shared")).allowed
    assert not (await first.hit("shared")).allowed
    ttl = await resources.queue.pttl(f"{resources.settings.redis_prefix}:ratelimit:shared")
    assert 0 < ttl <= 61_000  # state disappears once the bucket would be full again


async def test_zero_disables_the_limit(resources: Resources) -> None:
    limiter = RateLimiter(resources.queue, resources.settings.redis_prefix, per_minute=0)
    assert all([(await limiter.hit("k")).allowed for _ in range(50)])
    assert not [k async for k in resources.queue.scan_iter(match=f"{resources.settings.redis_prefix}:ratelimit:*")]


def counting(limiter: RateLimiter) -> list[int]:
    """Count the limiter's Redis script calls (one element per call)."""
    calls: list[int] = []
    script = limiter._script

    async def counted(**kwargs: Any) -> Any:
        calls.append(1)
        return await script(**kwargs)

    limiter._script = counted  # type: ignore[assignment]
    return calls


async def test_a_busy_key_spends_leased_tokens_without_redis(resources: Resources) -> None:
    limiter = RateLimiter(resources.queue, resources.settings.redis_prefix, per_minute=10**6)
    calls = counting(limiter)
    assert all([(await limiter.hit("busy")).allowed for _ in range(40)])
    assert len(calls) <= 40 // LEASE_TOKENS + 2  # one call per lease (a stall past a lease's second adds one)


async def test_concurrent_requests_share_one_call_per_lease(resources: Resources) -> None:
    limiter = RateLimiter(resources.queue, resources.settings.redis_prefix, per_minute=10**6)
    calls = counting(limiter)
    decisions = await asyncio.gather(*(limiter.hit("parallel") for _ in range(64)))
    assert all(d.allowed for d in decisions)
    assert len(calls) <= 64 // LEASE_TOKENS + 2


async def test_with_leases_one_process_gets_exactly_its_budget(resources: Resources) -> None:
    limiter = RateLimiter(resources.queue, resources.settings.redis_prefix, per_minute=24)
    calls = counting(limiter)
    decisions = [await limiter.hit("exact") for _ in range(25)]
    assert [d.allowed for d in decisions] == [True] * 24 + [False]
    assert [d.remaining for d in decisions[:24]] == list(range(23, -1, -1))
    assert len(calls) < 24  # leases were used (while the bucket was plentiful)


async def test_two_processes_with_leases_never_exceed_the_budget(resources: Resources) -> None:
    first = RateLimiter(resources.queue, resources.settings.redis_prefix, per_minute=24)
    second = RateLimiter(resources.queue, resources.settings.redis_prefix, per_minute=24)
    allowed = [(await limiter.hit("split")).allowed for _ in range(15) for limiter in (first, second)]
    assert sum(allowed) == 24 and not any(allowed[-4:])


async def test_spends_in_a_lease_are_replayed_when_the_bucket_refilled_meanwhile(resources: Resources) -> None:
    # A lease taken from a full bucket, whose tokens are spent after the bucket has refilled to full: without
    # the replay the returned lease would count refill that a full bucket cannot take, and allow 7 too many.
    limiter = RateLimiter(resources.queue, resources.settings.redis_prefix, per_minute=600)  # 10 tokens/s
    key = f"{resources.settings.redis_prefix}:ratelimit:idle"
    first = await limiter.hit("idle")
    assert first.allowed and first.remaining == 599
    lease = limiter._leases[key]
    assert lease.held == LEASE_TOKENS - 1
    # As if the lease had been taken 0.9 s ago: 9 tokens of refill, of which the full bucket could take 8.
    at = int(await resources.queue.hget(key, "at"))
    await resources.queue.hset(key, "at", at - 900)
    lease.at_ms -= 900
    lease.started -= 0.9
    decisions = [await limiter.hit("idle") for _ in range(LEASE_TOKENS)]
    assert all(d.allowed for d in decisions)

    async def settled() -> bool:
        return not limiter._returning

    await eventually(settled, timeout=10)
    # Without leases: 600 tokens at 0.9 s (full), minus these 8 hits and the 7 tokens the renewal still holds: 585
    # (plus what refills while this runs); without the replay the bucket would say 592.
    assert 584 <= float(await resources.queue.hget(key, "tokens")) <= 588


def blocking_calls(limiter: RateLimiter) -> list[int]:
    """Count the hits that waited for a script call of their own (one element per call)."""
    calls: list[int] = []
    call = limiter._call

    async def counted(*args: Any) -> Any:
        calls.append(1)
        return await call(*args)

    limiter._call = counted  # type: ignore[method-assign]
    return calls


async def test_a_busy_key_renews_its_lease_before_it_runs_out_and_the_lease_grows(resources: Resources) -> None:
    limiter = RateLimiter(resources.queue, resources.settings.redis_prefix, per_minute=10**6)
    blocking = blocking_calls(limiter)
    sizes = set()
    for _ in range(600):
        assert (await limiter.hit("steady")).allowed
        sizes.add(limiter._leases[f"{resources.settings.redis_prefix}:ratelimit:steady"].size)
        await asyncio.sleep(0)  # a request's own awaits: the renewal's script call gets its turn
    assert len(blocking) == 1  # only the very first hit waited for Redis
    assert max(sizes) == MAX_LEASE_TOKENS and min(sizes) == LEASE_TOKENS


async def test_two_processes_renewing_leases_stay_within_the_budget(resources: Resources) -> None:
    per_minute = 600  # leases grow to 75 tokens at most
    first = RateLimiter(resources.queue, resources.settings.redis_prefix, per_minute=per_minute)
    second = RateLimiter(resources.queue, resources.settings.redis_prefix, per_minute=per_minute)
    started = time.monotonic()
    allowed = 0
    for _ in range(450):
        for limiter in (first, second):
            allowed += (await limiter.hit("renewed")).allowed
        await asyncio.sleep(0)
    elapsed = time.monotonic() - started
    assert allowed <= per_minute + math.ceil(elapsed * per_minute / 60) + 1
    # Tokens held by one process are out of the other's reach: at most two leases of 75 short of the budget.
    assert allowed >= per_minute - 2 * 75


async def test_unspent_leased_tokens_go_back_within_about_a_second(resources: Resources) -> None:
    limiter = RateLimiter(resources.queue, resources.settings.redis_prefix, per_minute=16)  # one token per 3.75 s
    key = f"{resources.settings.redis_prefix}:ratelimit:returned"
    assert (await limiter.hit("returned")).allowed
    assert float(await resources.queue.hget(key, "tokens")) < 9  # 16 - 8 leased

    async def given_back() -> bool:
        return float(await resources.queue.hget(key, "tokens")) >= 15 and key not in limiter._leases

    await eventually(given_back, timeout=10)  # refill alone would take 26 s


async def test_giving_back_to_an_expired_bucket_writes_nothing(resources: Resources) -> None:
    limiter = RateLimiter(resources.queue, resources.settings.redis_prefix, per_minute=16)
    key = f"{resources.settings.redis_prefix}:ratelimit:gone"
    assert (await limiter.hit("gone")).allowed and key in limiter._leases
    await resources.queue.delete(key)  # expired (or another test's clean-up): a missing bucket is a full one

    async def settled() -> bool:
        return key not in limiter._leases

    await eventually(settled, timeout=10)
    assert not await resources.queue.exists(key)
