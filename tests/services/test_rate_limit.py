"""The Redis token bucket: per-key budgets, typed retry-after, and the off switch."""

from __future__ import annotations

from app.services.rate_limit import RateLimiter
from app.services.runtime import Resources


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
