"""The ballot-stuffing guard's counters in Redis, shared by every bot process (issue 14).

Keys are ``guard:<day>:<hex>`` where the hex part is the guard's keyed hash
(services.rating_guard); each key and the day's secret expire the day after, so Redis never
holds more than two days of them, and nothing reaches the database.
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Final

from redis.asyncio import Redis

#: Keys live until the end of the next day at the latest (the body's zone may lag UTC).
TTL: Final = timedelta(days=2)


class RedisRatingCounters:
    """Counts per keyed hash and one random secret per day, in Redis."""

    def __init__(self, redis: Redis, *, prefix: str = "guard") -> None:
        self._redis = redis
        self._prefix = prefix

    async def day_secret(self, day: date) -> bytes:
        """The day's random secret: the first process to ask makes it, the others read it."""
        name = f"{self._prefix}:secret:{day.isoformat()}"
        await self._redis.set(name, secrets.token_bytes(32), nx=True, ex=TTL)
        value = await self._redis.get(name)
        if value is None:  # expired between the two calls: make it again
            return await self.day_secret(day)
        return value if isinstance(value, bytes) else value.encode("latin-1")

    def _name(self, day: date, key: bytes) -> str:
        return f"{self._prefix}:{day.isoformat()}:{key.hex()}"

    async def taken(self, day: date, key: bytes) -> int:
        value = await self._redis.get(self._name(day, key))
        return int(value or 0)

    async def take(self, day: date, key: bytes, limit: int) -> bool:
        """One more rating under ``limit``: atomically counted, given back when over it."""
        name = self._name(day, key)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, TTL)
            count, _ = await pipe.execute()
        if int(count) > limit:
            await self._redis.decr(name)
            return False
        return True

    async def give_back(self, day: date, key: bytes) -> None:
        name = self._name(day, key)
        if int(await self._redis.decr(name)) <= 0:
            await self._redis.delete(name)
