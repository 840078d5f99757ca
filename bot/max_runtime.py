"""The MAX poller among several processes: one poller (a lease), one person at a time (the
shared lock), each update once (a ledger that outlives a crash).

- **One poller.** Every `otklik run` with MAX__TOKEN campaigns for the `max-poller` role on the
  scheduler's election mechanism (storage/leases.py: a PostgreSQL advisory lock, a lease row on
  SQLite) and polls MAX only while it holds it; the others keep asking and one takes over when
  the holder stops (it resigns) or dies (its lock or lease runs out). A poller that loses the
  role ends after the batch in hand (`Poller.may_poll`).
- **One person at a time.** With Redis each update runs under the person's lock, the very
  `RenewedLockIsolation` the Telegram dispatcher uses (a StorageKey of the MAX front's bot id):
  during a handover two pollers never work on one person at once. Without Redis the lock is
  in-process (`bot.isolation.FreedLockIsolation`, as the Telegram dispatcher's; a person's
  lock is dropped when nobody holds or waits for it, so memory does not grow with everyone
  ever seen): the webhook receiver starts a task per request, and one person's updates still
  run one after another.
- **Each update once.** MAX sends the unconfirmed batch again after a crash. Each handled update
  is recorded under a keyed hash of its MAX id (a message's `mid`, a press's `callback_id`; a
  `bot_started`, which has none, by user, time and payload), with a key derived from the pepper:
  the ledger names nobody. Redis: `storage.update_ledger.RedisUpdateLedger` (SET NX, 25 h);
  without Redis: the memory ledger plus a journal of the last few hundred ids in the FSM
  storage (one row), so a restart after SIGKILL still knows them. An update handled but killed
  before it was recorded can still be handled again (the window is one update, not a batch).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, StorageKey
from aiogram.fsm.storage.redis import RedisStorage

from bot.isolation import FreedLockIsolation
from max_front.api import Update
from max_front.polling import Poller
from scheduler.leader import LeaderGate
from storage.update_ledger import (
    CLAIM_TTL,
    Claim,
    JournalledUpdateLedger,
    RedisUpdateLedger,
    UpdateLedger,
)

logger = logging.getLogger(__name__)

MAX_POLLER_ROLE: Final = "max-poller"
#: The bot id of the journal's FSM key: the MAX front's dialogs use -1, web 0, Telegram >0.
JOURNAL_BOT_ID: Final = -2
JOURNAL_KEY: Final = StorageKey(JOURNAL_BOT_ID, 0, 0)
#: How long an update waits for another process that is handling it (a handover) to finish
#: or die (its claim runs out after CLAIM_TTL) before it is dropped with a warning.
BUSY_WAIT_S: Final = 4 * CLAIM_TTL.total_seconds()

Handle = Callable[[Update], Awaitable[None]]


def ledger_key(pepper: bytes) -> bytes:
    return hmac.new(pepper, b"otklik max update ledger", hashlib.sha256).digest()


def update_id_of(key: bytes, update: Update) -> int | None:
    """A 63-bit keyed hash naming the update (the same when MAX sends it again), or None for
    a kind the front does not handle."""
    kind = update.get("update_type")
    name: str | None = None
    if kind == "message_created":
        mid = ((update.get("message") or {}).get("body") or {}).get("mid")
        name = f"m:{mid}" if mid else None
    elif kind == "message_callback":
        callback_id = (update.get("callback") or {}).get("callback_id")
        name = f"c:{callback_id}" if callback_id else None
    elif kind == "bot_started":
        user = (update.get("user") or {}).get("user_id")
        name = f"s:{user}:{update.get('timestamp')}:{update.get('payload') or ''}"
    if name is None:
        return None
    digest = hmac.digest(key, name.encode(), "sha256")
    return int.from_bytes(digest[:8], "big") >> 1


@dataclass(frozen=True, slots=True)
class FsmJournal:
    """The journal of :class:`JournalledUpdateLedger` as one row of the FSM storage."""

    storage: BaseStorage
    key: StorageKey = JOURNAL_KEY

    async def load(self) -> list[int]:
        ids = (await self.storage.get_data(self.key)).get("done")
        return [i for i in ids if isinstance(i, int)] if isinstance(ids, list) else []

    async def save(self, ids: list[int]) -> None:
        await self.storage.set_data(self.key, {"done": ids})


def max_update_ledger(storage: BaseStorage) -> UpdateLedger:
    """Across processes on the FSM's Redis; otherwise memory with a journal in the FSM storage."""
    if isinstance(storage, RedisStorage):
        return RedisUpdateLedger(storage.redis, JOURNAL_BOT_ID, prefix="max-update")
    return JournalledUpdateLedger(FsmJournal(storage))


class OnceEach:
    """`MaxFront.handle` under the person's lock and the update ledger. ``isolation`` None:
    an in-process lock per person (enough for one process; Redis shares it between them)."""

    def __init__(
        self,
        handle: Handle,
        ledger: UpdateLedger,
        id_of: Callable[[Update], int | None],
        *,
        isolation: BaseEventIsolation | None = None,
        lock_key: Callable[[Update], StorageKey | None] = lambda _update: None,
        renew_every: float = CLAIM_TTL.total_seconds() / 3,
        busy_wait: float = BUSY_WAIT_S,
    ) -> None:
        self._handle = handle
        self._ledger = ledger
        self._id_of = id_of
        self._isolation = isolation or FreedLockIsolation()
        self._lock_key = lock_key
        self._renew_every = renew_every
        self._busy_wait = busy_wait

    async def __call__(self, update: Update) -> None:
        key = self._lock_key(update)
        if key is None:
            await self._once(update)
            return
        async with self._isolation.lock(key):
            await self._once(update)

    async def _claim(self, update_id: int) -> Claim | None:
        """TAKEN or DONE; None when the ledger is unreachable (then handled without it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._busy_wait
        while True:
            try:
                claim = await self._ledger.claim(update_id)
            except Exception as error:
                logger.warning("MAX update ledger unavailable (%s)", type(error).__name__)
                return None
            if claim is not Claim.BUSY:
                return claim
            if loop.time() >= deadline:
                logger.warning("A MAX update stayed busy in another process; left to it")
                return Claim.DONE
            await asyncio.sleep(min(1.0, self._renew_every))

    async def _keep(self, update_id: int) -> None:
        while True:
            await asyncio.sleep(self._renew_every)
            try:
                await self._ledger.renew(update_id)
            except Exception as error:
                logger.warning("MAX update claim not renewed: %s", type(error).__name__)

    async def _once(self, update: Update) -> None:
        update_id = self._id_of(update)
        claim = None if update_id is None else await self._claim(update_id)
        if update_id is None or claim is None:
            await self._handle(update)
            return
        if claim is Claim.DONE:
            logger.info("MAX update %s delivered again; skipped", update.get("update_type"))
            return
        keeper = asyncio.get_running_loop().create_task(self._keep(update_id))
        try:
            await self._handle(update)
        except BaseException:
            keeper.cancel()
            with contextlib.suppress(Exception):
                await self._ledger.release(update_id)
            raise
        keeper.cancel()
        try:
            await self._ledger.finish(update_id)
        except Exception as error:
            logger.warning("MAX update not recorded as handled: %s", type(error).__name__)


class LeasedPolling:
    """Polls MAX only while this process holds the `max-poller` role; see the docstring."""

    def __init__(
        self,
        gate: LeaderGate,
        make_poller: Callable[[Callable[[], bool]], Poller],
        *,
        check_every: float,
    ) -> None:
        self._gate = gate
        self._make = make_poller
        self._check_every = check_every
        self._stop = asyncio.Event()
        self._poller: Poller | None = None
        self._task: asyncio.Task[None] | None = None
        self._told = False

    @property
    def polling(self) -> bool:
        return self._task is not None and not self._task.done()

    async def run(self) -> None:
        try:
            while not self._stop.is_set():
                leading = await self._gate.step()
                if self._task is not None and (self._task.done() or not leading):
                    await self._end_poller()
                if leading and self._task is None:
                    self._poller = self._make(lambda: self._gate.is_leader)
                    self._task = asyncio.create_task(self._poller.run(), name="max-poller")
                elif not leading and not self._told:
                    self._told = True
                    logger.info("Another process polls MAX; this one takes over if it stops")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self._check_every)
        finally:
            await self._end_poller()
            await self._gate.stop()

    async def _end_poller(self) -> None:
        poller, task = self._poller, self._task
        self._poller = self._task = None
        if poller is None or task is None:
            return
        poller.stop()
        try:
            await task  # the batch in hand is answered and confirmed
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("MAX polling failed")

    def stop(self) -> None:
        self._stop.set()
