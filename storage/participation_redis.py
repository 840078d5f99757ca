"""Poll participation claimed in Redis at the moment of completion, shared by every process.

One answer per person and window must hold across processes: the participation key of an
answer waits in its process's memory until a batch is written (storage.campaigns), so without
a shared claim a person's second attempt reaching another worker would pass. With Redis, a
completion first *claims* the key (``SET NX``, expiring after ``WORKING_TTL``: a process
killed before its response is committed does not keep the person out for long), the response
is committed, and the claim is then *confirmed* (kept until the key's own expiry). A
response that is not stored gives its claim back.

Keys are ``participation:window:<id>:<keyed hash>``: ``HMAC(pepper, window, person)``, the
same hash the database gets later; no person id, no response id, nothing that orders them
(separate keys, in Redis's hash table order). A window's keys are deleted when it closes, and
expire by themselves two days after its last day.

Redis keeps two clocks per key that would time each completion: its expiry and its idle time
(``PTTL``/``PEXPIRETIME``, ``OBJECT IDLETIME``). With those, the pepper and PostgreSQL's heap
order of the hour, a reader could line people up with responses. So every key of a window
expires at the same whole second (the end of its expiry day, ``EXPIREAT``), and every process
touches all the keys once a minute (:meth:`RedisParticipationClaims.touch_all`, the scheduler's
participation job), after which they share one idle time (docs/anonymity.md).

A claim's value is ``working:<random>`` while its response is written: only the claim's holder
confirms or gives it back, so a claim that ran out and was taken by another worker, or a
window closed meanwhile (its keys deleted), is never overwritten or recreated.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from redis.asyncio import Redis

from storage.redis_scan import each_batch

#: A claim whose response is being written: outlives any transaction, then frees the person.
WORKING_TTL: Final = timedelta(minutes=2)
_WORKING: Final = b"working"
_DONE: Final = b"done"


class RedisParticipationClaims:
    """Participation keys claimed in Redis (storage.campaigns.ParticipationClaims)."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "participation",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._now = now
        # The value of each claim this instance holds (``working:<random>``) until it is
        # confirmed or given back; CampaignStore writes one response per key at a time.
        self._held: dict[str, bytes] = {}

    def _name(self, scope: str, key: str) -> str:
        return f"{self._prefix}:{scope}:{key}"

    async def claim(self, scope: str, key: str) -> bool:
        """Take the key for a response about to be written; False if someone holds it."""
        name = self._name(scope, key)
        mine = _WORKING + b":" + secrets.token_hex(8).encode()
        taken = await self._redis.set(name, mine, nx=True, ex=WORKING_TTL)
        if taken:
            self._held[name] = mine
        return bool(taken)

    async def confirm(self, scope: str, key: str, expires_on: date) -> bool:
        """The response is stored: keep the key until the end of ``expires_on`` (UTC), the
        same second for every key of the window. Only this instance's own working claim is
        confirmed: False (nothing written) when it is gone, because the window closed and
        its keys were deleted, or it ran out and another worker holds the key now."""
        name = self._name(scope, key)
        mine = self._held.pop(name, None)
        if mine is None:
            return False
        end = datetime.combine(expires_on + timedelta(days=1), time(), tzinfo=UTC)
        # At least a second ahead: a key expiring in the past would be deleted at once.
        at = max(int(end.timestamp()), math.ceil(self._now().timestamp()) + 1)
        return bool(await self._redis.eval(_CONFIRM, 1, name, mine, _DONE, at))

    async def release(self, scope: str, key: str) -> None:
        """The response was not stored: the person may try again (only this instance's own
        working claim is deleted; a confirmed key, or another worker's claim, stays)."""
        name = self._name(scope, key)
        mine = self._held.pop(name, None)
        if mine is not None:
            await self._redis.eval(_RELEASE, 1, name, mine)

    async def held(self, scope: str, key: str) -> bool:
        return bool(await self._redis.exists(self._name(scope, key)))

    async def forget(self, scope: str) -> int:
        """Delete every key of a scope (a window that closed); how many were deleted."""
        return await each_batch(self._redis, f"{self._prefix}:{scope}:*", self._redis.delete)

    async def touch_all(self) -> int:
        """Touch every participation key (those of open windows: a closed window's are
        deleted), so that they all share one idle time (``OBJECT IDLETIME``) and none tells
        when its person completed; how many were touched (storage.redis_scan: a round trip
        or two per 500 keys)."""
        return await each_batch(self._redis, f"{self._prefix}:*", self._redis.touch)


#: Confirm the claim only while it is still this worker's: a window closed meanwhile (its keys
#: deleted) gets no key back, another worker's claim stays theirs. Every key of a window
#: expires at the same whole second.
_CONFIRM: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  redis.call('EXPIREAT', KEYS[1], ARGV[3])
  return 1
end
return 0
"""

#: Give the claim back only while it is still this worker's.
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
