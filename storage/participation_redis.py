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
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from redis.asyncio import Redis

#: A claim whose response is being written: outlives any transaction, then frees the person.
WORKING_TTL: Final = timedelta(minutes=2)
_WORKING: Final = b"working"
_DONE: Final = b"done"
_SCAN_BATCH: Final = 500


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

    def _name(self, scope: str, key: str) -> str:
        return f"{self._prefix}:{scope}:{key}"

    async def claim(self, scope: str, key: str) -> bool:
        """Take the key for a response about to be written; False if someone holds it."""
        taken = await self._redis.set(self._name(scope, key), _WORKING, nx=True, ex=WORKING_TTL)
        return bool(taken)

    async def confirm(self, scope: str, key: str, expires_on: date) -> None:
        """The response is stored: keep the key until the end of ``expires_on`` (UTC)."""
        end = datetime.combine(expires_on + timedelta(days=1), time(), tzinfo=UTC)
        seconds = max(int((end - self._now()).total_seconds()), 1)
        await self._redis.set(self._name(scope, key), _DONE, ex=seconds)

    async def release(self, scope: str, key: str) -> None:
        """The response was not stored: the person may try again."""
        await self._redis.delete(self._name(scope, key))

    async def held(self, scope: str, key: str) -> bool:
        return bool(await self._redis.exists(self._name(scope, key)))

    async def forget(self, scope: str) -> int:
        """Delete every key of a scope (a window that closed); how many were deleted."""
        deleted = 0
        batch: list[bytes | str] = []
        async for name in self._redis.scan_iter(
            match=f"{self._prefix}:{scope}:*", count=_SCAN_BATCH
        ):
            batch.append(name)
            if len(batch) >= _SCAN_BATCH:
                deleted += int(await self._redis.delete(*batch))
                batch = []
        if batch:
            deleted += int(await self._redis.delete(*batch))
        return deleted
