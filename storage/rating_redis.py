"""The ballot-stuffing guard's counters in Redis, shared by every bot process (issue 14).

Keys are ``guard:<day>:<hex>`` where the hex part is the guard's keyed hash
(services.rating_guard). Each key is a hash of the *attempts* that took one of the day's
ratings (a keyed hash of the dialog's random nonce, nothing else): the count is its length.
A worker killed between the reservation and the response's commit leaves its attempt there;
the same dialog's redelivered last answer, on any worker, finds it and is allowed, so the
person's rating is not lost, while another dialog still counts against the limit.

Redis keeps two clocks per key that would time each completion: its expiry and its idle
time (``PTTL``/``PEXPIRETIME``, ``OBJECT IDLETIME``). With those, the pepper, the day secret
(here) and PostgreSQL's heap order, a reader could line people up with responses. So every
key of a day, the day's secret included, expires at the same whole second, the end of the
next day (UTC, ``EXPIREAT``), and every process touches all the keys once a minute
(:meth:`RedisRatingCounters.touch_all`, the scheduler's participation job), after which they
share one idle time (docs/anonymity.md). Nothing reaches the database.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from redis.asyncio import Redis

from storage.redis_scan import each_batch


class RedisRatingCounters:
    """The attempts per keyed hash and one random secret per day, in Redis."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "guard",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._now = now

    def expires_at(self, day: date) -> int:
        """The whole second every key of ``day`` expires at: the end of the next day (UTC;
        the body's zone may lag UTC), at least a second ahead (a key expiring in the past
        would be deleted at once)."""
        end = datetime.combine(day + timedelta(days=2), time(), tzinfo=UTC)
        return max(int(end.timestamp()), math.ceil(self._now().timestamp()) + 1)

    async def day_secret(self, day: date) -> bytes:
        """The day's random secret: the first process to ask makes it, the others read it."""
        name = f"{self._prefix}:secret:{day.isoformat()}"
        await self._redis.set(name, secrets.token_bytes(32), nx=True, exat=self.expires_at(day))
        value = await self._redis.get(name)
        if value is None:  # expired between the two calls: make it again
            return await self.day_secret(day)
        return value if isinstance(value, bytes) else value.encode("latin-1")

    def _name(self, day: date, key: bytes) -> str:
        return f"{self._prefix}:{day.isoformat()}:{key.hex()}"

    async def taken(self, day: date, key: bytes) -> int:
        return int(await self._redis.eval(_TAKEN, 1, self._name(day, key)))

    async def take(self, day: date, key: bytes, limit: int, attempt: bytes) -> bool:
        """One more rating under ``limit`` for ``attempt``, atomically; an attempt that took
        one already (its worker died before the commit) is allowed again, counted once."""
        name = self._name(day, key)
        return bool(await self._redis.eval(_TAKE, 1, name, attempt, limit, self.expires_at(day)))

    async def give_back(self, day: date, key: bytes, attempt: bytes) -> None:
        await self._redis.eval(_GIVE_BACK, 1, self._name(day, key), attempt)

    async def touch_all(self) -> int:
        """Touch every guard key (the days' secrets too), so that they all share one idle
        time (``OBJECT IDLETIME``) and none tells when its person completed; how many were
        touched (storage.redis_scan: a round trip or two per 500 keys)."""
        return await each_batch(self._redis, f"{self._prefix}:*", self._redis.touch)


#: A key written by the counters before attempts were kept (a plain count, ``INCR``) becomes
#: a hash of as many anonymous attempts, so an upgrade during the day loses no rating.
_UPGRADE: Final = """
if redis.call('TYPE', KEYS[1]).ok == 'string' then
  local n = tonumber(redis.call('GET', KEYS[1])) or 0
  local ttl = redis.call('PTTL', KEYS[1])
  redis.call('DEL', KEYS[1])
  for i = 1, n do redis.call('HSET', KEYS[1], 'before:' .. i, 1) end
  if n > 0 and ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
end
"""

_TAKEN: Final = (
    _UPGRADE
    + """
return redis.call('HLEN', KEYS[1])
"""
)

#: ARGV: the attempt, the limit, the day's expiry second.
_TAKE: Final = (
    _UPGRADE
    + """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return 1
end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], 1)
redis.call('EXPIREAT', KEYS[1], ARGV[3])
return 1
"""
)

#: Only this attempt's rating is given back; an empty key goes.
_GIVE_BACK: Final = (
    _UPGRADE
    + """
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1])
end
return 0
"""
)
