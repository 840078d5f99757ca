"""The pain map's hourly job: registered in the scheduler's table, failures logged and kept for
the next hour."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.jobs import (
    ANNOUNCE_JOB,
    PAIN_MAP_JOB,
    add_announce_job,
    announce_measures,
    create_scheduler,
    tend_pain_map,
)


class Responses:
    async def purge_expired_dedup_keys(self, today: date) -> int:
        return 0


class Desk:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.ticks = 0

    async def tick(self, now: datetime | None = None) -> int:
        self.ticks += 1
        if self.fail:
            raise ConnectionError("database down")
        return 3


def test_the_pain_map_job_runs_every_hour() -> None:
    scheduler = create_scheduler(
        ZoneInfo("Asia/Yakutsk"),
        responses=Responses(),
        fsm=None,
        today=lambda: date(2026, 12, 1),
        pain_map=Desk(),
    )
    job = scheduler.get_job(PAIN_MAP_JOB)
    assert job is not None and job.trigger.interval == timedelta(hours=1)
    assert job.kwargs["pain_map"].ticks == 0


async def test_a_failed_tick_is_logged_and_tried_next_hour(
    caplog: pytest.LogCaptureFixture,
) -> None:
    desk = Desk(fail=True)
    assert await tend_pain_map(desk) == 0
    assert "Pain map not tended: ConnectionError" in caplog.text
    desk.fail = False
    assert await tend_pain_map(desk) == 3


class Announcer:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    async def tick(self, now: datetime | None = None) -> int:
        if self.fail:
            raise ConnectionError("database down")
        return 2


def test_the_announcement_job_runs_every_hour() -> None:
    scheduler = create_scheduler(
        ZoneInfo("Asia/Yakutsk"),
        responses=Responses(),
        fsm=None,
        today=lambda: date(2026, 12, 1),
    )
    add_announce_job(scheduler, Announcer())
    job = scheduler.get_job(ANNOUNCE_JOB)
    assert job is not None and job.trigger.interval == timedelta(hours=1)


async def test_a_failed_announcement_is_logged_and_tried_next_hour(
    caplog: pytest.LogCaptureFixture,
) -> None:
    announcer = Announcer(fail=True)
    assert await announce_measures(announcer) == 0
    assert "Measures not announced: ConnectionError" in caplog.text
    announcer.fail = False
    assert await announce_measures(announcer) == 2
