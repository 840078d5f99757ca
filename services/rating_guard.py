"""The ballot-stuffing guard: who rated which service today, kept in memory under a day secret."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Final

logger = logging.getLogger(__name__)

#: Bytes of the keyed hash kept per rating: collisions between people stay negligible.
KEY_BYTES: Final = 16


@dataclass(slots=True)
class _Day:
    secret: bytes
    counts: dict[bytes, int] = field(default_factory=dict)


class RatingGuard:
    """Allows each person ``limit`` ratings of a service per day; remembers nothing on disk.

    The keys are ``HMAC(day secret, person, service)``, and the day secret is made at random in
    memory and never written anywhere. So neither the database nor a copy of it, even with the
    pepper, holds anything that names who rated, and checking a /start costs no database
    transaction. The price: a restart forgets the day, and each process guards on its own (one
    bot process per database is the supported setup).
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
        return (
            known is None or known.counts.get(self._key(known, person, service), 0) < self._limit
        )

    def reserve(self, person: int, service: str, day: date) -> bool:
        """Take one of the person's ratings of the day; False when none is left."""
        if not self._limit:
            return True
        today = self._day(day)
        key = self._key(today, person, service)
        taken = today.counts.get(key, 0)
        if taken >= self._limit:
            return False
        today.counts[key] = taken + 1
        return True

    def release(self, person: int, service: str, day: date) -> None:
        """Give back a rating taken by :meth:`reserve` whose response was not stored."""
        known = self._days.get(day)
        if not self._limit or known is None:
            return
        key = self._key(known, person, service)
        taken = known.counts.get(key, 0)
        if taken <= 1:
            known.counts.pop(key, None)
        else:
            known.counts[key] = taken - 1

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
        message = f"{person}\x1f{service}".encode()
        return hmac.digest(day.secret, message, "sha256")[:KEY_BYTES]
