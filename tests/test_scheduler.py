"""Scheduler: the housekeeping job and its schedule in the body's time zone."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from scheduler.jobs import (
    ACTIVITY_JOB,
    FUNNEL_JOB,
    HOUSEKEEPING_JOB,
    OPT_INS_JOB,
    PARTICIPATION_JOB,
    SIGNALS_JOB,
    WAL_JOB,
    create_scheduler,
    flush_participation,
    hourly_privacy,
    housekeeping,
    make_jobs_stoppable,
    run_signals,
)
from scheduler.leader import LEADER_JOBS
from storage.opt_ins import OptInStore


class FakeResponses:
    def __init__(self) -> None:
        self.calls: list[date] = []

    async def purge_expired_dedup_keys(self, today: date) -> int:
        self.calls.append(today)
        return 3


class FakeFsm:
    async def purge_expired(self) -> int:
        return 2


async def test_housekeeping_purges_keys_and_abandoned_dialogs() -> None:
    responses = FakeResponses()
    assert await housekeeping(responses, FakeFsm(), lambda: date(2026, 7, 1)) == (3, 2)
    assert responses.calls == [date(2026, 7, 1)]
    assert await housekeeping(responses, None, lambda: date(2026, 7, 2)) == (3, 0)


def test_housekeeping_runs_at_night_in_the_bodys_zone() -> None:
    zone = ZoneInfo("Asia/Yakutsk")
    scheduler = create_scheduler(
        zone, responses=FakeResponses(), fsm=None, today=lambda: date(2026, 7, 1)
    )
    job = scheduler.get_job(HOUSEKEEPING_JOB)
    assert job is not None
    after = datetime(2026, 7, 1, 12, 0, tzinfo=zone)
    fire = job.trigger.get_next_fire_time(None, after)
    assert fire == datetime(2026, 7, 2, 3, 17, tzinfo=zone)


class FakeActivity:
    def report(self) -> dict[str, int]:
        return {}


async def _yes() -> bool:
    return True


def test_drop_off_counters_are_written_hourly_not_every_few_seconds() -> None:
    # Issue 8: a counter row rewritten every 30 s timed the only completion of a quiet cell.
    class FakeFunnel:
        async def flush(self) -> int:
            return 0

    scheduler = create_scheduler(
        ZoneInfo("Europe/Moscow"),
        responses=FakeResponses(),
        fsm=None,
        today=lambda: date(2026, 7, 1),
        funnel=FakeFunnel(),
    )
    job = scheduler.get_job(FUNNEL_JOB)
    assert job is not None and job.trigger.interval == timedelta(hours=1)


def test_privacy_jobs_run_every_minute_and_every_hour() -> None:
    # Issue 8: batched subscriptions, the WAL trail, hourly totals and reshuffles.
    zone = ZoneInfo("Europe/Moscow")
    opt_ins = OptInStore(cast(async_sessionmaker[AsyncSession], None))
    scheduler = create_scheduler(
        zone,
        responses=FakeResponses(),
        fsm=None,
        today=lambda: date(2026, 7, 1),
        opt_ins=opt_ins,
        activity=FakeActivity(),
        wal=_yes,
    )
    for job_id in (OPT_INS_JOB, WAL_JOB):
        job = scheduler.get_job(job_id)
        assert job is not None and job.trigger.interval == timedelta(minutes=1), job_id
    hourly = scheduler.get_job(ACTIVITY_JOB)
    assert hourly is not None
    after = datetime(2026, 7, 1, 12, 0, 30, tzinfo=zone)
    assert hourly.trigger.get_next_fire_time(None, after) == datetime(2026, 7, 1, 13, tzinfo=zone)


async def test_hourly_privacy_reshuffles_since_yesterday_and_reports() -> None:
    days: list[date] = []

    class Reshuffler:
        async def reshuffle(self, since: date) -> int:
            days.append(since)
            return 0

    await hourly_privacy(FakeActivity(), Reshuffler(), lambda: date(2026, 7, 1))
    assert days == [date(2026, 6, 30)]


class FakeSignals:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.ticks: list[datetime | None] = []

    async def tick(self, now: datetime | None = None) -> int:
        self.ticks.append(now)
        if self.fail:
            raise ConnectionError("database down")
        return 2


async def test_signals_run_every_minute_and_a_failure_waits_for_the_next_tick() -> None:
    zone = ZoneInfo("Europe/Moscow")
    signals = FakeSignals()
    scheduler = create_scheduler(
        zone, responses=FakeResponses(), fsm=None, today=lambda: date(2026, 7, 1), signals=signals
    )
    job = scheduler.get_job(SIGNALS_JOB)
    assert job is not None and job.trigger.interval == timedelta(minutes=1)
    assert job.kwargs == {"signals": signals} and job.max_instances == 1
    now = datetime(2026, 7, 1, 9, tzinfo=zone)
    assert await run_signals(signals, now) == 2 and signals.ticks == [now]
    assert await run_signals(FakeSignals(fail=True), now) == 0


class FakeWindows:
    def __init__(self, *, fail: str = "") -> None:
        self.calls: list[str] = []
        self.fail = fail

    async def flush_participation(self, *, force: bool = False) -> int:
        self.calls.append("flush")
        if self.fail == "flush":
            raise ConnectionError("database down")
        return 5

    async def touch_participation(self) -> int:
        self.calls.append("touch")
        if self.fail == "touch":
            raise ConnectionError("redis down")
        return 7


def test_participation_keys_are_written_every_minute_by_every_process() -> None:
    # Review: the keys of who answered a poll window were written only by the leader's
    # campaigns tick and at a clean stop, so a worker (or `otklik web`) kept them in memory.
    scheduler = create_scheduler(
        ZoneInfo("Europe/Moscow"),
        responses=FakeResponses(),
        fsm=None,
        today=lambda: date(2026, 7, 1),
        participation=FakeWindows(),
        housekeep=False,
    )
    job = scheduler.get_job(PARTICIPATION_JOB)
    assert job is not None and job.trigger.interval == timedelta(minutes=1)
    assert PARTICIPATION_JOB not in LEADER_JOBS
    # A process that only takes answers leaves the night's housekeeping to the bot's leader.
    assert scheduler.get_job(HOUSEKEEPING_JOB) is None


async def test_the_participation_job_touches_the_shared_keys_even_when_the_flush_fails() -> None:
    """Every minute each process also gives the Redis keys one idle time (anonymity): a
    database down for the batch does not leave the idle times telling completion order."""
    windows = FakeWindows()
    assert await flush_participation(windows) == 5
    assert windows.calls == ["flush", "touch"]
    failing = FakeWindows(fail="flush")
    assert await flush_participation(failing) == 0
    assert failing.calls == ["flush", "touch"]
    unreachable = FakeWindows(fail="touch")
    assert await flush_participation(unreachable) == 5  # logged, tried again in a minute


class FakeRatings:
    def __init__(self, calls: list[str], *, fail: bool = False) -> None:
        self.calls = calls
        self.fail = fail

    async def touch_ratings(self) -> int:
        self.calls.append("ratings")
        if self.fail:
            raise ConnectionError("redis down")
        return 3


async def test_the_participation_job_touches_the_rating_guards_keys_whatever_fails() -> None:
    """The guard's Redis keys (storage.rating_redis) are touched beside the participation
    keys every minute, so their idle times tell no completion's moment; a failure of one
    step stops neither the others nor the next minute's run."""
    windows = FakeWindows()
    assert await flush_participation(windows, FakeRatings(windows.calls)) == 5
    assert windows.calls == ["flush", "touch", "ratings"]
    broken = FakeWindows(fail="touch")
    assert await flush_participation(broken, FakeRatings(broken.calls)) == 5
    assert broken.calls == ["flush", "touch", "ratings"]
    down = FakeWindows()
    assert await flush_participation(down, FakeRatings(down.calls, fail=True)) == 5
    assert down.calls == ["flush", "touch", "ratings"]
    ratings = FakeRatings([])
    scheduler = create_scheduler(
        ZoneInfo("Europe/Moscow"),
        responses=FakeResponses(),
        fsm=None,
        today=lambda: date(2026, 7, 1),
        participation=windows,
        ratings=ratings,
        housekeep=False,
    )
    job = scheduler.get_job(PARTICIPATION_JOB)
    assert job is not None and job.kwargs == {"windows": windows, "ratings": ratings}


async def _stop_mid_run(wrap: bool, caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Start a scheduler whose job is running, stop it as the process does, return the logs."""
    started = asyncio.Event()

    async def long_job() -> None:
        started.set()
        await asyncio.sleep(3600)

    scheduler = AsyncIOScheduler(timezone=ZoneInfo("Europe/Moscow"))
    scheduler.add_job(long_job, "date", run_date=datetime.now(UTC), id="long")
    if wrap:
        make_jobs_stoppable(scheduler)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        scheduler.start()
        await asyncio.wait_for(started.wait(), 5)
        scheduler.shutdown(wait=False)
        for _ in range(5):  # the cancelled task and its done-callback
            await asyncio.sleep(0)
    return list(caplog.records)


async def test_a_job_stopped_by_shutdown_logs_no_error(caplog: pytest.LogCaptureFixture) -> None:
    records = await _stop_mid_run(True, caplog)
    assert not [r for r in records if r.levelno >= logging.ERROR], records
    assert any("stopped with the process" in r.getMessage() for r in records)
    # Control: APScheduler alone logs the clean stop as an ERROR with a traceback.
    records = await _stop_mid_run(False, caplog)
    assert [r for r in records if r.levelno >= logging.ERROR]


def test_make_jobs_stoppable_wraps_every_coroutine_job_once() -> None:
    scheduler = create_scheduler(
        ZoneInfo("Europe/Moscow"),
        responses=FakeResponses(),
        fsm=FakeFsm(),
        today=lambda: date(2026, 11, 30),
    )
    make_jobs_stoppable(scheduler)
    make_jobs_stoppable(scheduler)
    jobs = scheduler.get_jobs()
    assert jobs
    for job in jobs:
        assert getattr(job.func, "stoppable", False), job.id
        assert not getattr(job.func.__wrapped__, "stoppable", False), job.id
