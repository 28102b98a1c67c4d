"""A token bucket shared by every worker process, per LINE channel.

Celery's `rate_limit` is per worker, so N workers would send N times the limit. The bucket
lives in Redis and is updated by one Lua script (atomic, and timed by the Redis server's
clock so hosts with skewed clocks agree). Without Redis (development: SQLite and the
filesystem broker) the same bucket lives in a database row updated under a row lock; SQLite
serialises writers, so it also holds across processes, just more slowly.

`take(key, n)` blocks for short waits only (the pool never sleeps for long: callers put rows
back with a `next_attempt_at` instead) and returns how many tokens it got.

When Redis is unreachable (restarted, failed over), a take waits for it, trying again every
`REDIS_RETRY_SECONDS` for up to `REDIS_WAIT_SECONDS`, and goes on the moment it answers; the
rows the drain holds meanwhile keep their leases through its heartbeat. Only after that
does it raise `Unavailable` (the caller puts its rows back). Falling back to the database
bucket instead would move the hottest counter onto the database just when something else is
already wrong.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import transaction
from redis.commands.core import Script

from messaging.models import RateBucket

log = logging.getLogger(__name__)

REDIS_WAIT_SECONDS = 90.0  # an outage of a minute, with room to spare; far inside the task's time limit
REDIS_RETRY_SECONDS = 0.5
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)  # a bug in the script is not waited for


class Unavailable(Exception):
    """Redis did not answer for REDIS_WAIT_SECONDS."""


_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local requested = tonumber(ARGV[3])
local penalty = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate)
  ts = now
end
if penalty > 0 then
  tokens = math.min(tokens, -penalty * rate)
end
local granted = 0
if tokens >= 1 then
  granted = math.min(requested, math.floor(tokens))
end
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
local wait = 0
if granted < requested then
  wait = (math.min(requested - granted, burst) - tokens) / rate
end
return {granted, tostring(wait)}
"""


@dataclass(frozen=True)
class Limit:
    rate: float  # tokens per second
    burst: int  # bucket size


def line_push_limit() -> Limit:
    return Limit(
        rate=float(settings.LINE_PUSH_RATE_PER_SECOND),
        burst=int(settings.LINE_PUSH_BURST),
    )


_redis: dict[int, Script] = {}


def _script() -> Script:
    """The Lua script bound to this process's Redis connection (a forked worker makes its own)."""
    client = _redis.get(os.getpid())
    if client is None:
        connection = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        client = connection.register_script(_LUA)
        _redis[os.getpid()] = client
    return client


def _acquire_redis(key: str, n: int, limit: Limit, penalty: float) -> tuple[int, float]:
    granted, wait = _script()(keys=[f"rl:{key}"], args=[limit.rate, limit.burst, n, penalty])
    return int(granted), float(wait)


def _acquire_db(key: str, n: int, limit: Limit, penalty: float) -> tuple[int, float]:
    now = time.time()
    with transaction.atomic():
        bucket, _ = RateBucket.objects.select_for_update().get_or_create(
            key=key, defaults={"tokens": limit.burst, "updated": now}
        )
        tokens = bucket.tokens
        if now > bucket.updated:
            tokens = min(limit.burst, tokens + (now - bucket.updated) * limit.rate)
        if penalty > 0:
            tokens = min(tokens, -penalty * limit.rate)
        granted = min(n, int(tokens)) if tokens >= 1 else 0
        tokens -= granted
        RateBucket.objects.filter(key=key).update(tokens=tokens, updated=max(now, bucket.updated))
    wait = 0.0 if granted >= n else (min(n - granted, limit.burst) - tokens) / limit.rate
    return granted, wait


def acquire(
    key: str, n: int, limit: Limit, *, penalty: float = 0.0, wait_for_redis: float = REDIS_WAIT_SECONDS
) -> tuple[int, float]:
    """Take up to n tokens now: (granted, seconds until the rest could be granted). Waits up
    to `wait_for_redis` seconds for an unreachable Redis, then raises `Unavailable`."""
    if not settings.REDIS_URL:
        return _acquire_db(key, n, limit, penalty)
    deadline = time.time() + wait_for_redis
    down_since = None
    while True:
        try:
            granted = _acquire_redis(key, n, limit, penalty)
        except REDIS_DOWN as exc:
            if time.time() >= deadline:
                raise Unavailable(f"Redis unreachable for {wait_for_redis:.0f} s: {exc}") from exc
            if down_since is None:
                down_since = time.time()
                log.warning("rate limit: Redis unreachable (%s); waiting for it", exc)
            time.sleep(REDIS_RETRY_SECONDS)
            continue
        if down_since is not None:
            log.warning("rate limit: Redis is back after %.1f s", time.time() - down_since)
        return granted


def take(key: str, n: int, limit: Limit, *, max_wait: float = 2.0) -> int:
    """Take n tokens, sleeping for short waits; returns fewer than n after `max_wait`."""
    granted_total = 0
    deadline = time.monotonic() + max_wait
    while granted_total < n:
        granted, wait = acquire(key, n - granted_total, limit)
        granted_total += granted
        if granted_total >= n:
            break
        if time.monotonic() + wait > deadline:
            break
        time.sleep(max(wait, 0.001))
    return granted_total


def penalise(key: str, limit: Limit, seconds: float = 1.0) -> None:
    """LINE said 429 (rate): empty the bucket and owe `seconds` worth of tokens. Not cumulative:
    a batch whose pushes were all refused at once pauses the channel once, not once per push."""
    try:
        acquire(key, 0, limit, penalty=seconds, wait_for_redis=0)
    except Unavailable:
        log.warning("rate limit: could not pause %s, Redis is unreachable", key)


def line_key(channel_id: str) -> str:
    return f"line:push:{channel_id}"
