"""Exactly one scheduler (issue 14): two processes' schedulers on one database, one runs the
body's jobs; when the leader dies the other takes over within the lease and catches up."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from scheduler.campaigns import CAMPAIGNS_JOB, add_campaign_jobs
from scheduler.jobs import REPORTS_JOB, create_scheduler
from scheduler.leader import (
    LATE_RUN_GRACE,
    LEADER_JOBS,
    LeaderGate,
    gate_leader_jobs,
    wake_leader_jobs,
)
from storage.leases import AdvisoryLockElection, LeaseElection, create_election

ZONE = ZoneInfo("Europe/Moscow")
TTL = timedelta(seconds=20)


class Counter:
    def __init__(self) -> None:
        self.ticks: list[str] = []

    async def tick(self, now: datetime | None = None) -> int:
        self.ticks.append("tick")
        return 0

    async def flush(self) -> int:
        self.ticks.append("flush")
        return 0


class NoDedup:
    async def purge_expired_dedup_keys(self, today: date) -> int:
        return 0


class Clocks:
    def __init__(self) -> None:
        self.wall = datetime(2026, 11, 30, 12, tzinfo=UTC)
        self.mono = 1000.0

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds


def _process(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    clocks: Clocks,
    name: str,
    deliveries: Counter,
    campaigns: Counter,
    funnel: Counter,
) -> tuple[AsyncIOScheduler, LeaderGate]:
    """One process's scheduler, built as bot.app builds it, behind its leader gate."""
    scheduler = create_scheduler(
        ZONE,
        responses=NoDedup(),
        fsm=None,
        today=lambda: date(2026, 11, 30),
        deliveries=deliveries,
        funnel=funnel,
    )
    add_campaign_jobs(scheduler, campaigns)

    async def on_elected() -> None:
        wake_leader_jobs(scheduler)

    election = create_election(engine, sessions, name, ttl=TTL)
    if isinstance(election, LeaseElection):
        election = LeaseElection(sessions, name, ttl=TTL, clock=lambda: clocks.wall)
    gate = LeaderGate(
        election,
        renew_every=5,
        valid_for=15,
        on_elected=on_elected,
        clock=lambda: clocks.mono,
    )
    assert gate_leader_jobs(scheduler, gate) == sorted(
        {REPORTS_JOB, CAMPAIGNS_JOB, "housekeeping"} & LEADER_JOBS
    )
    return scheduler, gate


async def _run_all_jobs(scheduler: AsyncIOScheduler) -> None:
    """What the scheduler would call when each job fires."""
    for job in scheduler.get_jobs():
        await job.func(*job.args, **job.kwargs)


async def _kill(gate: LeaderGate, engine: AsyncEngine) -> None:
    """The leader dies without resigning: its advisory-lock session ends (PostgreSQL), or its
    lease row simply stops being renewed (SQLite)."""
    election = gate._election
    if isinstance(election, AdvisoryLockElection) and election._connection is not None:
        pid = await election._connection.scalar(text("SELECT pg_backend_pid()"))
        await election._connection.commit()
        async with engine.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


async def test_one_of_two_schedulers_runs_the_bodys_jobs_and_the_other_takes_over(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    name = f"scheduler-{uuid.uuid4().hex[:8]}"
    clocks = Clocks()
    deliveries, campaigns = Counter(), Counter()
    funnels = (Counter(), Counter())
    first, first_gate = _process(engine, sessions, clocks, name, deliveries, campaigns, funnels[0])
    second, second_gate = _process(
        engine, sessions, clocks, name, deliveries, campaigns, funnels[1]
    )
    for scheduler in (first, second):
        scheduler.start(paused=True)  # running, but firing nothing by itself in the test
        # A late start (a busy loop at start) still runs a leader job instead of skipping it.
        for job_id in (REPORTS_JOB, CAMPAIGNS_JOB):
            job = scheduler.get_job(job_id)
            assert job is not None and job.misfire_grace_time >= LATE_RUN_GRACE
        housekeeping = scheduler.get_job("housekeeping")
        assert housekeeping is not None and housekeeping.misfire_grace_time is None
    try:
        assert await first_gate.step()
        assert not await second_gate.step()
        await _run_all_jobs(first)
        await _run_all_jobs(second)
        # Reports and the campaign tick ran once; each process flushed its own funnel.
        assert deliveries.ticks == ["tick"] and campaigns.ticks == ["tick"]
        assert funnels[0].ticks == ["flush"] and funnels[1].ticks == ["flush"]

        # Renewals keep the leadership where it is.
        clocks.advance(5)
        assert await first_gate.step() and not await second_gate.step()

        # The leader dies: the other is elected within the lease, and wakes its jobs to catch up.
        await _kill(first_gate, engine)
        clocks.advance(TTL.total_seconds() + 1)
        assert await second_gate.step()
        assert not first_gate.is_leader  # its last renewal ran out: it would not run jobs
        for job_id in (REPORTS_JOB, CAMPAIGNS_JOB):
            job = second.get_job(job_id)
            assert job is not None and job.next_run_time is not None
            assert job.next_run_time <= datetime.now(UTC) + timedelta(seconds=1)
        deliveries.ticks.clear()
        campaigns.ticks.clear()
        await _run_all_jobs(first)
        await _run_all_jobs(second)
        assert deliveries.ticks == ["tick"] and campaigns.ticks == ["tick"]
        # The old leader comes back (a frozen process resumes): it stays a follower.
        assert not await first_gate.step()
    finally:
        await first_gate.stop()
        await second_gate.stop()
        first.shutdown(wait=False)
        second.shutdown(wait=False)


async def test_a_leader_cut_off_from_the_database_stops_at_the_end_of_its_lease() -> None:
    class Flaky:
        def __init__(self) -> None:
            self.up = True

        async def campaign(self) -> bool:
            if not self.up:
                raise ConnectionError("database down")
            return True

        async def resign(self) -> None:
            pass

    now = [0.0]
    election = Flaky()
    changes: list[bool] = []
    gate = LeaderGate(
        election, renew_every=5, valid_for=15, clock=lambda: now[0], on_change=changes.append
    )
    assert await gate.step()
    election.up = False
    now[0] = 10
    assert await gate.step()  # still within the last renewal: leads on
    now[0] = 16
    assert not gate.is_leader  # and not a moment longer, before another can be elected (20 s)
    assert not await gate.step()
    assert changes == [True, False]


async def test_clean_shutdown_hands_over_at_once(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    name = f"scheduler-{uuid.uuid4().hex[:8]}"
    first = LeaderGate(
        create_election(engine, sessions, name, ttl=TTL), renew_every=5, valid_for=15
    )
    second = LeaderGate(
        create_election(engine, sessions, name, ttl=TTL), renew_every=5, valid_for=15
    )
    try:
        assert await first.step()
        assert not await second.step()
        await first.stop()
        assert await second.step()
    finally:
        await first.stop()
        await second.stop()


async def test_running_gates_take_over_within_the_lease_time(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Real clocks, short lease: the follower's own loop notices the dead leader."""
    name = f"scheduler-{uuid.uuid4().hex[:8]}"
    ttl = timedelta(seconds=1)
    elected = asyncio.Event()

    async def on_elected() -> None:
        elected.set()

    first = LeaderGate(
        LeaseElection(sessions, name, ttl=ttl, holder="elsewhere:1:aaaa"),
        renew_every=0.2,
        valid_for=0.8,
    )
    second = LeaderGate(
        LeaseElection(sessions, name, ttl=ttl), renew_every=0.2, valid_for=0.8,
        on_elected=on_elected,
    )  # fmt: skip
    try:
        assert await first.step()
        first.start()
        second.start()
        await asyncio.sleep(0.5)
        assert first.is_leader and not second.is_leader
        assert first._task is not None
        first._task.cancel()  # dies: no resignation, no more renewals
        await asyncio.wait_for(elected.wait(), timeout=ttl.total_seconds() + 1)
        assert second.is_leader and not first.is_leader
    finally:
        await second.stop()
        await first.stop()
