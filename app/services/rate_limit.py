"""Per-key request rate limit: a Redis token bucket updated atomically by one Lua script."""

from __future__ import annotations

import math
from dataclasses import dataclass

from redis.asyncio import Redis

# A bucket holds up to `capacity` tokens and refills continuously at capacity/60 s. One request takes one token.
# Redis's clock (TIME) is used so API replicas with skewed clocks share one bucket correctly.
TOKEN_BUCKET = """
local capacity = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil then
  tokens = capacity
  at = now
end
tokens = math.min(capacity, tokens + math.max(0, now - at) * per_ms)
local allowed = 0
local retry_ms = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry_ms = math.ceil((1 - tokens) / per_ms)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / per_ms) + 1000)
return {allowed, retry_ms, math.floor(tokens)}
"""


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a request may proceed, and if not, how long until one token is back."""

    allowed: bool
    retry_after_seconds: int
    remaining: int


class RateLimiter:
    """Token bucket per principal id; `per_minute <= 0` disables limiting."""

    def __init__(self, redis: Redis, prefix: str, per_minute: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.per_minute = per_minute
        self._script = redis.register_script(TOKEN_BUCKET)

    async def hit(self, principal_id: str) -> Decision:
        if self.per_minute <= 0:
            return Decision(allowed=True, retry_after_seconds=0, remaining=-1)
        per_ms = self.per_minute / 60_000
        allowed, retry_ms, remaining = await self._script(
            keys=[f"{self.prefix}:ratelimit:{principal_id}"], args=[self.per_minute, repr(per_ms)]
        )
        retry = max(1, math.ceil(int(retry_ms) / 1000)) if not allowed else 0
        return Decision(allowed=bool(allowed), retry_after_seconds=retry, remaining=int(remaining))
