"""Outgoing Slack rate limits: token buckets keyed by workspace and method (and channel for
chat.postMessage), shared across replicas through Redis, in-process when Redis is absent or down.

Buckets are "reservations": taking a token may drive the count negative, and the caller sleeps
for as long as the debt takes to repay. One round trip per call, fair under contention.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

log = structlog.get_logger("asyncstand.ratelimit")


@dataclass(frozen=True)
class Limit:
    rate: float  # tokens per second
    burst: float  # bucket size


def _per_minute(count: int) -> Limit:
    return Limit(rate=count / 60.0, burst=float(count))


TIER_2, TIER_3, TIER_4 = _per_minute(20), _per_minute(50), _per_minute(100)
# chat.postMessage: about one message per second per channel, short bursts allowed.
POST_MESSAGE_PER_CHANNEL = Limit(rate=1.0, burst=3.0)

METHOD_LIMITS: dict[str, Limit] = {
    "chat.update": TIER_3,
    "chat.delete": TIER_3,
    "chat.postEphemeral": TIER_4,
    "conversations.open": TIER_3,
    "conversations.info": TIER_3,
    "conversations.join": TIER_3,
    "conversations.history": TIER_3,
    "conversations.replies": TIER_3,
    "conversations.members": TIER_4,
    "users.info": TIER_4,
    # views.open / views.push are not shaped: their trigger_id dies 3 s after the click, so
    # queueing them would only turn a possible 429 into a certain expired_trigger_id.
    "views.update": TIER_4,
    "views.publish": TIER_4,
    "team.info": TIER_3,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
}


def bucket_for(
    team_key: str, method: str, params: dict[str, Any] | None
) -> tuple[str, Limit] | None:
    """The bucket a call draws from, or None for calls we don't shape (auth, oauth)."""
    if method == "chat.postMessage":
        channel = str((params or {}).get("channel") or "")
        return f"rl:{team_key}:{method}:{channel}", POST_MESSAGE_PER_CHANNEL
    limit = METHOD_LIMITS.get(method)
    if limit is None:
        return None
    return f"rl:{team_key}:{method}", limit


class Limiter(Protocol):
    async def reserve(self, key: str, limit: Limit) -> float:
        """Take one token; return how long to wait before using it."""

    async def penalize(self, key: str, limit: Limit, seconds: float) -> None:
        """Slack said 429: nobody uses this bucket for `seconds`."""

    async def admit(self, key: str, limit: Limit) -> float:
        """Admission, not reservation: take a token if there is one and return 0.0; else take
        nothing and return how long until there is one (callers refuse rather than wait)."""

    async def backlog(self, key: str, limit: Limit) -> float:
        """How long a call would wait for this bucket now, taking nothing (0.0: free)."""


class LocalLimiter:
    """In-process buckets (one replica, or Redis unavailable)."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    async def reserve(self, key: str, limit: Limit) -> float:
        now = time.monotonic()
        tokens, at = self._buckets.get(key, (limit.burst, now))
        tokens = min(limit.burst, tokens + (now - at) * limit.rate) - 1.0
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > 100_000:
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 120}
        return max(0.0, -tokens / limit.rate)

    async def penalize(self, key: str, limit: Limit, seconds: float) -> None:
        now = time.monotonic()
        tokens, _ = self._buckets.get(key, (limit.burst, now))
        self._buckets[key] = (min(tokens, -seconds * limit.rate), now)

    async def admit(self, key: str, limit: Limit) -> float:
        now = time.monotonic()
        tokens, at = self._buckets.get(key, (limit.burst, now))
        tokens = min(limit.burst, tokens + (now - at) * limit.rate)
        taken = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if taken else tokens, now)
        if len(self._buckets) > 100_000:
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 120}
        return 0.0 if taken else (1.0 - tokens) / limit.rate

    async def backlog(self, key: str, limit: Limit) -> float:
        now = time.monotonic()
        tokens, at = self._buckets.get(key, (limit.burst, now))
        tokens = min(limit.burst, tokens + (now - at) * limit.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / limit.rate


# Every script starts the same way: the bucket (ARGV: rate, burst) refilled up to now, by
# Redis's own clock.
_REFILL_LUA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate)
"""

_RESERVE_LUA = (
    _REFILL_LUA
    + """
local penalty = tonumber(ARGV[3])
if penalty > 0 then
  tokens = math.min(tokens, -penalty * rate)
else
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate + penalty) + 60)
if tokens >= 0 then return '0' end
return tostring(-tokens / rate)
"""
)


_ADMIT_LUA = (
    _REFILL_LUA
    + """
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return tostring(wait)
"""
)


_BACKLOG_LUA = (
    _REFILL_LUA
    + """
if tokens >= 1 then return '0' end
return tostring((1 - tokens) / rate)
"""
)


class RedisLimiter:
    """Buckets in Redis so every replica shares them; falls back to local ones if Redis fails."""

    RETRY_REDIS_AFTER = 30.0

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._script = self._redis.register_script(_RESERVE_LUA)
        self._admit_script = self._redis.register_script(_ADMIT_LUA)
        self._backlog_script = self._redis.register_script(_BACKLOG_LUA)
        self._local = LocalLimiter()
        self._down_until = 0.0

    @property
    def degraded(self) -> bool:
        return time.monotonic() < self._down_until

    async def _run(self, key: str, limit: Limit, penalty: float) -> float | None:
        if self.degraded:
            return None
        try:
            result = await self._script(keys=[key], args=[limit.rate, limit.burst, penalty])
        except Exception as exc:  # Redis down or slow: degrade, don't fail the send
            log.warning(
                "redis_rate_limit_unavailable",
                error_type=type(exc).__name__,
                fallback="in-process limits",
            )
            self._down_until = time.monotonic() + self.RETRY_REDIS_AFTER
            return None
        return float(result.decode() if isinstance(result, bytes) else result)

    async def reserve(self, key: str, limit: Limit) -> float:
        wait = await self._run(key, limit, 0.0)
        return await self._local.reserve(key, limit) if wait is None else wait

    async def penalize(self, key: str, limit: Limit, seconds: float) -> None:
        if await self._run(key, limit, seconds) is None:
            await self._local.penalize(key, limit, seconds)

    async def admit(self, key: str, limit: Limit) -> float:
        if not self.degraded:
            try:
                result = await self._admit_script(keys=[key], args=[limit.rate, limit.burst])
                return float(result.decode() if isinstance(result, bytes) else result)
            except Exception as exc:  # Redis down or slow: count in-process meanwhile
                log.warning(
                    "redis_rate_limit_unavailable",
                    error_type=type(exc).__name__,
                    fallback="in-process limits",
                )
                self._down_until = time.monotonic() + self.RETRY_REDIS_AFTER
        return await self._local.admit(key, limit)

    async def backlog(self, key: str, limit: Limit) -> float:
        if not self.degraded:
            try:
                result = await self._backlog_script(keys=[key], args=[limit.rate, limit.burst])
                return float(result.decode() if isinstance(result, bytes) else result)
            except Exception:  # a peek only: the next reserve() notices and degrades
                log.debug("redis_rate_limit_backlog_failed", exc_info=True)
        return await self._local.backlog(key, limit)

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except Exception:
            return False

    async def close(self) -> None:
        await self._redis.aclose()


async def wait_for_slot(limiter: Limiter, key: str, limit: Limit) -> float:
    """Reserve a token and sleep until it is ours; returns the time waited."""
    wait = await limiter.reserve(key, limit)
    if wait > 0:
        await asyncio.sleep(wait)
    return wait
