"""The ballot-stuffing guard: who rated which service today, kept in memory under a day secret."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Final, Protocol

logger = logging.getLogger(__name__)

#: Bytes of the keyed hash kept per rating: collisions between people stay negligible.
KEY_BYTES: Final = 16


@dataclass(slots=True)
class _Day:
    secret: bytes
    #: Per keyed hash, the attempts (dialogs) that took one of its ratings.
    counts: dict[bytes, set[str]] = field(default_factory=dict)

    def key(self, person: int, service: str) -> bytes:
        message = f"{person}\x1f{service}".encode()
        return hmac.digest(self.secret, message, "sha256")[:KEY_BYTES]

    def attempt(self, attempt: str) -> bytes:
        """The attempt as the shared counters keep it: keyed by the day's secret, so the
        dialog's nonce (in the person's dialog state until it is cleared) is not there."""
        message = f"attempt\x1f{attempt}".encode()
        return hmac.digest(self.secret, message, "sha256")[:KEY_BYTES]


class RatingGuard:
    """Allows each person ``limit`` ratings of a service per day; remembers nothing on disk.

    The keys are ``HMAC(day secret, person, service)``, and the day secret is made at random in
    memory and never written anywhere. So neither the database nor a copy of it, even with the
    pepper, holds anything that names who rated, and checking a /start costs no database
    transaction. The price: a restart forgets the day, and each process guards on its own: with
    several processes (Redis configured) :class:`SharedRatingGuard` counts for all of them.

    A rating is taken by an *attempt* (the dialog's random nonce): the same attempt taking it
    again is allowed and counted once (a completion whose store failed or was interrupted
    before :meth:`release`, repeated by the person), another attempt counts against the limit.
    """

    def __init__(
        self, limit: int, *, secret: Callable[[], bytes] = lambda: secrets.token_bytes(32)
    ):
        if limit < 0:
            raise ValueError("limit must not be negative")
        self._limit = limit
        self._secret = secret
        self._days: dict[date, _Day] = {}

    @property
    def limit(self) -> int:
        return self._limit

    def may_rate(self, person: int, service: str, day: date) -> bool:
        """Whether the person has ratings of the service left on ``day``."""
        if not self._limit:
            return True
        known = self._days.get(day)
        return known is None or (
            len(known.counts.get(self._key(known, person, service), ())) < self._limit
        )

    def reserve(self, person: int, service: str, day: date, *, attempt: str) -> bool:
        """Take one of the person's ratings of the day for ``attempt``; False when none is
        left. An attempt that took one already keeps it (True, counted once)."""
        if not self._limit:
            return True
        today = self._day(day)
        taken = today.counts.setdefault(self._key(today, person, service), set())
        if attempt in taken:
            return True
        if len(taken) >= self._limit:
            return False
        taken.add(attempt)
        return True

    def release(self, person: int, service: str, day: date, *, attempt: str) -> None:
        """Give back the rating ``attempt`` took by :meth:`reserve`: its response was not
        stored."""
        known = self._days.get(day)
        if not self._limit or known is None:
            return
        key = self._key(known, person, service)
        taken = known.counts.get(key)
        if taken is None:
            return
        taken.discard(attempt)
        if not taken:
            del known.counts[key]

    def forget_before(self, day: date) -> int:
        """Drop the days before ``day`` with their secrets; return how many keys went."""
        old = [known for known in self._days if known < day]
        dropped = sum(len(self._days.pop(known).counts) for known in old)
        return dropped

    def _day(self, day: date) -> _Day:
        known = self._days.get(day)
        if known is None:
            # A new day starts: the days before it cannot take ratings any more.
            self.forget_before(day)
            known = self._days[day] = _Day(self._secret())
        return known

    @staticmethod
    def _key(day: _Day, person: int, service: str) -> bytes:
        return day.key(person, service)


class SharedCounters(Protocol):
    """storage.rating_redis.RedisRatingCounters as the guard sees it."""

    async def day_secret(self, day: date) -> bytes: ...

    async def taken(self, day: date, key: bytes) -> int: ...

    async def take(self, day: date, key: bytes, limit: int, attempt: bytes) -> bool: ...

    async def give_back(self, day: date, key: bytes, attempt: bytes) -> None: ...

    async def touch_all(self) -> int: ...


class AsyncRatingGuard(Protocol):
    """What FeedbackService asks: the in-memory guard or the shared one."""

    @property
    def limit(self) -> int: ...

    async def may_rate(self, person: int, service: str, day: date) -> bool: ...

    async def reserve(self, person: int, service: str, day: date, *, attempt: str) -> bool: ...

    async def release(self, person: int, service: str, day: date, *, attempt: str) -> None: ...

    async def touch(self) -> int: ...


class LocalRatingGuard:
    """:class:`RatingGuard` behind the async interface: one process (the default)."""

    def __init__(self, guard: RatingGuard) -> None:
        self.guard = guard

    @property
    def limit(self) -> int:
        return self.guard.limit

    async def may_rate(self, person: int, service: str, day: date) -> bool:
        return self.guard.may_rate(person, service, day)

    async def reserve(self, person: int, service: str, day: date, *, attempt: str) -> bool:
        return self.guard.reserve(person, service, day, attempt=attempt)

    async def release(self, person: int, service: str, day: date, *, attempt: str) -> None:
        self.guard.release(person, service, day, attempt=attempt)

    async def touch(self) -> int:
        """Nothing outside the process's memory to touch."""
        return 0


class SharedRatingGuard:
    """The guard for several processes: counts in Redis (``FSM__REDIS_URL``), so a person
    cannot rate a service twice a day by landing on another worker.

    Keys are ``HMAC(HMAC(pepper, day secret), person, service)``: the day secret is random and
    lives in Redis only, for two days; the pepper never leaves the bot. A copy of Redis alone
    cannot test whether someone rated a service; with the pepper, only for the last two days,
    and never what they answered nor when (storage.rating_redis: one expiry per day, touched
    every minute by :meth:`touch`). Each key holds the attempts that took it, keyed by the day
    secret too: a worker killed between :meth:`reserve` and the commit leaves the attempt, and
    the same dialog repeated on any worker is allowed again.
    """

    def __init__(self, limit: int, counters: SharedCounters, pepper: bytes) -> None:
        if limit < 0:
            raise ValueError("limit must not be negative")
        self._limit = limit
        self._counters = counters
        self._pepper = pepper
        self._secrets: dict[date, bytes] = {}

    @property
    def limit(self) -> int:
        return self._limit

    async def _today(self, day: date) -> _Day:
        secret = self._secrets.get(day)
        if secret is None:
            shared = await self._counters.day_secret(day)
            secret = hmac.digest(self._pepper, shared, "sha256")
            self._secrets = {known: s for known, s in self._secrets.items() if known >= day}
            self._secrets[day] = secret
        return _Day(secret)

    async def _key(self, person: int, service: str, day: date) -> bytes:
        return (await self._today(day)).key(person, service)

    async def may_rate(self, person: int, service: str, day: date) -> bool:
        if not self._limit:
            return True
        key = await self._key(person, service, day)
        return await self._counters.taken(day, key) < self._limit

    async def reserve(self, person: int, service: str, day: date, *, attempt: str) -> bool:
        if not self._limit:
            return True
        today = await self._today(day)
        key, taker = today.key(person, service), today.attempt(attempt)
        return await self._counters.take(day, key, self._limit, taker)

    async def release(self, person: int, service: str, day: date, *, attempt: str) -> None:
        if not self._limit:
            return
        today = await self._today(day)
        await self._counters.give_back(day, today.key(person, service), today.attempt(attempt))

    async def touch(self) -> int:
        """Touch every key in Redis, so their idle times tell no completion's moment."""
        return await self._counters.touch_all()
