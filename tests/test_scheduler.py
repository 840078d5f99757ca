"""Scheduler: the housekeeping job and its schedule in the body's time zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from scheduler.jobs import HOUSEKEEPING_JOB, create_scheduler, housekeeping


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
