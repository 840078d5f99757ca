"""Exactly one scheduler among the bot's processes: jobs of the body run on the elected leader.

Every process runs the same APScheduler. Jobs whose effect is the body's (windows,
invitations, reminders, digests, semiannual reports, signals, the pain map, the initiative
batch, the public site, nightly housekeeping) run only while the process holds the leadership
(:data:`LEADER_JOBS`); jobs about the process's own memory (funnel counters, subscriptions
waiting in memory, the hour's activity, the SQLite WAL) run everywhere.

:class:`LeaderGate` asks its election (``storage.leases``: a PostgreSQL advisory lock or a lease
row) every ``renew_every`` seconds. It counts itself leader only until ``valid_for`` after the
start of its last successful renewal, so a leader cut off from the database stops running jobs
before another can be elected. When it becomes leader it wakes the leader jobs at once: what
fell due while the previous leader was gone is caught up then (each job is idempotent: the
delivery ledger, the window states and the broadcast run lease make a repeat a no-op).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from apscheduler.schedulers.base import BaseScheduler

from scheduler.campaigns import CAMPAIGNS_JOB, INITIATIVE_JOB
from scheduler.jobs import (
    ANNOUNCE_JOB,
    HOUSEKEEPING_JOB,
    PAIN_MAP_JOB,
    PUBLISH_JOB,
    REPORTS_JOB,
    SIGNALS_JOB,
)

logger = logging.getLogger(__name__)

#: Jobs that act for the whole body: one process runs them.
LEADER_JOBS: Final = frozenset(
    {
        ANNOUNCE_JOB,
        CAMPAIGNS_JOB,
        INITIATIVE_JOB,
        HOUSEKEEPING_JOB,
        PAIN_MAP_JOB,
        PUBLISH_JOB,
        REPORTS_JOB,
        SIGNALS_JOB,
    }
)


class Election(Protocol):
    """storage.leases.Election as the gate sees it."""

    async def campaign(self) -> bool: ...

    async def resign(self) -> None: ...


class LeaderGate:
    """Keeps asking the election; tells jobs whether this process leads right now."""

    def __init__(
        self,
        election: Election,
        *,
        renew_every: float,
        valid_for: float,
        on_elected: Callable[[], Awaitable[object]] | None = None,
        on_change: Callable[[bool], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
        role: str = "scheduler leader",
    ) -> None:
        if not 0 < renew_every < valid_for:
            raise ValueError("renew_every must be positive and shorter than valid_for")
        self._election = election
        self._renew_every = renew_every
        self._valid_for = valid_for
        self._on_elected = on_elected
        self._on_change = on_change
        self._clock = clock
        self._role = role
        self._valid_until = float("-inf")
        self._leading = False
        self._first = True
        self._task: asyncio.Task[None] | None = None

    @property
    def is_leader(self) -> bool:
        return self._leading and self._clock() < self._valid_until

    async def step(self) -> bool:
        """One round with the election; returns whether this process leads now."""
        started = self._clock()
        try:
            won = await self._election.campaign()
        except Exception as error:
            # Database unreachable: keep leading until the last renewal runs out, no longer.
            logger.warning("Election of the %s failed: %s", self._role, type(error).__name__)
            won = self.is_leader
        else:
            if won:
                self._valid_until = started + self._valid_for
        was = self._leading
        self._leading = won
        first, self._first = self._first, False
        if won != was:
            # A lone process leading from its start is the common case: not worth a line.
            level = logging.DEBUG if first else logging.WARNING
            logger.log(
                level, "This process %s the %s", "is now" if won else "is no longer", self._role
            )
            if self._on_change is not None:
                self._on_change(won)
            if won and self._on_elected is not None:
                try:
                    await self._on_elected()
                except Exception as error:
                    logger.error("Catch-up after election failed: %s", type(error).__name__)
        return self.is_leader

    async def run(self) -> None:
        """Campaign forever (until cancelled)."""
        while True:
            await self.step()
            await asyncio.sleep(self._renew_every)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run(), name="leader-election")

    async def stop(self) -> None:
        """Stop campaigning and give the leadership up at once (clean shutdown)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        was = self._leading
        self._leading = False
        self._valid_until = float("-inf")
        if was and self._on_change is not None:
            self._on_change(False)
        try:
            await self._election.resign()
        except Exception as error:
            logger.warning("The %s role not released: %s", self._role, type(error).__name__)

    def guard(self, job: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        """``job`` run only while this process leads; skipped (None) otherwise."""

        @functools.wraps(job)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            if not self.is_leader:
                return None
            return await job(*args, **kwargs)

        guarded.__dict__["leader_only"] = True
        return guarded


#: Seconds a leader job may start late and still run (the loop busy at start, a slow tick):
#: each is idempotent, so late is better than skipped until the next period.
LATE_RUN_GRACE: Final = 60


def gate_leader_jobs(scheduler: BaseScheduler, gate: LeaderGate) -> list[str]:
    """Make the scheduler's leader jobs run only on the leader; returns their ids."""
    gated = []
    for job in scheduler.get_jobs():
        if job.id in LEADER_JOBS and not getattr(job.func, "leader_only", False):
            changes: dict[str, Any] = {"func": gate.guard(job.func)}
            # A job not yet started has no attribute for a default (APScheduler's 1 s) yet;
            # housekeeping's explicit None means "always run" and is kept.
            grace = getattr(job, "misfire_grace_time", 1)
            if grace is not None:
                changes["misfire_grace_time"] = max(grace, LATE_RUN_GRACE)
            job.modify(**changes)
            gated.append(job.id)
    return sorted(gated)


def wake_leader_jobs(scheduler: BaseScheduler) -> None:
    """Run the interval leader jobs now (a new leader catches up at once). Before the
    scheduler starts there is nothing to wake: the catch-up at start did it."""
    if not scheduler.running:
        return
    now = datetime.now(UTC)
    for job in scheduler.get_jobs():
        if job.id in LEADER_JOBS and job.id != HOUSEKEEPING_JOB:
            job.modify(next_run_time=now)
