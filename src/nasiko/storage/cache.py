"""Key/value caches and token-bucket rate limiters: in-memory or Redis."""

from __future__ import annotations

import time

import redis.asyncio as aioredis


class MemoryCache:
    def __init__(self) -> None:
        self._data: dict[str, tuple[bytes, float | None]] = {}

    def _live(self, key: str) -> tuple[bytes, float | None] | None:
        item = self._data.get(key)
        if item and item[1] is not None and item[1] < time.monotonic():
            del self._data[key]
            return None
        return item

    async def get(self, key: str) -> bytes | None:
        item = self._live(key)
        return item[0] if item else None

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        self._data[key] = (value, time.monotonic() + ttl if ttl else None)

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def incr(self, key: str, *, ttl: float | None = None) -> int:
        item = self._live(key)
        value = int(item[0]) + 1 if item else 1
        expiry = item[1] if item else (time.monotonic() + ttl if ttl else None)
        self._data[key] = (str(value).encode(), expiry)
        return value


class RedisCache:
    def __init__(self, client: aioredis.Redis, prefix: str = "nasiko:cache:") -> None:
        self._redis = client
        self._prefix = prefix

    async def get(self, key: str) -> bytes | None:
        value = await self._redis.get(self._prefix + key)
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        await self._redis.set(self._prefix + key, value, px=int(ttl * 1000) if ttl else None)

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)

    async def incr(self, key: str, *, ttl: float | None = None) -> int:
        k = self._prefix + key
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(k)
            if ttl:
                pipe.pexpire(k, int(ttl * 1000), nx=True)
            res = await pipe.execute()
        return int(res[0])


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}

    async def hit(self, key: str, *, rate: float, burst: int, cost: float = 1.0) -> float:
        return self.hit_now(key, rate=rate, burst=burst, cost=cost)

    def hit_now(self, key: str, *, rate: float, burst: int, cost: float = 1.0) -> float:
        """Synchronous variant for hot paths that run inside one process."""
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (float(burst), now))
        tokens = min(float(burst), tokens + (now - last) * rate)
        if tokens >= cost:
            self._buckets[key] = (tokens - cost, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (cost - tokens) / rate


# Token bucket kept in a Redis hash; the script makes read-refill-take atomic across replicas.
_BUCKET_LUA = """
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local state = redis.call('HMGET', key, 't', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + (now - ts) * rate)
local wait = 0
if tokens >= cost then tokens = tokens - cost else wait = (cost - tokens) / rate end
redis.call('HSET', key, 't', tokens, 'ts', now)
redis.call('PEXPIRE', key, math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


class RedisRateLimiter:
    def __init__(self, client: aioredis.Redis, prefix: str = "nasiko:rl:") -> None:
        self._redis = client
        self._prefix = prefix
        self._script = client.register_script(_BUCKET_LUA)

    async def hit(self, key: str, *, rate: float, burst: int, cost: float = 1.0) -> float:
        wait = await self._script(keys=[self._prefix + key], args=[rate, burst, cost, time.time()])
        return float(wait)
