"""Sends one message to many chats within Telegram's limits, and resumes a crashed broadcast.

Pacing. One ``Broadcaster`` per bot: its pacer hands out send slots at ``global_rate`` (29/s by
default, under Telegram's ~30/s) and at most one per ``per_chat_interval`` to one chat, shared by
every broadcast it runs, because Telegram's flood control counts per bot. A slot missed because
the loop woke late may be caught up, but never so that 31 consecutive sends (one more than
Telegram takes per second) span less than ``30 / global_rate`` seconds: at 29/s any 31 sends
span at least 1.034 s, so up to ~34 ms of jitter between us and the API still gives no 429.
Up to ``max_in_flight`` requests wait for their answers at once, so request latency (~0.1-0.3 s
to the real API) does not lower the rate. A 429 pauses the pacer for ``retry_after`` seconds:
no broadcast of this bot starts a request until then, and the same row is tried again after.
Replies the bot sends to users meanwhile come from the same bot and are not paced here: lower
``global_rate`` if the bot is busy while a broadcast runs.

Per messenger. Chats are addresses of questionnaires.messengers: Telegram's pace as above, MAX
chats through a pacer of their own at ``max_rate`` (MAX's limit is 30 requests a second per
bot, cited in BroadcastLimits), so a 429 from one messenger pauses only its own sends. A port of
another messenger raises the neutral errors of services.broadcast_errors (a verdict, or a
rate limit), which ``_verdict`` and the 429 handling read like Telegram's. Within one run each
messenger's rows go in a lane of their own (its claims, its queue, its ``max_in_flight``), so
a broadcast to both sends to MAX's chats while Telegram's part goes on, each at its own pace;
the lanes' claims and outcomes commit together, one transaction at a time, and a failure in
one lane stops both (their unstarted rows return to pending).

Outcomes. 403 -> ``blocked`` (never retried; see :meth:`Broadcaster.unreachable_chat_ids`);
400 -> ``failed`` (the request itself is wrong; many in a row abort the run, it is the text);
5xx and connection failures (the request never left) -> retried with backoff, then ``failed``;
401/404/409 (token or bot problem) abort the run with every unsent row still ``pending``.

Crash safety: a row goes ``pending -> sending -> sent``. Rows are claimed ("sending") a small
batch per commit just before their turn, and outcomes are written in the same commits, so the
database sees ~2 commits/s, not 60. Telegram has no idempotency key, so a row found in
"sending" when a run starts (its previous run died) may or may not have reached the chat:
re-sending it could send a message twice, skipping it could lose one. We never re-send: such
rows become ``unknown``, are counted in the summary and logged, and stay unsent unless an
officer chooses at-least-once for them with :meth:`Broadcaster.requeue_unknown`. The same goes
for a request whose answer was lost (timeout, dropped connection): it is ``unknown``, not
retried. The window is kept small instead. After a hard crash (SIGKILL, power loss) the unknown
rows are the claimed rows not started yet (at most ``1.25 * claim_batch``, 20 by default: they
miss the message), the requests in flight, and outcomes not committed yet (about one batch:
those chats did get it), i.e. about a second and a half of sending. A cancelled run (or an
error, or a SystemExit unwinding) does better: it writes what it knows and returns every row
it had not started to "pending", so only requests actually in flight become unknown; that
includes a claim whose lane is cancelled while it commits (the claim is shielded and the stop
waits for it, then returns its rows).

One runner per broadcast at a time: a second ``run()`` of the same broadcast is refused, in this
process by a set, across processes by a lease row ``broadcast:<id>`` (``storage.leases``) held
and renewed for the whole run. Without it a second process would mark the first's in-flight
rows unknown (issue 14: 21 delivered invitations were); claims themselves never overlap.

The outbox holds who was invited, never who answered: a reminder goes to every invitee of the
window, not to "those who have not answered yet", or the list itself would reveal respondents.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import InlineKeyboardMarkup

from questionnaires.messengers import MAX, MESSENGERS, TELEGRAM, Messenger, messenger_of, split
from services import metrics
from services.broadcast_errors import (
    BroadcastAbortedError as BroadcastAbortedError,
)
from services.broadcast_errors import (
    BroadcastAlreadyRunningError as BroadcastAlreadyRunningError,
)
from services.broadcast_errors import BroadcastError as BroadcastError
from services.broadcast_errors import (
    BroadcastNotFoundError as BroadcastNotFoundError,
)
from services.broadcast_errors import DeliveryRefusedError, RateLimitedError
from storage.broadcast import (
    BLOCKED,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    UNKNOWN,
    BroadcastStore,
    Outcome,
)
from storage.database import Sessions
from storage.leases import LeaseElection

logger = logging.getLogger(__name__)

#: The port: deliver ``text`` to ``chat_id`` or raise the API's answer: aiogram's exception
#: (Telegram's port), or DeliveryRefusedError / RateLimitedError (other messengers' ports).
SendPort = Callable[[int, str], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]
ProgressCallback = Callable[["Progress"], Awaitable[None]]

KIND_LENGTH: Final = 32
KEY_LENGTH: Final = 64
#: Share of one interval by which a late slot may be caught up (see the module docstring).
CATCH_UP_SHARE: Final = 0.5
#: Messages Telegram accepts per second from one bot: no TELEGRAM_BURST + 1 consecutive sends
#: may be denser than the configured rate, whatever catching up the pacer does.
TELEGRAM_BURST: Final = 30
#: s an aborting run waits for requests in flight to be answered.
DRAIN_TIMEOUT: Final = 10.0
#: The pacer forgets chats whose gap has passed once it remembers this many.
CHAT_MEMORY: Final = 4_096


def utc_now() -> datetime:
    return datetime.now(UTC)


def telegram_sender(bot: Bot, *, reply_markup: InlineKeyboardMarkup | None = None) -> SendPort:
    """The production port: one ``sendMessage`` per chat, aiogram's exceptions left as they are."""

    async def send(chat_id: int, text: str) -> None:
        await bot.send_message(chat_id=chat_id, text=text, reply_markup=reply_markup)

    return send


def by_messenger(ports: Mapping[Messenger, SendPort]) -> SendPort:
    """One port over several messengers: a chat address (questionnaires.messengers) goes to
    its messenger's port with the id that messenger knows; a messenger without a port (MAX
    no longer configured) fails the row, never reaches another messenger."""

    async def send(chat_id: int, text: str) -> None:
        messenger, raw = split(chat_id)
        port = ports.get(messenger)
        if port is None:
            raise DeliveryRefusedError("failed", f"no {messenger} port")
        await port(raw, text)

    return send


@dataclass(frozen=True, slots=True)
class BroadcastLimits:
    """How fast and how carefully broadcasts go out; defaults keep a margin under Telegram's."""

    global_rate: float = 29.0  # messages/s over all chats; Telegram allows about 30
    #: requests/s to MAX over all MAX chats. MAX allows 30 per second on platform-api.max.ru
    #: ("максимальное количество запросов в секунду на platform-api.max.ru — 30 rps",
    #: https://dev.max.ru/help, FAQ "Чат-боты"); the MAX front's own polls (2/s) and replies
    #: go through the same budget, so broadcasts keep 25.
    max_rate: float = 25.0
    per_chat_interval: float = 1.05  # s between two messages to one chat; Telegram: about 1
    max_in_flight: int = 16  # requests awaiting an answer at once
    claim_batch: int = 16  # rows marked "sending" per commit: what a hard crash may leave unknown
    flush_interval: float = 0.5  # s an outcome may wait in memory before it is committed
    max_attempts: int = 3  # sends of one row when errors prove it did not go out
    retry_delay: float = 1.0  # s before the second attempt; doubles after each failure
    abort_after_bad_requests: int = 20  # 400s in a row with no success: the text is at fault
    #: s a run holds its broadcast against other processes without renewing (renewed every
    #: third of it); after a process dies, another may run the broadcast once it ran out.
    run_lease: float = 120.0

    def __post_init__(self) -> None:
        if self.global_rate <= 0 or self.max_rate <= 0 or self.per_chat_interval < 0:
            raise ValueError("rates must be positive")
        if min(self.max_in_flight, self.claim_batch, self.max_attempts) < 1:
            raise ValueError("max_in_flight, claim_batch and max_attempts must be at least 1")
        if self.flush_interval <= 0 or self.retry_delay < 0 or self.abort_after_bad_requests < 1:
            raise ValueError("flush_interval, retry_delay and abort_after_bad_requests are off")


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a broadcast stands: counts over all its rows, rate over the current run."""

    broadcast_id: int
    total: int
    sent: int
    blocked: int
    failed: int
    unknown: int
    pending: int  # not finished yet: pending or being sent
    sent_this_run: int
    rate: float  # messages/s sent by this run since it started
    rate_limited: int  # 429 answers seen by this run
    elapsed: float  # s since this run started


@dataclass(frozen=True, slots=True)
class Summary(Progress):
    """How a run ended; ``sent + blocked + failed + unknown + pending == total``."""

    recovered_unknown: int  # rows an interrupted earlier run left "sending", now "unknown"
    retried: int  # attempts repeated after a 5xx or a connection failure
    complete: bool  # nothing left pending


class _Pacers:
    """One pacer per messenger: each counts its own platform's limit, and a 429 from one
    messenger pauses that messenger's broadcasts only."""

    def __init__(self, limits: BroadcastLimits, clock: Callable[[], float], sleep: Sleep) -> None:
        self._pacers = {
            messenger: _Pacer(
                limits, clock, sleep, rate=limits.max_rate if messenger == MAX else None
            )
            for messenger in MESSENGERS
        }

    async def acquire(self, chat_id: int) -> None:
        await self._pacers[messenger_of(chat_id)].acquire(chat_id)

    def pause(self, chat_id: int, seconds: float) -> None:
        self._pacers[messenger_of(chat_id)].pause(seconds)


class _Pacer:
    """Send slots: a steady global rate, a gap per chat, and pauses ordered by flood control."""

    def __init__(
        self,
        limits: BroadcastLimits,
        clock: Callable[[], float],
        sleep: Sleep,
        *,
        rate: float | None = None,  # default: limits.global_rate (Telegram's)
    ) -> None:
        self._interval = 1.0 / (rate or limits.global_rate)
        self._slack = CATCH_UP_SHARE * self._interval
        self._window = TELEGRAM_BURST * self._interval
        self._recent: deque[float] = deque(maxlen=TELEGRAM_BURST)  # the latest slots handed out
        self._chat_gap = limits.per_chat_interval
        self._clock, self._sleep = clock, sleep
        self._next = -math.inf
        self._paused_until = -math.inf
        self._chat_free_at: dict[int, float] = {}
        # FIFO: a row retried after a 429 queues behind the dispatcher, not ahead of everyone.
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        """No slot is handed out for ``seconds`` from now (later pauses only extend it)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _earliest(self, now: float) -> float:
        """The next slot: on the rate's grid, caught up a little if late, never in a pause."""
        slot = max(self._next, now - self._slack, self._paused_until)
        if len(self._recent) == TELEGRAM_BURST:
            # Catching up uses only room that lateness left in the last 30 slots.
            slot = max(slot, self._recent[0] + self._window)
        return slot

    async def acquire(self, chat_id: int) -> None:
        """Wait for a slot that keeps the global rate, the chat's gap and any pause."""
        while True:
            wait = self._chat_free_at.get(chat_id, -math.inf) - self._clock()
            if wait > 0:
                # Outside the lock: other chats keep their slots meanwhile.
                await self._sleep(wait)
                continue
            async with self._lock:
                now = self._clock()
                slot = self._earliest(now)
                while slot > now:
                    await self._sleep(slot - now)
                    now = self._clock()
                    slot = self._earliest(now)
                if self._chat_free_at.get(chat_id, -math.inf) > now:
                    continue  # another broadcast reached this chat while we waited
                self._next = slot + self._interval
                self._recent.append(now)
                self._chat_free_at[chat_id] = now + self._chat_gap
                if len(self._chat_free_at) > CHAT_MEMORY:
                    self._chat_free_at = {
                        chat: at for chat, at in self._chat_free_at.items() if at > now
                    }
                return


_RETRY: Final = "retry"
_ABORT: Final = "abort"  # the bot cannot send at all; the row was not sent


def _verdict(error: Exception) -> str | None:
    """What a failed send (other than a 429) means for its row; None for a bug in the port."""
    if isinstance(error, DeliveryRefusedError):
        return error.verdict  # another messenger's port has translated its answer
    if isinstance(error, TelegramForbiddenError):
        return BLOCKED
    if isinstance(error, TelegramUnauthorizedError | TelegramConflictError | TelegramNotFound):
        return _ABORT
    if isinstance(error, TelegramBadRequest | TelegramMigrateToChat | TelegramEntityTooLarge):
        return FAILED
    if isinstance(error, TelegramServerError):
        return _RETRY  # Telegram answered that it failed; its guidance is to try again
    if isinstance(error, TelegramNetworkError):
        # Only a connection that was never made proves the message did not go out; a timeout
        # or a dropped connection may come after Telegram delivered it.
        never_sent = isinstance(error.__cause__, aiohttp.ClientConnectorError)
        return _RETRY if never_sent else UNKNOWN
    if isinstance(error, ClientDecodeError | TimeoutError):
        return UNKNOWN
    if isinstance(error, TelegramAPIError):
        return FAILED  # some other definite refusal
    return None


class Broadcaster:
    """Creates broadcasts and runs them; one instance per bot, as flood control is per bot."""

    def __init__(
        self,
        sessions: Sessions,
        send: SendPort,
        *,
        limits: BroadcastLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        now: Callable[[], datetime] = utc_now,
        progress_every_seconds: float = 5.0,
        progress_every_messages: int = 500,
    ) -> None:
        self.limits = limits or BroadcastLimits()
        self._store = BroadcastStore(sessions)
        self._sessions = sessions
        self._send = send
        self._clock = clock
        self._sleep = sleep
        self._now = now
        self._pacer = _Pacers(self.limits, clock, sleep)
        self._active: set[int] = set()
        self.progress_every_seconds = progress_every_seconds
        self.progress_every_messages = progress_every_messages

    def with_port(self, send: SendPort) -> Broadcaster:
        """A broadcaster sending through ``send`` under this one's flood control: Telegram
        counts a bot's messages whatever feature sends them, so every broadcaster of one bot
        (poll invitations, announcements) shares one pacer, and a 429 pauses them all."""
        twin = Broadcaster(
            self._sessions,
            send,
            limits=self.limits,
            clock=self._clock,
            sleep=self._sleep,
            now=self._now,
            progress_every_seconds=self.progress_every_seconds,
            progress_every_messages=self.progress_every_messages,
        )
        twin._pacer = self._pacer
        return twin

    async def create(self, kind: str, key: str, text: str, chat_ids: Iterable[int]) -> int:
        """Create the broadcast ``(kind, key)`` to these chats, or find it; return its id.

        Creating it again adds only chats it does not have yet and keeps the first text: a
        broadcast half sent must not change its words.
        """
        if not 0 < len(kind) <= KIND_LENGTH or not 0 < len(key) <= KEY_LENGTH:
            raise ValueError(f"kind needs 1-{KIND_LENGTH} characters, key 1-{KEY_LENGTH}")
        if not text.strip():
            raise ValueError("a broadcast needs a text")
        recipients = list(dict.fromkeys(chat_ids))  # first occurrence wins, order kept
        created = await self._store.create(kind, key, text, recipients, self._now())
        if created.new:
            logger.info(
                "broadcast %s (%s) created for %d chats", created.broadcast_id, kind, created.added
            )
            return created.broadcast_id
        if created.other_text:
            logger.warning(
                "broadcast %s exists with another text; it is kept", created.broadcast_id
            )
        logger.info(
            "broadcast %s found again; %d new chats added", created.broadcast_id, created.added
        )
        return created.broadcast_id

    async def run(self, broadcast_id: int, progress: ProgressCallback | None = None) -> Summary:
        """Send every pending row of the broadcast; safe to call again after a crash."""
        if broadcast_id in self._active:
            raise BroadcastAlreadyRunningError(f"broadcast {broadcast_id} is already running")
        lease = LeaseElection(
            self._sessions,
            f"broadcast:{broadcast_id}",
            ttl=timedelta(seconds=self.limits.run_lease),
        )
        if not await lease.campaign():
            raise BroadcastAlreadyRunningError(
                f"broadcast {broadcast_id} is being sent by another process"
            )
        self._active.add(broadcast_id)
        renewal = asyncio.get_running_loop().create_task(self._renew(lease, broadcast_id))
        try:
            start = await self._store.start_run(broadcast_id, self._now())
            if start is None:
                raise BroadcastNotFoundError(f"no broadcast {broadcast_id}")
            text, recovered, counts = start.text, start.recovered, start.counts
            if recovered:
                logger.warning(
                    "broadcast %s: an earlier run stopped with %d messages in flight; they are "
                    "marked unknown and not sent again",
                    broadcast_id,
                    recovered,
                )
            job = _Run(self, broadcast_id, text, counts, recovered, progress)
            metrics.BROADCAST_QUEUE.inc(job.queued)
            try:
                summary = await job.execute()
            finally:  # what is left waits for another run, not in this process's queue
                metrics.BROADCAST_QUEUE.dec(job.queued)
        finally:
            self._active.discard(broadcast_id)
            renewal.cancel()
            try:
                await lease.resign()
            except Exception as error:  # it runs out by itself
                logger.warning("broadcast %s: lease not released: %s", broadcast_id, error)
        logger.info(
            "broadcast %s: %d sent this run (%.1f/s), totals: %d sent, %d blocked, %d failed, "
            "%d unknown, %d pending; %d flood-control answers",
            broadcast_id,
            summary.sent_this_run,
            summary.rate,
            summary.sent,
            summary.blocked,
            summary.failed,
            summary.unknown,
            summary.pending,
            summary.rate_limited,
        )
        return summary

    async def _renew(self, lease: LeaseElection, broadcast_id: int) -> None:
        """Keep the run's lease while it lasts; a lost one is logged (the database was away
        longer than the lease, so the run's own writes fail too)."""
        while True:
            await asyncio.sleep(self.limits.run_lease / 3)
            try:
                if not await lease.campaign():
                    logger.error("broadcast %s: another process took over the run", broadcast_id)
                    return
            except Exception as error:
                logger.warning("broadcast %s: lease not renewed: %s", broadcast_id, error)

    async def unreachable_chat_ids(self) -> set[int]:
        """Chats whose latest outcome is a 403 (blocked the bot, deactivated): skip them."""
        return await self._store.unreachable_chat_ids()

    async def requeue_unknown(self, broadcast_id: int) -> int:
        """Make the broadcast's unknown rows pending again: at-least-once, an officer's call."""
        requeued = await self._store.requeue_unknown(broadcast_id, self._now())
        logger.warning("broadcast %s: %d unknown rows requeued by request", broadcast_id, requeued)
        return requeued

    async def counts(self, broadcast_id: int) -> dict[str, int]:
        """Rows of the broadcast by status."""
        return await self._store.counts(broadcast_id)


@dataclass(slots=True)
class _Lane:
    """One messenger's part of a run: its claimed rows not started, its requests in flight."""

    ready: deque[int] = field(default_factory=deque)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    exhausted: bool = False  # its last claim got fewer rows than asked: none are pending


class _Run:
    """One run of one broadcast: claims rows, paces sends, commits outcomes in batches."""

    def __init__(
        self,
        owner: Broadcaster,
        broadcast_id: int,
        text: str,
        counts: dict[str, int],
        recovered: int,
        progress: ProgressCallback | None,
    ) -> None:
        self._owner = owner
        self._limits = owner.limits
        self._pacer = owner._pacer
        self._clock = owner._clock
        self._id = broadcast_id
        self._text = text
        self._counts = counts  # rows by status, kept current as this run changes them
        self.queued = counts.get(PENDING, 0)  # pending rows, for the queue metric
        self._recovered = recovered
        self._progress = progress
        # Claim again while a few claimed rows remain, so the pacer never waits for a commit.
        self._low_water = max(1, self._limits.claim_batch // 4)
        # One lane per messenger, each claiming its own chats and dispatching at its own
        # pacer's speed: MAX's chats do not wait until Telegram's are all sent.
        self._lanes: dict[Messenger, _Lane] = {TELEGRAM: _Lane(), MAX: _Lane()}
        self._sync_lock = asyncio.Lock()  # one commit at a time for the lanes
        self._outcomes: list[Outcome] = []
        self._oldest_outcome = math.inf
        self._released: list[int] = []  # claimed, provably not sent: back to pending
        # Claims whose caller was cancelled, with the outcomes they write: _stop settles them.
        self._interrupted: list[tuple[asyncio.Future[list[int]], list[Outcome]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._failure: BaseException | None = None
        self._bad_requests_in_a_row = 0
        self._sent = 0
        self._rate_limited = 0
        self._retried = 0
        self._started = self._clock()
        self._report: asyncio.Task[None] | None = None
        self._reported_at = self._started
        self._reported_sent = 0

    async def execute(self) -> Summary:
        try:
            await self._dispatch()
            while self._tasks:
                await self._wait_for_tasks()
                await self._sync()
            self._raise_failure()
            outcomes = self._take_outcomes()
            try:
                self._counts = await self._owner._store.finish_run(self._id, outcomes, self._now())
            except BaseException:
                self._outcomes[:0] = outcomes  # for the cleanup commit
                raise
        except BaseException as error:
            # An abort lets requests in flight finish, so their rows get a definite outcome;
            # a cancellation or a crash does not wait for anything.
            await self._stop(drain=isinstance(error, BroadcastAbortedError))
            raise
        summary = self._summary()
        if self._report is not None:
            await self._report
        if self._progress is not None:
            await self._call_progress(summary)
        return summary

    # --- dispatching -----------------------------------------------------------------------

    async def _dispatch(self) -> None:
        """The messengers' lanes side by side until each has nothing left; the first to fail
        stops the others (their claimed rows are released by _stop)."""
        lanes = [
            asyncio.create_task(self._dispatch_lane(lane), name=f"broadcast-{messenger}")
            for messenger, lane in self._lanes.items()
        ]
        try:
            done, _ = await asyncio.wait(lanes, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                if (error := task.exception()) is not None:
                    raise error
        finally:
            for task in lanes:
                task.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)

    async def _dispatch_lane(self, lane: _Lane) -> None:
        while True:
            await self._sync()
            if not lane.ready:
                return  # _sync claims whenever the queue runs low: nothing is left
            if len(lane.tasks) >= self._limits.max_in_flight:
                await asyncio.wait(
                    lane.tasks,
                    timeout=self._limits.flush_interval,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                continue
            chat_id = lane.ready[0]
            await self._pacer.acquire(chat_id)
            self._raise_failure()
            lane.ready.popleft()
            task = asyncio.create_task(self._deliver(chat_id))
            self._tasks.add(task)
            lane.tasks.add(task)
            task.add_done_callback(self._on_task_done)
            task.add_done_callback(lane.tasks.discard)

    async def _sync(self) -> None:
        """Claim more rows for the lanes running low, commit outcomes that waited long enough."""
        async with self._sync_lock:
            self._raise_failure()
            claims = {
                messenger: self._limits.claim_batch
                for messenger, lane in self._lanes.items()
                if not lane.exhausted and len(lane.ready) <= self._low_water
            }
            due = self._clock() - self._oldest_outcome >= self._limits.flush_interval
            if claims or due or len(self._outcomes) >= self._limits.claim_batch:
                outcomes = self._take_outcomes()
                # Shielded: a lane cancelled while its claim commits (or just after, before
                # the claimed chats are read) would otherwise leave the claimed rows "sending"
                # and the next run would count them unknown though none was sent. _stop waits
                # for the claim instead and returns its rows to pending.
                call = asyncio.ensure_future(
                    self._owner._store.record(self._id, outcomes, self._now(), claims=claims)
                )
                try:
                    claimed = await asyncio.shield(call)
                except asyncio.CancelledError:
                    self._interrupted.append((call, outcomes))
                    raise
                except BaseException:
                    self._outcomes[:0] = outcomes  # for the cleanup commit
                    raise
                self._move(PENDING, SENDING, len(claimed))
                got: dict[Messenger, int] = {}
                for chat_id in claimed:
                    messenger = messenger_of(chat_id)
                    self._lanes[messenger].ready.append(chat_id)
                    got[messenger] = got.get(messenger, 0) + 1
                for messenger, wanted in claims.items():
                    if got.get(messenger, 0) < wanted:
                        self._lanes[messenger].exhausted = True
            self._maybe_report()

    async def _wait_for_tasks(self) -> None:
        await asyncio.wait(
            self._tasks,
            timeout=self._limits.flush_interval,
            return_when=asyncio.FIRST_COMPLETED,
        )

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            self._fail(error)

    def _fail(self, error: BaseException) -> None:
        if self._failure is None:
            self._failure = error

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    # --- one row ---------------------------------------------------------------------------

    async def _deliver(self, chat_id: int) -> None:
        """Send to one chat (its first slot is granted) until an outcome is known."""
        attempts = 0
        in_port = False
        try:
            while True:
                attempts += 1
                in_port = True
                try:
                    await self._owner._send(chat_id, self._text)
                except (TelegramRetryAfter, RateLimitedError) as error:
                    in_port = False
                    self._rate_limited += 1
                    metrics.BROADCAST_FLOOD_WAITS.inc()
                    # Flood control is per bot: every broadcast of this bot waits, then the
                    # same row goes first.
                    self._pacer.pause(chat_id, error.retry_after)
                    logger.warning(
                        "broadcast %s: flood control, pausing %s s", self._id, error.retry_after
                    )
                except Exception as error:
                    in_port = False
                    verdict = _verdict(error)
                    if verdict is None:
                        raise  # a bug: the run stops, the row stays "sending" (it may have gone)
                    if verdict == _ABORT:
                        self._released.append(chat_id)
                        reason = type(error).__name__
                        self._fail(BroadcastAbortedError(f"the bot cannot send ({reason})"))
                        return
                    if verdict == _RETRY and attempts < self._limits.max_attempts:
                        self._retried += 1
                        await self._owner._sleep(self._limits.retry_delay * 2 ** (attempts - 1))
                    else:
                        self._finish(chat_id, FAILED if verdict == _RETRY else verdict, attempts)
                        if isinstance(error, TelegramBadRequest) or (
                            isinstance(error, DeliveryRefusedError) and error.bad_request
                        ):
                            self._count_bad_request()
                        return
                else:
                    in_port = False
                    self._finish(chat_id, SENT, attempts)
                    self._bad_requests_in_a_row = 0
                    return
                if self._failure is None:
                    await self._pacer.acquire(chat_id)
                if self._failure is not None:
                    self._released.append(chat_id)  # the run is stopping; this try never went
                    return
        except asyncio.CancelledError:
            if not in_port:
                self._released.append(chat_id)  # waiting for a slot or a retry: never sent
            raise

    def _finish(self, chat_id: int, status: str, attempts: int) -> None:
        if not self._outcomes:
            self._oldest_outcome = self._clock()
        self._outcomes.append(Outcome(chat_id, status, attempts))
        self._move(SENDING, status, 1)
        if status == SENT:
            self._sent += 1

    def _count_bad_request(self) -> None:
        # One malformed text fails every row alike: stop before it fails them all.
        self._bad_requests_in_a_row += 1
        if self._bad_requests_in_a_row >= self._limits.abort_after_bad_requests:
            self._fail(
                BroadcastAbortedError(
                    f"{self._bad_requests_in_a_row} requests in a row were rejected as bad: "
                    "check the text"
                )
            )

    # --- bookkeeping -----------------------------------------------------------------------

    def _now(self) -> datetime:
        return self._owner._now()

    def _take_outcomes(self) -> list[Outcome]:
        outcomes, self._outcomes = self._outcomes, []
        self._oldest_outcome = math.inf
        return outcomes

    def _move(self, source: str, target: str, rows: int) -> None:
        self._counts[source] = self._counts.get(source, 0) - rows
        self._counts[target] = self._counts.get(target, 0) + rows
        if PENDING in (source, target):
            change = rows if target == PENDING else -rows
            self.queued += change
            metrics.BROADCAST_QUEUE.inc(change)

    async def _stop(self, *, drain: bool) -> None:
        """After an error, a cancellation or a SystemExit: keep what is known, release the rest."""
        if self._report is not None:
            self._report.cancel()
        if drain and self._tasks:
            await asyncio.wait(self._tasks, timeout=DRAIN_TIMEOUT)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        released = [chat for lane in self._lanes.values() for chat in lane.ready]
        released += self._released
        for call, outcomes in self._interrupted:
            try:
                claimed = await call  # committed or not: its rows were never started
            except asyncio.CancelledError:
                if not call.cancelled():
                    raise  # this stop itself is cancelled
                # The claim's own task was cancelled (the loop shutting down): whether it
                # committed is unknown, so its rows, if any, stay "sending" (counted unknown,
                # never sent twice); the stop is still recorded for everything else.
                self._outcomes[:0] = outcomes
            except Exception:
                self._outcomes[:0] = outcomes  # not written: for the cleanup commit
            else:
                self._move(PENDING, SENDING, len(claimed))
                released += claimed
        self._interrupted.clear()
        for lane in self._lanes.values():
            lane.ready.clear()
        try:
            await self._owner._store.stop_run(
                self._id, self._take_outcomes(), released, self._now()
            )
        except Exception as error:
            # The claimed rows stay "sending" and the next run counts them unknown: safe.
            logger.warning(
                "broadcast %s: could not record the stop (%s)", self._id, type(error).__name__
            )
        else:
            logger.warning(
                "broadcast %s stopped; %d unstarted rows returned to pending",
                self._id,
                len(released),
            )

    def _snapshot(self) -> dict[str, Any]:
        elapsed = self._clock() - self._started
        counts = self._counts
        return {
            "broadcast_id": self._id,
            "total": sum(counts.values()),
            "sent": counts.get(SENT, 0),
            "blocked": counts.get(BLOCKED, 0),
            "failed": counts.get(FAILED, 0),
            "unknown": counts.get(UNKNOWN, 0),
            "pending": counts.get(PENDING, 0) + counts.get(SENDING, 0),
            "sent_this_run": self._sent,
            "rate": self._sent / elapsed if elapsed > 0 else 0.0,
            "rate_limited": self._rate_limited,
            "elapsed": elapsed,
        }

    def _summary(self) -> Summary:
        snapshot = self._snapshot()
        return Summary(
            **snapshot,
            recovered_unknown=self._recovered,
            retried=self._retried,
            complete=snapshot["pending"] == 0,
        )

    def _maybe_report(self) -> None:
        if self._progress is None or (self._report is not None and not self._report.done()):
            return  # a slow callback is skipped, never queued up behind the sends
        now = self._clock()
        if (
            now - self._reported_at < self._owner.progress_every_seconds
            and self._sent - self._reported_sent < self._owner.progress_every_messages
        ):
            return
        self._reported_at, self._reported_sent = now, self._sent
        self._report = asyncio.create_task(self._call_progress(Progress(**self._snapshot())))

    async def _call_progress(self, progress: Progress) -> None:
        assert self._progress is not None
        try:
            await self._progress(progress)
        except Exception:
            # Reporting is for people watching; the broadcast goes on without it.
            logger.exception("broadcast %s: the progress callback failed", self._id)
