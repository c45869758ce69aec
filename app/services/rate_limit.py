"""Per-key request rate limit: a Redis token bucket updated atomically by one Lua script, leased several tokens at
a time and renewed ahead of need, so a busy key's requests are decided in-process and rarely wait for Redis."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

logger = logging.getLogger(__name__)

LEASE_TOKENS = 8
"""Tokens a process takes per script call while the bucket is plentiful; it spends them without Redis."""
MAX_LEASE_TOKENS = 256
"""A key that spends a lease within a quarter of LEASE_SECONDS gets one twice as large next time, up to this and to
an eighth of its per-minute budget (tokens one process holds are out of the other processes' reach meanwhile)."""
LEASE_SECONDS = 1.0
"""A lease's unspent tokens are not spent after this; they go back with the key's next script call."""
MAX_LEASED_KEYS = 10_000
"""Past this many keys with a lease the table starts over (the dropped leases' tokens stay spent: safe side)."""

# A bucket holds up to `capacity` tokens and refills continuously at capacity/60 s. One request takes one token.
# Redis's clock (TIME) is used so API replicas with skewed clocks share one bucket correctly.
#
# Leases: while the bucket holds at least 2x the lease and a quarter of its capacity, a call takes LEASE_TOKENS
# (one for the request, the rest held by the process); near the limit it takes one, as without leases. The next
# call for the key (or a timer LEASE_SECONDS later, with want = 0) settles the lease: the tokens it did not spend
# come back, and its spends are replayed at the times they happened (ARGV[7..], ms after the lease) so that refill
# the bucket could not take while it was full is not credited to tokens that sat in the lease meanwhile. For one
# process this gives exactly the decisions of a bucket without leases; across processes, tokens one holds are
# unavailable to the others for about LEASE_SECONDS.
#
# Renewal: while the bucket is at least half full, a lease three quarters spent asks for its successor in the
# background, so the requests of a busy key do not queue behind a Redis round trip (measured: with leases of 8
# and 16 clients on one key, half the timeline requests waited for Redis, p90 31 ms). The successor's own token
# (the script spends one at the lease's time) goes to the first request served from it; the spent lease is then
# settled by a separate script call (want = 0) off the request path. Near the limit there is no renewal, and
# every decision is exact as above.
TOKEN_BUCKET = """
local capacity = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil then
  if want == 0 then
    return {0, 0, capacity, tostring(capacity), now}  -- no bucket is a full one: nothing to give back to
  end
  tokens = capacity
  at = now
end
tokens = math.min(capacity, tokens + math.max(0, now - at) * per_ms)
local size = tonumber(ARGV[6])
if size > 0 then
  local base = tonumber(ARGV[4])
  local t0 = tonumber(ARGV[5])
  local replayed = base - 1
  local last = t0
  for i = 7, #ARGV do
    local spent_at = math.min(now, t0 + tonumber(ARGV[i]))
    replayed = math.min(capacity, replayed + math.max(0, spent_at - last) * per_ms) - 1
    last = spent_at
  end
  replayed = math.min(capacity, replayed + math.max(0, now - last) * per_ms)
  local as_leased = math.min(capacity, base - size + math.max(0, now - t0) * per_ms)
  tokens = math.min(capacity, tokens + replayed - as_leased)
end
local take = 0
local retry_ms = 0
if want == 0 then
  take = 0
elseif tokens >= 1 then
  take = 1
  if want > 1 and tokens >= 2 * want and tokens >= capacity / 4 then
    take = want
  end
  tokens = tokens - take
else
  retry_ms = math.ceil((1 - tokens) / per_ms)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / per_ms) + 1000)
return {take, retry_ms, math.floor(tokens), tostring(tokens + take), now}
"""


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a request may proceed, and if not, how long until one token is back."""

    allowed: bool
    retry_after_seconds: int
    remaining: int


@dataclass(slots=True)
class _Lease:
    """Tokens of one key this process took and has not accounted for yet."""

    size: int
    held: int
    base: bytes | str  # the bucket's tokens just before the lease, as Redis wrote them
    at_ms: int  # Redis time of the lease
    started: float  # local monotonic time the lease was asked for: spends measured from it read late, not early
    remaining: int  # the bucket's whole tokens after the lease
    spends: list[float] = field(default_factory=list)  # ms after `started`
    busy: asyncio.Future[None] | None = None  # a script call for this key is in flight
    first_unspent: bool = False  # a renewal: the token the script spent at the lease's time is not handed out yet
    renewing: bool = False  # its successor was asked for (once per lease)
    successor: _Lease | None = None  # the renewal, served once this lease is spent or stale

    def settlement(self) -> list[bytes | str | int | float]:
        return [self.base, self.at_ms, self.size, *self.spends]

    def spend(self, now: float) -> None:
        self.held -= 1
        if self.first_unspent:
            self.first_unspent = False  # the script already counted this one at the lease's time
        else:
            self.spends.append((now - self.started) * 1000)


_NO_LEASE: list[bytes | str | int | float] = ["0", 0, 0]


class RateLimiter:
    """Token bucket per principal id; `per_minute <= 0` disables limiting."""

    def __init__(self, redis: Redis, prefix: str, per_minute: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.per_minute = per_minute
        self._per_ms = repr(per_minute / 60_000)
        self._max_lease = max(LEASE_TOKENS, min(MAX_LEASE_TOKENS, per_minute // 8))
        self._script = redis.register_script(TOKEN_BUCKET)
        self._leases: dict[str, _Lease] = {}
        self._returning: set[asyncio.Future[None]] = set()

    async def hit(self, principal_id: str) -> Decision:
        if self.per_minute <= 0:
            return Decision(allowed=True, retry_after_seconds=0, remaining=-1)
        key = f"{self.prefix}:ratelimit:{principal_id}"
        lease = self._leases.get(key)
        while lease is not None:
            now = time.monotonic()
            fresh = now - lease.started < LEASE_SECONDS
            if lease.successor is not None and not (lease.held and fresh):
                lease = self._promote(key, lease)
                continue
            if lease.held and fresh:
                lease.spend(now)
                if not lease.renewing and lease.held <= lease.size // 4 and 2 * lease.remaining >= self.per_minute:
                    self._renew(key, lease)
                return Decision(allowed=True, retry_after_seconds=0, remaining=lease.remaining + lease.held)
            if lease.busy is None:
                break
            await asyncio.shield(lease.busy)  # one call per key at a time: its lease may serve this request too
            lease = self._leases.get(key)
        return await self._call(key, lease, self._next_size(lease))

    def _next_size(self, lease: _Lease | None) -> int:
        """Twice the last lease if it went within a quarter of its time, else the base size."""
        if lease is None or time.monotonic() - lease.started >= LEASE_SECONDS / 4:
            return LEASE_TOKENS
        return min(self._max_lease, 2 * lease.size)

    async def _call(self, key: str, lease: _Lease | None, want: int) -> Decision:
        loop = asyncio.get_running_loop()
        busy = loop.create_future()
        placeholder = _Lease(0, 0, "0", 0, 0.0, 0, busy=busy)
        if len(self._leases) >= MAX_LEASED_KEYS and key not in self._leases:
            self._leases.clear()
        self._leases[key] = placeholder  # later arrivals wait for this call instead of making their own
        started = time.monotonic()
        try:
            take, retry_ms, remaining, base, at_ms = await self._script(
                keys=[key], args=[self.per_minute, self._per_ms, want, *(lease.settlement() if lease else _NO_LEASE)]
            )
        except BaseException:
            if self._leases.get(key) is placeholder:
                del self._leases[key]  # the old lease is dropped unsettled: its tokens stay spent (safe side)
            raise
        else:
            take, remaining = int(take), int(remaining)
            if take > 1:
                fresh = self._leases[key] = _Lease(take, take - 1, base, int(at_ms), started, remaining)
                loop.call_later(LEASE_SECONDS, self._expire, key, fresh)
            elif self._leases.get(key) is placeholder:
                del self._leases[key]
        finally:
            busy.set_result(None)
        if not take:
            return Decision(allowed=False, retry_after_seconds=max(1, math.ceil(int(retry_ms) / 1000)), remaining=0)
        return Decision(allowed=True, retry_after_seconds=0, remaining=remaining + take - 1)

    def _renew(self, key: str, lease: _Lease) -> None:
        lease.renewing = True
        lease.busy = asyncio.get_running_loop().create_future()  # a request finding it spent waits for the renewal
        self._background(self._renewal(key, lease))

    async def _renewal(self, key: str, lease: _Lease) -> None:
        assert lease.busy is not None
        want = self._next_size(lease)
        started = time.monotonic()
        try:
            take, _, remaining, base, at_ms = await self._script(
                keys=[key], args=[self.per_minute, self._per_ms, want, *_NO_LEASE]
            )
        except Exception:  # Redis unavailable: the lease is renewed the ordinary way once spent
            logger.debug("could not renew a rate-limit lease", exc_info=True)
        else:
            if int(take):
                lease.successor = _Lease(int(take), int(take), base, int(at_ms), started, int(remaining),
                                         first_unspent=True)
                if time.monotonic() - lease.started >= LEASE_SECONDS and self._leases.get(key) is lease:
                    self._promote(key, lease)  # its expiry passed while the call was out: the successor expires next
        finally:
            lease.busy.set_result(None)
            lease.busy = None

    def _promote(self, key: str, lease: _Lease) -> _Lease:
        """Serve from the renewal; the spent (or stale) lease is settled off the request path."""
        successor = lease.successor
        assert successor is not None
        lease.successor = None
        if self._leases.get(key) is lease:
            self._leases[key] = successor
        age = time.monotonic() - successor.started
        asyncio.get_running_loop().call_later(max(0.0, LEASE_SECONDS - age), self._expire, key, successor)
        self._background(self._settle(key, lease))
        return successor

    async def _settle(self, key: str, lease: _Lease) -> None:
        try:
            await self._script(keys=[key], args=[self.per_minute, self._per_ms, 0, *lease.settlement()])
        except Exception:  # Redis unavailable: the lease counts as spent at its start (its unspent tokens too)
            logger.debug("could not settle a rate-limit lease", exc_info=True)

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._returning.add(task)
        task.add_done_callback(self._returning.discard)

    def _expire(self, key: str, lease: _Lease) -> None:
        """A lease nobody finished: give its unspent tokens back now rather than at the key's next request."""
        if self._leases.get(key) is not lease or lease.busy is not None:
            return
        if lease.successor is not None:
            self._promote(key, lease)
        elif lease.held:
            self._background(self._give_back(key, lease))

    async def _give_back(self, key: str, lease: _Lease) -> None:
        try:
            await self._call(key, lease, 0)
        except Exception:  # Redis unavailable: the tokens stay spent, which only errs on the safe side
            logger.debug("could not return the unspent tokens of a rate-limit lease", exc_info=True)
