"""Which Telegram update ids a webhook has taken on (issue 14): an update id seen twice is
handled once, in one process (memory) or across processes (Redis).

An id is first *claimed* (being handled: the claim expires after ``claim_ttl`` unless the
worker handling it renews it, every third of that while it works, so a worker killed mid-update
keeps it for seconds, not minutes), then marked *done* (kept ``done_ttl``: Telegram
keeps an undelivered update for a day, so a repeat never comes later than that).

Nothing here names a person: an update id is Telegram's counter of the bot's updates, and the
keys expire by themselves.
"""

from __future__ import annotations

import enum
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta
from typing import Final, Protocol

from redis.asyncio import Redis

#: A claim not renewed for this long is free again: its worker died (SIGKILL, power). The
#: worker handling an update renews it every third of it, however long the handling takes.
CLAIM_TTL: Final = timedelta(seconds=15)
#: Telegram gives up on an update after 24 hours.
DONE_TTL: Final = timedelta(hours=25)
#: The memory ledger forgets the oldest ids beyond this many (a day of a busy bot).
REMEMBERED: Final = 200_000

_WORKING: Final = b"working"
_DONE: Final = b"done"


class Claim(enum.Enum):
    """What :meth:`UpdateLedger.claim` found."""

    #: Nobody had it: this caller handles it.
    TAKEN = "taken"
    #: Handled already: acknowledge and drop it.
    DONE = "done"
    #: Another request or worker is handling it now: tell Telegram to try again later.
    BUSY = "busy"


class UpdateLedger(Protocol):
    async def claim(self, update_id: int) -> Claim: ...

    async def renew(self, update_id: int) -> None: ...

    async def finish(self, update_id: int) -> None: ...

    async def release(self, update_id: int) -> None: ...


class MemoryUpdateLedger:
    """One process: a bounded map of ids to their state. Enough when one process serves the
    webhook (SQLite, no Redis); with several, each would handle a repeat its peer handled."""

    def __init__(
        self,
        *,
        claim_ttl: timedelta = CLAIM_TTL,
        remember: int = REMEMBERED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._states: OrderedDict[int, tuple[bytes, float]] = OrderedDict()
        self._claim_ttl = claim_ttl.total_seconds()
        self._remember = remember
        self._clock = clock

    async def claim(self, update_id: int) -> Claim:
        now = self._clock()
        known = self._states.get(update_id)
        if known is not None:
            state, since = known
            if state == _DONE:
                return Claim.DONE
            if now - since < self._claim_ttl:
                return Claim.BUSY
        self._states[update_id] = (_WORKING, now)
        self._states.move_to_end(update_id)
        while len(self._states) > self._remember:
            self._states.popitem(last=False)
        return Claim.TAKEN

    async def renew(self, update_id: int) -> None:
        known = self._states.get(update_id)
        if known is not None and known[0] == _WORKING:
            self._states[update_id] = (_WORKING, self._clock())

    async def finish(self, update_id: int) -> None:
        self._states[update_id] = (_DONE, self._clock())

    async def release(self, update_id: int) -> None:
        self._states.pop(update_id, None)


class RedisUpdateLedger:
    """Several processes: ``SET NX`` with a time to live, on the FSM's Redis."""

    def __init__(
        self,
        redis: Redis,
        bot_id: int,
        *,
        claim_ttl: timedelta = CLAIM_TTL,
        done_ttl: timedelta = DONE_TTL,
        prefix: str = "update",
    ) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:{bot_id}"
        self._claim_ttl = claim_ttl
        self._done_ttl = done_ttl
        # The value of each claim this process holds ("working:<random>"): only its holder
        # renews it, so a claim that expired and was taken by another worker stays theirs.
        self._held: dict[int, bytes] = {}

    def _name(self, update_id: int) -> str:
        return f"{self._prefix}:{update_id}"

    async def claim(self, update_id: int) -> Claim:
        name = self._name(update_id)
        mine = _WORKING + b":" + secrets.token_hex(8).encode()
        if await self._redis.set(name, mine, nx=True, ex=self._claim_ttl):
            self._held[update_id] = mine
            return Claim.TAKEN
        state = await self._redis.get(name)
        if state is None:  # expired between the two calls: try once more
            taken = await self._redis.set(name, mine, nx=True, ex=self._claim_ttl)
            if taken:
                self._held[update_id] = mine
            return Claim.TAKEN if taken else Claim.BUSY
        return Claim.DONE if state in (_DONE, _DONE.decode()) else Claim.BUSY

    async def renew(self, update_id: int) -> None:
        mine = self._held.get(update_id)
        if mine is not None:
            await self._redis.eval(
                _RENEW, 1, self._name(update_id), mine, int(self._claim_ttl.total_seconds() * 1000)
            )

    async def finish(self, update_id: int) -> None:
        """Mark the update done if the claim is still this worker's, or nobody's (it ran
        out and no one took it): a claim another worker took meanwhile stays theirs."""
        mine = self._held.pop(update_id, b"")
        await self._redis.eval(
            _FINISH,
            1,
            self._name(update_id),
            mine,
            _DONE,
            int(self._done_ttl.total_seconds() * 1000),
        )

    async def release(self, update_id: int) -> None:
        """Give the claim back if it is still this worker's (never another's, nor a done)."""
        mine = self._held.pop(update_id, None)
        if mine is not None:
            await self._redis.eval(_RELEASE, 1, self._name(update_id), mine)


#: Extend the claim only while it is still this worker's.
_RENEW: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

#: Mark done while the claim is this worker's, or nobody's (a repeat then finds it done).
_FINISH: Final = """
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return false
"""

#: Delete the claim only while it is still this worker's.
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Journal(Protocol):
    """Where :class:`JournalledUpdateLedger` keeps the ids it finished last (an FSM row)."""

    async def load(self) -> list[int]: ...

    async def save(self, ids: list[int]) -> None: ...


#: Ids a journal keeps: MAX sends at most 100 updates a batch and only the unconfirmed batch
#: again, so three batches' worth is ample.
JOURNAL_SIZE: Final = 300


class JournalledUpdateLedger:
    """One process without Redis, crash-safe: claims in memory (:class:`MemoryUpdateLedger`),
    and the last ``keep`` finished ids written to ``journal`` as well, so a process killed
    mid-batch and started again still knows what it handled before the batch comes again."""

    def __init__(self, journal: Journal, *, keep: int = JOURNAL_SIZE) -> None:
        self._journal = journal
        self._memory = MemoryUpdateLedger()
        self._recent: OrderedDict[int, None] = OrderedDict()
        self._keep = keep
        self._loaded = False

    async def _load(self) -> None:
        if not self._loaded:
            for update_id in await self._journal.load():
                self._recent[update_id] = None
                await self._memory.finish(update_id)
            self._loaded = True

    async def claim(self, update_id: int) -> Claim:
        await self._load()
        return await self._memory.claim(update_id)

    async def renew(self, update_id: int) -> None:
        await self._memory.renew(update_id)

    async def finish(self, update_id: int) -> None:
        await self._memory.finish(update_id)
        self._recent[update_id] = None
        self._recent.move_to_end(update_id)
        while len(self._recent) > self._keep:
            self._recent.popitem(last=False)
        await self._journal.save(list(self._recent))

    async def release(self, update_id: int) -> None:
        await self._memory.release(update_id)
