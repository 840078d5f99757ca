"""One update per person at a time within one process, with each person's lock freed when
nobody holds or waits for it.

aiogram's ``SimpleEventIsolation`` keeps a lock per key in a ``defaultdict`` and never removes
one: a process without Redis (the Telegram dispatcher, the MAX poller and webhook receiver)
kept a lock for every person it ever saw, so its memory grew with the number of people. Here a
key's lock lives only while some update holds it or waits for it; the last one out removes it.
Several processes share Redis's lock instead (``storage.fsm_redis.RenewedLockIsolation``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from dataclasses import dataclass, field

from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey


@dataclass(slots=True)
class _Held:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # updates holding the lock or waiting for it


class _KeyLock:
    """Holding one key's lock: the key's ``_Held`` is counted in on entry (before the wait,
    so a waiter keeps it alive) and out on exit or when the wait is cancelled; the last one
    out removes it."""

    __slots__ = ("_held", "_key", "_locks")

    def __init__(self, locks: dict[Hashable, _Held], key: Hashable) -> None:
        self._locks = locks
        self._key = key
        self._held: _Held | None = None

    async def __aenter__(self) -> None:
        held = self._locks.get(self._key)
        if held is None:
            held = self._locks[self._key] = _Held()
        held.users += 1
        self._held = held
        try:
            await held.lock.acquire()
        except BaseException:
            self._leave(held)
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        held = self._held
        assert held is not None
        held.lock.release()
        self._leave(held)

    def _leave(self, held: _Held) -> None:
        held.users -= 1
        if held.users == 0 and self._locks.get(self._key) is held:
            del self._locks[self._key]


class FreedLockIsolation(BaseEventIsolation):
    """An ``asyncio.Lock`` per key, dropped when its last holder or waiter leaves (also when a
    waiter is cancelled). Single-threaded: no await between looking a key up and counting
    oneself in, so a lock is never dropped while someone is about to take it."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, _Held] = {}

    def lock(self, key: StorageKey) -> _KeyLock:  # type: ignore[override]
        # A plain context manager, not an @asynccontextmanager generator: taken on every
        # update, and the generator's machinery cost more than the lock itself.
        return _KeyLock(self._locks, key)

    @property
    def size(self) -> int:
        """Keys with a lock now: the persons being handled or waiting."""
        return len(self._locks)

    async def close(self) -> None:
        """Nothing to release: an idle key has no lock. A lock still held at shutdown stays
        until its holder leaves, so an update arriving meanwhile still waits for it (clearing
        the dict here would give that person a second, free lock)."""
