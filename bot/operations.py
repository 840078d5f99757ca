"""Running several bot processes on one database (issue 14): the scheduler leader, the guarded
long poller, metrics. ``bot.app`` calls :func:`lead_scheduler` and :func:`poll`.

The poller guard has two parts:

- a lease ``poller:<bot id>`` on the database (``storage.leases``), taken before the first
  ``getUpdates`` and renewed while polling: a second process on the same database and token
  refuses to start, with a line saying why and what to do instead;
- :class:`ConflictWatch`, for pollers the database cannot see (another database, another
  machine): Telegram answers a poll with 409 when another one started. The newcomer gets it
  within a second or two of its first poll (the incumbent polls again and cuts it off), so a
  409 in the first ``grace`` seconds stops this process; an established poller keeps going
  and logs a warning. A webhook set for the token refuses polling before it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Final

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramConflictError
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.methods import GetUpdates, Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.problems import Problem
from bot.settings import Settings
from handlers.ops import set_command_menus
from scheduler.leader import LeaderGate, gate_leader_jobs, wake_leader_jobs
from services import metrics
from services.officer_commands import Officers
from services.rating_guard import SharedRatingGuard
from services.reporting import ReportingService
from storage.database import create_session_factory
from storage.fsm_redis import RenewedLockIsolation
from storage.leases import create_election
from storage.participation_redis import RedisParticipationClaims
from storage.rating_redis import RedisRatingCounters

logger = logging.getLogger(__name__)

SCHEDULER_ROLE: Final = "scheduler"
#: Seconds after the first poll during which a 409 means "this process is the second poller".
CONFLICT_GRACE: Final = 30.0


def poller_role(bot_id: int) -> str:
    return f"poller:{bot_id}"


# --- metrics -------------------------------------------------------------------------------


class UpdateMetrics(BaseMiddleware):
    """An outer update middleware: counts updates by type and times their handling."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        started = time.perf_counter()
        failed = False
        try:
            return await handler(event, data)
        except BaseException:
            failed = True
            raise
        finally:
            metrics.observe_update(
                getattr(event, "event_type", None), time.perf_counter() - started, failed=failed
            )


def instrument(dispatcher: Dispatcher, settings: Settings) -> None:
    """Metrics on the dispatcher; the metrics port when ``METRICS__PORT`` is set."""
    dispatcher.update.outer_middleware(UpdateMetrics())
    serve_metrics_port(settings)


def serve_metrics_port(settings: Settings) -> None:
    """The metrics port when ``METRICS__PORT`` is set: with Telegram (:func:`instrument`) and
    in MAX alone (bot.max.max_alone), which has no dispatcher of its own to instrument."""
    if settings.metrics.port is not None:
        try:
            metrics.serve_metrics(settings.metrics.port, settings.metrics.host)
        except OSError as error:
            raise Problem(
                f"METRICS__PORT={settings.metrics.port}: cannot listen on "
                f"{settings.metrics.host}:{settings.metrics.port} ({error.strerror}); another "
                "process uses it (with several workers give each its own port)"
            ) from error


# --- state shared by the processes ---------------------------------------------------------


def shared_rating_guard(
    storage: BaseStorage, settings: Settings, pepper: bytes
) -> SharedRatingGuard | None:
    """With Redis (several processes), the ballot-stuffing guard counts there, on the FSM's
    connection pool; without it, None: FeedbackService keeps its in-memory guard."""
    if not isinstance(storage, RedisStorage):
        return None
    return SharedRatingGuard(
        settings.privacy.ratings_per_service_per_day, RedisRatingCounters(storage.redis), pepper
    )


def shared_participation(storage: BaseStorage) -> RedisParticipationClaims | None:
    """With Redis, poll participation claimed there at completion (one answer per person and
    window across processes), on the FSM's pool; None: memory and the database's batches."""
    if not isinstance(storage, RedisStorage):
        return None
    return RedisParticipationClaims(storage.redis)


def shared_isolation(storage: BaseStorage) -> BaseEventIsolation | None:
    """With Redis, one update per person at a time across every process (a lock in Redis,
    named by the same keyed hash as the state, renewed while held so a killed worker frees it
    within seconds); None: the dispatcher's in-process lock."""
    if not isinstance(storage, RedisStorage):
        return None
    return RenewedLockIsolation(storage.redis, storage.key_builder)


# --- the scheduler leader ------------------------------------------------------------------


async def lead_scheduler(
    scheduler: BaseScheduler,
    engine: AsyncEngine,
    settings: Settings,
    *,
    catch_up: Callable[[], Awaitable[object]],
    bot: Bot | None = None,
    reporting: ReportingService | None = None,
) -> LeaderGate:
    """Gate the scheduler's body jobs behind an election and campaign once now (a lone process
    leads at once, and its catch-up runs before it answers anyone), then keep campaigning.

    On each election: ``catch_up`` (what fell due while nobody led), the officers' command
    menus, and the leader jobs woken so they run at once."""
    lease = timedelta(seconds=settings.scheduler.lease_seconds)
    election = create_election(engine, create_session_factory(engine), SCHEDULER_ROLE, ttl=lease)

    async def on_elected() -> None:
        await catch_up()
        if bot is not None and reporting is not None:
            try:
                await set_command_menus(bot, Officers.of(reporting))
            except Exception as error:
                logger.warning("Command menus not set: %s", type(error).__name__)
        wake_leader_jobs(scheduler)

    seconds = lease.total_seconds()
    gate = LeaderGate(
        election,
        renew_every=seconds / 3,
        # Stop counting oneself leader a fifth of the lease before another may be elected.
        valid_for=seconds * 0.8,
        on_elected=on_elected,
        on_change=metrics.set_leader,
    )
    gate_leader_jobs(scheduler, gate)
    await gate.step()
    gate.start()
    return gate


# --- the guarded poller --------------------------------------------------------------------


class ConflictWatch(BaseRequestMiddleware):
    """Notes 409 answers to getUpdates; see the module docstring."""

    def __init__(self, grace: float = CONFLICT_GRACE, clock: Callable[[], float] = time.monotonic):
        self._grace = grace
        self._clock = clock
        self._first_poll: float | None = None
        self.conflicts = 0
        self.stop_reason: str | None = None
        self.stopped = asyncio.Event()

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        polling = isinstance(method, GetUpdates)
        if not polling:
            return await make_request(bot, method)
        if self._first_poll is None:
            self._first_poll = self._clock()
        try:
            return await make_request(bot, method)
        except TelegramConflictError as error:
            self.conflicts += 1  # only getUpdates gets here
            if "webhook" in error.message.lower():
                self._stop("a webhook is set for this bot: Telegram refuses polling while it is")
            elif self._clock() - self._first_poll < self._grace:
                self._stop(
                    "another process already polls Telegram for updates with this bot token "
                    "(Telegram answered 409 Conflict)"
                )
            else:
                logger.warning(
                    "Another process polled with this bot's token (409 Conflict); this one "
                    "polled first and goes on. Stop the other one."
                )
            raise

    def _stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
            self.stopped.set()


def _refusal(reason: str, username: str | None) -> Problem:
    who = f"@{username}" if username else "this bot"
    return Problem(
        f"not polling for {who}: {reason}.",
        "Two pollers on one token take each other's updates (409 Conflict) and undo each "
        "other's work: stop the other process, or run several workers with the webhook "
        '(README, "Webhook or polling").',
    )


async def claim_polling(
    bot: Bot, engine: AsyncEngine, settings: Settings, username: str | None = None
) -> LeaderGate:
    """Take the poller lease of this bot on the database, or refuse to start."""
    seconds = float(settings.scheduler.lease_seconds)
    election = create_election(
        engine, create_session_factory(engine), poller_role(bot.id), ttl=timedelta(seconds=seconds)
    )
    gate = LeaderGate(election, renew_every=seconds / 3, valid_for=seconds, role="poller")
    if not await gate.step():
        holder = election.holder_of_record()
        where = f" ({holder})" if holder else ""
        raise _refusal(f"another process polls for updates on this database{where}", username)
    return gate


async def poll(
    bot: Bot,
    dispatcher: Dispatcher,
    engine: AsyncEngine,
    settings: Settings,
    *,
    grace: float = CONFLICT_GRACE,
) -> None:
    """Long polling, guarded: refuses to start beside another poller, stops if it meets one
    within its first seconds, and gives the lease up when it ends."""
    me = await bot.me()
    info = await bot.get_webhook_info()
    if info.url:
        raise _refusal(
            "a webhook is set for this bot (delete it, or set BOT__WEBHOOK_URL to serve it)",
            me.username,
        )
    lease = await claim_polling(bot, engine, settings, me.username)
    watch = ConflictWatch(grace)
    bot.session.middleware(watch)
    lease.start()
    polling = asyncio.get_running_loop().create_task(
        dispatcher.start_polling(bot, allowed_updates=dispatcher.resolve_used_update_types())
    )
    stopped = asyncio.get_running_loop().create_task(watch.stopped.wait())
    try:
        await asyncio.wait({polling, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if stopped.done() and not polling.done():
            with contextlib.suppress(RuntimeError):
                await dispatcher.stop_polling()
            await polling
            raise _refusal(watch.stop_reason or "conflict", me.username)
        await polling
    finally:
        stopped.cancel()
        await lease.stop()
